// The cast kernel's set() path against element-by-element stores, for every dtype pair, with
// NaN, ±0, ±Inf, subnormals, values that round in float32 and integers out of float32's range.
import type { DType } from "@lockstep/core";
import { describe, expect, it } from "vitest";
import { castKernel } from "./elementwise.js";
import { cpuBackend, type CpuView } from "./storage.js";

const VALUES = [0, -0, 1, -1, 0.1, -2.5, 3.7, NaN, Infinity, -Infinity, 1e-45, -1e-310, 16777217, -2147483648, 2147483647, 2 ** 40, 1e39, 255, 256];

function view(dtype: DType, values: number[]): CpuView {
  const storage = cpuBackend.allocate(dtype, values.length + 2);
  // Stored through a JS element write, the way every kernel stores.
  values.forEach((v, i) => (storage.data[i + 2] = v));
  return { storage, dtype, shape: [values.length], strides: [1], offset: 2 };
}

describe("castKernel", () => {
  it("gives every element the conversion a JS store into the target array gives", () => {
    const dtypes: DType[] = ["float32", "float64", "int32", "bool"];
    for (const from of dtypes) {
      for (const to of dtypes) {
        const x = view(from, VALUES);
        const out: CpuView = { storage: cpuBackend.allocate(to, VALUES.length), dtype: to, shape: [VALUES.length], strides: [1], offset: 0 };
        castKernel([x], [out], {});
        const source = x.storage.data.subarray(2);
        const expected = cpuBackend.allocate(to, VALUES.length).data;
        for (let i = 0; i < VALUES.length; i++) {
          const v = source[i]!;
          expected[i] = to === "bool" ? (v !== 0 ? 1 : 0) : to === "int32" ? (Number.isFinite(v) ? Math.trunc(v) | 0 : 0) : v;
        }
        expect(Array.from(out.storage.data), `${from} → ${to}`).toEqual(Array.from(expected));
      }
    }
  });
});
