// The deterministic WGSL math against its TypeScript twin, bit for bit, on this adapter. Each
// function runs through the kernels core dispatches with useDeterministicAlgorithms(true) — on the
// CPU that is backend-cpu's detmath.ts, on webgpu this package's detmath.ts — over float32 inputs
// chosen to hit every branch: random bit patterns (every exponent, subnormals, ±inf, NaNs), ±0,
// the extremes, and a few ulps either side of each branch boundary. NaN compares equal to NaN
// whatever its payload: the CPU's NaN bits come from V8's double arithmetic, not from the library.
import { tensor, useDeterministicAlgorithms, type Tensor } from "@lockstep/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONSTANT_WORDS } from "./detmath.js";
import { available, bits, random } from "./test-support/gpu.js";

const f = Math.fround;
const MIN_NORMAL = 2 ** -126;
const MAX = f(3.4028234663852886e38);

function fromBits(b: number): number {
  return new Float32Array(new Uint32Array([b >>> 0]).buffer)[0]!;
}

function bitsOfNumber(x: number): number {
  return new Uint32Array(new Float32Array([x]).buffer)[0]!;
}

/** Every float32 class: zeros, subnormals, normals, extremes, infinities and NaNs of both signs. */
const SPECIAL = [
  0, -0, 2 ** -149, -(2 ** -149), fromBits(0x007fffff), -fromBits(0x007fffff), MIN_NORMAL, -MIN_NORMAL, 2 ** -100,
  1e-30, 1e-7, 0.5, 1, -1, 2, 3, 10, 1e7, 1e30, MAX, -MAX, Infinity, -Infinity, NaN, fromBits(0xffc00000),
  fromBits(0x7f800001), fromBits(0xff800123),
];

/** `count` float32 values with uniformly random bit patterns. */
function randomBits(count: number, seed: number): number[] {
  const next = random(seed);
  return Array.from({ length: count }, () => fromBits(Math.floor(next() * 2 ** 32)));
}

/** Uniform values in [lo, hi), rounded to float32. */
function uniform(count: number, seed: number, lo: number, hi: number): number[] {
  const next = random(seed);
  return Array.from({ length: count }, () => f(lo + (hi - lo) * next()));
}

/** Each value, and its neighbours up to `ulps` float32 steps either side, for both signs. */
function around(values: readonly number[], ulps = 3): number[] {
  const out: number[] = [];
  for (const v of values) {
    for (const s of [f(v), f(-v)]) {
      const b = bitsOfNumber(s);
      for (let d = -ulps; d <= ulps; d++) {
        const n = b + d;
        // Stepping below the magnitude 0 continues on the other side of zero.
        if (n >= 0 && (n & 0x7fffffff) === (b & 0x7fffffff) + d) out.push(fromBits(n));
      }
    }
  }
  return out;
}

const LOG2E = f(1.4426950408889634);
/** Where x·log2 e + ½ crosses an integer: exp's choice of n changes there. */
const EXP_STEPS = Array.from({ length: 255 }, (_, i) => f((i - 126 - 0.5) / LOG2E));
const EXP_EDGES = [f(88.72283935546875), f(-87.33654022216797), 88.7, -87.3, -103, 89, 0];
const POWERS_OF_TWO = Array.from({ length: 254 }, (_, i) => 2 ** (i - 126));
const SQRTHF_EDGES = [-126, -60, -1, 0, 1, 60, 127].map((e) => fromBits(0x3f3504f3) * 2 ** e);

/** Inputs of one unary function: the shared sample plus its own boundaries. */
function unaryInputs(boundaries: readonly number[], lo: number, hi: number, seed: number): number[] {
  return [...SPECIAL, ...around(SPECIAL, 2), ...randomBits(20000, seed), ...uniform(20000, seed + 1, lo, hi), ...around(boundaries, 4)];
}

const UNARY: Record<string, { inputs: number[]; run: (t: Tensor) => Tensor }> = {
  exp: { inputs: unaryInputs([...EXP_EDGES, ...EXP_STEPS], -90, 90, 1), run: (t) => t.exp() },
  log: { inputs: unaryInputs([...POWERS_OF_TWO, ...SQRTHF_EDGES, 1], 0, 4, 2).concat(POWERS_OF_TWO.map((p) => p * 1.37)), run: (t) => t.log() },
  sqrt: { inputs: unaryInputs([...POWERS_OF_TWO, ...Array.from({ length: 200 }, (_, i) => (i + 0.5) ** 2)], 0, 1e6, 3), run: (t) => t.sqrt() },
  rsqrt: { inputs: unaryInputs([...POWERS_OF_TWO, 0.25, 4], 0, 100, 4), run: (t) => t.rsqrt() },
  sigmoid: { inputs: unaryInputs([...EXP_EDGES, ...EXP_STEPS.slice(100, 160)], -100, 100, 5), run: (t) => t.sigmoid() },
  tanh: { inputs: unaryInputs([0.625, 9, 0.3125, 4.5, 1e-20], -10, 10, 6), run: (t) => t.tanh() },
  erf: { inputs: unaryInputs([1, 4, 0.5, 2], -5, 5, 7), run: (t) => t.erf() },
  gelu: { inputs: unaryInputs([1, 4].map((a) => f(a / f(Math.SQRT1_2))).concat([1, 4, 6]), -10, 10, 8), run: (t) => t.gelu() },
  geluTanh: { inputs: unaryInputs([0.6, 0.58, 5.5, 6, 1e-20, 1e13, 1e30], -10, 10, 9), run: (t) => t.gelu({ approximate: "tanh" }) },
};

/** Element indices where the two results differ (NaN = NaN), with a readable first few. */
function differences(inputs: readonly (readonly number[])[], cpu: Uint32Array, gpu: Uint32Array): string[] {
  const out: string[] = [];
  const isNaNBits = (b: number) => (b & 0x7fffffff) > 0x7f800000;
  for (let i = 0; i < cpu.length; i++) {
    if (cpu[i] === gpu[i] || (isNaNBits(cpu[i]!) && isNaNBits(gpu[i]!))) continue;
    const args = inputs.map((values) => `${values[i]} (0x${bitsOfNumber(values[i]!).toString(16)})`).join(", ");
    out.push(`(${args}): cpu 0x${cpu[i]!.toString(16)} ${fromBits(cpu[i]!)}, webgpu 0x${gpu[i]!.toString(16)} ${fromBits(gpu[i]!)}`);
  }
  return out;
}

async function compare(inputs: number[][], run: (...t: Tensor[]) => Tensor): Promise<string[]> {
  const onCpu = inputs.map((v) => tensor(Float32Array.from(v)));
  const want = bits(await run(...onCpu).data());
  const got = bits(await run(...onCpu.map((t) => t.to("webgpu"))).data());
  expect(got.length).toBe(want.length);
  return differences(inputs, want, got);
}

describe.runIf(available)("deterministic WGSL math equals the CPU's detmath bit for bit", () => {
  beforeAll(() => useDeterministicAlgorithms(true));
  afterAll(() => useDeterministicAlgorithms(false));

  it("the constants buffer holds the CPU library's float32 constants", () => {
    expect(CONSTANT_WORDS[0]).toBe(0);
    // Spot checks against the bit patterns printed by backend-cpu's detmath.ts.
    const words = [...CONSTANT_WORDS];
    for (const expected of [0x3fb8aa3b, 0x3f318000, 0xb95e8083, 0x3f3504f3, 0x3d9021bb, 0x3eaaaaaa]) {
      expect(words).toContain(expected);
    }
  });

  for (const [name, { inputs, run }] of Object.entries(UNARY)) {
    it(`${name}: ${inputs.length} inputs, every branch`, async () => {
      const diffs = await compare([inputs], run);
      expect(diffs.slice(0, 5), `${diffs.length} of ${inputs.length} differ`).toEqual([]);
    });
  }

  it("div: random bit patterns, wide magnitudes, overflow and underflow edges", async () => {
    const a = [...randomBits(30000, 20), ...uniform(10000, 21, -1e3, 1e3)];
    const b = [...randomBits(30000, 22), ...uniform(10000, 23, -1e3, 1e3)];
    // Every special value against every other, and quotients landing next to MAX and 2^-126.
    for (const x of SPECIAL) for (const y of SPECIAL) a.push(x), b.push(y);
    for (const x of around([MAX, 1.5 * MIN_NORMAL, MIN_NORMAL, 3 * 2 ** -127, 1], 3)) {
      for (const y of around([1, 1.5, 0.75, 2, 0.5, 3, 1 - 2 ** -24], 2)) a.push(x), b.push(y);
    }
    const diffs = await compare([a, b], (x, y) => x!.div(y!));
    expect(diffs.slice(0, 5), `${diffs.length} of ${a.length} differ`).toEqual([]);
  });

  it("div: exact quotients and significands a few ulps apart (det_quotient's correction edges)", async () => {
    // det_quotient corrects a float estimate of the 25 quotient bits: exact quotients (remainder
    // zero, the estimate one above or below), quotients next to 1 and 2 (the range's ends) and
    // all-ones significands. (A quotient of two floats is never exactly halfway between two.)
    const a: number[] = [];
    const b: number[] = [];
    const next = random(24);
    for (let i = 0; i < 4000; i++) {
      // 12-bit significands: their product has at most 24 bits, so it is exact.
      const y = 1 + Math.floor(next() * 2 ** 11) * 2 ** -11;
      const q = 1 + Math.floor(next() * 2 ** 11) * 2 ** -11;
      a.push(y * q * 2 ** Math.floor(next() * 40 - 20));
      b.push(y);
    }
    const edges = around([1, 2 - 2 ** -23, 1.5, 1 + 2 ** -23, 1.75], 4);
    for (const x of edges) for (const y of edges) a.push(x), b.push(y);
    const diffs = await compare([a, b], (x, y) => x!.div(y!));
    expect(diffs.slice(0, 5), `${diffs.length} of ${a.length} differ`).toEqual([]);
  });

  it("pow: integer, half-integer and fractional exponents, C's special cases", async () => {
    const a: number[] = [];
    const b: number[] = [];
    for (const x of SPECIAL) for (const y of [...SPECIAL, 0.5, -0.5, 1.5, -2.5, 3, -3, 65, -65, 2 ** 24, 2 ** 24 + 2]) a.push(x), b.push(y);
    const next = random(30);
    for (let i = 0; i < 20000; i++) {
      const kind = i % 4;
      a.push(f((next() * 2 - 1) * 2 ** Math.floor(next() * 20 - 10)));
      b.push(kind === 0 ? Math.floor(next() * 141) - 70 : kind === 1 ? Math.floor(next() * 20) - 9.5 : f((next() * 2 - 1) * 8));
    }
    for (const x of randomBits(5000, 31)) a.push(x), b.push(f((next() * 2 - 1) * 4));
    const diffs = await compare([a, b], (x, y) => x!.pow(y!));
    expect(diffs.slice(0, 5), `${diffs.length} of ${a.length} differ`).toEqual([]);
  });
});
