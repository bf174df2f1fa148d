// Indexing by integer tensors: indexSelect, gather, scatter; and maskedFill (a where).
// Index values are range-checked here when the index lives in CPU-readable memory, so a bad index
// is an error rather than a read outside the tensor.
import { DTypeError, IndexError, ShapeError } from "../errors.js";
import { commonDevice, runPrimitive } from "../dispatch.js";
import { broadcastShapes, formatShape, normalizeDim, shapesEqual } from "../shape.js";
import { Tensor, type TensorLike } from "../tensor.js";
import { broadcastTo, cast, scalarTensor, where } from "./elementwise.js";
import { checkDim, checkTensor, checkTensorLike } from "../validate.js";

function requireIndex(name: string, x: Tensor, dim: number, index: Tensor): void {
  checkTensor(name, "input", x);
  checkDim(name, "dim", dim);
  checkTensor(name, "index", index);
  if (index.dtype !== "int32") {
    throw new DTypeError(`${name}(): Expected dtype int32 for index, but got ${index.dtype}`);
  }
}

function checkRange(index: Tensor, size: number, dim: number, plain: boolean): void {
  if (index.backend.readSync === undefined) return;
  for (const i of index.dataSync()) {
    if (i < 0 || i >= size) {
      throw new IndexError(
        plain ? "index out of range in self" : `index ${i} is out of bounds for dimension ${dim} with size ${size}`,
      );
    }
  }
}

/**
 * Like torch.index_select: the entries of `x` at the positions in the 1-D int32 `index` along
 * `dim`, as a new tensor. Throws IndexError for an out-of-range index, DTypeError when `index` is
 * not int32.
 */
export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  requireIndex("index_select", x, dim, index);
  commonDevice([x, index]);
  if (index.ndim > 1) throw new ShapeError("index_select(): Index is supposed to be a vector");
  const d = normalizeDim(dim, x.ndim);
  const size = x.ndim === 0 ? 1 : x.shape[d]!;
  checkRange(index, size, d, true);
  const shape = x.ndim === 0 ? [] : x.shape.map((s, i) => (i === d ? index.numel() : s));
  return runPrimitive("indexSelect", [x, index], [{ shape, dtype: x.dtype }], { dim: d })[0]!;
}

function checkGatherShapes(name: string, x: Tensor, d: number, index: Tensor, src?: Tensor): void {
  if (index.ndim !== x.ndim && !(index.ndim <= 1 && x.ndim <= 1)) {
    throw new ShapeError(`Index tensor must have the same number of dimensions as ${name === "gather" ? "input" : "self"} tensor`);
  }
  for (let k = 0; k < index.ndim; k++) {
    if (k !== d && index.shape[k]! > (x.shape[k] ?? 1)) {
      throw new ShapeError(
        `Size does not match at dimension ${k} expected index ${formatShape(index.shape)} to be smaller than self ` +
          `${formatShape(x.shape)} apart from dimension ${d}`,
      );
    }
    if (src !== undefined && index.shape[k]! > (src.shape[k] ?? 1)) {
      throw new ShapeError(
        `Expected index ${formatShape(index.shape)} to be smaller than self ${formatShape(x.shape)} apart from ` +
          `dimension ${d} and to be smaller size than src ${formatShape(src.shape)}`,
      );
    }
  }
  checkRange(index, x.ndim === 0 ? 1 : x.shape[d]!, d, false);
}

/**
 * Like torch.gather: `out[i][j] = x[index[i][j]][j]` for dim 0 (and likewise for other dims);
 * `index` is int32 with x's rank, and the output has its shape. Throws IndexError for an
 * out-of-range index.
 */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  requireIndex("gather", x, dim, index);
  commonDevice([x, index]);
  const d = normalizeDim(dim, x.ndim);
  checkGatherShapes("gather", x, d, index);
  return runPrimitive("gather", [x, index], [{ shape: index.shape, dtype: x.dtype }], { dim: d })[0]!;
}

/** Out-of-place scatter: a copy of `x` with `src` written at `index` along `dim` (later writes win). */
export function scatter(x: Tensor, dim: number, index: Tensor, src: TensorLike): Tensor {
  requireIndex("scatter", x, dim, index);
  checkTensorLike("scatter", "src", src);
  commonDevice([x, index, ...(src instanceof Tensor ? [src] : [])]);
  const d = normalizeDim(dim, x.ndim);
  let source: Tensor;
  if (src instanceof Tensor) {
    if (src.dtype !== x.dtype) {
      throw new DTypeError(`scatter(): Expected self.dtype to be equal to src.dtype (got ${x.dtype} and ${src.dtype})`);
    }
    source = src;
  } else {
    source = broadcastTo(scalarTensor(src, x.dtype, x.device), index.shape);
  }
  checkGatherShapes("scatter", x, d, index, source);
  return runPrimitive("scatter", [x, index, source], [{ shape: x.shape, dtype: x.dtype }], { dim: d })[0]!;
}

/** `value` where `mask` is true, `x` elsewhere; the mask broadcasts to x's shape. */
export function maskedFill(x: Tensor, mask: Tensor, value: TensorLike): Tensor {
  checkTensor("masked_fill", "input", x);
  checkTensor("masked_fill", "mask", mask);
  checkTensorLike("masked_fill", "value", value);
  if (mask.dtype !== "bool") {
    throw new DTypeError(`masked_fill_ only supports boolean masks, but got mask with dtype ${mask instanceof Tensor ? mask.dtype : typeof mask}`);
  }
  if (value instanceof Tensor && value.ndim !== 0) {
    throw new ShapeError(
      `masked_fill_ only supports a 0-dimensional value tensor, but got tensor with ${value.ndim} dimension(s).`,
    );
  }
  const shape = broadcastShapes(mask.shape, x.shape);
  if (!shapesEqual(shape, x.shape)) {
    throw new ShapeError(
      `The size of tensor a (${x.shape.join(", ")}) must match the size of mask ${formatShape(mask.shape)}: the mask must broadcast to the tensor's shape`,
    );
  }
  const fill = value instanceof Tensor ? cast(value, x.dtype) : scalarTensor(value, x.dtype, x.device);
  return where(mask, fill, x);
}
