// PyTorch's `t[...]`: select, index (integers, slices, null, "...", int32 and bool index tensors),
// maskedSelect and indexPut_. Basic items become views (select, slice, unsqueeze); index tensors
// become one indexSelect over the indexed dims flattened together, so gradients come from
// indexSelect's rule and the result is the same on every device.
//
// Advanced-indexing rules, as in PyTorch: integers (and 0-d integer tensors) are applied first as
// `select`; the index
// tensors (a bool mask counts as its nonzero() positions, one tensor per mask dim) broadcast
// together to a shape B; when they index adjacent dims B replaces those dims in place, otherwise
// B goes first. Bool masks need values on the host (the result's shape depends on them): a mask
// on a device that cannot be read synchronously is refused — pass it as a CPU tensor (CPU index
// tensors may index tensors on any device, as in PyTorch).
import { DTypeError, DeviceError, IndexError, LockstepTypeError, ShapeError } from "../errors.js";
import { fromData } from "../dispatch.js";
import { broadcastShapes, formatShape, normalizeDim, numel, shapesEqual } from "../shape.js";
import { Tensor, type TensorLike } from "../tensor.js";
import { add, broadcastTo, ge, logicalOr, lt, mul, where } from "./elementwise.js";
import { gather, indexSelect, scatter } from "./indexing.js";
import { applyInPlace } from "./arithmetic-inplace.js";
import { contiguous, expand, narrow, permute, reshape, slice as sliceView, squeeze, unsqueeze } from "./views.js";
import { checkBool, checkInt, checkTensor, checkTensorLike, describeValue, formatValue } from "../validate.js";

/** One dim of a Python slice `start:stop:step`; omitted parts mean the whole range, step 1. */
export interface Slice {
  /** First index (negative counts from the end; default 0). */
  start?: number;
  /** One past the last index (negative counts from the end; default: the end). */
  stop?: number;
  /** Positive step (default 1). */
  step?: number;
}

/**
 * One item of `index(...)`: an integer (select), a Slice or ":" (slice), null (a new size-1 dim,
 * Python's None), "..." (as many ":" as needed), an int32 tensor of indices or a bool mask.
 */
export type IndexItem = number | Slice | ":" | "..." | null | Tensor | boolean;

/**
 * Like torch.select / `t[..., i, ...]`: the view at `index` along `dim`, without that dim. Throws
 * IndexError when the index is out of range.
 */
export function select(x: Tensor, dim: number, index: number): Tensor {
  checkTensor("select", "input", x);
  checkInt("select", "dim", dim);
  checkInt("select", "index", index);
  if (x.ndim === 0) throw new IndexError("select() cannot be applied to a 0-dim tensor.");
  const d = normalizeDim(dim, x.ndim);
  const size = x.shape[d]!;
  if (index < -size || index >= size) {
    throw new IndexError(`select(): index ${index} out of range for tensor of size ${formatShape(x.shape)} at dimension ${d}`);
  }
  return squeeze(narrow(x, d, index < 0 ? index + size : index, 1), d);
}

function isSlice(item: unknown): item is Slice {
  return typeof item === "object" && item !== null && !(item instanceof Tensor) && !Array.isArray(item);
}

function consumed(item: IndexItem): number {
  if (item === null || item === "..." || typeof item === "boolean") return 0;
  if (item instanceof Tensor) return item.dtype === "bool" ? item.ndim : 1;
  return 1;
}

/** Host positions of the true entries of a mask, one int32 list per mask dim (nonzero()). */
function maskPositions(fn: string, mask: Tensor): Int32Array[] {
  if (mask.backend.readSync === undefined) {
    throw new DeviceError(
      `${fn}(): a bool mask on '${mask.device}' cannot be read synchronously (the result's shape depends on it); ` +
        "pass the mask as a CPU tensor (await mask.toAsync('cpu'))",
    );
  }
  const data = mask.dataSync();
  const strides = mask.shape.map((_, i) => numel(mask.shape.slice(i + 1)));
  let count = 0;
  for (const v of data) if (v !== 0) count++;
  const out = mask.shape.map(() => new Int32Array(count));
  let k = 0;
  for (let p = 0; p < data.length; p++) {
    if (data[p] === 0) continue;
    let rest = p;
    mask.shape.forEach((_, d) => {
      out[d]![k] = Math.floor(rest / strides[d]!);
      rest %= strides[d]!;
    });
    k++;
  }
  return out;
}

interface Advanced {
  pos: number;
  index: Tensor;
}

/**
 * An int32 index tensor for a dim of `size`, on `device`, with negative entries wrapped; range
 * checked when readable (PyTorch's message), otherwise by the device's own gather checks.
 */
function normalizeIndex(fn: string, index: Tensor, size: number, dim: number, device: string): Tensor {
  if (index.backend.readSync !== undefined) {
    const data = index.dataSync();
    const out = new Int32Array(data.length);
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      if (v < -size || v >= size) throw new IndexError(`index ${v} is out of bounds for dimension ${dim} with size ${size}`);
      out[i] = v < 0 ? v + size : v;
    }
    return fromData(out, "int32", index.shape, device);
  }
  if (index.device !== device) throw new DeviceError(`${fn}(): indices on '${index.device}' cannot index a tensor on '${device}'`);
  return where(lt(index, 0), add(index, size), index);
}

/** Applies the basic items as views and collects the index tensors, all checked before any work. */
function parseItems(fn: string, x: Tensor, items: readonly IndexItem[], zeroDimSelects = true): { view: Tensor; advanced: Advanced[] } {
  let ellipses = 0;
  let used = 0;
  items.forEach((item, i) => {
    if (item === "...") ellipses++;
    else if (item instanceof Tensor) {
      item.assertLive();
      if (item.dtype !== "int32" && item.dtype !== "bool") {
        throw new IndexError(`tensors used as indices must be int32 or bool tensors, got ${item.dtype} at position ${i}`);
      }
    } else if (!(item === null || item === ":" || typeof item === "number" || typeof item === "boolean" || isSlice(item))) {
      throw new LockstepTypeError(
        `${fn}(): only integers, slices ({ start, stop, step } or ":"), "...", null, booleans and int32 or bool tensors ` +
          `are valid indices, got ${describeValue(item)} at position ${i}`,
      );
    }
    used += consumed(item);
  });
  if (ellipses > 1) throw new IndexError("an index can only have a single ellipsis ('...')");
  if (used > x.ndim) throw new IndexError(`too many indices for tensor of dimension ${x.ndim} (got ${used})`);
  // Each item keeps its position as written: PyTorch's messages name it as the "dimension".
  const expanded: [IndexItem, number][] = [];
  items.forEach((item, i) => {
    if (item === "...") for (let k = 0; k < x.ndim - used; k++) expanded.push([":", i]);
    else expanded.push([item, i]);
  });
  let view = x;
  let dim = 0;
  const advanced: Advanced[] = [];
  for (const [item, written] of expanded) {
    if (typeof item === "number") {
      checkInt(fn, "index", item);
      const size = view.shape[dim]!;
      if (item < -size || item >= size) throw new IndexError(`index ${item} is out of bounds for dimension ${written} with size ${size}`);
      view = select(view, dim, item);
    } else if (item === ":") {
      dim++;
    } else if (item === null) {
      view = unsqueeze(view, dim++);
    } else if (typeof item === "boolean" || (item instanceof Tensor && item.dtype === "bool" && item.ndim === 0)) {
      // x[True] adds a size-1 dim, x[False] a size-0 one, as in PyTorch.
      const on = typeof item === "boolean" ? item : maskPositions(fn, unsqueeze(item, 0))[0]!.length === 1;
      view = unsqueeze(view, dim);
      advanced.push({ pos: dim++, index: fromData(on ? [0] : [], "int32", [on ? 1 : 0], "cpu") });
    } else if (item instanceof Tensor && item.dtype === "bool") {
      const maskShape = view.shape.slice(dim, dim + item.ndim);
      item.shape.forEach((s, k) => {
        if (s !== maskShape[k]) {
          throw new IndexError(
            `The shape of the mask ${formatShape(item.shape)} at index ${k} does not match the shape of the indexed tensor ` +
              `${formatShape(view.shape)} at index ${dim + k}`,
          );
        }
      });
      for (const positions of maskPositions(fn, item)) {
        advanced.push({ pos: dim++, index: fromData(positions, "int32", [positions.length], "cpu") });
      }
    } else if (item instanceof Tensor && item.ndim === 0 && zeroDimSelects) {
      // A 0-d integer tensor acts as an integer (PyTorch selects with it), without a host read.
      const size = view.shape[dim]!;
      const at = reshape(normalizeIndex(fn, item, size, written, view.device), [1]);
      view = squeeze(indexSelect(view, dim, at), dim);
    } else if (item instanceof Tensor) {
      advanced.push({ pos: dim++, index: item });
    } else {
      const s = item as Slice;
      for (const key of Object.keys(s)) {
        if (key !== "start" && key !== "stop" && key !== "step") {
          throw new LockstepTypeError(`${fn}(): a slice has keys start, stop and step, got ${formatValue(s)}`);
        }
      }
      const start = s.start ?? 0;
      const stop = s.stop ?? Number.POSITIVE_INFINITY;
      if (s.start !== undefined) checkInt(fn, "start", s.start);
      if (s.stop !== undefined) checkInt(fn, "stop", s.stop);
      view = sliceView(view, dim++, start, stop, s.step ?? 1);
    }
  }
  return { view, advanced };
}

/**
 * The index tensors broadcast together, wrapped and range-checked, combined into one int32
 * linear index over the indexed dims (row-major), with the broadcast shape.
 */
function linearIndex(fn: string, view: Tensor, advanced: readonly Advanced[]): { linear: Tensor; shape: number[]; host?: Int32Array } {
  let shape: number[] = [];
  for (const a of advanced) {
    try {
      shape = broadcastShapes(shape, a.index.shape);
    } catch {
      throw new IndexError(
        `shape mismatch: indexing tensors could not be broadcast together with shapes ${advanced.map((b) => formatShape(b.index.shape)).join(", ")}`,
      );
    }
  }
  // Host-readable indices are combined on the CPU and uploaded once; the host copy also lets
  // indexPut_ order repeated indices.
  const onHost = advanced.every((a) => a.index.backend.readSync !== undefined);
  let linear: Tensor | undefined;
  let bad: Tensor | undefined;
  let total = 1;
  for (const [k, a] of advanced.entries()) {
    const size = view.shape[a.pos]!;
    total *= size;
    // PyTorch's index kernel counts the dimension among the index tensors.
    const idx = broadcastTo(normalizeIndex(fn, a.index, size, k, onHost ? "cpu" : view.device), shape);
    if (a.index.backend.readSync === undefined) {
      // Not checkable here: an out-of-range entry must not land on a valid linear position, so it
      // is sent out of range for the device's own index check to report.
      const out = logicalOr(lt(idx, 0), ge(idx, size));
      bad = bad === undefined ? out : logicalOr(bad, out);
    }
    linear = linear === undefined ? idx : add(mul(linear, size), idx);
  }
  if (bad !== undefined) linear = where(bad, total, linear!);
  linear = contiguous(linear!);
  if (!onHost) return { linear, shape };
  const host = Int32Array.from(linear.dataSync());
  return { linear: view.device === "cpu" ? linear : fromData(host, "int32", shape, view.device), shape, host };
}

function isAdjacent(advanced: readonly Advanced[]): boolean {
  return advanced.every((a, i) => i === 0 || a.pos === advanced[i - 1]!.pos + 1);
}

/** The view with the indexed dims first and merged: [prod(indexed sizes), ...other dims]. */
function flattenIndexed(view: Tensor, advanced: readonly Advanced[]): { flat: Tensor; rest: number[]; restDims: number[] } {
  const positions = advanced.map((a) => a.pos);
  const restDims = view.shape.map((_, d) => d).filter((d) => !positions.includes(d));
  const rest = restDims.map((d) => view.shape[d]!);
  const moved = permute(view, [...positions, ...restDims]);
  const flat = reshape(moved, [numel(positions.map((p) => view.shape[p]!)), ...rest]);
  return { flat, rest, restDims };
}

/**
 * Like `t[i0, i1, ...]` in PyTorch: integers select, Slices (`{ start, stop, step }` or ":")
 * slice, null inserts a dim, "..." stands for the remaining dims, int32 tensors and bool masks
 * index with PyTorch's advanced-indexing rules (see the top of this file). Basic indexing alone
 * returns a view; with index tensors the result is a new tensor. Negative indices count from the
 * end; an out-of-range index is an IndexError.
 */
export function index(x: Tensor, ...items: IndexItem[]): Tensor {
  checkTensor("index", "input", x);
  const { view, advanced } = parseItems("index", x, items);
  if (advanced.length === 0) return view;
  const { linear, shape } = linearIndex("index", view, advanced);
  const { flat, rest } = flattenIndexed(view, advanced);
  let out = reshape(indexSelect(flat, 0, reshape(linear, [-1])), [...shape, ...rest]);
  if (isAdjacent(advanced)) {
    const p = advanced[0]!.pos;
    const nb = shape.length;
    const perm = [...Array.from({ length: p }, (_, i) => nb + i), ...Array.from({ length: nb }, (_, i) => i)];
    for (let i = nb + p; i < out.ndim; i++) perm.push(i);
    out = permute(out, perm);
  }
  return out;
}

/**
 * Like torch.masked_select: the elements of `x` where the bool `mask` is true (both broadcast
 * together), as a 1-D tensor in row-major order. The mask must be readable on the host (a CPU
 * tensor works for `x` on any device).
 */
export function maskedSelect(x: Tensor, mask: Tensor): Tensor {
  checkTensor("masked_select", "input", x);
  checkTensor("masked_select", "mask", mask);
  if (mask.dtype !== "bool") throw new DTypeError(`masked_select: expected BoolTensor for mask, got ${mask.dtype}`);
  const shape = broadcastShapes(x.shape, mask.shape);
  const m = broadcastTo(mask, shape);
  const positions = maskPositions("masked_select", contiguous(reshape(m, [-1])))[0]!;
  const flat = reshape(broadcastTo(x, shape), [-1]);
  return indexSelect(flat, 0, fromData(positions, "int32", [positions.length], x.device));
}

/**
 * Like torch.Tensor.index_put_: `x[indices] = values` (or `+=` with `accumulate`), in place, where
 * `indices` are int32 tensors or bool masks for the leading dims (as `index(x, ...indices)`), and
 * `values` broadcasts to the indexed result. Without `accumulate` a repeated index keeps the last
 * value; with it, values at a repeated index are added in index order (PyTorch's CPU order), which
 * needs the indices readable on the host. Autograd as for the other in-place ops.
 */
export function indexPut_(x: Tensor, indices: readonly Tensor[], values: TensorLike, accumulate = false): Tensor {
  checkTensor("index_put_", "input", x);
  if (!Array.isArray(indices)) {
    throw new LockstepTypeError(`index_put_(): argument 'indices' must be tuple of Tensors, not ${describeValue(indices)}`);
  }
  indices.forEach((t: unknown, i) => {
    if (!(t instanceof Tensor)) {
      throw new LockstepTypeError(`index_put_(): expected Tensor as element ${i} in argument 'indices', but got ${describeValue(t)}`);
    }
  });
  checkTensorLike("index_put_", "values", values);
  checkBool("index_put_", "accumulate", accumulate);
  if (indices.length === 0) throw new IndexError("index_put_(): at least one index tensor is needed");
  // All checks and the index arithmetic happen before the write.
  const { view, advanced } = parseItems("index_put_", x, indices, false);
  const { linear, shape, host } = linearIndex("index_put_", view, advanced);
  const n = numel(shape);
  const rest = x.shape.slice(advanced.length);
  const target = [...shape, ...rest];
  const vals = values instanceof Tensor ? values : fromData([values as number], x.dtype, [], x.device);
  if (values instanceof Tensor && values.device !== x.device) {
    throw new DeviceError(`index_put_(): values on '${values.device}' cannot be written into a tensor on '${x.device}'`);
  }
  if (values instanceof Tensor && values.dtype !== x.dtype) {
    throw new DTypeError(`Index put requires the source and destination dtypes match, got ${x.dtype} for the destination and ${values.dtype} for the source.`);
  }
  let bshape: number[];
  try {
    bshape = broadcastShapes(vals.shape, target);
  } catch {
    bshape = [];
  }
  if (!shapesEqual(bshape, target)) {
    throw new ShapeError(
      `shape mismatch: value tensor of shape ${formatShape(vals.shape)} cannot be broadcast to indexing result of shape ${formatShape(target)}`,
    );
  }
  let rounds: Int32Array[] | undefined;
  if (accumulate) {
    if (host === undefined) {
      throw new DeviceError(
        `index_put_(accumulate=true): indices on '${linear.device}' cannot be read synchronously; pass them as CPU tensors`,
      );
    }
    rounds = occurrenceRounds(host);
  }
  const src = contiguous(reshape(broadcastTo(vals, target), [n, ...rest]));
  const idx = (lin: Tensor) => contiguous(expand(reshape(lin, [lin.numel(), ...rest.map(() => 1)]), [lin.numel(), ...rest]));
  const operands = values instanceof Tensor ? [values] : [];
  return applyInPlace("index_put_", x, operands, (self) => {
    const flat = reshape(self, [numel(x.shape.slice(0, advanced.length)), ...rest]);
    let out: Tensor;
    if (rounds === undefined) {
      out = scatter(flat, 0, idx(reshape(linear, [-1])), src);
    } else {
      out = flat;
      const all = reshape(linear, [-1]);
      for (const sel of rounds) {
        const which = fromData(sel, "int32", [sel.length], x.device);
        const lin = idx(indexSelect(all, 0, which));
        out = scatter(out, 0, lin, add(gather(out, 0, lin), indexSelect(src, 0, which)));
      }
    }
    return reshape(out, [...x.shape]);
  });
}

/**
 * Positions of `linear` grouped by how many earlier entries share their value: round r holds the
 * r-th occurrence of each index, so applying the rounds in order adds repeated indices in order.
 */
function occurrenceRounds(linear: ArrayLike<number>): Int32Array[] {
  const seen = new Map<number, number>();
  const rounds: number[][] = [];
  for (let i = 0; i < linear.length; i++) {
    const v = linear[i]!;
    const r = seen.get(v) ?? 0;
    seen.set(v, r + 1);
    (rounds[r] ??= []).push(i);
  }
  return rounds.map((r) => Int32Array.from(r));
}
