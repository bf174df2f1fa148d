// The pool of released CPU storages: a released array comes back for the next allocation of the
// same dtype and length, reading as zeros like a fresh one; an upload overwrites it whole.
import { afterEach, describe, expect, it } from "vitest";
import { clearStoragePool, cpuBackend } from "./storage.js";

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
