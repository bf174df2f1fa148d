// Sorting: sort, argsort, topk. No sort primitive exists, so the permutation is found in two ways
// that define the same total order and therefore give identical indices:
// - for CPU-readable tensors, a stable merge sort of the indices on the host (O(n log n));
// - otherwise, a rank per element from all pairwise comparisons (O(n²) work and memory per row),
//   composed from comparison ops, a sum and a scatter, so it runs on any device (in blocks, so
//   memory stays bounded; the work does not: large rows are slow off the CPU).
// The values are then `gather(x, dim, indices)`, so gradients flow through gather's rule.
//
// The order is PyTorch's: NaN sorts above +Infinity (last ascending, first descending), -0 equals
// 0, and equal keys keep their original order (PyTorch's CPU sort is stable in both directions).
import { DTypeError, IndexError } from "../errors.js";
import { fromData } from "../dispatch.js";
import { normalizeDim } from "../shape.js";
import type { Tensor } from "../tensor.js";
import { cast, eq, gt, logicalAnd, logicalNot, logicalOr, lt, ne } from "./elementwise.js";
import { gather, scatter } from "./indexing.js";
import { cat } from "./join.js";
import { sum, type ValuesIndices } from "./reduce.js";
import { contiguous, expand, narrow, reshape, transpose, unsqueeze } from "./views.js";
import { checkBool, checkDim, checkInt, checkOptions, checkTensor } from "../validate.js";

/** Options of `sort` and `argsort`. */
export interface SortOptions {
  /** Sort along this dim (default -1). */
  dim?: number;
  /** Largest first (default false). */
  descending?: boolean;
  /** Accepted for PyTorch compatibility; Lockstep's sort is always stable. */
  stable?: boolean;
}

/** Options of `topk`. */
export interface TopkOptions {
  /** Along this dim (default -1). */
  dim?: number;
  /** The k largest (default true) or the k smallest. */
  largest?: boolean;
  /** Accepted for PyTorch compatibility; the result is always sorted. */
  sorted?: boolean;
}

/** `a` before `b` in ascending order with NaN last; in descending order with NaN first. */
function before(a: number, b: number, descending: boolean): boolean {
  const an = a !== a;
  const bn = b !== b;
  if (descending) return (a > b) || (an && !bn);
  return (a < b) || (!an && bn);
}

/** Stable sort of `0..n-1` by `row`, into `out` (merge sort: stability is what PyTorch promises). */
function hostArgsortRow(row: ArrayLike<number>, descending: boolean, out: Int32Array, tmp: Int32Array): void {
  const n = out.length;
  for (let i = 0; i < n; i++) out[i] = i;
  let src = out;
  let dst = tmp;
  for (let width = 1; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n);
      const hi = Math.min(lo + 2 * width, n);
      let i = lo;
      let j = mid;
      let k = lo;
      while (i < mid && j < hi) {
        // Take from the right only when strictly before: equal keys keep their order.
        if (before(row[src[j]!]!, row[src[i]!]!, descending)) dst[k++] = src[j++]!;
        else dst[k++] = src[i++]!;
      }
      while (i < mid) dst[k++] = src[i++]!;
      while (j < hi) dst[k++] = src[j++]!;
    }
    [src, dst] = [dst, src];
  }
  if (src !== out) out.set(src);
}

/** Indices sorting the last dim of `x` (any shape), on x's device. */
function argsortLastDim(x: Tensor, descending: boolean): Tensor {
  const n = x.shape[x.ndim - 1]!;
  if (x.numel() === 0) return fromData(new Int32Array(0), "int32", x.shape, x.device);
  if (x.backend.readSync !== undefined) {
    const data = x.dataSync();
    const rows = n === 0 ? 0 : data.length / n;
    const result = new Int32Array(data.length);
    const tmp = new Int32Array(n);
    for (let r = 0; r < rows; r++) {
      hostArgsortRow(data.subarray(r * n, (r + 1) * n), descending, result.subarray(r * n, (r + 1) * n), tmp);
    }
    return fromData(result, "int32", x.shape, x.device);
  }
  // Rank of element i = how many elements come before it: strictly before, or equal and earlier.
  // The comparisons of a block of i against every j are materialized at once; blocks bound that
  // memory (about 2^22 comparisons per block) while the work stays O(n²) per row.
  const key = x.dtype === "bool" ? cast(x, "int32") : x;
  const rows = x.numel() / Math.max(n, 1);
  const block = Math.max(1, Math.min(n, Math.floor(2 ** 22 / Math.max(1, rows * n))));
  const pos = fromData(Int32Array.from({ length: n }, (_, i) => i), "int32", [n], x.device);
  const b = unsqueeze(key, -2); // [..., 1, n(j)]
  const bNaN = ne(b, b);
  const ranks: Tensor[] = [];
  for (let i0 = 0; i0 < n; i0 += block) {
    const len = Math.min(block, n - i0);
    const a = unsqueeze(narrow(key, -1, i0, len), -1); // [..., len(i), 1]
    const aNaN = ne(a, a);
    const strictly = descending
      ? logicalOr(gt(b, a), logicalAnd(bNaN, logicalNot(aNaN)))
      : logicalOr(lt(b, a), logicalAnd(aNaN, logicalNot(bNaN)));
    const same = logicalOr(eq(b, a), logicalAnd(aNaN, bNaN));
    const earlier = lt(unsqueeze(pos, 0), unsqueeze(narrow(pos, 0, i0, len), 1)); // [len(i), n(j)]: j < i
    ranks.push(sum(logicalOr(strictly, logicalAnd(same, earlier)), -1)); // int32 [..., len]
  }
  const rank = ranks.length === 1 ? ranks[0]! : cat(ranks, -1);
  const zeros = fromData(new Int32Array(x.numel()), "int32", x.shape, x.device);
  return scatter(zeros, -1, rank, contiguous(expand(pos, [...x.shape])));
}

function sortImpl(x: Tensor, dim: number, descending: boolean): ValuesIndices {
  const d = normalizeDim(dim, Math.max(x.ndim, 1));
  if (x.ndim === 0) {
    return { values: reshape(x, []), indices: fromData([0], "int32", [], x.device) };
  }
  const moved = d === x.ndim - 1 ? x : transpose(x, d, -1);
  let idx = argsortLastDim(contiguous(moved), descending);
  if (d !== x.ndim - 1) idx = contiguous(transpose(idx, d, -1));
  return { values: gather(x, d, idx), indices: idx };
}

/**
 * Like torch.sort: `{ values, indices }` of `x` sorted along `dim` (default -1), ascending unless
 * `descending`. Stable; NaN sorts as the largest value. Gradients flow to `x` through the values.
 */
export function sort(x: Tensor, options: SortOptions = {}): ValuesIndices {
  checkTensor("sort", "input", x);
  const o = checkOptions<SortOptions>("sort", options, { dim: checkDim, descending: checkBool, stable: checkBool });
  return sortImpl(x, o.dim ?? -1, o.descending ?? false);
}

/** Like torch.argsort: the int32 indices that sort `x` along `dim` (see `sort`). */
export function argsort(x: Tensor, options: SortOptions = {}): Tensor {
  checkTensor("argsort", "input", x);
  const o = checkOptions<SortOptions>("argsort", options, { dim: checkDim, descending: checkBool, stable: checkBool });
  return sortImpl(x, o.dim ?? -1, o.descending ?? false).indices;
}

/**
 * Like torch.topk: the `k` largest (or, with `largest: false`, smallest) elements along `dim`
 * (default -1), sorted, with their int32 indices. Equal values come in index order (PyTorch leaves
 * their order unspecified). Throws IndexError when k exceeds the dim's size.
 */
export function topk(x: Tensor, k: number, options: TopkOptions = {}): ValuesIndices {
  checkTensor("topk", "input", x);
  checkInt("topk", "k", k);
  const o = checkOptions<TopkOptions>("topk", options, { dim: checkDim, largest: checkBool, sorted: checkBool });
  const d = normalizeDim(o.dim ?? -1, Math.max(x.ndim, 1));
  const size = x.ndim === 0 ? 1 : x.shape[d]!;
  if (k < 0 || k > size) throw new IndexError(`selected index k out of range: k=${k} for dimension ${d} of size ${size}`);
  if (x.dtype === "bool") throw new DTypeError(`"topk_cpu" not implemented for 'Bool'`);
  const { values, indices } = sortImpl(x, d, o.largest ?? true);
  if (x.ndim === 0) return { values, indices };
  return { values: narrow(values, d, 0, k), indices: narrow(indices, d, 0, k) };
}
