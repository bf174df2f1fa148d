// Shape arithmetic shared by every op: strides, broadcasting, dim normalisation.
import { IndexError, ShapeError, ValueError } from "./errors.js";

/**
 * Sizes of a tensor's dimensions, outermost first, like torch.Size. `[]` is a 0-d (scalar) tensor.
 */
export type Shape = readonly number[];

/**
 * Number of elements of a tensor of this shape: the product of its sizes (1 for `[]`), like
 * torch.numel.
 */
export function numel(shape: Shape): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

/** Row-major strides, in elements. */
export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

/** True when a view with these strides walks its storage in row-major order without gaps. */
export function isContiguous(shape: Shape, strides: readonly number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] === 1) continue;
    if (strides[i] !== expected) return false;
    expected *= shape[i]!;
  }
  return true;
}

/** A shape as PyTorch prints it in messages: `[2, 3]`. */
export function formatShape(shape: Shape): string {
  return `[${shape.join(", ")}]`;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  // A loop, not every(): shapes are frozen arrays, which miss the builtins' fast paths.
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** NumPy/PyTorch broadcasting of two shapes. */
export function broadcastShapes(a: Shape, b: Shape): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  // From the last dim, so the reported mismatch is the one PyTorch reports.
  for (let i = n - 1; i >= 0; i--) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(
        `The size of tensor a (${da}) must match the size of tensor b (${db}) at non-singleton dimension ${i}`,
      );
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Wraps a possibly negative dim into [0, ndim), with PyTorch's message when out of range. */
export function normalizeDim(dim: number, ndim: number): number {
  const rank = Math.max(ndim, 1); // a 0-d tensor accepts dim 0 and -1, like PyTorch
  if (!Number.isInteger(dim) || dim < -rank || dim >= rank) {
    throw new IndexError(`Dimension out of range (expected to be in range of [${-rank}, ${rank - 1}], but got ${dim})`);
  }
  return dim < 0 ? dim + rank : dim;
}

/** Normalises a dim list, rejecting repeats like PyTorch ("dim 1 appears multiple times"). */
export function normalizeDims(dims: number | readonly number[] | undefined, ndim: number): number[] {
  if (dims === undefined) return Array.from({ length: ndim }, (_, i) => i);
  const list = typeof dims === "number" ? [dims] : [...dims];
  const out: number[] = [];
  for (const d of list) {
    const n = normalizeDim(d, ndim);
    if (out.includes(n)) throw new ValueError(`dim ${n} appears multiple times in the list of dims`);
    out.push(n);
  }
  return out.sort((x, y) => x - y);
}

/** Validates a user-given shape: non-negative integers. */
export function checkShape(shape: Shape, what = "shape"): number[] {
  if (!Array.isArray(shape)) throw new ValueError(`${what} must be an array of integers, got ${String(shape)}`);
  for (const s of shape) {
    if (!Number.isInteger(s)) throw new ValueError(`${what} must contain integers, got ${formatShape(shape)}`);
    if (s < 0) throw new ValueError(`Trying to create tensor with negative dimension ${s}: ${formatShape(shape)}`);
  }
  return [...shape];
}

/** Resolves one -1 in a reshape target against the element count. */
export function inferReshape(shape: Shape, target: Shape): number[] {
  const out = [...target];
  let unknown = -1;
  let known = 1;
  for (let i = 0; i < out.length; i++) {
    const s = out[i]!;
    if (s === -1) {
      if (unknown >= 0) throw new ValueError("only one dimension can be inferred");
      unknown = i;
    } else if (!Number.isInteger(s) || s < 0) {
      throw new ValueError(`invalid shape dimension ${s}`);
    } else known *= s;
  }
  const total = numel(shape);
  if (unknown >= 0) {
    if (known === 0 || total % known !== 0) {
      throw new ShapeError(`shape '${formatShape(target)}' is invalid for input of size ${total}`);
    }
    out[unknown] = total / known;
  } else if (known !== total) {
    throw new ShapeError(`shape '${formatShape(target)}' is invalid for input of size ${total}`);
  }
  return out;
}

/**
 * Strides that let `target` view storage laid out with (shape, strides) without a copy, or
 * undefined when a copy is needed (PyTorch's computeStride).
 */
export function viewStrides(shape: Shape, strides: readonly number[], target: Shape): number[] | undefined {
  if (numel(shape) === 0 || shape.length === 0) return contiguousStrides(target);
  const out = new Array<number>(target.length);
  let viewD = target.length - 1;
  let chunkBase = strides[strides.length - 1]!;
  let tensorNumel = 1;
  let viewNumel = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    tensorNumel *= shape[d]!;
    if (d === 0 || (shape[d - 1] !== 1 && strides[d - 1] !== tensorNumel * chunkBase)) {
      while (viewD >= 0 && (viewNumel < tensorNumel || target[viewD] === 1)) {
        out[viewD] = viewNumel * chunkBase;
        viewNumel *= target[viewD]!;
        viewD--;
      }
      if (viewNumel !== tensorNumel) return undefined;
      if (d > 0) {
        chunkBase = strides[d - 1]!;
        tensorNumel = 1;
        viewNumel = 1;
      }
    }
  }
  if (viewD !== -1) return undefined;
  return out;
}
