import { describe, expect, it } from "vitest";
import { sequentialMatmul, wasmMatmul } from "./matmul.js";
import { PackCache } from "./pack-cache.js";
import type { CpuView } from "./storage.js";
import { gemmInstance, wasmAvailable } from "./wasm/instance.js";

// The pack cache keeps a B that is multiplied again (same content stamp, same layout) packed in
// the thread's WebAssembly memory. These tests run from the sources (one thread); the pool's
// threads are checked from dist in test/pool.test.ts, and invalidation through the public API
// (copy_, add_, an optimizer step, dispose) in test/pack-cache.test.ts.

describe("PackCache", () => {
  it("places entries first-fit, evicts the least recently used, and reports where scratch starts", () => {
    const cache = new PackCache(1024);
    expect(cache.add("a", 100)).toBe(0);
    expect(cache.add("b", 300)).toBe(128);
    expect(cache.add("c", 64)).toBe(448);
    expect(cache.end).toBe(512);
    expect(cache.get("a")).toBe(0); // a is now the most recently used
    // 600 bytes do not fit beside a, b and c: b (then c) go, oldest first.
    expect(cache.add("d", 600)).toBe(128);
    expect(cache.get("b")).toBeUndefined();
    expect(cache.get("c")).toBeUndefined();
    expect(cache.get("a")).toBe(0);
    expect(cache.end).toBe(768);
    cache.delete("d");
    expect(cache.end).toBe(128);
    expect(cache.add("huge", 1025)).toBeUndefined();
    expect(cache.size).toBe(1);
  });

  it("re-adding a key replaces its entry", () => {
    const cache = new PackCache(256);
    cache.add("a", 64);
    cache.add("b", 64);
    expect(cache.add("a", 128)).toBe(128);
    expect(cache.size).toBe(2);
  });
});

let nextStamp = 1e9;

function view(data: Float32Array, shape: number[], strides: number[], offset = 0, stamp?: number): CpuView {
  return { storage: { device: "cpu", dtype: "float32", length: data.length, data }, dtype: "float32", shape, strides, offset, stamp };
}

function values(count: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

function output(m: number, n: number): CpuView {
  return view(new Float32Array(m * n), [m, n], [n, 1]);
}

const bits = (v: CpuView) => [...new Uint32Array((v.storage.data as Float32Array).slice().buffer)];

type Layout = "dense" | "transposed" | "strided" | "offset";

/** A k×n B over its own storage with a fresh stamp. */
function weight(k: number, n: number, layout: Layout, seed: number): CpuView {
  const stamp = nextStamp++;
  if (layout === "dense") return view(values(k * n, seed), [k, n], [n, 1], 0, stamp);
  if (layout === "transposed") return view(values(k * n, seed), [k, n], [1, k], 0, stamp);
  if (layout === "offset") return view(values(k * n + 7, seed), [k, n], [n, 1], 7, stamp);
  return view(values(k * (2 * n + 1), seed), [k, n], [2 * n + 1, 2], 0, stamp);
}

/** Runs the product three times (not cached, packed into the cache, read from it): all equal the sequential bits. */
function expectCachedEqualsSequential(a: CpuView, b: CpuView): void {
  const [m] = a.shape as [number, number];
  const n = b.shape[1]!;
  const want = output(m, n);
  sequentialMatmul([a, b], [want], {});
  for (let call = 0; call < 3; call++) {
    const got = output(m, n);
    expect(wasmMatmul([a, b], got, true)).toBe(true);
    expect(bits(got), `call ${call}`).toEqual(bits(want));
  }
}

describe.runIf(wasmAvailable())("a B kept packed in the cache", () => {
  it("gives the sequential kernel's bits on every call, for many shapes and layouts", () => {
    let seed = 1;
    for (const layout of ["dense", "transposed", "strided", "offset"] as const) {
      for (const [m, k, n] of [[1, 1, 1], [1, 7, 9], [1, 768, 768], [2, 33, 17], [3, 257, 31], [5, 64, 100], [16, 300, 65], [17, 513, 8], [33, 16, 784]] as const) {
        expectCachedEqualsSequential(view(values(m * k, seed++), [m, k], [k, 1]), weight(k, n, layout, seed++));
      }
    }
    expect(gemmInstance()!.cache.size).toBeGreaterThan(0);
  }, 60_000);

  it("fast mode: one row on a cached B keeps the GEMV's own rounding (not batch-invariant) and stays close", () => {
    const k = 768;
    const a = view(values(k, 5), [1, k], [k, 1]);
    const b = weight(k, 300, "transposed", 6);
    const want = output(1, 300);
    sequentialMatmul([a, b], [want], {});
    const uncached = output(1, 300);
    wasmMatmul([a, b], uncached, false);
    let differing = 0;
    for (let call = 0; call < 2; call++) {
      const got = output(1, 300);
      wasmMatmul([a, b], got, false);
      for (let j = 0; j < 300; j++) {
        expect(Math.abs(got.storage.data[j]! - want.storage.data[j]!)).toBeLessThan(1e-5 * k);
        if (got.storage.data[j] !== want.storage.data[j]) differing++;
      }
    }
    expect(differing).toBeGreaterThan(0);
  });

  it("is keyed by the stamp: new contents under the same storage with a new stamp are never served stale", () => {
    const k = 64;
    const n = 40;
    const a = view(values(4 * k, 7), [4, k], [k, 1]);
    const data = values(k * n, 8);
    const first = view(data, [k, n], [n, 1], 0, nextStamp++);
    wasmMatmul([a, first], output(4, n), true);
    wasmMatmul([a, first], output(4, n), true); // now packed in the cache
    data.set(values(k * n, 9)); // an in-place write: core gives the storage a new stamp
    expectCachedEqualsSequential(a, view(data, [k, n], [n, 1], 0, nextStamp++));
  });

  it("is keyed by the layout: another view of the same contents is packed on its own", () => {
    const k = 48;
    const n = 24;
    const a = view(values(3 * k, 10), [3, k], [k, 1]);
    const data = values(k * n + 100, 11);
    const stamp = nextStamp++;
    expectCachedEqualsSequential(a, view(data, [k, n], [n, 1], 0, stamp));
    expectCachedEqualsSequential(a, view(data, [k, n], [n, 1], 100, stamp));
    expectCachedEqualsSequential(a, view(data, [k, n], [1, k], 0, stamp));
    expectCachedEqualsSequential(view(values(3 * n, 12), [3, n], [n, 1]), view(data, [n, k], [k, 1], 0, stamp));
  });

  it("stays within its capacity however many weights pass through", () => {
    const w = gemmInstance()!;
    const a = view(values(2 * 512, 13), [2, 512], [512, 1]);
    for (let i = 0; i < 40; i++) expectCachedEqualsSequential(a, weight(512, 1024, "dense", 100 + i)); // 2 MiB each
    expect(w.cache.end).toBeLessThanOrEqual(w.cache.capacity);
    expect(w.cache.size).toBeLessThanOrEqual(16);
  }, 60_000);

  it("broadcast batches of one weight are cached; per-batch weights are not, and stay exact", () => {
    const k = 33;
    const n = 17;
    const a = view(values(3 * 9 * k, 14), [3, 9, k], [9 * k, k, 1]);
    const data = values(3 * k * n, 15);
    for (const b of [view(data, [3, k, n], [0, n, 1], 0, nextStamp++), view(data, [3, k, n], [k * n, n, 1], 0, nextStamp++)]) {
      const want = view(new Float32Array(3 * 9 * n), [3, 9, n], [9 * n, n, 1]);
      sequentialMatmul([a, b], [want], {});
      for (let call = 0; call < 3; call++) {
        const got = view(new Float32Array(3 * 9 * n), [3, 9, n], [9 * n, n, 1]);
        wasmMatmul([a, b], got, true);
        expect(bits(got)).toEqual(bits(want));
      }
    }
  });
});
