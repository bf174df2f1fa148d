// The Generator object: an MT19937 engine plus what PyTorch's CPU generator keeps beside it (the
// full 64-bit seed and the cached second normal value of the Box–Muller pair), and the 5056-byte
// state blob of torch.get_rng_state() in its exact layout (RNG.md §8), so that states move
// between PyTorch and Lockstep in both directions. Seeds follow Python's int(): floats truncate
// towards zero, negatives become their 64-bit two's complement, anything outside
// [−2^63, 2^64 − 1] overflows.
import { ValueError } from "@lockstep/core";
import { MT19937, MT_STATE_WORDS } from "./mt19937.js";

const TWO_POW_64 = 1n << 64n;
const MIN_SEED = -(1n << 63n);
const MAX_SEED = TWO_POW_64 - 1n;

/** Anything accepted as a seed: a JS number (truncated like Python's int()) or a bigint. */
export type Seed = number | bigint;

/**
 * The unsigned 64-bit seed PyTorch would store for `seed`, or a ValueError naming the value.
 * `3.7` → 3n, `-1` → 2^64 − 1, `2**64` → error.
 */
export function normalizeSeed(seed: Seed): bigint {
  let value: bigint;
  if (typeof seed === "bigint") {
    value = seed;
  } else if (typeof seed === "number") {
    if (Number.isNaN(seed)) throw new ValueError("cannot convert float NaN to integer (seed was NaN)");
    if (!Number.isFinite(seed)) throw new ValueError(`cannot convert float infinity to integer (seed was ${seed})`);
    value = BigInt(Math.trunc(seed));
  } else {
    throw new ValueError(`a seed must be a number or a bigint, got ${describe(seed)}`);
  }
  if (value < MIN_SEED || value > MAX_SEED) {
    throw new ValueError(
      `Overflow when unpacking long: seed ${String(seed)} is outside the accepted range [-2^63, 2^64 - 1]`,
    );
  }
  return value < 0n ? value + TWO_POW_64 : value;
}

/** A full-range 64-bit seed from the platform's cryptographic random source (like /dev/urandom). */
export function nondeterministicSeed(): bigint {
  const crypto = (globalThis as { crypto?: { getRandomValues?<T extends ArrayBufferView>(array: T): T } }).crypto;
  if (crypto?.getRandomValues === undefined) {
    throw new ValueError(
      "no source of nondeterministic seeds: globalThis.crypto.getRandomValues is missing; call manualSeed() instead",
    );
  }
  const words = crypto.getRandomValues(new Uint32Array(2));
  return (BigInt(words[0]!) << 32n) | BigInt(words[1]!);
}

/** Seed of every `new Generator()`, as in `torch.Generator()`: 0x3D30F19CD101. */
export const DEFAULT_GENERATOR_SEED = 67280421310721n;

/** Size in bytes of the state from `getState()` (PyTorch's CPUGeneratorImplState). */
export const STATE_BYTES = 5056;
/** Size of PyTorch's older state layout (no float cache), still accepted by `setState()`. */
export const LEGACY_STATE_BYTES = 5048;

// Byte offsets of the little-endian C struct PyTorch copies in and out.
const SEED_AT = 0;
const LEFT_AT = 8;
const SEEDED_AT = 12;
const NEXT_AT = 16;
const WORDS_AT = 24;
const NORMAL_CACHE_AT = 5024;
const NORMAL_VALID_AT = 5040;
const FLOAT_CACHE_AT = 5048;
const FLOAT_VALID_AT = 5052;

const BRAND = Symbol.for("lockstep.random.Generator");

/**
 * A source of random numbers that reproduces PyTorch's CPU generator bit for bit. Pass one as
 * `{ generator }` to any random op to draw from it instead of the default generator.
 *
 * ```ts
 * const g = new Generator().manualSeed(7);
 * const a = rand([3], { generator: g });
 * ```
 */
export class Generator {
  /** @internal The Mersenne Twister the samplers draw from. */
  readonly engine = new MT19937();
  /** @internal The second value of the last scalar Box–Muller pair, waiting to be used. */
  normalCache: number | undefined = undefined;
  /**
   * @internal PyTorch's float cache: never filled by CPU kernels, but carried through states so
   * that a state round-trips unchanged.
   */
  floatNormalCache: number | undefined = undefined;
  #seed = 0n;

  /** A generator seeded with 67280421310721, like `torch.Generator()`. */
  constructor() {
    this.#reseed(DEFAULT_GENERATOR_SEED);
  }

  /** True for generators from any copy of this package (where `instanceof` would fail). */
  static isGenerator(value: unknown): value is Generator {
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }

  /** Seeds like `torch.manual_seed`: floats truncate, negatives wrap to 64 bits. Returns this generator. */
  manualSeed(seed: Seed): this {
    this.#reseed(normalizeSeed(seed));
    return this;
  }

  /** Seeds with a nondeterministic 64-bit value and returns it. */
  seed(): bigint {
    const value = nondeterministicSeed();
    this.#reseed(value);
    return value;
  }

  /** The full 64-bit seed last set (the one stored in a loaded state after `setState`). */
  initialSeed(): bigint {
    return this.#seed;
  }

  /** One raw 32-bit draw (an integer in [0, 2^32)), as PyTorch's `random()`. */
  random(): number {
    return this.engine.nextUint32();
  }

  /** One raw 64-bit draw: two draws, the first one the high word. */
  random64(): bigint {
    return this.engine.nextUint64();
  }

  /**
   * The state as PyTorch's 5056-byte blob: seed, MT counters and words, normal caches.
   * `setState(getState())` restores the stream exactly, here or in PyTorch
   * (`torch.set_rng_state(torch.tensor(list(blob), dtype=torch.uint8))`).
   */
  getState(): Uint8Array {
    const bytes = new Uint8Array(STATE_BYTES);
    const view = new DataView(bytes.buffer);
    view.setBigUint64(SEED_AT, this.#seed, true);
    view.setInt32(LEFT_AT, this.engine.left, true);
    view.setInt32(SEEDED_AT, 1, true);
    view.setBigUint64(NEXT_AT, BigInt(this.engine.next), true);
    for (let i = 0; i < MT_STATE_WORDS; i++) view.setUint32(WORDS_AT + 8 * i, this.engine.words[i]!, true);
    if (this.normalCache !== undefined) {
      view.setFloat64(NORMAL_CACHE_AT, this.normalCache, true);
      view.setInt32(NORMAL_VALID_AT, 1, true);
    }
    if (this.floatNormalCache !== undefined) {
      view.setFloat32(FLOAT_CACHE_AT, this.floatNormalCache, true);
      view.setUint8(FLOAT_VALID_AT, 1);
    }
    return bytes;
  }

  /**
   * Loads a state from `getState()` or from PyTorch (`torch.get_rng_state().numpy().tobytes()`;
   * the older 5048-byte layout is accepted too). Validates everything first: a rejected state
   * leaves the generator unchanged. Returns this generator.
   */
  setState(state: Uint8Array): this {
    if (!(state instanceof Uint8Array)) {
      throw new ValueError(`setState expects a Uint8Array of ${STATE_BYTES} bytes, got ${describe(state)}`);
    }
    if (state.length !== STATE_BYTES && state.length !== LEGACY_STATE_BYTES) {
      throw new ValueError(
        `Expected either a CPUGeneratorImplStateLegacy of size ${LEGACY_STATE_BYTES} or a CPUGeneratorImplState ` +
          `of size ${STATE_BYTES} but found the input RNG state size to be ${state.length}`,
      );
    }
    const view = new DataView(state.buffer, state.byteOffset, state.byteLength);
    const seeded = view.getInt32(SEEDED_AT, true);
    const left = view.getInt32(LEFT_AT, true);
    const next = view.getBigUint64(NEXT_AT, true);
    if (seeded === 0) throw new ValueError("Invalid mt19937 state: the 'seeded' flag is 0");
    if (left < 1 || left > MT_STATE_WORDS) {
      throw new ValueError(`Invalid mt19937 state: left is ${left}, expected a value in [1, ${MT_STATE_WORDS}]`);
    }
    if (next > BigInt(MT_STATE_WORDS)) {
      throw new ValueError(`Invalid mt19937 state: next is ${next}, expected a value in [0, ${MT_STATE_WORDS}]`);
    }
    // Everything is valid: only now change the generator.
    this.#seed = view.getBigUint64(SEED_AT, true);
    this.engine.left = left;
    this.engine.next = Number(next);
    // PyTorch stores each word in 64 bits and keeps the low 32.
    for (let i = 0; i < MT_STATE_WORDS; i++) this.engine.words[i] = view.getUint32(WORDS_AT + 8 * i, true);
    this.normalCache = view.getInt32(NORMAL_VALID_AT, true) !== 0 ? view.getFloat64(NORMAL_CACHE_AT, true) : undefined;
    this.floatNormalCache =
      state.length === STATE_BYTES && view.getUint8(FLOAT_VALID_AT) !== 0 ? view.getFloat32(FLOAT_CACHE_AT, true) : undefined;
    return this;
  }

  /** An independent generator in the same state (same future stream). */
  clone(): Generator {
    return new Generator().setState(this.getState());
  }

  #reseed(seed: bigint): void {
    this.#seed = seed;
    this.engine.seed(Number(seed & 0xffffffffn));
    this.normalCache = undefined;
    this.floatNormalCache = undefined;
  }

  /** @internal Brand that `Generator.isGenerator` checks, shared by every copy of the package. */
  get [BRAND](): boolean {
    return true;
  }

  /** "Generator": what `Object.prototype.toString` and console output name instances. */
  get [Symbol.toStringTag](): string {
    return "Generator";
  }
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "string") return `string ${JSON.stringify(value)}`;
  if (typeof value === "object") return (value as object).constructor?.name ?? "object";
  return typeof value;
}
