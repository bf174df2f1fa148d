// Global switches, as PyTorch names them (camelCased).
import { LockstepTypeError, ValueError } from "./errors.js";
import { describeValue } from "./validate.js";
import { state } from "./state.js";
import { checkBool, checkOptions } from "./validate.js";

/**
 * With `mode` true every op uses kernels whose results do not depend on batch size, thread count
 * or device: the same inputs give the same bits. An op without such a kernel throws a
 * DeterminismError, or with `warnOnly` warns once and runs its fast kernel.
 */
export function useDeterministicAlgorithms(mode: boolean, options: { warnOnly?: boolean } = {}): void {
  // Both arguments are checked before either flag changes.
  checkBool("useDeterministicAlgorithms", "mode", mode);
  const { warnOnly = false } = checkOptions<{ warnOnly?: boolean }>("useDeterministicAlgorithms", options, { warnOnly: checkBool });
  state.deterministic = mode;
  state.warnOnly = warnOnly;
}

/**
 * Whether `useDeterministicAlgorithms(true)` is in force, like
 * torch.are_deterministic_algorithms_enabled.
 */
export function areDeterministicAlgorithmsEnabled(): boolean {
  return state.deterministic;
}

/**
 * Whether determinism was turned on with `warnOnly: true`, like
 * torch.is_deterministic_algorithms_warn_only_enabled.
 */
export function isDeterministicAlgorithmsWarnOnlyEnabled(): boolean {
  return state.warnOnly;
}

/** Number of CPU threads the fast CPU kernels may use. Deterministic kernels give the same bits for any value. */
export function setNumThreads(n: number): void {
  if (typeof n !== "number" || !Number.isInteger(n)) {
    throw new LockstepTypeError(`setNumThreads expects an int, but got ${describeValue(n)}`);
  }
  if (n < 1) throw new ValueError(`setNumThreads expects a positive integer, got ${n}`);
  state.numThreads = n;
}

/**
 * The CPU thread count, like torch.get_num_threads: the logical cores available to the process
 * until `setNumThreads` changes it (see the core README's "Threads").
 */
export function getNumThreads(): number {
  return state.numThreads;
}
