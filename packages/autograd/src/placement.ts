// Gradients that put values back where an indexing op or a slice took them from: the backward of
// slice, gather, indexSelect and scatter's src. Core has overwrite-scatter but no scatter-add, so
// the adding forms are composed here from comparisons, where, sum and matmul. Every composition
// adds in an order fixed by the shapes alone, so the results are the same bits on every run and
// every device, as deterministic mode promises.
import {
  add,
  arange,
  cast,
  cat,
  eq,
  matmul,
  narrow,
  permute,
  reshape,
  sum,
  unsqueeze,
  where,
  zeros,
  type DType,
  type Tensor,
} from "@lockstep/core";

/** A zero tensor like the gradient being built. */
function zerosOf(shape: readonly number[], like: Tensor): Tensor {
  return zeros(shape, { dtype: like.dtype, device: like.device });
}

/** `t` concatenated with zeros along `dim` up to `size` (or `t` itself when it is that long already). */
function padDim(t: Tensor, dim: number, before: number, size: number): Tensor {
  const after = size - before - t.shape[dim]!;
  const parts: Tensor[] = [];
  const filler = (n: number) => zerosOf(t.shape.map((s, k) => (k === dim ? n : s)), t);
  if (before > 0) parts.push(filler(before));
  parts.push(t);
  if (after > 0) parts.push(filler(after));
  return parts.length === 1 ? t : cat(parts, dim);
}

/** `t` padded with zeros at the end of every dim up to `shape` (which is nowhere smaller). */
export function padEnd(t: Tensor, shape: readonly number[]): Tensor {
  let out = t;
  for (let k = 0; k < shape.length; k++) out = padDim(out, k, 0, shape[k]!);
  return out;
}

/**
 * The backward of `slice(dim, start, end, step)`: a zero tensor of the input's shape with `grad`
 * at positions start, start+step, … along `dim`. A step above 1 interleaves step−1 zero rows after
 * every row of `grad` (unsqueeze, cat, reshape) before padding.
 */
export function embedSlice(grad: Tensor, inputShape: readonly number[], dim: number, start: number, step: number): Tensor {
  const size = inputShape[dim]!;
  const length = grad.shape[dim]!;
  if (length === 0) return zerosOf(inputShape, grad);
  let spread = grad;
  if (step > 1) {
    const rows = unsqueeze(grad, dim + 1);
    const gaps = zerosOf(rows.shape.map((s, k) => (k === dim + 1 ? step - 1 : s)), grad);
    const flat = grad.shape.map((s, k) => (k === dim ? length * step : s));
    spread = reshape(cat([rows, gaps], dim + 1), flat);
    // The last row's trailing gaps may run past the input's end; the last value itself never does.
    spread = narrow(spread, dim, 0, Math.min(length * step, size - start));
  }
  return padDim(spread, dim, start, size);
}

/**
 * The backward of `unfold(dim, size, step)`: the sum over window offsets j = 0, 1, …, size−1 of
 * the gradient's j-th window element placed back at positions j, j+step, … along `dim`. A gather in
 * a fixed order (j ascending) rather than a scatter-add, so overlapping windows add up to the same
 * bits on every device, thread count and run; positions a window offset never reaches add zero,
 * which is exact.
 */
export function foldWindows(grad: Tensor, inputShape: readonly number[], dim: number, size: number, step: number): Tensor {
  if (inputShape.length === 0) return reshape(sum(grad), []);
  const last = grad.ndim - 1;
  let total: Tensor | undefined;
  for (let j = 0; j < size; j++) {
    const part = embedSlice(reshape(narrow(grad, last, j, 1), grad.shape.slice(0, last)), inputShape, dim, j, step);
    total = total === undefined ? part : add(total, part);
  }
  return total ?? zerosOf(inputShape, grad);
}

/**
 * `zeros(shape).scatterAdd(dim, index, src)`: every `src` element added at its index along `dim`,
 * repeated indices summed (core has checked that indices lie in [0, size)). `index` and `src` have one shape, at most `shape` in the other dims.
 * Built as a one-hot comparison along a new last axis and a sum over `dim`, so memory is
 * index.numel() × shape[dim].
 */
export function scatterAdd(shape: readonly number[], dim: number, index: Tensor, src: Tensor): Tensor {
  if (shape.length === 0) return reshape(sum(src), []);
  const idx = index.ndim === 0 ? reshape(index, [1]) : index;
  const values = src.ndim === 0 ? reshape(src, [1]) : src;
  const size = shape[dim]!;
  const positions = reshape(arange(0, size, { device: src.device }), [...idx.shape.map(() => 1), size]);
  const hit = eq(unsqueeze(idx, -1), positions);
  const spread = where(hit, unsqueeze(values, -1), 0);
  const summed = sum(spread, dim);
  // summed has the index dims without `dim`, then the new axis of length `size`: move that to `dim`.
  const last = summed.ndim - 1;
  const order = Array.from({ length: summed.ndim }, (_, k) => (k < dim ? k : k === dim ? last : k - 1));
  return padEnd(permute(summed, order), shape);
}

/**
 * `zeros(shape).indexAdd(dim, index, grad)`: the backward of indexSelect. The one-hot matrix is
 * index.numel() × shape[dim] and the sum over repeated indices is a matmul, which keeps memory
 * small for embedding-sized tables. (A non-finite gradient entry then spreads NaN along its row,
 * as 0·inf does; a scatter-add primitive would avoid both costs.)
 */
export function indexAdd(shape: readonly number[], dim: number, index: Tensor, grad: Tensor, dtype: DType): Tensor {
  if (shape.length === 0) return reshape(sum(grad), []);
  const size = shape[dim]!;
  const idx = reshape(index, [-1]);
  const positions = reshape(arange(0, size, { device: grad.device }), [1, size]);
  const oneHot = cast(eq(unsqueeze(idx, 1), positions), dtype);
  const last = grad.ndim - 1;
  const toLast = Array.from({ length: grad.ndim }, (_, k) => (k < dim ? k : k === last ? dim : k + 1));
  const fromLast = Array.from({ length: grad.ndim }, (_, k) => (k < dim ? k : k === dim ? last : k - 1));
  return permute(matmul(permute(grad, toLast), oneHot), fromLast);
}
