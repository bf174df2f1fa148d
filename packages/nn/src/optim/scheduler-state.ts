// State dicts of learning-rate schedulers, like PyTorch's `scheduler.state_dict()`: every field of
// the scheduler except the optimizer (and functions, which PyTorch leaves out too). Kept apart from
// scheduler.ts so both scheduler files can use it without an import cycle.
import { LockstepError } from "@lockstep/core";

/** A scheduler's state: plain numbers, strings, booleans and arrays, ready for a checkpoint. */
export type SchedulerStateDict = Record<string, unknown>;

const SKIP = new Set(["optimizer", "schedulers", "lrLambdas"]);

/** Copies the scheduler's own data fields (arrays copied) except the optimizer and child schedulers. */
export function schedulerStateOf(scheduler: object): SchedulerStateDict {
  const out: SchedulerStateDict = {};
  for (const [key, value] of Object.entries(scheduler)) {
    if (SKIP.has(key) || typeof value === "function") continue;
    out[key] = Array.isArray(value) ? [...value] : value;
  }
  return out;
}

/**
 * Restores fields saved by `schedulerStateOf`. Every key must name an existing data field of the
 * same kind, else LockstepError and nothing changes.
 */
export function loadSchedulerState(scheduler: object, dict: SchedulerStateDict): void {
  const owner = scheduler.constructor.name;
  if (dict === null || typeof dict !== "object" || Array.isArray(dict)) {
    throw new LockstepError(`${owner}.loadStateDict expects an object, got ${String(dict)}`);
  }
  const target = scheduler as Record<string, unknown>;
  for (const [key, value] of Object.entries(dict)) {
    if (SKIP.has(key) || !Object.prototype.hasOwnProperty.call(target, key) || typeof target[key] === "function") {
      throw new LockstepError(`${owner}.loadStateDict: unexpected key '${key}'`);
    }
    const current = target[key];
    const kind = (v: unknown) => (Array.isArray(v) ? "array" : v === null ? "null" : typeof v);
    if (current !== undefined && value !== undefined && kind(current) !== kind(value)) {
      throw new LockstepError(`${owner}.loadStateDict: '${key}' must be a ${kind(current)}, got ${kind(value)}`);
    }
  }
  for (const [key, value] of Object.entries(dict)) {
    const current = target[key];
    // Arrays are refilled in place: fields like baseLrs are readonly references.
    if (Array.isArray(current) && Array.isArray(value)) current.splice(0, current.length, ...value);
    else target[key] = value;
  }
}
