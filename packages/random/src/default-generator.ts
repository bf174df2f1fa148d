// The default generator and the module-level seed functions (torch.manual_seed, torch.seed,
// torch.get_rng_state, …). The default generator lives in core's shared state, so every copy of
// this package in a process draws from one stream, as PyTorch has one default CPU generator.
import { extensionState, ValueError } from "@lockstep/core";
import { Generator } from "./generator.js";
import type { Seed } from "./generator.js";

interface RandomState {
  readonly defaultGenerator: Generator;
}

function shared(): RandomState {
  return extensionState<RandomState>("random", () => {
    // Like PyTorch at process start: a nondeterministic seed until manualSeed is called.
    const generator = new Generator();
    generator.seed();
    return { defaultGenerator: generator };
  });
}

/** The generator random ops use when no `generator` option is given. */
export function defaultGenerator(): Generator {
  return shared().defaultGenerator;
}

/** The generator an op should draw from: the option if given (checked), else the default one. */
export function resolveGenerator(generator: unknown, op: string): Generator {
  if (generator === undefined) return defaultGenerator();
  if (!Generator.isGenerator(generator)) {
    throw new ValueError(`${op}(): the generator option must be a Generator from @lockstep/random, got ${String(generator)}`);
  }
  return generator;
}

/**
 * Seeds the default generator like `torch.manual_seed`: floats truncate towards zero, negative
 * values wrap to 64 bits, and only the low 32 bits reach the Mersenne Twister (so 2^32 + 5 and 5
 * give the same stream). Clears the cached normal value. Returns the default generator.
 */
export function manualSeed(seed: Seed): Generator {
  return defaultGenerator().manualSeed(seed);
}

/** Seeds the default generator nondeterministically (64 bits from crypto) and returns the seed. */
export function seed(): bigint {
  return defaultGenerator().seed();
}

/** The 64-bit seed of the default generator (`torch.initial_seed()`). */
export function initialSeed(): bigint {
  return defaultGenerator().initialSeed();
}

/** The default generator's state as PyTorch's 5056-byte blob (`torch.get_rng_state()`). */
export function getRngState(): Uint8Array {
  return defaultGenerator().getState();
}

/**
 * Restores the default generator from a blob of `getRngState()` or of PyTorch
 * (`torch.get_rng_state().numpy().tobytes()`). An invalid blob throws and changes nothing.
 */
export function setRngState(state: Uint8Array): void {
  defaultGenerator().setState(state);
}

/**
 * Runs `fn` and then puts the default generator back in the state it had before, also when `fn`
 * throws or its promise rejects — draws made inside do not move the stream outside
 * (`torch.random.fork_rng`). Returns what `fn` returns (a promise for an async `fn`).
 */
export function forkRng<T>(fn: () => T): T {
  const generator = defaultGenerator();
  const saved = generator.getState();
  const restore = () => generator.setState(saved);
  let result: T;
  try {
    result = fn();
  } catch (error) {
    restore();
    throw error;
  }
  if (isPromiseLike(result)) {
    return Promise.resolve(result).finally(restore) as T;
  }
  restore();
  return result;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function"
  );
}
