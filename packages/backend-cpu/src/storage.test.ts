// The pool of released CPU storages: a released array comes back for the next allocation of the
// same dtype and length, reading as zeros like a fresh one; an upload overwrites it whole.
import { afterEach, describe, expect, it } from "vitest";
import { clearStoragePool, cpuBackend, gatherElements, viewOffsets, type CpuView } from "./storage.js";

afterEach(() => clearStoragePool());

describe("CPU storage pool", () => {
  it("reuses a released array for the same dtype and length, zeroed", () => {
    const a = cpuBackend.allocate("float32", 5000);
    a.data.fill(7);
    cpuBackend.release(a);
    const b = cpuBackend.allocate("float32", 5000);
    expect(b.data).toBe(a.data);
    expect(b.data.every((v) => v === 0)).toBe(true);
    // Another length or dtype gets a fresh array.
    cpuBackend.release(b);
    expect(cpuBackend.allocate("float32", 5001).data).not.toBe(a.data);
    expect(cpuBackend.allocate("int32", 5000).data).not.toBe(a.data);
  });

  it("fills a reused array completely on upload", () => {
    const a = cpuBackend.allocate("int32", 2000);
    cpuBackend.release(a);
    const values = Int32Array.from({ length: 2000 }, (_, i) => i - 1000);
    const b = cpuBackend.upload(values, "int32");
    expect(b.data).toBe(a.data);
    expect(Array.from(b.data)).toEqual(Array.from(values));
  });

  it("does not keep small arrays", () => {
    const a = cpuBackend.allocate("float32", 8);
    cpuBackend.release(a);
    expect(cpuBackend.allocate("float32", 8).data).not.toBe(a.data);
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
