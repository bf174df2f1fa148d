// Joining and splitting along a dim: cat and stack copy; split and chunk return views.
import { resultType } from "../dtype.js";
import { ShapeError, ValueError } from "../errors.js";
import { commonDevice, runPrimitive } from "../dispatch.js";
import { formatShape, normalizeDim, shapesEqual } from "../shape.js";
import type { Tensor } from "../tensor.js";
import { cast } from "./elementwise.js";
import { narrow, unsqueeze } from "./views.js";
import { checkDim, checkInt, checkSizes, checkTensor, checkTensorList } from "../validate.js";

/**
 * Like torch.cat: joins tensors along an existing `dim` into a new tensor, promoting dtypes; 1-D
 * empty tensors are skipped. Throws ShapeError when sizes differ outside `dim`, ValueError for an
 * empty list.
 */
export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  checkTensorList("cat", "tensors", tensors);
  checkDim("cat", "dim", dim);
  if (tensors.length === 0) {
    throw new ValueError("torch.cat(): expected a non-empty list of Tensors");
  }
  const device = commonDevice(tensors);
  // Like PyTorch, 1-D empty tensors are skipped whatever the other shapes.
  const parts = tensors.filter((t) => !(t.ndim === 1 && t.shape[0] === 0));
  if (parts.length === 0) return tensors[0]!;
  const first = parts[0]!;
  if (first.ndim === 0) throw new ShapeError("zero-dimensional tensor (at position 0) cannot be concatenated");
  const d = normalizeDim(dim, first.ndim);
  parts.forEach((t, i) => {
    if (t.ndim === 0) throw new ShapeError(`zero-dimensional tensor (at position ${i}) cannot be concatenated`);
    if (t.ndim !== first.ndim) {
      throw new ShapeError(
        `Tensors must have same number of dimensions: got ${first.ndim} and ${t.ndim}`,
      );
    }
    for (let k = 0; k < t.ndim; k++) {
      if (k !== d && t.shape[k] !== first.shape[k]) {
        throw new ShapeError(
          `Sizes of tensors must match except in dimension ${d}. Expected size ${first.shape[k]} but got size ` +
            `${t.shape[k]} for tensor number ${i} in the list.`,
        );
      }
    }
  });
  const dtype = resultType(parts.map((t) => t.dtype));
  const shape = [...first.shape];
  shape[d] = parts.reduce((n, t) => n + t.shape[d]!, 0);
  const inputs = parts.map((t) => cast(t, dtype));
  return runPrimitive("cat", inputs, [{ shape, dtype }], { dim: d }, device)[0]!;
}

/**
 * Like torch.stack: joins equal-shaped tensors along a new `dim` into a new tensor. Throws
 * ShapeError when shapes differ.
 */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  checkTensorList("stack", "tensors", tensors);
  checkDim("stack", "dim", dim);
  if (tensors.length === 0) throw new ValueError("stack expects a non-empty TensorList");
  const first = tensors[0]!;
  tensors.forEach((t, i) => {
    if (!shapesEqual(t.shape, first.shape)) {
      throw new ShapeError(
        `stack expects each tensor to be equal size, but got ${formatShape(first.shape)} at entry 0 and ` +
          `${formatShape(t.shape)} at entry ${i}`,
      );
    }
  });
  const d = normalizeDim(dim, first.ndim + 1);
  return cat(tensors.map((t) => unsqueeze(t, d)), d);
}

/** Views of `splitSize` elements along `dim` (the last may be smaller), or of the listed sizes. */
export function split(x: Tensor, splitSize: number | readonly number[], dim = 0): Tensor[] {
  checkTensor("split", "input", x);
  if (typeof splitSize === "number") checkInt("split", "split_size", splitSize);
  else checkSizes("split", "split_size", splitSize);
  checkDim("split", "dim", dim);
  if (x.ndim === 0) throw new ShapeError("split expects at least a 1-dimensional tensor");
  const d = normalizeDim(dim, x.ndim);
  const size = x.shape[d]!;
  let sizes: number[];
  if (typeof splitSize === "number") {
    if (!Number.isInteger(splitSize) || splitSize < 0 || (splitSize === 0 && size !== 0)) {
      throw new ValueError(`split_size can only be 0 if dimension size is 0, but got dimension size of ${size}`);
    }
    sizes = [];
    for (let start = 0; start < size; start += splitSize) sizes.push(Math.min(splitSize, size - start));
    if (sizes.length === 0) sizes.push(0);
  } else {
    sizes = [...splitSize];
    const total = sizes.reduce((a, b) => a + b, 0);
    if (sizes.some((s) => !Number.isInteger(s) || s < 0) || total !== size) {
      throw new ShapeError(
        `split_with_sizes expects split_sizes to sum exactly to ${size} (input tensor's size at dimension ${d}), ` +
          `but got split_sizes=${formatShape(sizes)}`,
      );
    }
  }
  let start = 0;
  return sizes.map((s) => {
    const part = narrow(x, d, start, s);
    start += s;
    return part;
  });
}

/**
 * Like torch.chunk: splits into at most `chunks` views along `dim`, each of ceil(size / chunks)
 * elements (the last may be smaller).
 */
export function chunk(x: Tensor, chunks: number, dim = 0): Tensor[] {
  checkTensor("chunk", "input", x);
  checkInt("chunk", "chunks", chunks);
  checkDim("chunk", "dim", dim);
  if (x.ndim === 0) throw new ShapeError("chunk expects at least a 1-dimensional tensor");
  if (chunks <= 0) throw new ValueError(`chunk expects \`chunks\` to be greater than 0, got: ${chunks}`);
  const d = normalizeDim(dim, x.ndim);
  const size = x.shape[d]!;
  return split(x, Math.max(1, Math.ceil(size / chunks)), d);
}
