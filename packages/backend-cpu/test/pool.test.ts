// The worker pool only exists in dist (its worker file is compiled), so this file tests the
// built package: shares of a matmul over 1, 2 and 3 threads give the same bits as the JS
// sequential kernel with the flag on, and stay accurate with it off.
import { getNumThreads, setNumThreads } from "@lockstep/core";
import { afterAll, describe, expect, it } from "vitest";
import { fastMatmulKernel, matmulKernel, sequentialMatmul } from "../dist/matmul.js";
import { workerPool, type PoolTask } from "../dist/pool.js";
import { inArena } from "../dist/arena.js";
import { cpuBackend, type CpuView } from "../dist/storage.js";

function view(data: Float32Array, shape: number[], strides: number[], offset = 0): CpuView {
  return { storage: { device: "cpu", dtype: "float32", length: data.length, data }, dtype: "float32", shape, strides, offset };
}

function sharedValues(count: number, seed: number): Float32Array {
  const out = new Float32Array(new SharedArrayBuffer(4 * count));
  let s = seed >>> 0;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

function output(shape: number[]): CpuView {
  const length = shape.reduce((x, y) => x * y, 1);
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((x, y) => x * y, 1));
  return view(new Float32Array(new SharedArrayBuffer(4 * length)), shape, strides);
}

let nextStamp = 2e9;

const bits = (v: CpuView) => new Uint32Array((v.storage.data as Float32Array).slice().buffer);

// Each product is above the pool's threshold; together they take every way of sharing: pieces
// of columns claimed as threads go, chunks of rows (a thread that is done takes pieces of the
// others' chunks; with more chunks than threads, of chunks no thread has started), pieces of
// per-batch segments, fixed shares of rows, and with the flag off the GEMV's shares of columns
// and split-K.
const cases: [string, () => [CpuView, CpuView, number[]]][] = [
  ["16×768 · (768×768)ᵀ, claimed pieces of columns", () => [view(sharedValues(16 * 768, 1), [16, 768], [768, 1]), view(sharedValues(768 * 768, 2), [768, 768], [1, 768]), [16, 768]]],
  ["262×1000 · 1000×256, a chunk of rows per thread (4 K blocks, padded C rows)", () => [view(sharedValues(262 * 1000, 17), [262, 1000], [1000, 1]), view(sharedValues(1000 * 256, 18), [1000, 256], [256, 1]), [262, 256]]],
  ["600×520 · 520×300, more chunks of rows than threads", () => [view(sharedValues(600 * 520, 19), [600, 520], [520, 1]), view(sharedValues(520 * 300, 20), [520, 300], [300, 1]), [600, 300]]],
  ["300×200 · 200×100, fixed shares of rows", () => [view(sharedValues(300 * 200, 3), [300, 200], [200, 1]), view(sharedValues(200 * 100, 4), [200, 100], [100, 1]), [300, 100]]],
  ["batch of 5: 70×65 · 65×97 each, claimed segments", () => [view(sharedValues(5 * 70 * 65, 5), [5, 70, 65], [70 * 65, 65, 1]), view(sharedValues(5 * 65 * 97, 6), [5, 65, 97], [65 * 97, 97, 1]), [5, 70, 97]]],
  ["batch of 4 over one weight: 4×33×512 · (512×301)ᵀ", () => [view(sharedValues(4 * 33 * 512, 7), [4, 33, 512], [33 * 512, 512, 1]), view(sharedValues(512 * 301, 8), [4, 512, 301], [0, 1, 512]), [4, 33, 301]]],
  ["weight gradient Yᵀ·X: (16×256)ᵀ · 16×784, A read in place", () => [view(sharedValues(16 * 256, 13), [256, 16], [1, 256]), view(sharedValues(16 * 784, 14), [16, 784], [784, 1]), [256, 784]]],
  ["input gradient 17×300 · 300×333, B read in place", () => [view(sharedValues(17 * 300, 15), [17, 300], [300, 1]), view(sharedValues(300 * 333, 16), [300, 333], [333, 1]), [17, 333]]],
  ["one row, K = 4096, N = 512 (GEMV columns shared with the flag off)", () => [view(sharedValues(4096, 11), [1, 4096], [4096, 1]), view(sharedValues(4096 * 512, 12), [4096, 512], [1, 4096]), [1, 512]]],
  ["one row, K = 32768, N = 100 (split-K with the flag off)", () => [view(sharedValues(32768, 9), [1, 32768], [32768, 1]), view(sharedValues(32768 * 100, 10), [32768, 100], [100, 1]), [1, 100]]],
];

describe("matmul over the worker pool (dist)", () => {
  const before = getNumThreads();
  afterAll(() => setNumThreads(before));

  it("has workers to share with", () => {
    expect(workerPool(3)).toBeDefined();
  });

  // One expect per product, not per element: the largest products have 200k elements.
  const worstGap = (got: CpuView, want: CpuView): number => {
    let worst = 0;
    for (let i = 0; i < want.storage.data.length; i++) {
      const gap = Math.abs(got.storage.data[i]! - want.storage.data[i]!);
      worst = gap > worst || Number.isNaN(gap) ? gap : worst;
    }
    return worst;
  };

  for (const [name, make] of cases) {
    it(`${name}: 1, 2 and 3 threads give the sequential kernel's bits; fast mode stays close`, () => {
      const [a, b, shape] = make();
      const want = output(shape);
      sequentialMatmul([a, b], [want], {});
      for (const threads of [1, 2, 3]) {
        setNumThreads(threads);
        const got = output(shape);
        matmulKernel([a, b], [got], {});
        expect(bits(got)).toEqual(bits(want));
        const fast = output(shape);
        fastMatmulKernel([a, b], [fast], {});
        expect(worstGap(fast, want)).toBeLessThanOrEqual(1e-5 * a.shape[a.shape.length - 1]!);
      }
    }, 60_000);

    it(`${name}: B kept packed in each thread's cache (three calls per thread count) gives the same bits`, () => {
      const [a, plain, shape] = make();
      const b: CpuView = { ...plain, stamp: nextStamp++ };
      const want = output(shape);
      sequentialMatmul([a, b], [want], {});
      for (const threads of [1, 2, 3, 2]) {
        setNumThreads(threads);
        for (let call = 0; call < 3; call++) {
          const got = output(shape);
          matmulKernel([a, b], [got], {});
          expect(bits(got)).toEqual(bits(want));
          const fast = output(shape);
          fastMatmulKernel([a, b], [fast], {});
          expect(worstGap(fast, want)).toBeLessThanOrEqual(1e-5 * a.shape[a.shape.length - 1]!);
        }
      }
    }, 60_000);
  }
});

// The same products on storages in the tensor arena (arena.ts): the main thread's kernels read
// them and write C in place, the workers copy their shares in and out as from any shared memory.
describe("matmul over the worker pool on arena storages (dist)", () => {
  const before = getNumThreads();
  afterAll(() => setNumThreads(before));
  const toArena = (v: CpuView): CpuView => ({ ...v, storage: cpuBackend.upload(v.storage.data, "float32") });

  for (const [name, make] of cases) {
    it(`${name}: 1, 2 and 3 threads give the sequential kernel's bits`, () => {
      const [plainA, plainB, shape] = make();
      const [a, b] = [toArena(plainA), toArena(plainB)];
      expect(inArena(a.storage.data) && inArena(b.storage.data)).toBe(true);
      const want = output(shape);
      sequentialMatmul([a, b], [want], {});
      const length = want.storage.data.length;
      for (const threads of [1, 2, 3]) {
        setNumThreads(threads);
        for (const kernel of [matmulKernel, fastMatmulKernel]) {
          // Guard elements after the output: the output is a view at the start of a longer storage
          // (at least 16 KiB, so in the arena too).
          const storage = cpuBackend.allocate("float32", Math.max(length + 40, 4096));
          expect(inArena(storage.data)).toBe(true);
          storage.data.fill(-7);
          const got: CpuView = { ...want, storage };
          kernel([a, b], [got], {});
          expect(storage.data.subarray(length).every((x) => x === -7)).toBe(true);
          if (kernel === matmulKernel) expect(bits({ ...got, storage: { ...storage, data: storage.data.subarray(0, length) } })).toEqual(bits(want));
        }
      }
    }, 60_000);
  }
});

// WorkerPool.run: a share a worker has not started when the main thread is done with its own is
// taken back and run on the main thread; the worker, waking later, must drop it.
describe("the worker pool's take-back of shares not started (dist)", () => {
  it("computes every share exactly once, and never after its run returned", async () => {
    const pool = workerPool(3)!;
    const [m, k, n] = [8, 64, 64];
    const a = sharedValues(m * k, 21);
    const b = sharedValues(k * n, 22);
    const want = output([m, n]);
    sequentialMatmul([view(a, [m, k], [k, 1]), view(b, [k, n], [n, 1])], [want], {});
    const share = (c: Float32Array, rowStart: number, rowEnd: number): PoolTask => ({
      kind: "wasmGemm",
      task: {
        a, b, c, segments: [{ row: 0, rows: m, aBase: 0, aRow: k, aCol: 1, bBase: 0, bRow: n, bCol: 1 }],
        k, n, rowStart, rowEnd, colStart: 0, colEnd: n, deterministic: true, threads: 1, first: 0,
      },
    });
    const outputs: Float32Array[] = [];
    for (let run = 0; run < 300; run++) {
      const c = new Float32Array(new SharedArrayBuffer(4 * m * n)).fill(NaN);
      // The main thread's own share is empty: it is done at once and takes back what has not started.
      pool.run([share(c, 0, 0), share(c, 0, 4), share(c, 4, 8)]);
      expect(new Uint32Array(c.slice().buffer)).toEqual(bits(want));
      c.fill(-7);
      outputs.push(c);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(outputs.every((c) => c.every((x) => x === -7))).toBe(true);
  });
});
