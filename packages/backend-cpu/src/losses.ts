// Fused cross-entropy on class indices (core's ops/losses.ts): the loss in one pass over the
// logits and the logits' gradient in another, instead of the unfused kernels' two dozen.
//
// Same bits as the unfused sequence, in both modes: each step is rounded as the kernel it replaces
// rounds it when storing (float32: `fround` after every + − ×), and exp, log, division and the
// sums are that kernel's own functions — detmath's exp, log and division and the sum tree with
// the flag on; V8's Math.exp/log, a rounded `/` and the double-accumulated sum with it off;
// float64 (CPU only) has one kind of each, the double-precision ones, summing in order.
import type { KernelFn } from "@lockstep/core";
import { detDiv, detExp, detLog } from "./detmath.js";
import { doubleSumStrided, treeSumStrided } from "./reduce.js";
import { gatherElements, type CpuStorage } from "./storage.js";

type Floats = Float32Array | Float64Array;

/** The arithmetic of one dtype and mode, as the unfused kernels do it. */
interface LossMath {
  /** A result stored in the dtype: float32 rounding, or none. */
  round(x: number): number;
  exp(x: number): number;
  log(x: number): number;
  div(a: number, b: number): number;
  /** The sum kernel over src[0…n): its order and rounding. */
  sum(src: Floats, n: number): number;
  /** A scratch row of this dtype. */
  row(n: number): Floats;
}

const f = Math.fround;

const DETERMINISTIC32: LossMath = {
  round: f,
  exp: detExp,
  log: detLog,
  div: detDiv,
  sum: (src, n) => treeSumStrided(src as Float32Array, 0, n, 1),
  row: (n) => new Float32Array(n),
};

const FAST32: LossMath = {
  round: f,
  exp: (x) => f(Math.exp(x)),
  log: (x) => f(Math.log(x)),
  div: (a, b) => f(a / b),
  sum: (src, n) => f(doubleSumStrided(src as Float32Array, 0, n, 1)),
  row: (n) => new Float32Array(n),
};

const FLOAT64: LossMath = {
  round: (x) => x,
  exp: Math.exp,
  log: Math.log,
  div: (a, b) => a / b,
  sum: (src, n) => {
    let acc = 0;
    for (let i = 0; i < n; i++) acc += src[i]!;
    return acc;
  },
  row: (n) => new Float64Array(n),
};

function mathFor(dtype: string, deterministic: boolean): LossMath {
  return dtype === "float64" ? FLOAT64 : deterministic ? DETERMINISTIC32 : FAST32;
}

/**
 * Row `i`'s maximum (the amax kernel: the first element, then each larger one; the first NaN wins
 * and stops), its exps e[j] = exp(x[j] − max) written to `e`, and their sum.
 */
function softmaxRow(x: ArrayLike<number>, base: number, c: number, math: LossMath, e: Floats): { max: number; sum: number } {
  let max = x[base]!;
  for (let j = 1; j < c && max === max; j++) {
    const v = x[base + j]!;
    if (v > max || v !== v) max = v;
  }
  for (let j = 0; j < c; j++) e[j] = math.exp(math.round(x[base + j]! - max));
  return { max, sum: math.sum(e, c) };
}

export const crossEntropyKernel: KernelFn<"crossEntropy", CpuStorage> = ([logits, target], [out, countOut], attrs) => {
  const [n, c] = logits!.shape as [number, number];
  const { ignoreIndex, reduction, deterministic } = attrs;
  const math = mathFor(logits!.dtype, deterministic);
  const x = gatherElements(logits!);
  const t = gatherElements(target!);
  const e = math.row(c);
  const losses = math.row(n);
  let kept = 0;
  for (let i = 0; i < n; i++) {
    const base = i * c;
    const { max, sum } = softmaxRow(x, base, c, math, e);
    const logSum = math.log(sum);
    const keep = t[i] !== ignoreIndex;
    if (keep) kept++;
    // gather reads the kept target's log-probability (index 0 for an ignored one, then dropped).
    const at = keep ? t[i]! : 0;
    const picked = at >= 0 && at < c ? math.round(math.round(x[base + at]! - max) - logSum) : 0;
    losses[i] = keep ? -picked : 0;
  }
  const dst = out!.storage.data;
  if (reduction === "none") {
    dst.set(losses, out!.offset);
    return;
  }
  const total = math.sum(losses, n);
  if (reduction === "sum") {
    dst[out!.offset] = total;
    return;
  }
  // keep.float().sum(): an integer, exact in float32 up to 2^24 targets (nn fuses no more).
  countOut!.storage.data[countOut!.offset] = kept;
  dst[out!.offset] = math.div(total, kept);
};

export const crossEntropyBackwardKernel: KernelFn<"crossEntropyBackward", CpuStorage> = (
  [logits, target, grad, count],
  [out],
  attrs,
) => {
  const [n, c] = logits!.shape as [number, number];
  const { ignoreIndex, reduction, deterministic } = attrs;
  const math = mathFor(logits!.dtype, deterministic);
  const x = gatherElements(logits!);
  const t = gatherElements(target!);
  const g = gatherElements(grad!);
  const e = math.row(c);
  const dst = out!.storage.data;
  // mean's backward: div(g, count) once, then spread to every sample by sum's expand.
  const shared = reduction === "mean" ? math.div(g[0]!, count!.storage.data[count!.offset]!) : g[0]!;
  for (let i = 0; i < n; i++) {
    const base = i * c;
    const { sum } = softmaxRow(x, base, c, math, e);
    const keep = t[i] !== ignoreIndex;
    const at = keep ? t[i]! : 0;
    const hit = at >= 0 && at < c;
    // where(keep, g, 0) → neg → gather's scatter-add (a one-element sum from +0: −0 becomes +0).
    const picked = 0 + -(keep ? (reduction === "none" ? g[i]! : shared) : 0);
    // logSoftmax: the gradient of log Σ is −Σ_j G[j] (the row sum of one value and −0s), ÷ Σ.
    const scale = math.div(hit ? 0 + -picked : 0, sum);
    // exp's gradient (scale·e[j]) added to the direct one (G[j]), in the engine's order.
    for (let j = 0; j < c; j++) dst[base + j] = math.round((hit && j === at ? picked : 0) + math.round(scale * e[j]!));
  }
};
