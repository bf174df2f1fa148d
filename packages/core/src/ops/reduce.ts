// Reductions, and the ops built from them (mean, var, std, logsumexp, softmax, logSoftmax).
// The primitives reduce a set of dims into a keepdim-shaped output; dropping the reduced dims is
// a view here, so kernels have one output layout to write.
import { isFloating, type DType } from "../dtype.js";
import { DTypeError, IndexError, ValueError } from "../errors.js";
import { runPrimitive } from "../dispatch.js";
import type { ReduceOp } from "../primitives.js";
import { normalizeDim, normalizeDims } from "../shape.js";
import type { Tensor } from "../tensor.js";
import { cast, div, exp, log, mul, sqrt, sub, add, where, abs, eq } from "./elementwise.js";
import { reshape, squeeze } from "./views.js";
import { checkDim, checkDims, checkNumber, checkOptionalBool, checkOptionalDim, checkOptions, checkTensor } from "../validate.js";

/** The common arguments of a reduction, checked: the tensor, its dims (optional) and keepdim. */
function reduceArgs(fn: string, x: unknown, dim: unknown, keepdim: unknown): boolean {
  checkTensor(fn, "input", x);
  checkDims(fn, "dim", dim);
  return checkOptionalBool(fn, "keepdim", keepdim, false);
}

/** Result of `max(x, dim)` / `min(x, dim)`, like PyTorch's (values, indices) named tuple. */
export interface ValuesIndices {
  /** The extreme values along the reduced dim. */
  values: Tensor;
  /** Their positions along that dim (int32; the first one on ties). */
  indices: Tensor;
}

/** Options of `var` and `std`. */
export interface VarOptions {
  /** Subtracted from the element count in the divisor: 1 (default) is Bessel's correction. */
  correction?: number;
}

type Dims = number | readonly number[] | undefined;

/** Reduced dims; an empty list means all dims, as in PyTorch's sum(dim=[]). */
function reducedDims(x: Tensor, dim: Dims): number[] {
  if (Array.isArray(dim) && dim.length === 0) return normalizeDims(undefined, x.ndim);
  return normalizeDims(dim as number | readonly number[] | undefined, x.ndim);
}

function keptShape(x: Tensor, dims: readonly number[]): number[] {
  return x.shape.map((s, i) => (dims.includes(i) ? 1 : s));
}

function finish(out: Tensor, x: Tensor, dims: readonly number[], keepdim: boolean): Tensor {
  if (keepdim || x.ndim === 0) return out;
  return reshape(out, x.shape.filter((_, i) => !dims.includes(i)));
}

function reduce(op: ReduceOp, x: Tensor, dim: Dims, keepdim: boolean, dtype: DType): Tensor {
  const dims = reducedDims(x, dim);
  const input = cast(x, dtype);
  const out = runPrimitive(op, [input], [{ shape: keptShape(x, dims), dtype }], { dims })[0]!;
  return finish(out, x, dims, keepdim);
}

/** Sums of bools and ints are int32 (PyTorch: int64). */
function accumulateDType(x: Tensor): DType {
  return isFloating(x.dtype) ? x.dtype : "int32";
}

function requireFloat(name: string, x: Tensor): void {
  if (!isFloating(x.dtype)) {
    throw new DTypeError(
      `${name}(): could not infer output dtype. Input dtype must be either a floating point or complex dtype. Got: ${x.dtype}`,
    );
  }
}

function countOf(x: Tensor, dims: readonly number[]): number {
  return dims.reduce((n, d) => n * x.shape[d]!, 1);
}

function requireNonEmpty(name: string, x: Tensor, dims: readonly number[], all: boolean): void {
  if (all && x.numel() === 0) {
    throw new IndexError(
      `${name}(): Expected reduction dim to be specified for input.numel() == 0. Specify the reduction dim with the 'dim' argument.`,
    );
  }
  for (const d of dims) {
    if (x.shape[d] === 0) throw new IndexError(`${name}(): Expected reduction dim ${d} to have non-zero size.`);
  }
}

/**
 * Like torch.sum: sum over `dim` (one dim, a list, or all when omitted), dropping reduced dims
 * unless `keepdim`. Bool and int32 inputs sum to int32 (PyTorch: int64). Throws IndexError for a
 * dim out of range.
 */
export function sum(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  reduceArgs("sum", x, dim, keepdim);
  return reduce("sum", x, dim, keepdim, accumulateDType(x));
}

/**
 * Like torch.prod: product over `dim`, or over all elements when omitted. Bool and int32 inputs
 * give int32.
 */
export function prod(x: Tensor, dim?: number, keepdim = false): Tensor {
  reduceArgs("prod", x, checkOptionalDim("prod", "dim", dim), keepdim);
  return reduce("prod", x, dim, keepdim, accumulateDType(x));
}

/**
 * Like torch.mean: mean over `dim` (one dim, a list, or all when omitted). Throws DTypeError for
 * non-floating inputs, as PyTorch does.
 */
export function mean(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  reduceArgs("mean", x, dim, keepdim);
  requireFloat("mean", x);
  const dims = reducedDims(x, dim);
  return div(sum(x, dims, keepdim), countOf(x, dims));
}

/**
 * Like torch.amax: maximum over `dim` (one dim, a list, or all), values only. Throws IndexError
 * when reducing an empty dim.
 */
export function amax(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  reduceArgs("amax", x, dim, keepdim);
  const dims = reducedDims(x, dim);
  requireNonEmpty("amax", x, dims, dim === undefined || (Array.isArray(dim) && dim.length === 0));
  return reduce("amax", x, dims, keepdim, x.dtype);
}

/**
 * Like torch.amin: minimum over `dim` (one dim, a list, or all), values only. Throws IndexError
 * when reducing an empty dim.
 */
export function amin(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  reduceArgs("amin", x, dim, keepdim);
  const dims = reducedDims(x, dim);
  requireNonEmpty("amin", x, dims, dim === undefined || (Array.isArray(dim) && dim.length === 0));
  return reduce("amin", x, dims, keepdim, x.dtype);
}

function extremum(op: "maxDim" | "minDim", x: Tensor, dim: number, keepdim: boolean): ValuesIndices {
  const name = op === "maxDim" ? "max" : "min";
  const d = normalizeDim(dim, x.ndim);
  if (x.ndim > 0 && x.shape[d] === 0) {
    throw new IndexError(
      `${name}(): Expected reduction dim ${d} to have non-zero size.`,
    );
  }
  const shape = keptShape(x, x.ndim === 0 ? [] : [d]);
  const [values, indices] = runPrimitive(op, [x], [{ shape, dtype: x.dtype }, { shape, dtype: "int32" }], { dim: d });
  return { values: finish(values!, x, [d], keepdim), indices: finish(indices!, x, [d], keepdim) };
}

function wholeExtremum(name: "max" | "min", x: Tensor): Tensor {
  if (x.numel() === 0) {
    throw new IndexError(
      `${name}(): Expected reduction dim to be specified for input.numel() == 0. Specify the reduction dim with the 'dim' argument.`,
    );
  }
  return name === "max" ? amax(x) : amin(x);
}

/** `max()` of everything, or `{ values, indices }` along `dim`. */
export function max(x: Tensor, dim?: number, keepdim = false): Tensor | ValuesIndices {
  reduceArgs("max", x, checkOptionalDim("max", "dim", dim), keepdim);
  return dim === undefined ? wholeExtremum("max", x) : extremum("maxDim", x, dim, keepdim);
}

/** `min()` of everything, or `{ values, indices }` along `dim`, like torch.min. */
export function min(x: Tensor, dim?: number, keepdim = false): Tensor | ValuesIndices {
  reduceArgs("min", x, checkOptionalDim("min", "dim", dim), keepdim);
  return dim === undefined ? wholeExtremum("min", x) : extremum("minDim", x, dim, keepdim);
}

function argExtremum(op: "maxDim" | "minDim", x: Tensor, dim: number | undefined, keepdim: boolean): Tensor {
  if (x.dtype === "bool") throw new DTypeError(`"arg${op === "maxDim" ? "max" : "min"}_cpu" not implemented for 'Bool'`);
  if (dim !== undefined) return extremum(op, x, dim, keepdim).indices;
  if (x.numel() === 0) {
    throw new IndexError(`arg${op === "maxDim" ? "max" : "min"}(): Expected reduction dim to be specified for input.numel() == 0.`);
  }
  const flat = extremum(op, reshape(x, [-1]), 0, false).indices;
  return keepdim ? reshape(flat, x.shape.map(() => 1)) : flat;
}

/**
 * Like torch.argmax: int32 index of the maximum along `dim`, or into the flattened tensor when
 * `dim` is omitted (the first one on ties). Throws DTypeError for bool tensors.
 */
export function argmax(x: Tensor, dim?: number, keepdim = false): Tensor {
  reduceArgs("argmax", x, checkOptionalDim("argmax", "dim", dim), keepdim);
  return argExtremum("maxDim", x, dim, keepdim);
}

/**
 * Like torch.argmin: int32 index of the minimum along `dim`, or into the flattened tensor when
 * `dim` is omitted (the first one on ties). Throws DTypeError for bool tensors.
 */
export function argmin(x: Tensor, dim?: number, keepdim = false): Tensor {
  reduceArgs("argmin", x, checkOptionalDim("argmin", "dim", dim), keepdim);
  return argExtremum("minDim", x, dim, keepdim);
}

/** Variance with `correction` (default 1, unbiased): two passes, mean first. */
export function variance(x: Tensor, dim?: Dims, keepdim = false, options: VarOptions = {}): Tensor {
  reduceArgs("var", x, dim, keepdim);
  checkOptions("var", options, { correction: checkNumber });
  if (!isFloating(x.dtype)) throw new DTypeError("std and var only support floating point and complex dtypes");
  const correction = options.correction ?? 1;
  if (!Number.isFinite(correction)) throw new ValueError(`var(): correction must be a finite number, got ${correction}`);
  const dims = reducedDims(x, dim);
  const centered = sub(x, mean(x, dims, true));
  const squares = sum(mul(centered, centered), dims, keepdim);
  return div(squares, Math.max(0, countOf(x, dims) - correction));
}

/** Like torch.std: square root of `var(x, dim, keepdim, options)`. */
export function std(x: Tensor, dim?: Dims, keepdim = false, options: VarOptions = {}): Tensor {
  reduceArgs("std", x, dim, keepdim);
  checkOptions("std", options, { correction: checkNumber });
  return sqrt(variance(x, dim, keepdim, options));
}

/** Infinite maxima would give inf − inf = NaN; shifting by 0 there keeps ±inf results right. */
function stableShift(x: Tensor, dims: readonly number[]): Tensor {
  const m = amax(x, dims, true);
  return where(eq(abs(m), Number.POSITIVE_INFINITY), 0, m);
}

/**
 * Like torch.logsumexp: `log(sum(exp(x)))` over `dim` (required), computed stably by shifting by
 * the maximum; int and bool inputs give float32.
 */
export function logsumexp(x: Tensor, dim: Dims, keepdim = false): Tensor {
  reduceArgs("logsumexp", x, dim, keepdim);
  if (dim === undefined) throw new ValueError("logsumexp(): dim is required");
  const input = isFloating(x.dtype) ? x : cast(x, "float32");
  const dims = reducedDims(input, dim);
  if (input.numel() === 0) return log(sum(exp(input), dims, keepdim));
  // The shift's gradient cancels mathematically (PyTorch's backward is g·exp(x − result)), so it
  // carries none here either.
  const shift = stableShift(input.detach(), dims);
  const out = add(log(sum(exp(sub(input, shift)), dims, true)), shift);
  return keepdim ? out : squeeze(out, dims);
}

function requireSoftmaxInput(name: string, x: Tensor): void {
  if (!isFloating(x.dtype)) throw new DTypeError(`${name}(): expected a floating point tensor, got ${x.dtype}`);
}

/**
 * Like torch.softmax: `exp(x)` normalized to sum to 1 along `dim` (shifted by the maximum for
 * stability). Throws DTypeError for non-floating inputs.
 */
export function softmax(x: Tensor, dim: number): Tensor {
  checkTensor("softmax", "input", x);
  checkDim("softmax", "dim", dim);
  requireSoftmaxInput("softmax", x);
  const d = normalizeDim(dim, x.ndim);
  // Empty input, empty output (PyTorch); the max below would refuse an empty dim.
  if (x.numel() === 0) return exp(x);
  // The shift cancels out of the result, so no gradient flows through it (as in PyTorch, whose
  // backward is y·(g − Σ g·y)): detaching it also saves the maximum's backward kernels.
  const e = exp(sub(x, amax(x.detach(), d, true)));
  return div(e, sum(e, d, true));
}

/**
 * Like torch.log_softmax: `log(softmax(x, dim))`, computed as `x - max - log(sum(exp(x - max)))`.
 * Throws DTypeError for non-floating inputs.
 */
export function logSoftmax(x: Tensor, dim: number): Tensor {
  checkTensor("log_softmax", "input", x);
  checkDim("log_softmax", "dim", dim);
  requireSoftmaxInput("logSoftmax", x);
  const d = normalizeDim(dim, x.ndim);
  if (x.numel() === 0) return sub(x, x);
  // As in softmax, the shift carries no gradient (PyTorch's backward is g − softmax·Σ g).
  const shifted = sub(x, amax(x.detach(), d, true));
  return sub(shifted, log(sum(exp(shifted), d, true)));
}
