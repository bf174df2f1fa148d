// Global switches, as PyTorch names them (camelCased).
import { ValueError } from "./errors.js";
import { state } from "./state.js";

/**
 * With `mode` true every op uses kernels whose results do not depend on batch size, thread count
 * or device: the same inputs give the same bits. An op without such a kernel throws a
 * DeterminismError, or with `warnOnly` warns once and runs its fast kernel.
 */
export function useDeterministicAlgorithms(mode: boolean, options: { warnOnly?: boolean } = {}): void {
  if (typeof mode !== "boolean") throw new ValueError(`useDeterministicAlgorithms expects a boolean, got ${String(mode)}`);
  state.deterministic = mode;
  state.warnOnly = options.warnOnly ?? false;
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
  if (!Number.isInteger(n) || n < 1) throw new ValueError(`setNumThreads expects a positive integer, got ${n}`);
  state.numThreads = n;
}

/** The CPU thread count set by `setNumThreads`, like torch.get_num_threads. */
export function getNumThreads(): number {
  return state.numThreads;
}
