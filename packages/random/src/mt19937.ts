// The 32-bit Mersenne Twister exactly as PyTorch's CPU generator runs it, including the `left` and
// `next` counters that PyTorch exposes in its state blob. The counters are kept literally (rather
// than a single index) so that a state exported here loads in PyTorch and vice versa.
// Nothing here knows about tensors, dtypes or normal caches: see generator.ts for those.

/** Number of 32-bit words in the Mersenne Twister state. */
export const MT_STATE_WORDS = 624;

const MIDDLE = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;

/** 2^-24 and 2^-53: the steps of the float32 and float64 unit grids. */
const TWO_POW_MINUS_24 = 2 ** -24;
const TWO_POW_MINUS_53 = 2 ** -53;
const TWO_POW_32 = 4294967296;

/**
 * An MT19937 engine with PyTorch's bookkeeping: `left` counts down to the next block
 * regeneration and `next` indexes the word the next draw tempers. Right after seeding
 * `left = 1, next = 0`, so the first draw regenerates the block.
 */
export class MT19937 {
  /** The 624 state words (the block the next draws are tempered from). */
  readonly words = new Uint32Array(MT_STATE_WORDS);
  /** Draws left before the block is regenerated, plus one (1..624). */
  left = 1;
  /** Index of the word the next draw uses (0..624). */
  next = 0;

  /** Seeds with the low 32 bits of `seed32` (the classic `init_genrand`). */
  seed(seed32: number): void {
    const mt = this.words;
    mt[0] = seed32 >>> 0;
    for (let i = 1; i < MT_STATE_WORDS; i++) {
      const prev = mt[i - 1]!;
      // Math.imul keeps the product mod 2^32 where a plain * would lose low bits past 2^53.
      mt[i] = (Math.imul(1812433253, prev ^ (prev >>> 30)) + i) >>> 0;
    }
    this.left = 1;
    this.next = 0;
  }

  /** Copies another engine's words and counters. */
  copyFrom(other: MT19937): void {
    this.words.set(other.words);
    this.left = other.left;
    this.next = other.next;
  }

  /** One tempered 32-bit output (an unsigned integer in [0, 2^32)). */
  nextUint32(): number {
    if (--this.left === 0) this.#regenerate();
    let y = this.words[this.next++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** Two draws as one unsigned 64-bit value; the first draw is the high word. */
  nextUint64(): bigint {
    const high = this.nextUint32();
    const low = this.nextUint32();
    return (BigInt(high) << 32n) | BigInt(low);
  }

  /** The float32 unit uniform of PyTorch: the low 24 bits of one draw, scaled into [0, 1). */
  nextU24(): number {
    return (this.nextUint32() & 0xffffff) * TWO_POW_MINUS_24;
  }

  /**
   * The float64 unit uniform: the low 53 bits of a 64-bit draw, scaled into [0, 1). Computed
   * without BigInt because the 53-bit integer and its scaling are exact in a double.
   */
  nextU53(): number {
    const high = this.nextUint32();
    const low = this.nextUint32();
    return ((high & 0x1fffff) * TWO_POW_32 + low) * TWO_POW_MINUS_53;
  }

  /**
   * The standard in-place twist. Entries k + 397 >= 624 read words that this same pass already
   * replaced, which is what the reference algorithm does and what PyTorch's streams depend on.
   */
  #regenerate(): void {
    const mt = this.words;
    for (let k = 0; k < MT_STATE_WORDS; k++) {
      const following = mt[(k + 1) % MT_STATE_WORDS]!;
      const mix = (mt[k]! & UPPER_MASK) | (following & LOWER_MASK);
      mt[k] = (mt[(k + MIDDLE) % MT_STATE_WORDS]! ^ (mix >>> 1) ^ (following & 1 ? MATRIX_A : 0)) >>> 0;
    }
    this.left = MT_STATE_WORDS;
    this.next = 0;
  }
}
