// The one mutable global state of Lockstep. It lives on globalThis under a registered symbol so
// that every copy of every Lockstep package in a process (two versions installed, CJS beside
// ESM, a bundle beside node_modules) reads and writes the same flag, registry and generators.
import type { Backend } from "./backend.js";
import type { Kernel } from "./registry.js";
import type { Tensor } from "./tensor.js";
import { VERSION } from "./version.js";

/** Hooks the autograd package installs; core calls them without depending on it. */
export interface AutogradHooks {
  /** Records a node for an op whose inputs include a tensor that requires grad. */
  record(op: string, inputs: readonly Tensor[], outputs: readonly Tensor[], attrs: unknown): void;
  /** Runs backpropagation from `tensor` (Tensor.backward). */
  backward(tensor: Tensor, gradient: Tensor | undefined, options: { retainGraph?: boolean }): void;
  /** Keeps `.grad` for a non-leaf tensor (Tensor.retainGrad). */
  retainGrad(tensor: Tensor): void;
  /** Adds a hook that sees, and may replace, the gradient of `tensor` (Tensor.registerHook). */
  registerHook(tensor: Tensor, hook: (grad: Tensor) => Tensor | void): { remove(): void };
  /** Whether `retainGrad` was called on `tensor` (Tensor.retainsGrad). */
  retainsGrad(tensor: Tensor): boolean;
}

/** In-place random fills, installed by the random package so Tensor methods can reach them. */
export interface RandomHooks {
  /** Fills `t` with uniform samples in [from, to) (Tensor.uniform_). */
  uniform_(t: Tensor, from: number, to: number, options?: { generator?: unknown }): void;
  /** Fills `t` with normal samples of the given mean and standard deviation (Tensor.normal_). */
  normal_(t: Tensor, mean: number, std: number, options?: { generator?: unknown }): void;
  /** Fills `t` with 1 with probability p, else 0 (Tensor.bernoulli_). */
  bernoulli_(t: Tensor, p: number, options?: { generator?: unknown }): void;
  /** Samples category indices from the rows of `probs` (Tensor.multinomial). */
  multinomial?(probs: Tensor, numSamples: number, options?: { replacement?: boolean; generator?: unknown }): Tensor;
}

/**
 * Shape of the process-wide `state`. Lockstep's packages read and write it; user code changes flags
 * through functions such as `useDeterministicAlgorithms`, not here.
 */
export interface LockstepState {
  /** Version of the first core copy that created the state. */
  readonly version: string;
  /** Versions of every core copy that has attached to this state. */
  readonly versions: Set<string>;
  /** Set by `useDeterministicAlgorithms`. */
  deterministic: boolean;
  /** The `warnOnly` option of `useDeterministicAlgorithms`. */
  warnOnly: boolean;
  /** Set by `setNumThreads`; defaults to the logical cores available (`defaultThreads()`). */
  numThreads: number;
  /** Grad mode: false inside `noGrad` (see `setGradEnabled`). */
  gradEnabled: boolean;
  /** Registered backends by device name. */
  readonly backends: Map<string, Backend>;
  /** Kernels by op name, then device; several per (op, device) when fast and deterministic differ. */
  readonly kernels: Map<string, Map<string, Kernel[]>>;
  /** Ops already warned about under warnOnly, so each warns once. */
  readonly warned: Set<string>;
  /** Open `scope()` frames: tensors created while a frame is open are recorded in it. */
  readonly scopes: Set<Tensor>[];
  /** Installed by @lockstep/autograd; undefined when it is not loaded. */
  autograd: AutogradHooks | undefined;
  /** Installed by @lockstep/random; undefined when it is not loaded. */
  random: RandomHooks | undefined;
  /** Per-package state that must also be shared (default generators, …), keyed by package. */
  readonly extensions: Map<string, unknown>;
}

const KEY = Symbol.for("lockstep.state");

/**
 * The logical cores this process may use: navigator.hardwareConcurrency in browsers and Node 21+,
 * os.availableParallelism() on Node 20 (which has no navigator; reached through
 * process.getBuiltinModule so that browser bundles import nothing from Node), else 1.
 */
export function defaultThreads(): number {
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  let cores = nav?.hardwareConcurrency;
  if (typeof cores !== "number") {
    const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
    const os = proc?.getBuiltinModule?.("node:os") as { availableParallelism?: () => number } | undefined;
    cores = os?.availableParallelism?.();
  }
  return typeof cores === "number" && Number.isInteger(cores) && cores >= 1 ? cores : 1;
}

function createState(): LockstepState {
  return {
    version: VERSION,
    versions: new Set([VERSION]),
    deterministic: false,
    warnOnly: false,
    numThreads: defaultThreads(),
    gradEnabled: true,
    backends: new Map(),
    kernels: new Map(),
    warned: new Set(),
    scopes: [],
    autograd: undefined,
    random: undefined,
    extensions: new Map(),
  };
}

function attach(): LockstepState {
  const holder = globalThis as unknown as Record<symbol, LockstepState | undefined>;
  let state = holder[KEY];
  if (state === undefined) {
    state = createState();
    Object.defineProperty(globalThis, KEY, { value: state, enumerable: false, configurable: false, writable: false });
  } else if (!state.versions.has(VERSION)) {
    state.versions.add(VERSION);
    console.warn(
      `lockstep: two different versions of @lockstep/core are loaded (${[...state.versions].join(" and ")}). ` +
        "They share one global state, but mixing versions is not supported: dedupe your installation.",
    );
  }
  return state;
}

/** The process-wide state shared by every Lockstep package. */
export const state: LockstepState = attach();

/** Shared per-package state: created once per process whatever the number of package copies. */
export function extensionState<T>(key: string, create: () => T): T {
  let value = state.extensions.get(key) as T | undefined;
  if (value === undefined) {
    value = create();
    state.extensions.set(key, value);
  }
  return value;
}
