// View ops: new shape/strides/offset over the same storage, no data moved. reshape falls back to
// a copy when no view exists (like PyTorch); view() refuses instead.
import { IndexError, ShapeError, ValueError } from "../errors.js";
import { makeView, runPrimitive } from "../dispatch.js";
import {
  contiguousStrides,
  formatShape,
  inferReshape,
  isContiguous,
  normalizeDim,
  normalizeDims,
  viewStrides,
} from "../shape.js";
import type { Tensor } from "../tensor.js";
import { checkDim, checkDims, checkInt, checkNumel, checkSizes, checkTensor } from "../validate.js";

export function dimIndex(t: Tensor, dim: number): number {
  return normalizeDim(dim, t.ndim);
}

export function isContiguousView(t: Tensor): boolean {
  return isContiguous(t.shape, t.strides);
}

/** A fresh contiguous copy, whatever the layout of `t`. */
export function copyToContiguous(t: Tensor): Tensor {
  return runPrimitive("copy", [t], [{ shape: t.shape, dtype: t.dtype }], {})[0]!;
}

export function clone(t: Tensor): Tensor {
  checkTensor("clone", "input", t);
  return copyToContiguous(t);
}

/**
 * Like torch.Tensor.contiguous: `t` itself when its elements are laid out in row-major order, else
 * a contiguous copy.
 */
export function contiguous(t: Tensor): Tensor {
  checkTensor("contiguous", "input", t);
  return isContiguousView(t) ? t : copyToContiguous(t);
}

/**
 * Like torch.Tensor.view: the same elements under a new shape, sharing storage (one size may be
 * -1). Throws ShapeError when the sizes do not match or the strides allow no view (use reshape).
 */
export function view(t: Tensor, shape: readonly number[]): Tensor {
  checkTensor("view", "input", t);
  const target = inferReshape(t.shape, checkSizes("view", "size", shape));
  const strides = viewStrides(t.shape, t.strides, target);
  if (strides === undefined) {
    throw new ShapeError(
      "view size is not compatible with input tensor's size and stride (at least one dimension spans across two " +
        "contiguous subspaces). Use .reshape(...) instead.",
    );
  }
  return makeView(t, "reshape", { shape: target }, target, strides, t.offset);
}

/**
 * Like torch.reshape: the same elements under a new shape (one size may be -1); a view when the
 * strides allow, else a copy. Throws ShapeError when the element counts differ.
 */
export function reshape(t: Tensor, shape: readonly number[]): Tensor {
  checkTensor("reshape", "input", t);
  const target = inferReshape(t.shape, checkSizes("reshape", "shape", shape));
  const strides = viewStrides(t.shape, t.strides, target);
  if (strides !== undefined) return makeView(t, "reshape", { shape: target }, target, strides, t.offset);
  const dense = copyToContiguous(t);
  return makeView(dense, "reshape", { shape: target }, target, contiguousStrides(target), 0);
}

/**
 * Like torch.permute: a view with the dims reordered, `dims[i]` being the input dim that becomes
 * dim i. Throws ShapeError or ValueError for a wrong or repeated dim list.
 */
export function permute(t: Tensor, dims: readonly number[]): Tensor {
  checkTensor("permute", "input", t);
  checkSizes("permute", "dims", dims);
  if (dims.length !== t.ndim) {
    throw new ShapeError(
      `permute(): number of dimensions in the tensor input does not match the length of the desired ordering of ` +
        `dimensions i.e. input.dim() = ${t.ndim} is not equal to len(dims) = ${dims.length}`,
    );
  }
  const order = dims.map((d) => normalizeDim(d, t.ndim));
  if (new Set(order).size !== order.length) throw new ValueError("permute(): duplicate dims are not allowed.");
  return makeView(
    t,
    "permute",
    { dims: order },
    order.map((d) => t.shape[d]!),
    order.map((d) => t.strides[d]!),
    t.offset,
  );
}

/** Like torch.transpose: a view with `dim0` and `dim1` swapped. */
export function transpose(t: Tensor, dim0: number, dim1: number): Tensor {
  checkTensor("transpose", "input", t);
  checkDim("transpose", "dim0", dim0);
  checkDim("transpose", "dim1", dim1);
  const a = normalizeDim(dim0, t.ndim);
  const b = normalizeDim(dim1, t.ndim);
  const order = Array.from({ length: t.ndim }, (_, i) => i);
  order[a] = b;
  order[b] = a;
  return t.ndim === 0 ? t : permute(t, order);
}

export function t(x: Tensor): Tensor {
  checkTensor("t", "input", x);
  if (x.ndim > 2) throw new ShapeError(`t() expects a tensor with <= 2 dimensions, but self is ${x.ndim}D`);
  return x.ndim < 2 ? x : transpose(x, 0, 1);
}

export function reverseDims(x: Tensor): Tensor {
  checkTensor("T", "input", x);
  return permute(x, Array.from({ length: x.ndim }, (_, i) => x.ndim - 1 - i));
}

/**
 * Like torch.Tensor.expand: a stride-0 view repeating size-1 dims (and new leading dims) to
 * `shape`; -1 keeps a size. Throws ShapeError for a non-1 size that differs.
 */
export function expand(t: Tensor, size: readonly number[]): Tensor {
  checkTensor("expand", "input", t);
  const shape = checkSizes("expand", "size", size);
  if (shape.length < t.ndim) {
    throw new ShapeError(
      `expand(${formatShape(t.shape)}, size=${formatShape(shape)}): the number of sizes provided (${shape.length}) ` +
        `must be greater or equal to the number of dimensions in the tensor (${t.ndim})`,
    );
  }
  const lead = shape.length - t.ndim;
  const target: number[] = [];
  const strides: number[] = [];
  for (let i = 0; i < shape.length; i++) {
    const want = shape[i]!;
    if (i < lead) {
      if (want < 0) throw new ShapeError(`The expanded size of the tensor (${want}) isn't allowed in a leading, non-existing dimension ${i}`);
      target.push(want);
      strides.push(0);
      continue;
    }
    const own = t.shape[i - lead]!;
    if (want < -1) {
      throw new ShapeError(
        `The expanded size of the tensor (${want}) isn't allowed: sizes must be non-negative, or -1 to keep the ` +
          `existing size (${own}) at dimension ${i}.  Target sizes: ${formatShape(shape)}.  Tensor sizes: ${formatShape(t.shape)}`,
      );
    }
    const size = want === -1 ? own : want;
    if (size !== own && own !== 1) {
      throw new ShapeError(
        `The expanded size of the tensor (${size}) must match the existing size (${own}) at non-singleton dimension ${i}.  ` +
          `Target sizes: ${formatShape(shape)}.  Tensor sizes: ${formatShape(t.shape)}`,
      );
    }
    target.push(size);
    strides.push(size === own ? t.strides[i - lead]! : 0);
  }
  checkNumel("expand", target);
  return makeView(t, "expand", { shape: target }, target, strides, t.offset);
}

/**
 * Python-style slice of one dim: negative and out-of-range bounds clamp, step must be positive.
 * `start` and `end` are integers (±Infinity allowed as "from the start" / "to the end");
 * NaN and fractions are a LockstepTypeError, like PyTorch's "slice indices must be integers".
 */
export function slice(t: Tensor, dim: number, start = 0, end = Number.POSITIVE_INFINITY, step = 1): Tensor {
  checkTensor("slice", "input", t);
  checkDim("slice", "dim", dim);
  for (const [name, v] of [["start", start], ["end", end]] as const) {
    if (!(v === Number.POSITIVE_INFINITY || v === Number.NEGATIVE_INFINITY)) checkInt("slice", name, v);
  }
  checkInt("slice", "step", step);
  if (t.ndim === 0) throw new IndexError("slice() cannot be applied to a 0-dim tensor.");
  const d = normalizeDim(dim, t.ndim);
  if (step <= 0) throw new ValueError(`slice step must be positive, got ${step}`);
  const size = t.shape[d]!;
  const clampIndex = (i: number) => Math.min(Math.max(i < 0 ? i + size : i, 0), size);
  const s = clampIndex(start);
  const e = Math.max(clampIndex(end), s);
  const length = Math.ceil((e - s) / step);
  return sliceView(t, d, s, length, step);
}

function sliceView(t: Tensor, d: number, start: number, length: number, step: number): Tensor {
  const shape = [...t.shape];
  shape[d] = length;
  const strides = [...t.strides];
  strides[d] = t.strides[d]! * step;
  const offset = t.offset + (length > 0 ? start * t.strides[d]! : 0);
  return makeView(t, "slice", { dim: d, start, end: start + length * step, step }, shape, strides, offset);
}

/**
 * Like torch.narrow: a view of `length` elements along `dim` from `start` (negative counts from the
 * end). Throws IndexError when the range does not fit.
 */
export function narrow(t: Tensor, dim: number, start: number, length: number): Tensor {
  checkTensor("narrow", "input", t);
  checkDim("narrow", "dim", dim);
  checkInt("narrow", "start", start);
  checkInt("narrow", "length", length);
  if (t.ndim === 0) throw new ShapeError("narrow() cannot be applied to a 0-dim tensor.");
  const d = normalizeDim(dim, t.ndim);
  const size = t.shape[d]!;
  if (!Number.isInteger(start) || start < -size || start > size) {
    throw new IndexError(`start out of range (expected to be in range of [${-size}, ${size}], but got ${start})`);
  }
  const s = start < 0 ? start + size : start;
  if (!Number.isInteger(length) || length < 0) throw new ValueError(`narrow(): length must be non-negative, got ${length}`);
  if (s + length > size) throw new IndexError(`start (${s}) + length (${length}) exceeds dimension size (${size}).`);
  return sliceView(t, d, s, length, 1);
}

/** Like torch.squeeze: a view without the size-1 dims, or only those of `dim` when given. */
export function squeeze(t: Tensor, dim?: number | readonly number[]): Tensor {
  checkTensor("squeeze", "input", t);
  checkDims("squeeze", "dim", dim);
  const dims = dim === undefined ? t.shape.map((_, i) => i) : normalizeDims(dim, t.ndim);
  const keep = t.shape.map((s, i) => !(s === 1 && dims.includes(i)));
  return makeView(
    t,
    "reshape",
    { shape: t.shape.filter((_, i) => keep[i]) },
    t.shape.filter((_, i) => keep[i]),
    t.strides.filter((_, i) => keep[i]),
    t.offset,
  );
}

/** Like torch.unsqueeze: a view with a size-1 dim inserted at `dim` (in -(ndim+1) .. ndim). */
export function unsqueeze(t: Tensor, dim: number): Tensor {
  checkTensor("unsqueeze", "input", t);
  checkDim("unsqueeze", "dim", dim);
  const d = normalizeDim(dim, t.ndim + 1);
  const shape = [...t.shape];
  const strides = [...t.strides];
  shape.splice(d, 0, 1);
  strides.splice(d, 0, d < t.ndim ? t.strides[d]! * t.shape[d]! : 1);
  return makeView(t, "reshape", { shape }, shape, strides, t.offset);
}

/**
 * Like torch.flatten: dims `startDim` through `endDim` merged into one (a view when possible); a
 * 0-d tensor becomes 1-D.
 */
export function flatten(t: Tensor, startDim = 0, endDim = -1): Tensor {
  checkTensor("flatten", "input", t);
  checkDim("flatten", "start_dim", startDim);
  checkDim("flatten", "end_dim", endDim);
  if (t.ndim === 0) return reshape(t, [1]);
  const s = normalizeDim(startDim, t.ndim);
  const e = normalizeDim(endDim, t.ndim);
  if (s > e) throw new ValueError("flatten() has invalid args: start_dim cannot come after end_dim");
  const shape = [...t.shape.slice(0, s), t.shape.slice(s, e + 1).reduce((a, b) => a * b, 1), ...t.shape.slice(e + 1)];
  return reshape(t, shape);
}

/**
 * Like torch.Tensor.unfold: every window of `size` elements along `dim`, `step` apart, as a view
 * whose dim `dim` counts the windows ((n − size) / step + 1 of them) and whose new last dim walks
 * each window. Windows may overlap; no data is copied. Convolution and pooling read their patches
 * through it. Throws ValueError for a non-positive step or a negative size, IndexError when
 * `size` exceeds the dim.
 */
export function unfold(t: Tensor, dim: number, size: number, step: number): Tensor {
  checkTensor("unfold", "input", t);
  checkDim("unfold", "dimension", dim);
  checkInt("unfold", "size", size);
  checkInt("unfold", "step", step);
  const d = t.ndim === 0 ? 0 : normalizeDim(dim, t.ndim);
  if (!Number.isInteger(size) || size < 0) throw new ValueError(`unfold(): size must be a non-negative integer, got ${size}`);
  if (!Number.isInteger(step) || step <= 0) throw new ValueError(`unfold(): step is ${step} but must be > 0`);
  const extent = t.ndim === 0 ? 1 : t.shape[d]!;
  if (size > extent) {
    throw new IndexError(`maximum size for tensor at dimension ${d} is ${extent} but size is ${size}`);
  }
  if (t.ndim === 0) return makeView(t, "unfold", { dim: 0, size, step }, [size], [1], t.offset);
  const shape = [...t.shape];
  const strides = [...t.strides];
  shape[d] = Math.floor((extent - size) / step) + 1;
  strides[d] = t.strides[d]! * step;
  shape.push(size);
  strides.push(t.strides[d]!);
  return makeView(t, "unfold", { dim: d, size, step }, shape, strides, t.offset);
}
