// A new CPU storage may be a released array with its old contents (see storage.ts), so kernels
// write every output element. The JS matmul fallbacks with K = 0 store nothing in their loops:
// they must still write the empty sums (zeros) over garbage.
import { describe, expect, it } from "vitest";
import { gemmRows, gemvColumns, type GemmJob } from "./gemm.js";
import { sequentialMatmul } from "./matmul.js";
import type { CpuView } from "./storage.js";

function job(m: number, n: number, batches: number): GemmJob {
  return {
    a: new Float32Array(0),
    b: new Float32Array(0),
    c: new Float32Array(batches * m * n).fill(NaN),
    aBases: new Int32Array(batches),
    bBases: new Int32Array(batches),
    m, n, k: 0, aRow: 0, aCol: 1, bRow: 1, bCol: 1,
  };
}

describe("matmul with K = 0 on a dirty output", () => {
  it("gemmRows writes zeros to exactly its rows", () => {
    const j = job(5, 3, 2);
    gemmRows(j, 2, 7);
    expect(Array.from(j.c.subarray(0, 6)).every(Number.isNaN)).toBe(true);
    expect(Array.from(j.c.subarray(6, 21))).toEqual(new Array(15).fill(0));
    expect(Array.from(j.c.subarray(21)).every(Number.isNaN)).toBe(true);
  });

  it("gemvColumns writes zeros", () => {
    const j = job(1, 9, 1);
    gemvColumns(j, 0, 9);
    expect(Array.from(j.c)).toEqual(new Array(9).fill(0));
  });

  it("sequentialMatmul writes zeros for every dtype", () => {
    for (const [dtype, Array_] of [["float32", Float32Array], ["float64", Float64Array], ["int32", Int32Array]] as const) {
      const empty = new Array_(0);
      const a: CpuView = { storage: { device: "cpu", dtype, length: 0, data: empty }, dtype, shape: [3, 0], strides: [0, 1], offset: 0 };
      const b: CpuView = { storage: { device: "cpu", dtype, length: 0, data: empty }, dtype, shape: [0, 4], strides: [4, 1], offset: 0 };
      const data = new Array_(12).fill(dtype === "int32" ? 7 : NaN);
      const out: CpuView = { storage: { device: "cpu", dtype, length: 12, data }, dtype, shape: [3, 4], strides: [4, 1], offset: 0 };
      sequentialMatmul([a, b], [out], {});
      expect(Array.from(data), dtype).toEqual(new Array(12).fill(0));
    }
  });
});
