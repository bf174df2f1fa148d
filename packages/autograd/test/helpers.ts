// Shared by the autograd tests: the CPU backend, tensors from fixture JSON, closeness checks and a
// small seeded generator for gradcheck inputs (so tests need neither Python nor @lockstep/random).
import "@lockstep/backend-cpu";
import "../src/index.js";
import { expect } from "vitest";
import { tensor, type DType, type Tensor } from "@lockstep/core";

export interface EncodedTensor {
  shape: number[];
  dtype: DType;
  values: (number | boolean)[];
}

/** A leaf tensor from a fixture entry; float ones require grad when asked. */
export function decode(entry: EncodedTensor, requiresGrad = false): Tensor {
  const flat =
    entry.dtype === "bool"
      ? tensor(entry.values as boolean[])
      : tensor(entry.values as number[], { dtype: entry.dtype });
  const shaped = entry.shape.length === 1 ? flat : flat.reshape(entry.shape);
  return requiresGrad ? shaped.requiresGrad_() : shaped;
}

/** Element-wise |actual − expected| ≤ atol + rtol·|expected|, with a message naming the worst element. */
export function expectClose(actual: Tensor | undefined, expected: EncodedTensor, rtol: number, atol: number, what: string): void {
  expect(actual, `${what}: missing`).toBeDefined();
  expect([...actual!.shape], `${what}: shape`).toEqual(expected.shape);
  const values = actual!.dataSync();
  let worst = -1;
  let worstExcess = 0;
  expected.values.forEach((e, k) => {
    const a = values[k]!;
    const excess = Math.abs(a - (e as number)) - (atol + rtol * Math.abs(e as number));
    if (!(excess <= 0) && (worst < 0 || excess > worstExcess || Number.isNaN(excess))) {
      worst = k;
      worstExcess = excess;
    }
  });
  if (worst >= 0) {
    expect.fail(
      `${what}: element ${worst} is ${values[worst]}, PyTorch gives ${expected.values[worst]} (rtol ${rtol}, atol ${atol})\n` +
        `ours:    ${Array.from(values).join(", ")}\nPyTorch: ${expected.values.join(", ")}`,
    );
  }
}

/** Deterministic uniform numbers (mulberry32), for gradcheck inputs. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A float64 leaf requiring grad with values uniform in [low, high). */
export function uniform(next: () => number, shape: number[], low = -2, high = 2): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const values = Float64Array.from({ length: n }, () => low + (high - low) * next());
  return tensor(values).reshape(shape).requiresGrad_();
}

/** Like `uniform` but at least `gap` away from 0, for ops with a kink there. */
export function awayFromZero(next: () => number, shape: number[], gap = 0.2): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const values = Float64Array.from({ length: n }, () => {
    const v = -2 + 4 * next();
    return v >= 0 ? v + gap : v - gap;
  });
  return tensor(values).reshape(shape).requiresGrad_();
}
