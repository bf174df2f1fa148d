// The fused cross-entropy (nn.functional.crossEntropy on class indices → core's crossEntropy
// primitive, one kernel forward and one backward) gives the bits of the unfused op sequence it
// replaced — written out below from core ops, as nn ran it — for the loss and the logits'
// gradient: float32 and float64 (CPU), both modes, every device, reductions mean/sum/none, batch 1
// and batch N, 1-d logits, ignored targets (none kept too), ±inf, NaN and huge logits, rows wider
// than the sum tree's block. With the flag on, CPU and WebGPU agree bit for bit.
import { IndexError, nn, tensor, useDeterministicAlgorithms, where, type DType, type Tensor } from "lockstep";
import { afterEach, describe, expect, it } from "vitest";
import { difference } from "./bits.js";
import { devices } from "./devices.js";

type Reduction = "mean" | "sum" | "none";

/** nn's crossEntropy on class indices before fusion, op by op (logSoftmax, pickClass, meanOverKept). */
function unfused(logits: Tensor, target: Tensor, reduction: Reduction, ignoreIndex: number): Tensor {
  const logProbs = logits.logSoftmax(logits.ndim - 1);
  const batched = logProbs.ndim === 2;
  const lp = batched ? logProbs : logProbs.unsqueeze(0);
  const t = batched ? target : target.reshape(1);
  const keep1 = t.ne(ignoreIndex);
  const safe = where(keep1, t, 0);
  const picked1 = lp.gather(1, safe.unsqueeze(1)).squeeze(1);
  const picked = batched ? picked1 : picked1.reshape([]);
  const keep = batched ? keep1 : keep1.reshape([]);
  const loss = where(keep, picked.neg(), 0);
  if (reduction === "none") return loss;
  if (reduction === "sum") return loss.sum();
  return loss.sum().div(keep.float().sum());
}

/** A seeded generator of values in [0, 1). */
function generator(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/**
 * Logits [n, c] of wide magnitude (1e-4 … 1e2, some 1e30) with special rows: +inf, −inf entries,
 * all −inf, NaN, ties, and a row whose target is the only finite entry (loss −0).
 */
function logitValues(n: number, c: number, seed: number, specials: boolean): number[] {
  const next = generator(seed);
  const out = Array.from({ length: n * c }, () => (next() * 2 - 1) * 10 ** Math.floor(next() * 7 - 4));
  if (!specials) return out;
  const row = (i: number, values: (j: number) => number) => {
    if (i < n) for (let j = 0; j < c; j++) out[i * c + j] = values(j);
  };
  row(1, (j) => (j === 1 ? Infinity : out[c + j]!));
  row(2, (j) => (j % 2 === 0 ? -Infinity : out[2 * c + j]!));
  row(3, () => -Infinity);
  row(4, (j) => (j === 0 ? Number.NaN : out[4 * c + j]!));
  row(5, () => 0.5);
  row(6, (j) => (j === 0 ? 1e30 : -1e30));
  row(7, (j) => (j === 2 ? 3 : -Infinity));
  row(8, (j) => (j % 3 === 0 ? 1e30 : out[8 * c + j]! * 1e-30));
  return out;
}

function targetValues(n: number, c: number, seed: number, ignoreIndex: number, ignoreAll: boolean): number[] {
  const next = generator(seed);
  return Array.from({ length: n }, (_, i) => {
    if (ignoreAll || (i % 5 === 3 && i > 0)) return ignoreIndex;
    if (i === 7) return 2 % c;
    return Math.floor(next() * c);
  });
}

interface Case {
  name: string;
  n: number;
  c: number;
  /** 1-d logits [c] with a 0-d target. */
  single?: boolean;
  ignoreIndex?: number;
  ignoreAll?: boolean;
  specials?: boolean;
  /** Logits as the transpose of a [c, n] leaf (a strided view). */
  transposed?: boolean;
}

const CASES: Case[] = [
  { name: "batch 1", n: 1, c: 10 },
  { name: "1-d logits", n: 1, c: 7, single: true },
  { name: "1-d logits, ignored", n: 1, c: 7, single: true, ignoreAll: true },
  { name: "batch 16 × 10, specials", n: 16, c: 10, specials: true },
  { name: "batch 37 × 70 (two sum blocks each way), specials", n: 37, c: 70, specials: true },
  { name: "ignoreIndex 2, a real class", n: 12, c: 5, ignoreIndex: 2, specials: true },
  { name: "every target ignored", n: 6, c: 4, ignoreAll: true },
  { name: "one class", n: 5, c: 1 },
  { name: "batch 300 × 20", n: 300, c: 20 },
  { name: "transposed logits", n: 9, c: 6, transposed: true, specials: true },
];

const REDUCTIONS: Reduction[] = ["mean", "sum", "none"];

function inputs(k: Case, dtype: DType, device: string, seed: number) {
  const ignoreIndex = k.ignoreIndex ?? -100;
  const x = logitValues(k.n, k.c, seed, k.specials ?? false);
  const t = targetValues(k.n, k.c, seed + 1, ignoreIndex, k.ignoreAll ?? false);
  const logits = () => {
    if (k.single) return tensor(x, { dtype }).to(device).requiresGrad_();
    return tensor(x, { dtype }).reshape(k.transposed ? [k.c, k.n] : [k.n, k.c]).to(device).requiresGrad_();
  };
  const target = (k.single ? tensor(t[0]!, { dtype: "int32" }) : tensor(t, { dtype: "int32" })).to(device);
  // The gradient of a "none" loss: wide values with ±0; a mean or sum loss is scaled by 3.
  const next = generator(seed + 2);
  const weights = Array.from({ length: k.n }, (_, i) => (i === 0 ? -0 : i === 1 ? 0 : (next() * 2 - 1) * 10 ** Math.floor(next() * 6 - 3)));
  return { logits, target, ignoreIndex, weights };
}

/** The loss and the logits' gradient of `lossOf`. */
function run(
  lossOf: (logits: Tensor) => Tensor,
  logits: Tensor,
  reduction: Reduction,
  weights: number[],
  dtype: DType,
  device: string,
  transposed = false,
): { loss: Tensor; grad: Tensor; gradFn: string | undefined } {
  const loss = lossOf(transposed ? logits.t() : logits);
  const gradFn = loss.gradFn?.name;
  const given = reduction === "none" ? tensor(weights.slice(0, loss.numel()), { dtype }) : tensor([3], { dtype });
  loss.backward(given.reshape(loss.shape).to(device));
  return { loss, grad: logits.grad!, gradFn };
}

/** [dtype, deterministic] pairs a device runs: float64 is CPU-only. */
function configurations(device: string): [DType, boolean][] {
  const dtypes: DType[] = device === "cpu" ? ["float32", "float64"] : ["float32"];
  return dtypes.flatMap((dtype) => [[dtype, true], [dtype, false]] as [DType, boolean][]);
}

afterEach(() => useDeterministicAlgorithms(false));

describe.each(devices)("fused crossEntropy on %s", (device) => {
  for (const [dtype, deterministic] of configurations(device)) {
    const mode = deterministic ? "deterministic" : "fast";
    for (const k of CASES) {
      it(`${dtype} ${mode}: ${k.name} — loss and gradient have the unfused bits`, async () => {
        useDeterministicAlgorithms(deterministic);
        for (const reduction of REDUCTIONS) {
          const { logits, target, ignoreIndex, weights } = inputs(k, dtype, device, 7 + k.n * 31 + k.c);
          const fused = run((x) => nn.functional.crossEntropy(x, target, { reduction, ignoreIndex }), logits(), reduction, weights, dtype, device, k.transposed);
          const reference = run((x) => unfused(x, target, reduction, ignoreIndex), logits(), reduction, weights, dtype, device, k.transposed);
          // The fused primitive really ran (the unfused graph ends in Div/Sum/Where or a view).
          expect(fused.gradFn, reduction).toBe(k.single && reduction === "none" ? "ViewBackward0" : "NllLossBackward0");
          expect(await difference(fused.loss, reference.loss), `${reduction} loss`).toBe("");
          expect(await difference(fused.grad, reference.grad), `${reduction} gradient`).toBe("");
        }
      });
    }
  }
});

describe.runIf(devices.includes("webgpu"))("fused crossEntropy, deterministic: CPU ≡ WebGPU", () => {
  for (const k of CASES) {
    it(k.name, async () => {
      useDeterministicAlgorithms(true);
      for (const reduction of REDUCTIONS) {
        const results = ["cpu", "webgpu"].map((device) => {
          const { logits, target, ignoreIndex, weights } = inputs(k, "float32", device, 11 + k.n + k.c);
          return run((x) => nn.functional.crossEntropy(x, target, { reduction, ignoreIndex }), logits(), reduction, weights, "float32", device, k.transposed);
        });
        // 0/0 (every target ignored) is a NaN whose sign differs between x86 and detmath's WGSL.
        expect(await difference(results[0]!.loss, results[1]!.loss, true), `${reduction} loss`).toBe("");
        expect(await difference(results[0]!.grad, results[1]!.grad, true), `${reduction} gradient`).toBe("");
      }
    });
  }
});

describe("fused crossEntropy keeps the unfused path's errors and other forms", () => {
  it("a target out of range throws the same IndexError before any kernel runs", () => {
    const logits = tensor([[0.5, 1, -1], [2, 0, 1]]).requiresGrad_();
    for (const bad of [[0, 3], [-1, 0]]) {
      expect(() => nn.functional.crossEntropy(logits, tensor(bad, { dtype: "int32" }))).toThrow(IndexError);
      expect(() => nn.functional.crossEntropy(logits, tensor(bad, { dtype: "int32" }))).toThrow(`Target ${bad.find((t) => t < 0 || t > 2)} is out of bounds.`);
    }
  });

  it("label smoothing, a non-integer ignoreIndex and empty batches take the composed path", async () => {
    const logits = tensor([[0.5, 1, -1], [2, 0, 1]]).requiresGrad_();
    const target = tensor([0, 2], { dtype: "int32" });
    expect(nn.functional.crossEntropy(logits, target, { labelSmoothing: 0.1 }).gradFn?.name).toBe("DivBackward0");
    expect(nn.functional.crossEntropy(logits, target, { ignoreIndex: 0.5 }).gradFn?.name).toBe("DivBackward0");
    const empty = nn.functional.crossEntropy(tensor([], { dtype: "float32" }).reshape([0, 3]), tensor([], { dtype: "int32" }), { reduction: "sum" });
    expect(await empty.item()).toBe(0);
  });

  it("a device whose backend has no crossEntropy kernels takes the composed path, with the same bits", async () => {
    const kernels = (globalThis as unknown as Record<symbol, { kernels: Map<string, Map<string, unknown>> }>)[
      Symbol.for("lockstep.state")
    ]!.kernels;
    const removed = ["crossEntropy", "crossEntropyBackward"].map((op) => [op, kernels.get(op)!.get("cpu")] as const);
    const { logits, target, weights } = inputs(CASES[3]!, "float32", "cpu", 5);
    const fused = run((x) => nn.functional.crossEntropy(x, target), logits(), "mean", weights, "float32", "cpu");
    for (const [op] of removed) kernels.get(op)!.delete("cpu");
    try {
      const composed = run((x) => nn.functional.crossEntropy(x, target), logits(), "mean", weights, "float32", "cpu");
      expect(composed.gradFn).toBe("DivBackward0");
      expect(await difference(fused.loss, composed.loss)).toBe("");
      expect(await difference(fused.grad, composed.grad)).toBe("");
    } finally {
      for (const [op, list] of removed) kernels.get(op)!.set("cpu", list);
    }
  });

  it.each(devices)("changing the logits in place after the loss is allowed, as in PyTorch, and leaves the gradient alone (%s)", async (device) => {
    // PyTorch's cross_entropy saves log_softmax's output, not the logits, so an in-place change to
    // the logits between the loss and backward() neither throws nor reaches the gradient.
    const gradient = async (change: boolean) => {
      const w = tensor([[0.5, -1, 2], [1.5, 0.25, -0.75]]).to(device).requiresGrad_();
      const x = tensor([[1, 2], [-1, 0.5], [3, -2]]).to(device);
      const logits = x.matmul(w);
      const loss = nn.functional.crossEntropy(logits, tensor([2, 0, 1], { dtype: "int32" }).to(device));
      expect(loss.gradFn?.name).toBe("NllLossBackward0");
      if (change) logits.mul_(100);
      loss.backward();
      return w.grad!;
    };
    const unchanged = await gradient(false);
    expect(await difference(await gradient(true), unchanged)).toBe("");
  });

  it("a loss without grad mode keeps no count tensor and matches the unfused value", async () => {
    const logits = tensor([[0.5, 1, -1], [2, 0, 1]]);
    const target = tensor([0, -100], { dtype: "int32" });
    const fused = nn.functional.crossEntropy(logits, target);
    expect(fused.gradFn).toBeUndefined();
    expect(await difference(fused, unfused(logits, target, "mean", -100))).toBe("");
  });
});
