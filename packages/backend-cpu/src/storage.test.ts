// The pool of released CPU storages: a released array comes back for the next allocation of the
// same dtype and length, whatever its size, with its old contents (the Backend contract leaves a
// new storage's contents unspecified); an upload overwrites it whole. The poison switch fills
// every new storage with garbage, so kernels that leave output elements unwritten show.
import { afterEach, describe, expect, it } from "vitest";
import { clearStoragePool, cpuBackend, gatherElements, setStoragePoison, viewOffsets, type CpuView } from "./storage.js";

afterEach(() => clearStoragePool());

describe("CPU storage pool", () => {
  it("reuses a released array for the same dtype and length, contents not cleared", () => {
    const poisoned = setStoragePoison(false);
    try {
      const a = cpuBackend.allocate("float32", 5000);
      a.data.fill(7);
      cpuBackend.release(a);
      const b = cpuBackend.allocate("float32", 5000);
      expect(b.data).toBe(a.data);
      expect(b.data[4999]).toBe(7);
      // Another length or dtype gets a fresh array.
      cpuBackend.release(b);
      expect(cpuBackend.allocate("float32", 5001).data).not.toBe(a.data);
      expect(cpuBackend.allocate("int32", 5000).data).not.toBe(a.data);
    } finally {
      setStoragePoison(poisoned);
    }
  });

  it("fills a reused array completely on upload", () => {
    const a = cpuBackend.allocate("int32", 2000);
    cpuBackend.release(a);
    const values = Int32Array.from({ length: 2000 }, (_, i) => i - 1000);
    const b = cpuBackend.upload(values, "int32");
    expect(b.data).toBe(a.data);
    expect(Array.from(b.data)).toEqual(Array.from(values));
  });

  it("keeps small arrays too, each size in its own list, last released first", () => {
    for (const [dtype, length] of [["float32", 8], ["float64", 1], ["int32", 3], ["bool", 16], ["float32", 0]] as const) {
      const a = cpuBackend.allocate(dtype, length);
      const b = cpuBackend.allocate(dtype, length);
      cpuBackend.release(a);
      cpuBackend.release(b);
      expect(cpuBackend.allocate(dtype, length).data).toBe(b.data);
      expect(cpuBackend.allocate(dtype, length).data).toBe(a.data);
      expect(cpuBackend.allocate(dtype, length).data).not.toBe(a.data);
    }
  });

  it("keeps at most 64 arrays of one size", () => {
    const arrays = Array.from({ length: 70 }, () => cpuBackend.allocate("float32", 10));
    for (const a of arrays) cpuBackend.release(a);
    const again = new Set(Array.from({ length: 70 }, () => cpuBackend.allocate("float32", 10).data));
    expect(arrays.filter((a) => again.has(a.data))).toHaveLength(64);
  });

  it("poison fills fresh and reused storages with garbage of each dtype, and turns off again", () => {
    const before = setStoragePoison(true);
    try {
      const fresh = cpuBackend.allocate("float32", 3);
      expect(Array.from(fresh.data)).toEqual([NaN, NaN, NaN]);
      fresh.data.fill(1);
      cpuBackend.release(fresh);
      const reused = cpuBackend.allocate("float32", 3);
      expect(reused.data).toBe(fresh.data);
      expect(Array.from(reused.data)).toEqual([NaN, NaN, NaN]);
      expect(Array.from(cpuBackend.allocate("float64", 2).data)).toEqual([NaN, NaN]);
      expect(Array.from(cpuBackend.allocate("int32", 2).data)).toEqual([0x5a5a5a5a, 0x5a5a5a5a]);
      expect(Array.from(cpuBackend.allocate("bool", 2).data)).toEqual([0x5a, 0x5a]);
      // Uploads are written whole, never poisoned.
      expect(Array.from(cpuBackend.upload(Float32Array.of(1, 2, 3), "float32").data)).toEqual([1, 2, 3]);
      expect(setStoragePoison(false)).toBe(true);
      expect(Array.from(cpuBackend.allocate("int32", 4).data)).toEqual([0, 0, 0, 0]);
    } finally {
      setStoragePoison(before);
    }
  });
});

describe("gatherElements", () => {
  it("reads float32 transposes and strided 2-d views tile by tile in row-major order", () => {
    for (const [rows, cols] of [[1, 1], [3, 70], [33, 31], [64, 65], [100, 7]] as const) {
      const data = cpuBackend.allocate("float32", 2 * rows * cols + 3).data;
      for (let i = 0; i < data.length; i++) data[i] = i % 2 === 0 ? i : -i * 1e-40;
      const views: CpuView[] = [
        { storage: { device: "cpu", dtype: "float32", length: data.length, data }, dtype: "float32", shape: [rows, cols], strides: [1, rows], offset: 3 },
        { storage: { device: "cpu", dtype: "float32", length: data.length, data }, dtype: "float32", shape: [rows, cols], strides: [2 * cols, 2], offset: 1 },
        { storage: { device: "cpu", dtype: "float32", length: data.length, data }, dtype: "float32", shape: [rows, cols], strides: [0, 2], offset: 0 },
      ];
      for (const view of views) {
        const expected = Array.from(viewOffsets(view), (o) => data[o]);
        expect(Array.from(gatherElements(view)), `[${rows}, ${cols}] strides [${view.strides}]`).toEqual(expected);
      }
    }
  });
});
