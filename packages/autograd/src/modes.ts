// Grad mode: whether ops run now are recorded for backward. The flag lives in core's shared state
// (the dispatcher reads it on every op), so these helpers only set it and put it back.
import { state, ValueError } from "@lockstep/core";

/** True when ops that touch a tensor requiring grad are being recorded (the default). */
export function isGradEnabled(): boolean {
  return state.gradEnabled;
}

/** Turns recording on or off until changed again; prefer `noGrad(fn)`, which puts it back. */
export function setGradEnabled(mode: boolean): void {
  if (typeof mode !== "boolean") throw new ValueError(`setGradEnabled expects a boolean, got ${String(mode)}`);
  state.gradEnabled = mode;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function"
  );
}

/**
 * Runs `fn` with grad mode set to `mode` and restores the previous mode when `fn` returns, throws,
 * or, for an async `fn`, when its promise settles. The mode is one global flag, so code that runs
 * while an async `fn` awaits sees it too: do not interleave two of these concurrently.
 */
function withGradMode<T>(mode: boolean, fn: () => T): T {
  if (typeof fn !== "function") throw new ValueError("expected a function to run");
  const previous = state.gradEnabled;
  state.gradEnabled = mode;
  let result: T;
  try {
    result = fn();
  } catch (error) {
    state.gradEnabled = previous;
    throw error;
  }
  if (!isPromiseLike(result)) {
    state.gradEnabled = previous;
    return result;
  }
  const restore = () => {
    state.gradEnabled = previous;
  };
  return Promise.resolve(result).then(
    (value) => {
      restore();
      return value;
    },
    (error: unknown) => {
      restore();
      throw error;
    },
  ) as T;
}

/**
 * Runs `fn` without recording: results of ops inside do not require grad, and no graph is kept.
 * Use it for evaluation and for parameter updates. `fn` may be async (see `withGradMode`'s note).
 */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn);
}

/** Runs `fn` with recording on, also inside a `noGrad` block. `fn` may be async. */
export function enableGrad<T>(fn: () => T): T {
  return withGradMode(true, fn);
}
