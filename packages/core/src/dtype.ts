// Data types, their storage arrays, and PyTorch's type-promotion rules restricted to our dtypes.
// Lockstep has no int64: where PyTorch would produce int64 (integer literals, sums of ints,
// indices) Lockstep produces int32.
import { DTypeError, LockstepTypeError } from "./errors.js";

/**
 * Element type of a tensor. Like torch.dtype, restricted to float32, float64, int32 and bool (no
 * int64: integer results are int32).
 */
export type DType = "float32" | "float64" | "int32" | "bool";
/** Every dtype Lockstep supports. */
export const DTYPES: readonly DType[] = ["float32", "float64", "int32", "bool"];

/** The typed array that stores each dtype: bool is one byte per element, 0 or 1. */
export type DataArray = Float32Array | Float64Array | Int32Array | Uint8Array;

/** Maps each dtype to the typed array that stores it (the result type of `allocateArray`). */
export interface DataArrayOf {
  /** float32 elements. */
  float32: Float32Array;
  /** float64 elements. */
  float64: Float64Array;
  /** int32 elements. */
  int32: Int32Array;
  /** bool elements, one byte each, 0 or 1. */
  bool: Uint8Array;
}

const constructors = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  bool: Uint8Array,
} as const;

/** A zero-filled typed array of `length` elements of `dtype`. */
export function allocateArray<D extends DType>(dtype: D, length: number): DataArrayOf[D] {
  return new constructors[dtype](length) as DataArrayOf[D];
}

export function isDType(value: unknown): value is DType {
  return typeof value === "string" && (DTYPES as readonly string[]).includes(value);
}

export function checkDType(value: unknown): DType {
  if (!isDType(value)) {
    throw new DTypeError(`unknown dtype ${JSON.stringify(value)}; expected one of ${DTYPES.join(", ")}`);
  }
  return value;
}

/** Whether `dtype` is float32 or float64 (like torch.is_floating_point on a dtype). */
export function isFloating(dtype: DType): boolean {
  return dtype === "float32" || dtype === "float64";
}

/** Size of one element of `dtype` in bytes (bool: 1), like torch.dtype.itemsize. */
export function bytesPerElement(dtype: DType): number {
  return constructors[dtype].BYTES_PER_ELEMENT;
}

/** The dtype a typed array holds. */
export function dtypeOfArray(array: DataArray): DType {
  if (array instanceof Float32Array) return "float32";
  if (array instanceof Float64Array) return "float64";
  if (array instanceof Int32Array) return "int32";
  return "bool";
}

const category = { bool: 0, int32: 1, float32: 2, float64: 2 } as const;

/** PyTorch's promote_types on our dtypes: bool < int32 < float32 < float64. */
export function promoteTypes(a: DType, b: DType): DType {
  if (a === b) return a;
  if (category[a] !== category[b]) return category[a] > category[b] ? a : b;
  return a === "float64" || b === "float64" ? "float64" : "float32";
}

/** The dtype PyTorch gives a bare Python scalar of this JS value when it meets tensors. */
export type ScalarKind = "bool" | "int" | "float";
export function scalarKind(value: number | boolean): ScalarKind {
  if (typeof value === "boolean") return "bool";
  return Number.isInteger(value) ? "int" : "float";
}

/**
 * PyTorch's result_type: tensors decide the dtype unless a scalar is of a higher category
 * (bool < int < float), in which case the scalar's default dtype of that category wins.
 */
export function resultType(tensorDTypes: readonly DType[], scalars: readonly (number | boolean)[] = []): DType {
  let dtype: DType | undefined;
  for (const d of tensorDTypes) dtype = dtype === undefined ? d : promoteTypes(dtype, d);
  for (const s of scalars) {
    const kind = scalarKind(s);
    const scalarDType: DType = kind === "bool" ? "bool" : kind === "int" ? "int32" : "float32";
    if (dtype === undefined) dtype = scalarDType;
    else if (category[scalarDType] > category[dtype]) dtype = scalarDType;
  }
  return dtype ?? "float32";
}

/** Converts a JS value to what storing it into `dtype` gives, or throws naming the value. */
export function castScalar(value: number | boolean, dtype: DType): number {
  if (typeof value !== "number" && typeof value !== "boolean") {
    // Math.fround("2") would quietly give 2 and Math.fround("x") NaN.
    const shown = typeof value === "string" ? JSON.stringify(value) : typeof value === "bigint" ? `${value}n` : String(value);
    throw new LockstepTypeError(`a ${dtype} element must be a number or boolean, not ${typeof value} ${shown}`);
  }
  const v = typeof value === "boolean" ? (value ? 1 : 0) : value;
  switch (dtype) {
    case "float32":
      return Math.fround(v);
    case "float64":
      return v;
    case "bool":
      return v !== 0 ? 1 : 0;
    case "int32": {
      if (Number.isNaN(v)) throw new DTypeError("cannot convert float NaN to integer");
      if (!Number.isFinite(v)) throw new DTypeError("cannot convert float infinity to integer");
      const t = Math.trunc(v);
      if (t < -2147483648 || t > 2147483647) {
        throw new DTypeError(`value cannot be converted to type int32 without overflow: ${v}`);
      }
      return t;
    }
  }
}
