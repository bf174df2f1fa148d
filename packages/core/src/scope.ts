// Explicit memory management for devices whose memory the garbage collector does not see.
import { state } from "./state.js";
import { Tensor } from "./tensor.js";
import { checkFunction, checkTensor } from "./validate.js";

function collectTensors(value: unknown, into: Set<Tensor>, seen = new Set<unknown>()): void {
  if (value instanceof Tensor) {
    into.add(value);
    return;
  }
  // Typed arrays (a dataSync() result) hold numbers, never tensors: walking them would cost a call per element.
  if (value === null || typeof value !== "object" || seen.has(value) || ArrayBuffer.isView(value)) return;
  seen.add(value);
  for (const v of Array.isArray(value) ? value : Object.values(value)) collectTensors(v, into, seen);
}

function close(frame: Set<Tensor>, result: unknown): void {
  if (result === null || typeof result !== "object") {
    // Nothing returned that could hold a tensor: every tensor of the frame goes.
    for (const t of frame) t.dispose();
    return;
  }
  const keep = new Set<Tensor>();
  collectTensors(result, keep);
  for (const t of frame) {
    if (keep.has(t)) {
      // Returned tensors belong to the enclosing scope, if any.
      state.scopes[state.scopes.length - 1]?.add(t);
    } else {
      t.dispose();
    }
  }
}

/**
 * Runs `fn` and disposes every tensor created while it ran, except those it returns (found in
 * arrays and plain objects too). Works for async `fn`: the scope stays open until its promise
 * settles, so do not run two async scopes concurrently.
 */
export function scope<T>(fn: () => T): T {
  checkFunction("scope", "fn", fn);
  const frame = new Set<Tensor>();
  state.scopes.push(frame);
  const pop = () => {
    const scopes = state.scopes;
    if (scopes[scopes.length - 1] === frame) scopes.pop();
    else {
      const i = scopes.lastIndexOf(frame);
      if (i >= 0) scopes.splice(i, 1);
    }
  };
  let result: T;
  try {
    result = fn();
  } catch (error) {
    pop();
    close(frame, undefined);
    throw error;
  }
  if (result instanceof Promise) {
    return result.then(
      (value) => {
        pop();
        close(frame, value);
        return value;
      },
      (error) => {
        pop();
        close(frame, undefined);
        throw error;
      },
    ) as T;
  }
  pop();
  close(frame, result);
  return result;
}

/** Keeps `t` alive when the enclosing scope closes. */
export function keep<T extends Tensor>(t: T): T {
  checkTensor("keep", "t", t);
  for (const frame of state.scopes) frame.delete(t);
  return t;
}
