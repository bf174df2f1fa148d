// The samplers: each turns draws from a Generator into values, in the order PyTorch's CPU kernels
// consume them (RNG.md §3–§6), and returns them as a typed array in that order. They know nothing
// about tensors or devices and check nothing — the ops in creation.ts and fills.ts validate
// arguments first, so that a rejected call consumes no draws.
import { sinCos, log } from "./correctly-rounded.js";
import { logFloat32, sinCosFloat32, float32FromBits, type SinCos } from "./float32-math.js";
import { fma32, fma64 } from "./fma.js";
import type { Generator } from "./generator.js";

/** Floating dtypes the samplers produce. */
export type FloatDType = "float32" | "float64";
/** Every dtype Lockstep stores. */
export type AnyDType = "float32" | "float64" | "int32" | "bool";
/** The typed array of each dtype. */
export type ValuesOf<D extends AnyDType> = D extends "float32"
  ? Float32Array
  : D extends "float64"
    ? Float64Array
    : D extends "int32"
      ? Int32Array
      : Uint8Array;

/** Allocates the typed array that stores `dtype` (bool: one byte per element). */
export function allocateValues<D extends AnyDType>(dtype: D, length: number): ValuesOf<D> {
  switch (dtype) {
    case "float32":
      return new Float32Array(length) as ValuesOf<D>;
    case "float64":
      return new Float64Array(length) as ValuesOf<D>;
    case "int32":
      return new Int32Array(length) as ValuesOf<D>;
    default:
      return new Uint8Array(length) as ValuesOf<D>;
  }
}

/** (2π) as the double PyTorch multiplies by: twice the double nearest π. */
const TWO_PI = 2 * Math.PI;
/** fl32(2π), the float32 constant of the vectorised kernel. */
const TWO_PI_FLOAT32 = float32FromBits(0x40c90fdb);
/** Below this many elements (or for non-contiguous tensors) normal_ takes the scalar path. */
export const NORMAL_VECTOR_THRESHOLD = 16;

/**
 * `n` uniform values in [from, to) (§3): float32 maps one 24-bit draw with a fused multiply-add
 * in float32, float64 one 53-bit draw (two draws) with a fused multiply-add in double.
 */
export function sampleUniform(generator: Generator, n: number, dtype: FloatDType, from: number, to: number): Float32Array | Float64Array {
  const engine = generator.engine;
  if (dtype === "float32") {
    const out = new Float32Array(n);
    const low = Math.fround(from);
    const range = Math.fround(Math.fround(to) - low);
    for (let i = 0; i < n; i++) out[i] = fma32(engine.nextU24(), range, low);
    return out;
  }
  const out = new Float64Array(n);
  const range = to - from;
  for (let i = 0; i < n; i++) out[i] = fma64(engine.nextU53(), range, from);
  return out;
}

const pair = { sin: 0, cos: 0 };

/**
 * One value of the scalar Box–Muller path (§4.2): uses the generator's cached second value when
 * there is one, otherwise draws two 53-bit uniforms, returns r·cos θ and caches r·sin θ. The
 * result is a double (callers round it to float32 where the tensor is float32).
 */
export function scalarNormal(generator: Generator, mean: number, std: number): number {
  const cached = generator.normalCache;
  if (cached !== undefined) {
    generator.normalCache = undefined;
    return fma64(cached, std, mean);
  }
  const engine = generator.engine;
  const u1 = engine.nextU53();
  const u2 = engine.nextU53();
  const radius = Math.sqrt(-2 * log(1 - u2));
  sinCos(TWO_PI * u1, pair);
  generator.normalCache = radius * pair.sin;
  return fma64(radius * pair.cos, std, mean);
}

/**
 * `n` normal values (§4). `vectorised` is PyTorch's path choice for a contiguous tensor of at
 * least 16 elements; otherwise (small or non-contiguous) every element goes through the scalar
 * path and its shared cache.
 */
export function sampleNormal(
  generator: Generator,
  n: number,
  dtype: FloatDType,
  mean: number,
  std: number,
  vectorised: boolean,
): Float32Array | Float64Array {
  if (vectorised && n >= NORMAL_VECTOR_THRESHOLD) {
    return dtype === "float32" ? normalFloat32Chunks(generator, n, mean, std) : normalFloat64Chunks(generator, n, mean, std);
  }
  const out = dtype === "float32" ? new Float32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = scalarNormal(generator, mean, std);
  return out;
}

/**
 * The chunked float64 path (§4.3): fill with uniforms, transform each block of 16 (radii from
 * the first 8, angles from the last 8), and redo a partial last block with 16 fresh uniforms.
 */
function normalFloat64Chunks(generator: Generator, n: number, mean: number, std: number): Float64Array {
  const engine = generator.engine;
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = engine.nextU53();
  const transform = (start: number) => {
    for (let j = 0; j < 8; j++) {
      const radius = Math.sqrt(-2 * log(1 - data[start + j]!));
      sinCos(TWO_PI * data[start + j + 8]!, pair);
      data[start + j] = fma64(radius * pair.cos, std, mean);
      data[start + j + 8] = fma64(radius * pair.sin, std, mean);
    }
  };
  for (let start = 0; start + 16 <= n; start += 16) transform(start);
  if (n % 16 !== 0) {
    for (let i = n - 16; i < n; i++) data[i] = engine.nextU53();
    transform(n - 16);
  }
  return data;
}

const pairFloat32: SinCos = { sin: 0, cos: 0 };

/** The AVX2 float32 path (§4.4): the same blocks, transformed entirely in float32 arithmetic. */
function normalFloat32Chunks(generator: Generator, n: number, mean: number, std: number): Float32Array {
  const engine = generator.engine;
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = engine.nextU24();
  const mean32 = Math.fround(mean);
  const std32 = Math.fround(std);
  const transform = (start: number) => {
    for (let j = 0; j < 8; j++) {
      const u1 = Math.fround(1 - data[start + j]!);
      const radius = Math.fround(Math.sqrt(Math.fround(-2 * logFloat32(u1))));
      const theta = Math.fround(TWO_PI_FLOAT32 * data[start + j + 8]!);
      sinCosFloat32(theta, pairFloat32);
      data[start + j] = fma32(Math.fround(radius * pairFloat32.cos), std32, mean32);
      data[start + j + 8] = fma32(Math.fround(radius * pairFloat32.sin), std32, mean32);
    }
  };
  for (let start = 0; start + 16 <= n; start += 16) transform(start);
  if (n % 16 !== 0) {
    for (let i = n - 16; i < n; i++) data[i] = engine.nextU24();
    transform(n - 16);
  }
  return data;
}

/** `n` Bernoulli(p) values for a scalar p (§6.1): 1 where a 53-bit uniform is below p. */
export function sampleBernoulli<D extends AnyDType>(generator: Generator, n: number, dtype: D, p: number): ValuesOf<D> {
  const engine = generator.engine;
  const out = allocateValues(dtype, n);
  for (let i = 0; i < n; i++) out[i] = engine.nextU53() < p ? 1 : 0;
  return out;
}

/**
 * Bernoulli values for per-element probabilities (§6.2), in the probabilities' dtype: float64
 * probabilities compare a 53-bit uniform (two draws), float32 ones a 24-bit uniform (one draw).
 */
export function sampleBernoulliTensor(generator: Generator, probs: Float32Array | Float64Array): Float32Array | Float64Array {
  const engine = generator.engine;
  const n = probs.length;
  if (probs instanceof Float32Array) {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = engine.nextU24() < probs[i]! ? 1 : 0;
    return out;
  }
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = engine.nextU53() < probs[i]! ? 1 : 0;
  return out;
}

const TWO_POW_32 = 4294967296;

/**
 * `n` integers in [low, high) (§5.1): `draw mod (high − low) + low`, plain modulo. One draw each,
 * except that float dtypes with a range of 2^32 or more take a 64-bit draw.
 */
export function sampleIntegers<D extends AnyDType>(generator: Generator, n: number, dtype: D, low: bigint, high: bigint): ValuesOf<D> {
  const engine = generator.engine;
  const out = allocateValues(dtype, n);
  const range = high - low;
  if (range >= BigInt(TWO_POW_32) && (dtype === "float32" || dtype === "float64")) {
    for (let i = 0; i < n; i++) out[i] = Number((engine.nextUint64() % range) + low);
    return out;
  }
  // range < 2^32 (or a 32-bit dtype): every quantity here is an exact integer in a double
  const rangeNumber = Number(range);
  const lowNumber = Number(low);
  for (let i = 0; i < n; i++) out[i] = (engine.nextUint32() % rangeNumber) + lowNumber;
  return out;
}

/** A random permutation of 0 … n−1 (§5.2, PyTorch 1.13): swap p[i] with p[i + draw mod (n − i)]. */
export function samplePermutation<D extends AnyDType>(generator: Generator, n: number, dtype: D): ValuesOf<D> {
  const engine = generator.engine;
  const out = allocateValues(dtype, n);
  for (let i = 0; i < n; i++) out[i] = i;
  for (let i = 0; i + 1 < n; i++) {
    const j = i + (engine.nextUint32() % (n - i));
    const held = out[i]!;
    out[i] = out[j]!;
    out[j] = held;
  }
  return out;
}

/**
 * The scaled dropout mask of §6.4 for 0 < p < 1: keep where a 53-bit uniform is below 1 − p, and
 * kept elements hold 1/(1 − p) computed in the dtype (float32: 1.0f / fl32(1 − p)), so that
 * `x · mask` is PyTorch's `dropout(x, p)` bit for bit.
 */
export function sampleDropoutMask(generator: Generator, n: number, dtype: FloatDType, p: number): Float32Array | Float64Array {
  const keep = 1 - p;
  const scale = dtype === "float32" ? Math.fround(1 / Math.fround(keep)) : 1 / keep;
  const engine = generator.engine;
  const out = dtype === "float32" ? new Float32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = engine.nextU53() < keep ? scale : 0;
  return out;
}
