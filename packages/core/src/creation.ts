// Creating tensors: from JS data, and the factory functions (zeros, arange, eye…). Values are
// computed on the host and uploaded once; no kernel is involved.
import { allocateArray, castScalar, checkDType, dtypeOfArray, type DType, type DataArray } from "./dtype.js";
import { ValueError } from "./errors.js";
import { fromData } from "./dispatch.js";
import { checkShape, numel, type Shape } from "./shape.js";
import { Tensor, type NestedArray, type Scalar } from "./tensor.js";

/**
 * Options of the factory functions (`tensor`, `zeros`, `arange`, ...), like PyTorch's dtype=,
 * device=, requires_grad= keywords.
 */
export interface TensorOptions {
  /** Element type; each factory documents its default (mostly float32). */
  dtype?: DType;
  /**
   * Device to create the tensor on; default "cpu". Throws DeviceError when no backend is registered
   * for it.
   */
  device?: string;
  /** Make the new tensor a leaf that requires grad (floating dtypes only); default false. */
  requiresGrad?: boolean;
}

function finish(t: Tensor, options: TensorOptions): Tensor {
  return options.requiresGrad ? t.requiresGrad_(true) : t;
}

function isTypedArray(data: unknown): data is DataArray {
  return data instanceof Float32Array || data instanceof Float64Array || data instanceof Int32Array || data instanceof Uint8Array;
}

/** Walks nested arrays, checking they are rectangular, and returns shape and flat values. */
function flatten(data: NestedArray): { shape: number[]; values: Scalar[] } {
  const shape: number[] = [];
  for (let level: NestedArray = data; Array.isArray(level); level = (level as NestedArray[])[0]!) {
    shape.push(level.length);
    if (level.length === 0) break;
  }
  const values: Scalar[] = [];
  const walk = (node: NestedArray, dim: number) => {
    if (dim === shape.length) {
      if (Array.isArray(node)) throw new ValueError(`expected a number at dim ${dim} but got a sequence of length ${node.length}`);
      if (typeof node !== "number" && typeof node !== "boolean") {
        throw new ValueError(`tensor() expects numbers or booleans, got ${typeof node} (${String(node)})`);
      }
      values.push(node);
      return;
    }
    if (!Array.isArray(node)) throw new ValueError(`expected sequence of length ${shape[dim]} at dim ${dim} (got a scalar)`);
    if (node.length !== shape[dim]) {
      throw new ValueError(`expected sequence of length ${shape[dim]} at dim ${dim} (got ${node.length})`);
    }
    for (const child of node) walk(child, dim + 1);
  };
  walk(data, 0);
  return { shape, values };
}

/**
 * A tensor from nested arrays, a scalar or a typed array. Numbers give float32 (also when they are
 * whole: JavaScript cannot tell 2 from 2.0), booleans give bool, typed arrays keep their type.
 */
export function tensor(data: NestedArray | DataArray, options: TensorOptions = {}): Tensor {
  const device = options.device ?? "cpu";
  if (isTypedArray(data)) {
    const dtype = options.dtype === undefined ? dtypeOfArray(data) : checkDType(options.dtype);
    const values = dtype === dtypeOfArray(data) ? data.slice() : convert(Array.from(data), dtype);
    return finish(fromData(values, dtype, [data.length], device), options);
  }
  const { shape, values } = flatten(data);
  const inferred: DType = values.length > 0 && values.every((v) => typeof v === "boolean") ? "bool" : "float32";
  const dtype = options.dtype === undefined ? inferred : checkDType(options.dtype);
  return finish(fromData(convert(values, dtype), dtype, shape, device), options);
}

function convert(values: readonly Scalar[], dtype: DType): DataArray {
  const out = allocateArray(dtype, values.length);
  for (let i = 0; i < values.length; i++) out[i] = castScalar(values[i]!, dtype);
  return out;
}

function filled(shape: Shape, value: Scalar, options: TensorOptions, defaultDType: DType): Tensor {
  const dims = checkShape(shape);
  const dtype = options.dtype === undefined ? defaultDType : checkDType(options.dtype);
  const data = allocateArray(dtype, numel(dims));
  data.fill(castScalar(value, dtype));
  return finish(fromData(data, dtype, dims, options.device ?? "cpu"), options);
}

/** A tensor whose values are unspecified (zeros, today). */
export function empty(shape: Shape, options: TensorOptions = {}): Tensor {
  return filled(shape, 0, options, "float32");
}

/**
 * Like torch.zeros: a tensor of `shape` filled with 0 (float32 unless `dtype` is given). Throws
 * ValueError for negative or non-integer sizes.
 */
export function zeros(shape: Shape, options: TensorOptions = {}): Tensor {
  return filled(shape, 0, options, "float32");
}

/** Like torch.ones: a tensor of `shape` filled with 1 (float32 unless `dtype` is given). */
export function ones(shape: Shape, options: TensorOptions = {}): Tensor {
  return filled(shape, 1, options, "float32");
}

/** Numbers fill float32 and booleans bool unless `dtype` says otherwise. */
export function full(shape: Shape, value: Scalar, options: TensorOptions = {}): Tensor {
  return filled(shape, value, options, typeof value === "boolean" ? "bool" : "float32");
}

function likeOptions(t: Tensor, options: TensorOptions): TensorOptions {
  return { dtype: options.dtype ?? t.dtype, device: options.device ?? t.device, requiresGrad: options.requiresGrad };
}

/**
 * Like torch.zeros_like: zeros with `t`'s shape, dtype and device unless `options` override them.
 */
export function zerosLike(t: Tensor, options: TensorOptions = {}): Tensor {
  return zeros(t.shape, likeOptions(t, options));
}

/** Like torch.ones_like: ones with `t`'s shape, dtype and device unless `options` override them. */
export function onesLike(t: Tensor, options: TensorOptions = {}): Tensor {
  return ones(t.shape, likeOptions(t, options));
}

/**
 * Like torch.full_like: `value` everywhere, with `t`'s shape, dtype and device unless `options`
 * override them.
 */
export function fullLike(t: Tensor, value: Scalar, options: TensorOptions = {}): Tensor {
  return full(t.shape, value, likeOptions(t, options));
}

/**
 * Like torch.empty_like: unspecified values (zeros, today) with `t`'s shape, dtype and device
 * unless overridden.
 */
export function emptyLike(t: Tensor, options: TensorOptions = {}): Tensor {
  return empty(t.shape, likeOptions(t, options));
}

/**
 * `arange(end)` or `arange(start, end, step)`: int32 when every bound is whole (PyTorch: int64),
 * else float32. Values are `start + i·step` computed in double, then stored in the dtype.
 */
export function arange(start: number, end?: number, step?: number | TensorOptions, options?: TensorOptions): Tensor {
  let opts = options ?? {};
  let s = step;
  if (typeof s === "object") {
    opts = s;
    s = undefined;
  }
  const [from, to] = end === undefined ? [0, start] : [start, end];
  const by = s ?? 1;
  for (const v of [from, to, by]) if (!Number.isFinite(v)) throw new ValueError(`unsupported range: ${from} -> ${to}`);
  if (by === 0) throw new ValueError("step must be nonzero");
  if ((to - from) * by < 0) throw new ValueError("upper bound and larger bound inconsistent with step sign");
  const count = Math.max(0, Math.ceil((to - from) / by));
  const whole = [from, to, by].every(Number.isInteger);
  const dtype = opts.dtype === undefined ? (whole ? "int32" : "float32") : checkDType(opts.dtype);
  const data = allocateArray(dtype, count);
  for (let i = 0; i < count; i++) data[i] = castScalar(from + i * by, dtype);
  return finish(fromData(data, dtype, [count], opts.device ?? "cpu"), opts);
}

/**
 * `steps` evenly spaced values from start to end inclusive. Like PyTorch's CPU kernel, the first
 * half counts up from start and the second half down from end, in the output dtype's arithmetic.
 */
export function linspace(start: number, end: number, steps: number, options: TensorOptions = {}): Tensor {
  if (!Number.isInteger(steps) || steps < 0) throw new ValueError("number of steps must be non-negative");
  const dtype = options.dtype === undefined ? "float32" : checkDType(options.dtype);
  const round = dtype === "float32" ? Math.fround : (v: number) => v;
  const data = allocateArray(dtype, steps);
  if (steps === 1) data[0] = castScalar(start, dtype);
  if (steps > 1) {
    const a = round(start);
    const b = round(end);
    const step = dtype === "int32" ? (end - start) / (steps - 1) : round(round(b - a) / (steps - 1));
    const half = Math.floor(steps / 2);
    for (let i = 0; i < steps; i++) {
      const v = i < half ? round(a + round(step * i)) : round(b - round(step * (steps - i - 1)));
      data[i] = castScalar(v, dtype);
    }
  }
  return finish(fromData(data, dtype, [steps], options.device ?? "cpu"), options);
}

/** The n×m identity (m defaults to n). */
export function eye(n: number, m: number | TensorOptions = n, options: TensorOptions = {}): Tensor {
  let cols = m;
  let opts = options;
  if (typeof cols === "object") {
    opts = cols;
    cols = n;
  }
  for (const [name, v] of [["n", n], ["m", cols]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new ValueError(`${name} must be greater or equal to 0, got ${v}`);
  }
  const dtype = opts.dtype === undefined ? "float32" : checkDType(opts.dtype);
  const data = allocateArray(dtype, n * cols);
  for (let i = 0; i < Math.min(n, cols); i++) data[i * cols + i] = 1;
  return finish(fromData(data, dtype, [n, cols], opts.device ?? "cpu"), opts);
}
