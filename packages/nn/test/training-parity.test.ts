// Training parity with PyTorch 1.13: the same seed builds the same data and the same model, the
// dropout masks are drawn in the same (forward) order, and SGD then Adam/AdamW give per-step
// losses and final weights within 1e-5 of PyTorch's (float32 matmuls may sum in another order).
// The StepLR and CosineAnnealingLR lr sequences, computed in doubles, equal PyTorch's bit for bit.
// Fixtures from fixtures/nn/generate.py.
import "@lockstep/backend-cpu";
import { areDeterministicAlgorithmsEnabled, useDeterministicAlgorithms, type Tensor } from "@lockstep/core";
import { manualSeed, rand, randint, randn } from "@lockstep/random";
import { afterEach, describe, expect, it } from "vitest";
import { Dropout, Linear, ReLU, Sequential, functional as F, optim, type Parameter } from "../src/index.js";
import {
  encodedValues,
  expectBits,
  expectClose,
  float32OfHex,
  float64OfHex,
  readFixture,
  type Encoded,
} from "./support/fixtures.js";

interface OptimizerSpec {
  kind: "SGD" | "Adam" | "AdamW";
  options: { lr: number; momentum?: number; dampening?: number; nesterov?: boolean; weightDecay?: number; amsgrad?: boolean; betas?: [number, number]; eps?: number };
  steps: number;
  scheduler?: { kind: "StepLR"; stepSize: number; gamma: number } | { kind: "CosineAnnealingLR"; tMax: number; etaMin: number };
}

interface TrainingCase {
  name: string;
  seed: number;
  batch: number;
  sizes: [number, number, number];
  dropout: number;
  phases: OptimizerSpec[];
  x: Encoded;
  y: number[];
  initial: Record<string, Encoded>;
  results: { losses: string[]; lrs: string[]; state: Record<string, Encoded> }[];
  evalLoss: string;
  tail: Encoded;
}

interface ScheduleCase {
  kind: "StepLR" | "CosineAnnealingLR";
  lr: number;
  stepSize?: number;
  gamma?: number;
  tMax?: number;
  etaMin?: number;
  epochs: number;
  lrs: string[];
}

const fixture = readFixture<{ training: TrainingCase[]; schedules: ScheduleCase[] }>("training.json");

const TOLERANCE = 1e-5;

function makeOptimizer(spec: OptimizerSpec, params: Parameter[]): optim.Optimizer<{ lr: number }> {
  const o = spec.options;
  if (spec.kind === "SGD") {
    return new optim.SGD(params, { lr: o.lr, momentum: o.momentum ?? 0, dampening: o.dampening ?? 0, nesterov: o.nesterov ?? false, weightDecay: o.weightDecay ?? 0 });
  }
  const options = {
    lr: o.lr,
    amsgrad: o.amsgrad ?? false,
    ...(o.betas !== undefined && { betas: o.betas }),
    ...(o.eps !== undefined && { eps: o.eps }),
    ...(o.weightDecay !== undefined && { weightDecay: o.weightDecay }),
  };
  return spec.kind === "Adam" ? new optim.Adam(params, options) : new optim.AdamW(params, options);
}

function makeScheduler(spec: OptimizerSpec["scheduler"] | ScheduleCase, optimizer: optim.Optimizer<{ lr: number }>): optim.LRScheduler | undefined {
  if (spec === undefined) return undefined;
  if (spec.kind === "StepLR") return new optim.StepLR(optimizer, { stepSize: spec.stepSize!, gamma: spec.gamma! });
  return new optim.CosineAnnealingLR(optimizer, { tMax: spec.tMax!, etaMin: spec.etaMin! });
}

const initialMode = areDeterministicAlgorithmsEnabled();
afterEach(() => useDeterministicAlgorithms(initialMode));

describe.each([
  ["fast kernels", false],
  ["deterministic kernels", true],
] as const)("training an MLP with dropout matches PyTorch step by step (%s)", (_, deterministic) => {
  it.each(fixture.training.map((c) => [c.name, c] as const))("%s", (_, c) => {
    useDeterministicAlgorithms(deterministic);
    // Data and model built in PyTorch's order from one seed.
    manualSeed(c.seed);
    const [nIn, hidden, classes] = c.sizes;
    const x = randn([c.batch, nIn]);
    const y = randint(0, classes, [c.batch]);
    expectBits(x, c.x, "x = randn");
    expect(Array.from(y.dataSync()), "y = randint").toEqual(c.y);
    const model = new Sequential(new Linear(nIn, hidden), new ReLU(), new Dropout(c.dropout), new Linear(hidden, classes));
    const initial = model.stateDict();
    for (const [key, e] of Object.entries(c.initial)) expectBits(initial[key], e, `initial ${key}`);

    c.phases.forEach((phase, p) => {
      const expected = c.results[p]!;
      const optimizer = makeOptimizer(phase, model.parameters());
      const scheduler = makeScheduler(phase.scheduler, optimizer);
      const losses: number[] = [];
      const lrs: number[] = [];
      for (let step = 0; step < phase.steps; step++) {
        lrs.push(optimizer.paramGroups[0]!.lr);
        optimizer.zeroGrad();
        const loss: Tensor = F.crossEntropy(model.forward(x), y);
        loss.backward();
        optimizer.step();
        scheduler?.step();
        losses.push(loss.itemSync() as number);
      }
      const what = `phase ${p + 1} (${phase.kind})`;
      expect(lrs, `${what} learning rates`).toEqual(expected.lrs.map(float64OfHex));
      expectClose(losses, expected.losses.map(float32OfHex), TOLERANCE, 0, `${what} losses`);
      const state = model.stateDict();
      for (const [key, e] of Object.entries(expected.state)) {
        expectClose(state[key]!.dataSync() as Float32Array, encodedValues(e) as Float32Array, TOLERANCE, 1e-6, `${what} ${key}`);
      }
    });

    // Same number of dropout draws as PyTorch: the generators end at the same position.
    expectBits(rand([4]), c.tail, "the next four draws after training");
    model.eval();
    const evalLoss = F.crossEntropy(model.forward(x), y).itemSync() as number;
    expectClose([evalLoss], [float32OfHex(c.evalLoss)], TOLERANCE, 0, "eval-mode loss");
  });
});

describe("learning-rate schedulers follow PyTorch's sequences", () => {
  const label = (s: ScheduleCase): string =>
    s.kind === "StepLR" ? `StepLR(stepSize=${s.stepSize}, gamma=${s.gamma}) from lr ${s.lr}` : `CosineAnnealingLR(tMax=${s.tMax}, etaMin=${s.etaMin}) from lr ${s.lr}`;

  it.each(fixture.schedules.map((s) => [label(s), s.epochs, s] as const))("%s over %s epochs", (_, __, s) => {
    const optimizer = new optim.SGD([randn([2]).requiresGrad_()], { lr: s.lr });
    const scheduler = makeScheduler(s, optimizer)!;
    const lrs = [scheduler.getLastLr()[0]!];
    for (let epoch = 0; epoch < s.epochs; epoch++) {
      optimizer.step();
      scheduler.step();
      lrs.push(scheduler.getLastLr()[0]!);
    }
    // Both sides compute in doubles with correctly rounded cosines: the same bits.
    expect(lrs, "lr after each epoch").toEqual(s.lrs.map(float64OfHex));
    expect(optimizer.paramGroups[0]!.lr).toBe(lrs.at(-1));
  });
});
