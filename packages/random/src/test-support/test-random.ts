// A small seeded generator for test inputs (xorshift-style on 32-bit lanes), so test cases are
// the same on every run without depending on the code under test.

/** Deterministic pseudo-random test inputs. */
export interface TestRandom {
  /** Uniform in [0, 2^32). */
  uint32(): number;
  /** Uniform in [0, 1). */
  unit(): number;
  /** A double with random sign, random 53-bit significand and binary exponent in [minExp, maxExp]. */
  double(minExp: number, maxExp: number): number;
}

export function testRandom(seed: number): TestRandom {
  let a = (seed * 0x9e3779b9) >>> 0 || 1;
  let b = 0x243f6a88 ^ seed;
  let c = 0xb7e15162;
  let d = 0x12345678;
  const uint32 = (): number => {
    // xoshiro128** — fine for picking test inputs.
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result;
  };
  const unit = () => (uint32() * 2 ** 21 + (uint32() >>> 11)) * 2 ** -53;
  return {
    uint32,
    unit,
    double(minExp, maxExp) {
      const e = minExp + Math.floor(unit() * (maxExp - minExp + 1));
      const sign = uint32() & 1 ? -1 : 1;
      return sign * (1 + unit()) * 2 ** e;
    },
  };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
