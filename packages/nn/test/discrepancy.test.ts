// The discrepancy doctor: each source of a train/eval gap, present alone, shows up in its own row
// and in no other; with none present every row is zero under the deterministic flag; measuring
// leaves the model, the flag, the thread count and the generator exactly as they were, also when
// the model throws half-way; bad input is refused before anything changes.
//
// No expected value here is a number Lockstep computed: rows are checked against zero, against
// "not zero", or against each other (a lone source's combined row equals its own row).
import "@lockstep/backend-cpu";
import {
  DeviceError,
  Tensor,
  ValueError,
  areDeterministicAlgorithmsEnabled,
  getNumThreads,
  isDeterministicAlgorithmsWarnOnlyEnabled,
  setNumThreads,
  useDeterministicAlgorithms,
} from "@lockstep/core";
import { getRngState, manualSeed, randn } from "@lockstep/random";
import { afterEach, describe, expect, it } from "vitest";
import {
  BatchNorm1d,
  BatchNorm2d,
  Conv2d,
  Dropout,
  Flatten,
  Linear,
  MaxPool2d,
  Module,
  ReLU,
  Sequential,
  Tanh,
  utils,
  type StateDict,
} from "../src/index.js";
import type { DiscrepancyReport, DiscrepancySource, SourceRow } from "../src/utils/index.js";

const { explainDiscrepancy, formatDiscrepancyReport } = utils;

afterEach(() => {
  useDeterministicAlgorithms(false);
  setNumThreads(1);
});

function row(report: DiscrepancyReport, source: DiscrepancySource): SourceRow {
  const found = report.sources.find((r) => r.source === source);
  if (found === undefined) throw new Error(`no ${source} row`);
  return found;
}

/** A few training-mode forwards so BatchNorm's running statistics move away from 0 and 1. */
function noGradWarmUp(model: Module, x: Tensor): void {
  model.train();
  for (let i = 0; i < 3; i++) model.forward(x);
}

function differing(r: SourceRow, flag: "flagOff" | "flagOn"): number {
  const gap = r[flag];
  if (gap === null) throw new Error(`${r.source} has no ${flag} measurement`);
  return gap.differingElements;
}

/** Bit patterns of every parameter and buffer, and who holds which tensor object. */
function fingerprint(model: Module): { bits: Record<string, number[]>; objects: Map<string, Tensor>; modes: boolean[] } {
  const state: StateDict = model.stateDict();
  const bits: Record<string, number[]> = {};
  for (const [name, t] of Object.entries(state)) {
    const data = t.dataSync();
    bits[name] = Array.from(data instanceof Float32Array ? new Uint32Array(data.buffer, data.byteOffset, data.length) : data, Number);
  }
  const objects = new Map<string, Tensor>([...model.namedParameters(), ...model.namedBuffers()]);
  return { bits, objects, modes: [...model.namedModules()].map(([, m]) => m.training) };
}

function expectSameModel(model: Module, before: ReturnType<typeof fingerprint>): void {
  const after = fingerprint(model);
  expect(after.bits).toEqual(before.bits);
  expect(after.modes).toEqual(before.modes);
  expect([...after.objects.keys()]).toEqual([...before.objects.keys()]);
  for (const [name, t] of after.objects) expect(t, name).toBe(before.objects.get(name));
}

describe("explainDiscrepancy: one source at a time", () => {
  it("dropout alone shows in the mode row only (and in the combined row, with the same numbers), under both flags", async () => {
    // Elementwise layers only: their fast kernels are per element, so nothing but dropout can move.
    manualSeed(3);
    const model = new Sequential(new Tanh(), new Dropout(0.5), new Tanh());
    const x = randn([8, 10]);
    const report = await explainDiscrepancy(model, x, { trainBatch: 4, evalBatch: 1 });
    for (const flag of ["flagOff", "flagOn"] as const) {
      expect(differing(row(report, "mode"), flag)).toBeGreaterThan(0);
      expect(differing(row(report, "kernels"), flag)).toBe(0);
      expect(differing(row(report, "threads"), flag)).toBe(0);
      expect(differing(row(report, "batchStats"), flag)).toBe(0);
      expect(row(report, "combined")[flag]).toEqual(row(report, "mode")[flag]);
    }
    expect(row(report, "batchStats").effect).toBe("absent");
    expect(row(report, "device").effect).toBe("notMeasured");
    expect(report.settings.modeLayers).toEqual(["1"]);
    // Both flags' training passes drew the same masks (the values differ: tanh is Math.tanh with
    // the flag off and Lockstep's own with it on).
    expect(row(report, "mode").flagOff!.changedPredictions).toBe(row(report, "mode").flagOn!.changedPredictions);
  });

  it("dropout in an MLP: with the flag on only the mode row is non-zero", async () => {
    manualSeed(4);
    const model = new Sequential(new Linear(12, 16), new ReLU(), new Dropout(0.2), new Linear(16, 5));
    const report = await explainDiscrepancy(model, randn([16, 12]), { trainBatch: 16, evalBatch: 1, flags: [true] });
    expect(differing(row(report, "mode"), "flagOn")).toBeGreaterThan(0);
    for (const source of ["batchStats", "kernels", "threads"] as const) expect(differing(row(report, source), "flagOn"), source).toBe(0);
    expect(row(report, "combined").flagOn).toEqual(row(report, "mode").flagOn);
    expect(row(report, "mode").flagOff).toBeNull();
  });

  it("BatchNorm alone shows in the mode and batchStats rows only (the same numbers: it is the only mode-dependent layer), and its running statistics stay as they were", async () => {
    manualSeed(9);
    const bn = new BatchNorm1d(6);
    const model = new Sequential(bn);
    // Running statistics away from their initial 0 and 1, as after some training.
    noGradWarmUp(model, randn([16, 6]).mul(3).add(1));
    model.eval();
    const before = fingerprint(model);
    const report = await explainDiscrepancy(model, randn([8, 6]), { trainBatch: 8, evalBatch: 1 });
    for (const flag of ["flagOff", "flagOn"] as const) {
      expect(differing(row(report, "mode"), flag)).toBeGreaterThan(0);
      expect(row(report, "batchStats")[flag]).toEqual(row(report, "mode")[flag]);
      expect(differing(row(report, "kernels"), flag)).toBe(0);
      expect(differing(row(report, "threads"), flag)).toBe(0);
      expect(row(report, "combined")[flag]).toEqual(row(report, "mode")[flag]);
    }
    expect(report.settings.batchNormLayers).toEqual(["0"]);
    expect(row(report, "batchStats").effect).toBe("measured");
    expectSameModel(model, before);
    expect(bn.training).toBe(false);
  });

  it("a small CNN with BatchNorm2d and Dropout: with the flag on, mode and batchStats are non-zero, kernels and threads exactly zero", async () => {
    manualSeed(10);
    const model = new Sequential(
      new Conv2d(1, 4, 3, { padding: 1 }),
      new BatchNorm2d(4),
      new ReLU(),
      new MaxPool2d(2),
      new Flatten(),
      new Dropout(0.25),
      new Linear(4 * 4 * 4, 3),
    );
    noGradWarmUp(model, randn([8, 1, 8, 8]));
    const before = fingerprint(model);
    const report = await explainDiscrepancy(model, randn([4, 1, 8, 8]), { trainBatch: 4, evalBatch: 1, flags: [true] });
    expect(differing(row(report, "mode"), "flagOn")).toBeGreaterThan(0);
    expect(differing(row(report, "batchStats"), "flagOn")).toBeGreaterThan(0);
    expect(differing(row(report, "kernels"), "flagOn")).toBe(0);
    expect(differing(row(report, "threads"), "flagOn")).toBe(0);
    expect(report.settings.modeLayers).toEqual(["1", "5"]);
    expectSameModel(model, before);
  });

  it("batch-size-dependent kernels alone (a plain Linear, the fast CPU GEMV at batch 1) show in the kernels row only, and vanish with the flag on", async () => {
    // 784 → 128 is the example app's first layer: batch 1 takes the one-row GEMV path, batch 16 the
    // multi-row GEMM, which round differently (packages/backend-cpu/src/gemm.ts).
    manualSeed(0);
    const model = new Linear(784, 128);
    const report = await explainDiscrepancy(model, randn([16, 784]), { trainBatch: 16, evalBatch: 1 });
    expect(differing(row(report, "kernels"), "flagOff")).toBeGreaterThan(0);
    expect(row(report, "kernels").flagOff!.maxUlp).toBeGreaterThan(0);
    expect(differing(row(report, "kernels"), "flagOn")).toBe(0);
    for (const flag of ["flagOff", "flagOn"] as const) {
      expect(differing(row(report, "mode"), flag)).toBe(0);
      expect(differing(row(report, "batchStats"), flag)).toBe(0);
      expect(differing(row(report, "threads"), flag)).toBe(0);
      expect(row(report, "combined")[flag]).toEqual(row(report, "kernels")[flag]);
    }
    expect(row(report, "mode").note).toMatch(/no Dropout or BatchNorm layers/);
  });

  it("the thread count alone (a long one-row product the fast kernel splits over threads) shows in the threads row only", async () => {
    // With one row, 16 outputs and k = 131072, the fast CPU matmul splits each dot product over the
    // threads and adds the rounded partial sums (split-K), so 1 and 2 threads round differently.
    // Training and eval batch are both 1, so the kernels row compares a configuration with itself.
    manualSeed(12);
    setNumThreads(1);
    const model = new Linear(131072, 16);
    const report = await explainDiscrepancy(model, randn([2, 131072]), { trainBatch: 1, evalBatch: 1, threads: 2 });
    expect(report.settings.threads).toEqual([1, 2]);
    expect(differing(row(report, "threads"), "flagOff")).toBeGreaterThan(0);
    expect(differing(row(report, "threads"), "flagOn")).toBe(0);
    for (const flag of ["flagOff", "flagOn"] as const) {
      for (const source of ["mode", "batchStats", "kernels"] as const) expect(differing(row(report, source), flag), `${source} ${flag}`).toBe(0);
      expect(row(report, "combined")[flag]).toEqual(row(report, "threads")[flag]);
    }
  });

  it("a model with none of the sources: every row is zero with the flag on", async () => {
    manualSeed(5);
    const model = new Sequential(new Linear(20, 32), new ReLU(), new Linear(32, 3));
    const report = await explainDiscrepancy(model, randn([12, 20]), { trainBatch: 4, evalBatch: 1, flags: [true] });
    for (const r of report.sources) {
      if (r.effect === "notMeasured") continue;
      expect(r.flagOn!.differingElements, r.source).toBe(0);
      expect(r.flagOn!.maxAbsDiff, r.source).toBe(0);
      expect(r.flagOn!.maxUlp, r.source).toBe(0);
      expect(r.flagOn!.changedPredictions, r.source).toBe(0);
      expect(r.flagOn!.totalElements, r.source).toBe(36);
      expect(r.flagOn!.totalPredictions, r.source).toBe(12);
    }
    expect(report.sources.map((r) => r.source)).toEqual(["mode", "batchStats", "kernels", "threads", "device", "combined"]);
  });
});

describe("explainDiscrepancy leaves no trace", () => {
  it("restores the model, the flag (with warnOnly), the thread count and the generator", async () => {
    manualSeed(6);
    const model = new Sequential(new Linear(8, 8), new Dropout(0.3), new Linear(8, 4));
    // Mixed modes must come back as they were, not as all-train or all-eval.
    model.train();
    model.at(1).eval();
    const before = fingerprint(model);
    useDeterministicAlgorithms(true, { warnOnly: true });
    setNumThreads(3);
    const x = randn([4, 8]);
    const rng = getRngState();
    await explainDiscrepancy(model, x, { trainBatch: 2 });
    expectSameModel(model, before);
    expect(areDeterministicAlgorithmsEnabled()).toBe(true);
    expect(isDeterministicAlgorithmsWarnOnlyEnabled()).toBe(true);
    expect(getNumThreads()).toBe(3);
    expect(getRngState()).toEqual(rng);
  });

  it("the generator stream is exactly where it was: the next draw equals the draw without the doctor", async () => {
    const model = new Sequential(new Linear(6, 6), new Dropout(0.5));
    const x = randn([4, 6]);
    manualSeed(11);
    const expected = Array.from(randn([5]).dataSync());
    manualSeed(11);
    await explainDiscrepancy(model, x, { trainBatch: 2 });
    expect(Array.from(randn([5]).dataSync())).toEqual(expected);
  });

  it("restores everything when the model throws half-way", async () => {
    class FailsInEval extends Module {
      inner = new Sequential(new Linear(5, 5), new Dropout(0.5));
      forward(x: Tensor): Tensor {
        if (!this.training) throw new Error("eval is broken in this model");
        return this.inner.forward(x);
      }
    }
    manualSeed(7);
    const model = new FailsInEval();
    model.inner.eval();
    const before = fingerprint(model);
    const x = randn([4, 5]);
    useDeterministicAlgorithms(true);
    setNumThreads(2);
    const rng = getRngState();
    // The first pass (train mode) draws dropout masks, the second (eval mode) throws.
    await expect(explainDiscrepancy(model, x, { trainBatch: 2 })).rejects.toThrow("eval is broken in this model");
    expectSameModel(model, before);
    expect(areDeterministicAlgorithmsEnabled()).toBe(true);
    expect(isDeterministicAlgorithmsWarnOnlyEnabled()).toBe(false);
    expect(getNumThreads()).toBe(2);
    expect(getRngState()).toEqual(rng);
  });
});

describe("explainDiscrepancy: bad input", () => {
  const model = new Sequential(new Linear(4, 3));
  const x = randn([6, 4]);

  it("batch sizes that do not divide the rows are refused with the numbers, before anything changes", async () => {
    const rng = getRngState();
    await expect(explainDiscrepancy(model, x, { trainBatch: 4 })).rejects.toThrow(ValueError);
    await expect(explainDiscrepancy(model, x, { trainBatch: 4 })).rejects.toThrow("trainBatch 4 does not divide the input's 6 rows");
    await expect(explainDiscrepancy(model, x, { evalBatch: 7 })).rejects.toThrow("evalBatch 7 does not divide the input's 6 rows");
    await expect(explainDiscrepancy(model, x, { evalBatch: 0 })).rejects.toThrow("evalBatch must be a positive integer, got 0");
    await expect(explainDiscrepancy(model, x, { threads: 1.5 })).rejects.toThrow("threads must be a positive integer, got 1.5");
    expect(getRngState()).toEqual(rng);
  });

  it("an input without rows, a device that is not registered, or a second other device is refused", async () => {
    await expect(explainDiscrepancy(model, randn([0, 4]))).rejects.toThrow("at least one row, got shape [0, 4]");
    await expect(explainDiscrepancy(model, x, { devices: ["cpu", "nowhere"] })).rejects.toThrow(DeviceError);
    await expect(explainDiscrepancy(model, x, { devices: ["cpu", "nowhere"] })).rejects.toThrow("'nowhere'");
    await expect(explainDiscrepancy(model, x, { devices: ["webgpu"] })).rejects.toThrow("must include the input's device cpu");
    await expect(explainDiscrepancy(model, x, { devices: ["cpu", "a", "b"] })).rejects.toThrow("one other device");
  });

  it("a forward that does not return a tensor is refused and leaves the model as it was", async () => {
    class Pair extends Module<[Tensor], [Tensor, Tensor]> {
      lin = new Linear(4, 2);
      forward(x: Tensor): [Tensor, Tensor] {
        return [this.lin.forward(x), x];
      }
    }
    const pair = new Pair();
    const before = fingerprint(pair);
    await expect(explainDiscrepancy(pair, x)).rejects.toThrow("the model's forward must return a Tensor");
    expectSameModel(pair, before);
  });
});

describe("formatDiscrepancyReport", () => {
  it("prints one line per source and flag, the not-measured device row and the notes", async () => {
    manualSeed(8);
    const model = new Sequential(new Linear(6, 4), new Dropout(0.5));
    const text = formatDiscrepancyReport(await explainDiscrepancy(model, randn([4, 6]), { trainBatch: 2 }));
    const lines = text.split("\n");
    expect(lines[0]).toMatch(/^source\s+compares\s+flag\s+max \|Δ\|\s+differing\s+max ulp\s+changed predictions$/);
    for (const source of ["mode", "batchStats", "kernels", "threads", "combined"]) expect(lines.some((l) => l.startsWith(source)), source).toBe(true);
    expect(text).toMatch(/^device\s+cpu only\s+not measured$/m);
    expect(text).toMatch(/note: batchStats: no BatchNorm layers/);
    expect(lines.filter((l) => /\s(on|off)\s/.test(l))).toHaveLength(10);
  });
});
