// Rearranging ops composed from views, indexSelect and cat: flip, roll, repeat, tile; plus cumsum
// (a scan of adds, compensated for float32) and oneHot (a comparison). Being compositions, they run on every backend, are
// deterministic wherever their parts are, and get gradients from the parts' rules.
import { DTypeError, IndexError, LockstepTypeError, ValueError } from "../errors.js";
import { fromData } from "../dispatch.js";
import { formatShape, normalizeDim } from "../shape.js";
import type { Tensor } from "../tensor.js";
import { abs, add, cast, eq, lt, sub, where } from "./elementwise.js";
import { indexSelect } from "./indexing.js";
import { cat } from "./join.js";
import { clone, expand, flatten, narrow, reshape, unsqueeze } from "./views.js";
import { checkDims, checkInt, checkSizes, checkTensor, formatValue } from "../validate.js";
import { zeros } from "../creation.js";

function dimsList(fn: string, x: Tensor, dims: number | readonly number[]): number[] {
  const list = checkDims(fn, "dims", dims);
  const arr = typeof list === "number" ? [list] : list ?? [];
  const out = arr.map((d) => normalizeDim(d, Math.max(x.ndim, 1)));
  const seen = new Set<number>();
  for (const d of out) {
    if (seen.has(d)) throw new IndexError(`${fn}(): dim ${d} appears multiple times in the list of dims ${formatValue(arr)}`);
    seen.add(d);
  }
  return out;
}

/**
 * Like torch.flip: the elements in reverse order along each of `dims` (a new tensor, as in
 * PyTorch).
 */
export function flip(x: Tensor, dims: number | readonly number[]): Tensor {
  checkTensor("flip", "input", x);
  const list = dimsList("flip", x, dims);
  let out = x;
  if (x.ndim === 0) return clone(x);
  for (const d of list) {
    const n = x.shape[d]!;
    const index = fromData(Int32Array.from({ length: n }, (_, i) => n - 1 - i), "int32", [n], x.device);
    out = indexSelect(out, d, index);
  }
  return out === x ? clone(x) : out;
}

/**
 * Like torch.roll: elements shifted by `shifts` along `dims` (wrapping around). Without `dims` the
 * tensor is flattened, rolled and reshaped back.
 */
export function roll(x: Tensor, shifts: number | readonly number[], dims?: number | readonly number[]): Tensor {
  checkTensor("roll", "input", x);
  const s = checkDims("roll", "shifts", shifts);
  const shiftList = typeof s === "number" ? [s] : s ?? [];
  if (dims === undefined) {
    if (shiftList.length !== 1) {
      throw new ValueError(`roll(): shifts ${formatValue(shifts)} must be a single int when dims is not given`);
    }
    return reshape(roll(flatten(x), shiftList[0]!, 0), [...x.shape]);
  }
  const d = checkDims("roll", "dims", dims);
  const dimList = typeof d === "number" ? [d] : d ?? [];
  if (shiftList.length !== dimList.length) {
    throw new ValueError(`shifts and dimensions must align. shifts: ${shiftList.length}, dims:${dimList.length}`);
  }
  if (x.ndim === 0) throw new IndexError("roll(): cannot roll a 0-dim tensor along a dim");
  let out = x;
  dimList.forEach((dim, k) => {
    const dd = normalizeDim(dim, x.ndim);
    const n = x.shape[dd]!;
    if (n === 0) return;
    const shift = ((shiftList[k]! % n) + n) % n;
    if (shift === 0) return;
    out = cat([narrow(out, dd, n - shift, shift), narrow(out, dd, 0, n - shift)], dd);
  });
  return out === x ? clone(x) : out;
}

/**
 * Like torch.Tensor.repeat: the tensor tiled `sizes[i]` times along each dim; `sizes` may be longer
 * than the rank (leading new dims). Throws ValueError when it is shorter.
 */
export function repeat(x: Tensor, sizes: readonly number[]): Tensor {
  checkTensor("repeat", "input", x);
  const reps = checkSizes("repeat", "repeats", sizes);
  if (reps.length < x.ndim) {
    throw new ValueError(
      `Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor: ` +
        `repeats ${formatValue(reps)} for a tensor of shape ${formatShape(x.shape)}`,
    );
  }
  for (const r of reps) {
    if (r < 0) throw new ValueError(`Trying to create tensor with negative dimension ${r}: repeats ${formatValue(reps)}`);
  }
  const lead = reps.length - x.ndim;
  const shape = [...new Array<number>(lead).fill(1), ...x.shape];
  // [s0, s1, ...] -> [1, s0, 1, s1, ...] -> expand to [r0, s0, r1, s1, ...] -> [r0*s0, r1*s1, ...].
  const interleaved = shape.flatMap((s) => [1, s]);
  const expanded = shape.flatMap((s, i) => [reps[i]!, s]);
  return reshape(expand(reshape(x, interleaved), expanded), shape.map((s, i) => s * reps[i]!));
}

/** Like torch.tile: `repeat` with `dims` padded by leading 1s to the tensor's rank. */
export function tile(x: Tensor, dims: readonly number[]): Tensor {
  checkTensor("tile", "input", x);
  const reps = checkSizes("tile", "dims", dims);
  const padded = reps.length < x.ndim ? [...new Array<number>(x.ndim - reps.length).fill(1), ...reps] : reps;
  return repeat(x, padded);
}

/**
 * Like torch.cumsum: running sums along `dim`; bool and int32 inputs sum to int32 (PyTorch: int64).
 * The order is fixed (a Hillis–Steele scan: log2(n) rounds of `x[i] += x[i - 2^k]`), so results are
 * bitwise reproducible across runs, batch sizes and devices. float32 scans carry each sum's exact
 * rounding error alongside it (TwoSum) and round once at the end, which reproduces PyTorch's CPU
 * kernel (sequential sums in double, rounded to float32) except where a double sum would itself
 * round; float64 results may differ from PyTorch's sequential sums in the last bits.
 */
export function cumsum(x: Tensor, dim: number): Tensor {
  checkTensor("cumsum", "input", x);
  checkInt("cumsum", "dim", dim);
  const dtype = x.dtype === "bool" ? "int32" : x.dtype;
  let out = cast(x, dtype);
  if (x.ndim === 0) return out === x ? clone(x) : out;
  const d = normalizeDim(dim, x.ndim);
  const n = x.shape[d]!;
  if (out === x) out = add(x, 0);
  const shift = (t: Tensor, step: number): Tensor => {
    const padShape = [...x.shape];
    padShape[d] = step;
    return cat([zeros(padShape, { dtype, device: x.device }), narrow(t, d, 0, n - step)], d);
  };
  if (dtype !== "float32") {
    for (let step = 1; step < n; step *= 2) out = add(out, shift(out, step));
    return out;
  }
  let lo: Tensor | undefined;
  for (let step = 1; step < n; step *= 2) {
    const b = shift(out, step);
    const s = add(out, b);
    // TwoSum: err is exactly (out + b) - s, so (s, lo) keeps the running sum to ~48 bits.
    const bb = sub(s, out);
    const err = add(sub(out, sub(s, bb)), sub(b, bb));
    lo = lo === undefined ? err : add(add(lo, shift(lo, step)), err);
    out = s;
  }
  if (lo === undefined) return out;
  // Infinite or NaN sums carry NaN errors: keep the plain sum there, as the double kernel would.
  return where(lt(abs(out), Number.POSITIVE_INFINITY), add(out, lo), out);
}

/**
 * Like torch.nn.functional.one_hot: int32 `x` of class indices to an int32 tensor with a new last
 * dim of size `numClasses` (-1: the largest index + 1, which needs a CPU-readable tensor). Throws
 * DTypeError for non-int32 input and ValueError for out-of-range classes (checked when readable).
 */
export function oneHot(x: Tensor, numClasses = -1): Tensor {
  checkTensor("one_hot", "input", x);
  checkInt("one_hot", "num_classes", numClasses);
  if (x.dtype !== "int32") throw new DTypeError(`one_hot is only applicable to index tensor of dtype int32, got ${x.dtype}.`);
  if (numClasses < -1) throw new ValueError(`one_hot(): num_classes should be -1 or non-negative, got ${numClasses}`);
  const readable = x.backend.readSync !== undefined;
  let classes = numClasses;
  if (readable) {
    const data = x.dataSync();
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of data) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (data.length > 0 && lo < 0) throw new ValueError(`Class values must be non-negative, got ${lo}.`);
    if (numClasses === -1) {
      if (data.length === 0) throw new ValueError("Can not infer total number of classes from empty tensor.");
      classes = hi + 1;
    } else if (data.length > 0 && hi >= numClasses) {
      throw new ValueError(`Class values must be smaller than num_classes (got ${hi} with num_classes=${numClasses}).`);
    }
  } else if (numClasses === -1) {
    throw new LockstepTypeError(
      `one_hot(): num_classes must be given for a tensor on '${x.device}' (inferring it would need a synchronous read)`,
    );
  }
  const range = fromData(Int32Array.from({ length: classes }, (_, i) => i), "int32", [classes], x.device);
  return cast(eq(unsqueeze(x, -1), range), "int32");
}
