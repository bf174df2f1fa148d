// Argument checks shared by the schedulers in schedulers-chained.ts and plateau.ts: each names the
// scheduler and the argument, and shows the value as written.
import { ValueError } from "@lockstep/core";
import { Optimizer, describeValue } from "./optimizer.js";

/** Any optimizer a scheduler can drive. */
export type AnyOptimizer = Optimizer<{ lr: number }>;

export function checkOptimizer(owner: string, optimizer: unknown): asserts optimizer is AnyOptimizer {
  if (!(optimizer instanceof Optimizer)) throw new ValueError(`${owner}: ${describeValue(optimizer)} is not an Optimizer`);
}

export function checkFinite(owner: string, name: string, value: unknown): asserts value is number {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new ValueError(`${owner}: ${name} must be a finite number, got ${describeValue(value)}`);
  }
}

export function checkPositiveInteger(owner: string, name: string, value: unknown): asserts value is number {
  if (typeof value !== "number" || !Number.isInteger(value) || value <= 0) {
    throw new ValueError(`${owner}: expected positive integer ${name}, but got ${describeValue(value)}`);
  }
}

/** One value per parameter group, from a number or a list (PyTorch's `_format_param`). */
export function perGroup(owner: string, name: string, optimizer: AnyOptimizer, value: number | readonly number[]): number[] {
  const n = optimizer.paramGroups.length;
  if (Array.isArray(value)) {
    if (value.length !== n) throw new ValueError(`${owner}: expected ${n} values for ${name}, got ${value.length}`);
    value.forEach((v) => checkFinite(owner, name, v));
    return [...value];
  }
  checkFinite(owner, name, value);
  return Array.from({ length: n }, () => value as number);
}

