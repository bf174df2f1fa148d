// The default collate function, like torch.utils.data.default_collate: a list of items becomes
// one batch of the same structure, with tensors stacked along a new first dimension.
import { Tensor, ValueError, stack, tensor } from "@lockstep/core";

/** The batch type `defaultCollate` makes from items of type T. */
export type Collated<T> = T extends Tensor
  ? Tensor
  : T extends number | boolean
    ? Tensor
    : T extends string
      ? string[]
      : T extends readonly unknown[]
        ? { -readonly [K in keyof T]: Collated<T[K]> }
        : T extends object
          ? { [K in keyof T]: Collated<T[K]> }
          : never;

/**
 * Like torch.utils.data.default_collate: tensors are stacked; numbers become one tensor (int32 if
 * all are integers — Lockstep has no int64 — else float64, as PyTorch makes doubles of Python
 * floats); booleans a bool tensor; strings stay a list; arrays (tuples) and plain objects are
 * collated position by position / key by key. Throws ValueError naming the path of a value it
 * cannot batch or of tuples of different lengths.
 */
export function defaultCollate<T>(items: readonly T[]): Collated<T> {
  return collateAt(items as readonly unknown[], "batch") as Collated<T>;
}

function collateAt(items: readonly unknown[], path: string): unknown {
  if (items.length === 0) throw new ValueError(`defaultCollate: ${path} is empty`);
  const first = items[0];
  if (first instanceof Tensor) {
    items.forEach((t, i) => {
      if (!(t instanceof Tensor)) throw new ValueError(`defaultCollate: ${path}[${i}] is not a Tensor like ${path}[0]`);
    });
    return stack(items as Tensor[]);
  }
  if (typeof first === "number") {
    const values = items.map((v, i) => {
      if (typeof v !== "number") throw new ValueError(`defaultCollate: ${path}[${i}] is not a number like ${path}[0]`);
      return v;
    });
    return values.every(Number.isInteger) && values.every((v) => v >= -2147483648 && v <= 2147483647)
      ? tensor(Int32Array.from(values))
      : tensor(Float64Array.from(values));
  }
  if (typeof first === "boolean") return tensor(items.map((v) => (v ? 1 : 0)), { dtype: "bool" });
  if (typeof first === "string") return [...(items as string[])];
  if (Array.isArray(first)) {
    const n = first.length;
    items.forEach((v, i) => {
      if (!Array.isArray(v) || v.length !== n) throw new ValueError(`defaultCollate: each element in list of batch should be of equal size (${path}[${i}])`);
    });
    return Array.from({ length: n }, (_, k) => collateAt(items.map((v) => (v as unknown[])[k]), `${path}[${k}]`));
  }
  if (first !== null && typeof first === "object" && Object.getPrototypeOf(first) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(first)) out[key] = collateAt(items.map((v) => (v as Record<string, unknown>)[key]), `${path}.${key}`);
    return out;
  }
  throw new ValueError(`defaultCollate: cannot batch ${path}[0] (${first === null ? "null" : typeof first}); pass a collate function`);
}
