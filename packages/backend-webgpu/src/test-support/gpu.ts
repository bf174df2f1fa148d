// Shared by the webgpu test files: starts the backend once per file (each file runs in its own
// forked process), decides whether the suite runs, and compares webgpu results with the CPU
// backend's. Without an adapter the suites skip with the reason printed, unless REQUIRE_WEBGPU=1,
// where a missing adapter fails the run.
import "@lockstep/backend-cpu";
import { tensor, type DataArray, type DType, type Tensor } from "@lockstep/core";
import { expect } from "vitest";
import { init, type AdapterInfo } from "../index.js";

async function start(): Promise<{ info?: AdapterInfo; reason: string }> {
  try {
    return { info: await init(), reason: "" };
  } catch (error) {
    return { reason: (error as Error).message };
  }
}

const status = await start();
if (status.info === undefined) {
  if (process.env.REQUIRE_WEBGPU === "1") {
    throw new Error(`REQUIRE_WEBGPU=1 but the WebGPU backend did not start: ${status.reason}`);
  }
  console.info(`backend-webgpu tests skipped: ${status.reason}`);
}

/** True when an adapter was found and the backend started. */
export const available = status.info !== undefined;
export const adapterInfo = status.info;

/** Deterministic pseudo-random numbers in [0, 1). */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** Values of both signs spread over 2^-lo … 2^hi (no subnormals). */
export function wideValues(count: number, seed: number, lo = -12, hi = 12): Float32Array {
  const next = random(seed);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = (next() * 2 - 1) * 2 ** Math.floor(lo + next() * (hi - lo + 1));
  return out;
}

/** Uniform values in [lo, hi). */
export function uniform(count: number, seed: number, lo = -1, hi = 1): Float32Array {
  const next = random(seed);
  return Float32Array.from({ length: count }, () => lo + (hi - lo) * next());
}

/** Random int32 values in [lo, hi). */
export function integers(count: number, seed: number, lo: number, hi: number): Int32Array {
  const next = random(seed);
  return Int32Array.from({ length: count }, () => lo + Math.floor((hi - lo) * next()));
}

/** A CPU tensor of `shape` from flat values. */
export function cpu(values: ArrayLike<number>, shape: number[], dtype: DType = "float32"): Tensor {
  const data =
    dtype === "float32" ? Float32Array.from(values) : dtype === "int32" ? Int32Array.from(values) : Uint8Array.from(values, (v) => (v ? 1 : 0));
  // The dtype is explicit: a Uint8Array alone now means int32 values, as in core's tensor().
  return tensor(data, { dtype }).reshape(shape);
}

export type Mode = "exact" | "close";

/** Same value: bit patterns for floats (any NaN matches any NaN), or within 1e-6 absolute + 1e-6 relative. */
function matches(got: number, want: number, mode: Mode): boolean {
  if (Object.is(got, want)) return true;
  if (Number.isNaN(got) && Number.isNaN(want)) return true;
  if (mode === "exact") return false;
  if (!Number.isFinite(got) || !Number.isFinite(want)) return false;
  return Math.abs(got - want) <= 1e-6 + 1e-6 * Math.abs(want);
}

/** The first mismatching element, as a readable line, or undefined. */
export function mismatch(got: ArrayLike<number>, want: ArrayLike<number>, mode: Mode): string | undefined {
  if (got.length !== want.length) return `length ${got.length} instead of ${want.length}`;
  let count = 0;
  let first = -1;
  for (let i = 0; i < got.length; i++) {
    if (!matches(got[i]!, want[i]!, mode)) {
      if (first < 0) first = i;
      count++;
    }
  }
  if (count === 0) return undefined;
  return `${count} of ${got.length} elements differ; first at ${first}: got ${got[first]}, want ${want[first]}`;
}

/**
 * Builds the same computation on CPU and on webgpu — `on` moves each CPU input to the device —
 * and expects equal shapes, dtypes and values.
 */
export async function expectSameOnBoth(
  build: (on: (t: Tensor) => Tensor) => Tensor | Tensor[],
  mode: Mode = "exact",
): Promise<void> {
  const wanted = [build((t) => t)].flat();
  const got = [build((t) => t.to("webgpu"))].flat();
  expect(got.length).toBe(wanted.length);
  for (let i = 0; i < got.length; i++) {
    const g = got[i]!;
    const w = wanted[i]!;
    expect(g.device).toBe("webgpu");
    expect(g.shape).toEqual(w.shape);
    expect(g.dtype).toBe(w.dtype);
    expect(mismatch(await g.data(), await w.data(), mode)).toBeUndefined();
  }
}

/** Float32 bit patterns, for bitwise comparisons. */
export function bits(data: DataArray): Uint32Array {
  const copy = Float32Array.from(data);
  return new Uint32Array(copy.buffer);
}
