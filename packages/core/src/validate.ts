// The argument checkers of the public boundary. Every public core function runs its arguments
// through these before it allocates, writes or records anything, so a bad argument is a Lockstep
// error that names the function, the argument and the value as the user wrote it, and a failed
// call has changed nothing. Kernels behind the boundary never validate.
//
// Wording follows PyTorch's argument parser where it has a message ("zeros(): argument 'size'
// must be tuple of ints, but found element of type str at pos 0"), with the value appended,
// since JS users cannot see it otherwise. The error class:
// - LockstepTypeError: the value is of the wrong kind (a string, null, BigInt, object, a float
//   where an int is needed, an unknown option key) — PyTorch's TypeError cases;
// - ValueError / ShapeError / IndexError / DTypeError: the kind is right but the value is not
//   (negative size, dim out of range, unknown dtype name) — PyTorch's RuntimeError/ValueError.
import { DTYPES, isDType, type DType } from "./dtype.js";
import { DTypeError, LockstepTypeError, ValueError } from "./errors.js";
import { formatShape } from "./shape.js";
import { Tensor, type Scalar, type TensorLike } from "./tensor.js";

/**
 * Most elements one tensor may have. Lockstep indexes with int32 (its integer dtype), so a tensor
 * of more elements could not be indexed; asking for one is a ValueError, not a RangeError from
 * deep inside a typed array.
 */
export const MAX_NUMEL = 2 ** 31 - 1;

/** Deepest nesting `tensor()` accepts: far more dims than any real tensor, and a cyclic array stops here. */
export const MAX_NESTING = 64;

const TYPED_ARRAY_NAMES = new Set([
  "Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array", "Uint32Array",
  "Float32Array", "Float64Array", "BigInt64Array", "BigUint64Array", "Float16Array",
]);

function ctorName(value: object): string {
  try {
    const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof name === "string" ? name : "Object";
  } catch {
    return "Object"; // a proxy whose `constructor` getter throws
  }
}

/**
 * The kind of a JS value in the words messages use: "int" or "float" for numbers (NaN and
 * ±Infinity are floats, as in Python), "bool", "string", "bigint", "null", "undefined", "array",
 * "Tensor", a typed array's class name, "function", or "object".
 */
export function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (value instanceof Tensor) return "Tensor";
  switch (typeof value) {
    case "number":
      return Number.isInteger(value) ? "int" : "float";
    case "boolean":
      return "bool";
    case "object": {
      const name = ctorName(value);
      return TYPED_ARRAY_NAMES.has(name) ? name : name === "Object" ? "object" : name;
    }
    default:
      return typeof value;
  }
}

/**
 * A value shown as it was written in JS: `"2"` with quotes, `2n`, `-0`, `NaN`, `null`,
 * `[2, 2.5]`, `{ dtype: "x" }`; long arrays and deep or cyclic structures are shortened.
 */
export function formatValue(value: unknown, depth = 0, seen: Set<object> = new Set()): string {
  switch (typeof value) {
    case "number":
      return Object.is(value, -0) ? "-0" : String(value);
    case "string":
      return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
    case "bigint":
      return `${value}n`;
    case "symbol":
      return value.toString();
    case "function":
      return `function ${value.name || "(anonymous)"}`;
    case "undefined":
      return "undefined";
    case "boolean":
      return String(value);
  }
  if (value === null) return "null";
  const object = value as object;
  if (object instanceof Tensor) {
    return `tensor of shape ${formatShape(object.shape)} (${object.dtype} on ${object.device})`;
  }
  if (seen.has(object)) return "[Circular]";
  if (depth >= 3) return Array.isArray(object) ? "[…]" : "{…}";
  seen.add(object);
  try {
    return formatObject(object, depth, seen);
  } catch {
    // A getter or proxy that throws while we describe it must not replace the Lockstep error.
    return "(not printable)";
  } finally {
    seen.delete(object);
  }
}

function formatObject(object: object, depth: number, seen: Set<object>): string {
  if (Array.isArray(object) || ArrayBuffer.isView(object)) {
    // Only the first elements are read, so a huge (or sparse) array costs nothing to describe.
    const list = object as ArrayLike<unknown>;
    const shown: string[] = [];
    for (let i = 0; i < Math.min(list.length, 8); i++) shown.push(formatValue(list[i], depth + 1, seen));
    if (list.length > 8) shown.push(`… ${list.length - 8} more`);
    const prefix = Array.isArray(object) ? "" : `${ctorName(object)} `;
    return `${prefix}[${shown.join(", ")}]`;
  }
  const keys = Object.keys(object);
  const shown = keys
    .slice(0, 6)
    .map((k) => `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k)}: ${formatValue((object as Record<string, unknown>)[k], depth + 1, seen)}`);
  if (keys.length > 6) shown.push("…");
  const name = ctorName(object);
  const prefix = name === "Object" ? "" : `${name} `;
  return shown.length === 0 ? `${prefix}{}` : `${prefix}{ ${shown.join(", ")} }`;
}

/** Kind and value together ("float 0.5", `string "2"`, "null"), as the end of "must be X, not …". */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (value instanceof Tensor) return formatValue(value);
  const kind = typeName(value);
  const shown = formatValue(value);
  // Class instances and typed arrays already start with their class name ("Map {}").
  return shown.startsWith(`${kind} `) ? shown : `${kind} ${shown}`;
}

function typeError(fn: string, arg: string, expected: string, value: unknown): LockstepTypeError {
  return new LockstepTypeError(`${fn}(): argument '${arg}' must be ${expected}, not ${describeValue(value)}`);
}

/** A live Tensor; LockstepTypeError otherwise ("must be Tensor, not int 3"), DisposedError when disposed. */
export function checkTensor(fn: string, arg: string, value: unknown): Tensor {
  if (!(value instanceof Tensor)) throw typeError(fn, arg, "Tensor", value);
  value.assertLive();
  return value;
}

/** A live Tensor or a scalar (number or boolean), as elementwise operands accept. */
export function checkTensorLike(fn: string, arg: string, value: unknown): TensorLike {
  if (value instanceof Tensor) {
    value.assertLive();
    return value;
  }
  if (typeof value === "number" || typeof value === "boolean") return value;
  throw typeError(fn, arg, "Tensor or Number", value);
}

/** An optional Tensor-or-scalar: undefined passes. */
export function checkOptionalTensorLike(fn: string, arg: string, value: unknown): TensorLike | undefined {
  return value === undefined ? undefined : checkTensorLike(fn, arg, value);
}

/**
 * A Python-style Number: a JS number (any, NaN and ±Infinity included) or a boolean. Strings,
 * null, undefined, BigInt and objects are refused.
 */
export function checkScalar(fn: string, arg: string, value: unknown): Scalar {
  if (typeof value === "number" || typeof value === "boolean") return value;
  throw typeError(fn, arg, "Number", value);
}

/** A JS number (not a boolean). With `finite`, NaN and ±Infinity are a ValueError. */
export function checkNumber(fn: string, arg: string, value: unknown, options: { finite?: boolean } = {}): number {
  if (typeof value !== "number") throw typeError(fn, arg, "number", value);
  if (options.finite && !Number.isFinite(value)) {
    throw new ValueError(`${fn}(): argument '${arg}' must be a finite number, got ${formatValue(value)}`);
  }
  return value;
}

/** A safe integer ("must be int, not float 0.5"). */
export function checkInt(fn: string, arg: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value)) throw typeError(fn, arg, "int", value);
  return value;
}

/** A string ("must be str, not int 3"). */
export function checkString(fn: string, arg: string, value: unknown): string {
  if (typeof value !== "string") throw typeError(fn, arg, "str", value);
  return value;
}

/** A boolean ("must be bool, not int 1"); PyTorch's bool arguments refuse ints too. */
export function checkBool(fn: string, arg: string, value: unknown): boolean {
  if (typeof value !== "boolean") throw typeError(fn, arg, "bool", value);
  return value;
}

/** An optional boolean: undefined gives `fallback`. */
export function checkOptionalBool(fn: string, arg: string, value: unknown, fallback: boolean): boolean {
  return value === undefined ? fallback : checkBool(fn, arg, value);
}

/** A dim: a safe integer. The range is checked against the tensor by `normalizeDim`. */
export function checkDim(fn: string, arg: string, value: unknown): number {
  return checkInt(fn, arg, value);
}

/** An optional dim: undefined passes. */
export function checkOptionalDim(fn: string, arg: string, value: unknown): number | undefined {
  return value === undefined ? undefined : checkInt(fn, arg, value);
}

function checkIntList(fn: string, arg: string, value: unknown): number[] {
  if (!Array.isArray(value)) throw typeError(fn, arg, "tuple of ints", value);
  for (let i = 0; i < value.length; i++) {
    const v: unknown = value[i];
    if (typeof v !== "number" || !Number.isSafeInteger(v)) {
      const kind = typeof v === "number" && Number.isInteger(v) ? "int (not a safe integer)" : typeName(v);
      throw new LockstepTypeError(
        `${fn}(): argument '${arg}' must be tuple of ints, but found element of type ${kind} at pos ${i}: ${formatValue(value)}`,
      );
    }
  }
  // -0 is a size of 0; keep it out of shapes (numel would be -0).
  return (value as number[]).map((v) => (v === 0 ? 0 : v));
}

/** One dim, a list of dims, or undefined (all dims); each a safe integer. */
export function checkDims(fn: string, arg: string, value: unknown): number | number[] | undefined {
  if (value === undefined || typeof value === "number") return value === undefined ? undefined : checkInt(fn, arg, value);
  if (!Array.isArray(value)) throw typeError(fn, arg, "int or tuple of ints", value);
  return checkIntList(fn, arg, value);
}

/**
 * A list of sizes (or dims) as written: an array of safe integers, signs unchecked (-1 means
 * "infer" in reshape and "keep" in expand). Use `checkShape` for the sizes of a new tensor.
 */
export function checkSizes(fn: string, arg: string, value: unknown): number[] {
  return checkIntList(fn, arg, value);
}

/** Throws ValueError when a shape has more than MAX_NUMEL elements. */
export function checkNumel(fn: string, shape: readonly number[]): void {
  let n = 1;
  for (const s of shape) n *= s;
  if (n > MAX_NUMEL) {
    throw new ValueError(
      `${fn}(): Storage size calculation overflowed with sizes=${formatShape(shape)}: ${n} elements, but a Lockstep ` +
        `tensor holds at most ${MAX_NUMEL} (int32 indexing)`,
    );
  }
}

/**
 * The shape of a new tensor: non-negative safe integers (PyTorch's "Trying to create tensor with
 * negative dimension") whose product is at most MAX_NUMEL.
 */
export function checkShape(fn: string, arg: string, value: unknown): number[] {
  const shape = checkIntList(fn, arg, value);
  for (const s of shape) {
    if (s < 0) throw new ValueError(`Trying to create tensor with negative dimension ${s}: ${formatShape(shape)}`);
  }
  checkNumel(fn, shape);
  return shape;
}

/** A dtype name: a non-string is a LockstepTypeError, an unknown name a DTypeError. */
export function checkDTypeArg(fn: string, arg: string, value: unknown): DType {
  if (typeof value !== "string") throw typeError(fn, arg, "dtype (a string)", value);
  if (!isDType(value)) {
    throw new DTypeError(`unknown dtype ${JSON.stringify(value)}; expected one of ${DTYPES.join(", ")}`);
  }
  return value;
}

/** A device name (a string); whether a backend is registered for it is checked where it is used. */
export function checkDevice(fn: string, arg: string, value: unknown): string {
  if (typeof value !== "string") throw typeError(fn, arg, "str (a device name)", value);
  return value;
}

/** Checks the value of one option key; undefined values never reach it. */
export type OptionChecker = (fn: string, arg: string, value: unknown) => unknown;

/** The checkers of the keys every creation function accepts. */
export const TENSOR_OPTION_KEYS: Record<string, OptionChecker> = {
  dtype: checkDTypeArg,
  device: checkDevice,
  requiresGrad: checkBool,
};

/**
 * An options object (PyTorch's keyword arguments): undefined gives `{}`; anything but a plain
 * object is a LockstepTypeError; so is an unknown key ("zeros() got an unexpected keyword argument
 * 'dtyp'", PyTorch's wording); each present key is checked by its checker.
 */
export function checkOptions<T extends object>(fn: string, value: unknown, keys: Record<string, OptionChecker>): T {
  if (value === undefined) return {} as T;
  const proto = value !== null && typeof value === "object" ? Object.getPrototypeOf(value) : undefined;
  // A plain object (or one made by Object.create(null)), as PyTorch's keyword arguments are a dict:
  // a Map, array, Tensor or class instance would have its keys silently ignored.
  if (proto !== Object.prototype && proto !== null) {
    throw new LockstepTypeError(`${fn}(): options must be a plain object, not ${describeValue(value)}`);
  }
  for (const key of Object.keys(value as object)) {
    const checker = Object.prototype.hasOwnProperty.call(keys, key) ? keys[key] : undefined;
    if (checker === undefined) {
      throw new LockstepTypeError(
        `${fn}() got an unexpected keyword argument '${key}' (accepted: ${Object.keys(keys).join(", ") || "none"})`,
      );
    }
    const v = (value as Record<string, unknown>)[key];
    if (v !== undefined) checker(fn, key, v);
  }
  return value as T;
}

/** A list of live tensors ("expected Tensor as element 1 in argument 'tensors', but got int 3"). */
export function checkTensorList(fn: string, arg: string, value: unknown): Tensor[] {
  if (!Array.isArray(value)) throw typeError(fn, arg, "tuple of Tensors", value);
  // A for loop, not forEach: a hole in a sparse array is an element too (undefined).
  for (let i = 0; i < value.length; i++) {
    const t: unknown = value[i];
    if (!(t instanceof Tensor)) {
      throw new LockstepTypeError(`${fn}(): expected Tensor as element ${i} in argument '${arg}', but got ${describeValue(t)}`);
    }
    t.assertLive();
  }
  return value as Tensor[];
}

/** An object (a Generator, say): not null, not a primitive ("must be Generator, not string …"). */
export function checkObject(fn: string, arg: string, value: unknown): object {
  if (value === null || (typeof value !== "object" && typeof value !== "function")) {
    throw typeError(fn, arg, arg === "generator" ? "Generator" : "object", value);
  }
  return value as object;
}

/** A callback ("must be callable, not …"). */
export function checkFunction<F extends (...args: never[]) => unknown>(fn: string, arg: string, value: unknown): F {
  if (typeof value !== "function") throw typeError(fn, arg, "callable", value);
  return value as F;
}
