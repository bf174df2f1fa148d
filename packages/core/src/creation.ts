// Creating tensors: from JS data, and the factory functions (zeros, arange, eye…). Values are
// computed on the host and uploaded once; no kernel is involved.
import { allocateArray, bytesPerElement, castScalar, isFloating, type DType, type DataArray } from "./dtype.js";
import { DTypeError, LockstepTypeError, OutOfMemoryError, ValueError } from "./errors.js";
import { fromData } from "./dispatch.js";
import { getBackend } from "./registry.js";
import { numel, type Shape } from "./shape.js";
import type { Tensor, NestedArray, Scalar } from "./tensor.js";
import {
  MAX_NESTING,
  TENSOR_OPTION_KEYS,
  checkInt,
  checkNumber,
  checkNumel,
  checkOptions,
  checkScalar,
  checkShape,
  checkTensor,
  describeValue,
} from "./validate.js";

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

/** Checks the options of a creation function, and that a requested gradient is possible. */
function creationOptions(fn: string, value: unknown): TensorOptions {
  const options = checkOptions<TensorOptions>(fn, value, TENSOR_OPTION_KEYS);
  if (options.requiresGrad === true && options.dtype !== undefined && !isFloating(options.dtype)) {
    throw new DTypeError(`only Tensors of floating point dtype can require gradients (got ${options.dtype})`);
  }
  return options;
}

/** The options' dtype, else `fallback`; requiresGrad needs a floating dtype (checked before allocating). */
function dtypeOf(options: TensorOptions, fallback: DType): DType {
  const dtype = options.dtype ?? fallback;
  if (options.requiresGrad === true && !isFloating(dtype)) {
    throw new DTypeError(`only Tensors of floating point dtype can require gradients (got ${dtype})`);
  }
  return dtype;
}

/** Host memory for `length` elements; an allocation the host refuses is an OutOfMemoryError. */
function hostArray(dtype: DType, length: number): DataArray {
  try {
    return allocateArray(dtype, length);
  } catch (error) {
    if (error instanceof RangeError) {
      throw new OutOfMemoryError(
        `not enough memory: you tried to allocate ${length * bytesPerElement(dtype)} bytes (${length} ${dtype} elements)`,
      );
    }
    throw error;
  }
}

type AnyTypedArray =
  | Int8Array | Uint8Array | Uint8ClampedArray | Int16Array | Uint16Array | Int32Array | Uint32Array
  | Float32Array | Float64Array;

function isTypedArray(data: unknown): data is AnyTypedArray | BigInt64Array | BigUint64Array {
  return ArrayBuffer.isView(data) && !(data instanceof DataView);
}

/**
 * The dtype a typed array's values keep. Lockstep has no int8/uint8/int16/uint16 (nor int64), so
 * those become int32, which holds every one of their values exactly — like int64 → int32
 * elsewhere. A Uint8Array is numbers 0..255 (PyTorch: uint8), not a bool mask: pass
 * `{ dtype: "bool" }` for that.
 */
function typedArrayDType(data: AnyTypedArray): DType {
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Float64Array) return "float64";
  if (typeof Float16ArrayCtor === "function" && data instanceof Float16ArrayCtor) return "float32";
  return "int32";
}

const Float16ArrayCtor = (globalThis as { Float16Array?: new () => object }).Float16Array;

/**
 * Walks nested arrays, checking they are rectangular and hold only numbers or booleans, and
 * returns shape and flat values. Iterative and depth-limited, so a cyclic or absurdly deep array
 * is a ValueError, not a stack overflow or an endless loop.
 */
function flatten(data: unknown): { shape: number[]; values: Scalar[] } {
  const shape: number[] = [];
  for (let level: unknown = data; Array.isArray(level); level = level[0]) {
    if (shape.length >= MAX_NESTING) {
      throw new ValueError(`tensor(): data is nested more than ${MAX_NESTING} levels deep (is the array cyclic?)`);
    }
    shape.push(level.length);
    if (level.length === 0) break;
  }
  checkNumel("tensor", shape);
  const values: Scalar[] = [];
  const where = (path: number[]) => `[${path.join(", ")}]`;
  const walk = (node: unknown, dim: number, path: number[]) => {
    if (dim === shape.length) {
      if (Array.isArray(node)) throw new ValueError(`expected a number at dim ${dim} but got a sequence of length ${node.length}`);
      if (typeof node !== "number" && typeof node !== "boolean") {
        throw new LockstepTypeError(
          `tensor(): expected a number or boolean${path.length > 0 ? ` at ${where(path)}` : ""}, but got ${describeValue(node)}`,
        );
      }
      values.push(node);
      return;
    }
    if (!Array.isArray(node)) throw new ValueError(`expected sequence of length ${shape[dim]} at dim ${dim} (got a scalar)`);
    if (node.length !== shape[dim]) {
      throw new ValueError(`expected sequence of length ${shape[dim]} at dim ${dim} (got ${node.length})`);
    }
    for (let i = 0; i < node.length; i++) walk(node[i], dim + 1, [...path, i]);
  };
  walk(data, 0, []);
  return { shape, values };
}

/**
 * A tensor from nested arrays, a scalar or a typed array. Numbers give float32 (also when they are
 * whole: JavaScript cannot tell 2 from 2.0), booleans give bool. Float32Array, Float64Array and
 * Int32Array keep their type; Int8/Uint8/Uint8Clamped/Int16/Uint16/Uint32 arrays give int32 with
 * the same values (Lockstep has no smaller integer types; a Uint32 value above 2^31 − 1 is a
 * DTypeError); BigInt arrays are refused. `{ dtype }` converts values as `castScalar` does (for
 * bool: non-zero is true).
 */
export function tensor(data: NestedArray | DataArray | ArrayBufferView, options: TensorOptions = {}): Tensor {
  const opts = creationOptions("tensor", options);
  const device = opts.device ?? "cpu";
  if (isTypedArray(data)) {
    if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
      throw new LockstepTypeError(
        `tensor(): ${ctorNameOf(data)} is not supported (Lockstep has no int64); convert it to an Int32Array or Float64Array`,
      );
    }
    checkNumel("tensor", [data.length]);
    const dtype = dtypeOf(opts, typedArrayDType(data));
    const same =
      (dtype === "float32" && data instanceof Float32Array) ||
      (dtype === "float64" && data instanceof Float64Array) ||
      (dtype === "int32" && data instanceof Int32Array);
    const values = same ? (data as DataArray).slice() : convert(data as ArrayLike<number>, dtype);
    return finish(fromData(values, dtype, [data.length], device), opts);
  }
  if (typeof data !== "number" && typeof data !== "boolean" && !Array.isArray(data)) {
    throw new LockstepTypeError(
      `tensor(): argument 'data' must be a number, boolean, nested array or typed array, not ${describeValue(data)}`,
    );
  }
  const { shape, values } = flatten(data);
  const inferred: DType = values.length > 0 && values.every((v) => typeof v === "boolean") ? "bool" : "float32";
  const dtype = dtypeOf(opts, inferred);
  return finish(fromData(convert(values, dtype), dtype, shape, device), opts);
}

function ctorNameOf(value: object): string {
  return (value as { constructor: { name: string } }).constructor.name;
}

function convert(values: ArrayLike<Scalar>, dtype: DType): DataArray {
  const out = hostArray(dtype, values.length);
  for (let i = 0; i < values.length; i++) out[i] = castScalar(values[i]!, dtype);
  return out;
}

function filled(fn: string, shape: unknown, value: Scalar, options: unknown, defaultDType: DType | ((o: TensorOptions) => DType)): Tensor {
  const dims = checkShape(fn, "size", shape);
  const opts = creationOptions(fn, options);
  const dtype = dtypeOf(opts, typeof defaultDType === "function" ? defaultDType(opts) : defaultDType);
  const fill = castScalar(value, dtype);
  getBackend(opts.device ?? "cpu");
  const data = hostArray(dtype, numel(dims));
  data.fill(fill);
  return finish(fromData(data, dtype, dims, opts.device ?? "cpu"), opts);
}

/** A tensor whose values are unspecified (zeros, today). */
export function empty(shape: Shape, options: TensorOptions = {}): Tensor {
  return filled("empty", shape, 0, options, "float32");
}

/**
 * Like torch.zeros: a tensor of `shape` filled with 0 (float32 unless `dtype` is given). Throws
 * LockstepTypeError for sizes that are not integers, ValueError for negative sizes.
 */
export function zeros(shape: Shape, options: TensorOptions = {}): Tensor {
  return filled("zeros", shape, 0, options, "float32");
}

/** Like torch.ones: a tensor of `shape` filled with 1 (float32 unless `dtype` is given). */
export function ones(shape: Shape, options: TensorOptions = {}): Tensor {
  return filled("ones", shape, 1, options, "float32");
}

/**
 * Numbers fill float32 and booleans bool unless `dtype` says otherwise. Throws LockstepTypeError
 * for a `value` that is not a number or boolean (`full([2], "x")`).
 */
export function full(shape: Shape, value: Scalar, options: TensorOptions = {}): Tensor {
  checkShape("full", "size", shape);
  const fill = checkScalar("full", "fill_value", value);
  return filled("full", shape, fill, options, typeof fill === "boolean" ? "bool" : "float32");
}

function likeOptions(fn: string, t: Tensor, options: unknown): TensorOptions {
  checkTensor(fn, "input", t);
  const opts = checkOptions<TensorOptions>(fn, options, TENSOR_OPTION_KEYS);
  return { dtype: opts.dtype ?? t.dtype, device: opts.device ?? t.device, requiresGrad: opts.requiresGrad };
}

/**
 * Like torch.zeros_like: zeros with `t`'s shape, dtype and device unless `options` override them.
 */
export function zerosLike(t: Tensor, options: TensorOptions = {}): Tensor {
  const opts = likeOptions("zeros_like", t, options);
  return filled("zeros_like", t.shape, 0, opts, "float32");
}

/** Like torch.ones_like: ones with `t`'s shape, dtype and device unless `options` override them. */
export function onesLike(t: Tensor, options: TensorOptions = {}): Tensor {
  const opts = likeOptions("ones_like", t, options);
  return filled("ones_like", t.shape, 1, opts, "float32");
}

/**
 * Like torch.full_like: `value` everywhere, with `t`'s shape, dtype and device unless `options`
 * override them.
 */
export function fullLike(t: Tensor, value: Scalar, options: TensorOptions = {}): Tensor {
  const opts = likeOptions("full_like", t, options);
  return filled("full_like", t.shape, checkScalar("full_like", "fill_value", value), opts, "float32");
}

/**
 * Like torch.empty_like: unspecified values (zeros, today) with `t`'s shape, dtype and device
 * unless overridden.
 */
export function emptyLike(t: Tensor, options: TensorOptions = {}): Tensor {
  const opts = likeOptions("empty_like", t, options);
  return filled("empty_like", t.shape, 0, opts, "float32");
}

/**
 * `arange(end)` or `arange(start, end, step)`: int32 when every bound is whole (PyTorch: int64),
 * else float32. Values are `start + i·step` computed in double, then stored in the dtype.
 */
export function arange(end: number, options?: TensorOptions): Tensor;
/** `arange(start, end, step?, options?)`; `step` may be replaced by the options. */
export function arange(start: number, end: number, step?: number | TensorOptions, options?: TensorOptions): Tensor;
export function arange(start: number, endOrOptions?: number | TensorOptions, step?: number | TensorOptions, options?: TensorOptions): Tensor {
  let opts: unknown = options;
  let s: unknown = step;
  let end: unknown = endOrOptions;
  // arange(end, options), like torch.arange(5, dtype=...).
  if (end !== null && typeof end === "object" && !Array.isArray(end) && step === undefined && options === undefined) {
    opts = end;
    end = undefined;
  }
  if (s !== undefined && typeof s === "object" && s !== null && !Array.isArray(s)) {
    if (options !== undefined) throw new LockstepTypeError("arange(): options given twice (as 'step' and as 'options')");
    opts = s;
    s = undefined;
  }
  const o = creationOptions("arange", opts);
  const [from, to] = end === undefined ? [0, checkNumber("arange", "end", start)] : [checkNumber("arange", "start", start), checkNumber("arange", "end", end)];
  const by = s === undefined ? 1 : checkNumber("arange", "step", s);
  for (const v of [from, to, by]) if (!Number.isFinite(v)) throw new ValueError(`unsupported range: ${from} -> ${to}`);
  if (by === 0) throw new ValueError("step must be nonzero");
  if ((to - from) * by < 0) throw new ValueError("upper bound and larger bound inconsistent with step sign");
  const count = Math.max(0, Math.ceil((to - from) / by));
  checkNumel("arange", [count]);
  const whole = [from, to, by].every(Number.isInteger);
  const dtype = dtypeOf(o, whole ? "int32" : "float32");
  getBackend(o.device ?? "cpu");
  // A fresh array: if a value cannot be stored (castScalar throws), nothing visible has changed.
  const data = hostArray(dtype, count);
  for (let i = 0; i < count; i++) data[i] = castScalar(from + i * by, dtype);
  return finish(fromData(data, dtype, [count], o.device ?? "cpu"), o);
}

/**
 * `steps` evenly spaced values from start to end inclusive. Like PyTorch's CPU kernel, the first
 * half counts up from start and the second half down from end, in the output dtype's arithmetic.
 */
export function linspace(start: number, end: number, steps: number, options: TensorOptions = {}): Tensor {
  checkNumber("linspace", "start", start);
  checkNumber("linspace", "end", end);
  checkInt("linspace", "steps", steps);
  const opts = creationOptions("linspace", options);
  if (steps < 0) throw new ValueError("number of steps must be non-negative");
  checkNumel("linspace", [steps]);
  const dtype = dtypeOf(opts, "float32");
  const round = dtype === "float32" ? Math.fround : (v: number) => v;
  getBackend(opts.device ?? "cpu");
  const data = hostArray(dtype, steps);
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
  return finish(fromData(data, dtype, [steps], opts.device ?? "cpu"), opts);
}

/** The n×m identity (m defaults to n). */
export function eye(n: number, m: number | TensorOptions = n, options: TensorOptions = {}): Tensor {
  let cols: unknown = m;
  let opts: unknown = options;
  if (cols !== null && typeof cols === "object" && !Array.isArray(cols)) {
    opts = cols;
    cols = n;
  }
  checkInt("eye", "n", n);
  checkInt("eye", "m", cols);
  const o = creationOptions("eye", opts);
  for (const [name, v] of [["n", n], ["m", cols as number]] as const) {
    if (v < 0) throw new ValueError(`${name} must be greater or equal to 0, got ${v}`);
  }
  const c = cols as number;
  checkNumel("eye", [n, c]);
  const dtype = dtypeOf(o, "float32");
  getBackend(o.device ?? "cpu");
  const data = hostArray(dtype, n * c);
  for (let i = 0; i < Math.min(n, c); i++) data[i * c + i] = 1;
  return finish(fromData(data, dtype, [n, c], o.device ?? "cpu"), o);
}
