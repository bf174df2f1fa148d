import { describe, expect, it } from "vitest";
import { gemmRows, gemvColumns, type GemmJob } from "./gemm.js";
import { fastMatmulKernel, matmulKernel, sequentialMatmul, wasmMatmul } from "./matmul.js";
import type { CpuStorage, CpuView } from "./storage.js";
import { wasmAvailable } from "./wasm/instance.js";

// These tests run from the TypeScript sources, so the worker pool is off (its worker file only
// exists in dist): they check the single-thread kernels. The thread splits are checked from dist
// by test/pool.test.ts and by packages/lockstep/test/determinism.test.ts.

function storage(data: Float32Array): CpuStorage {
  return { device: "cpu", dtype: "float32", length: data.length, data };
}

function view(data: Float32Array, shape: number[], strides: number[], offset = 0): CpuView {
  return { storage: storage(data), dtype: "float32", shape, strides, offset };
}

/** A small deterministic generator, so a failing case can be rerun. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Float32 values in [-1, 1), or over 2^±20 of magnitude when `wide`. */
function values(count: number, seed: number, wide = false): Float32Array {
  const next = random(seed);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = (next() * 2 - 1) * (wide ? 2 ** Math.floor(next() * 40 - 20) : 1);
  return out;
}

type Layout = "dense" | "transposed" | "strided";

/** A rows×cols matrix view with the given layout over fresh values. */
function matrix(rows: number, cols: number, layout: Layout, seed: number, wide = false): CpuView {
  if (layout === "dense") return view(values(rows * cols, seed, wide), [rows, cols], [cols, 1]);
  if (layout === "transposed") return view(values(rows * cols, seed, wide), [rows, cols], [1, rows]);
  // Every other column of a wider matrix, starting at an offset.
  return view(values(rows * (2 * cols + 3) + 5, seed, wide), [rows, cols], [2 * cols + 3, 2], 5);
}

function output(shape: number[]): CpuView {
  const length = shape.reduce((x, y) => x * y, 1);
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((x, y) => x * y, 1));
  return view(new Float32Array(length), shape, strides);
}

function bits(view: CpuView): Uint32Array {
  return new Uint32Array((view.storage.data as Float32Array).slice().buffer);
}

/** Index of the first element whose bits differ (NaNs of any payload count as equal), or -1. */
function firstDifference(x: CpuView, y: CpuView): number {
  const a = bits(x);
  const b = bits(y);
  const fa = x.storage.data;
  const fb = y.storage.data;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !(Number.isNaN(fa[i]) && Number.isNaN(fb[i]))) return i;
  return a.length === b.length ? -1 : a.length;
}

function expectWasmEqualsSequential(a: CpuView, b: CpuView, shape: number[]): void {
  const want = output(shape);
  sequentialMatmul([a, b], [want], {});
  const got = output(shape);
  expect(wasmMatmul([a, b], got, true)).toBe(true);
  const at = firstDifference(got, want);
  expect(at, `element ${at}: ${got.storage.data[at]} vs ${want.storage.data[at]}`).toBe(-1);
}

const SIZES = [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100, 257];

describe.runIf(wasmAvailable())("the WASM deterministic matmul equals the JS sequential one bit for bit", () => {
  it.each([1, 7, 33, 257])("every M and N in the size list, K = %i", (k) => {
    let seed = k * 1000;
    for (const m of SIZES) {
      for (const n of SIZES) expectWasmEqualsSequential(matrix(m, k, "dense", seed++), matrix(k, n, "dense", seed++), [m, n]);
    }
  }, 60_000);

  it("every K in the size list, across K blocks, row chunks and column groups", () => {
    let seed = 1000;
    for (const k of [...SIZES, 255, 256, 511, 513, 600]) {
      for (const [m, n] of [[1, 1], [5, 17], [17, 9], [64, 33]] as const) {
        expectWasmEqualsSequential(matrix(m, k, "dense", seed++), matrix(k, n, "dense", seed++), [m, n]);
      }
    }
    expectWasmEqualsSequential(matrix(600, 300, "dense", 7), matrix(300, 40, "dense", 8), [600, 40]);
    // Rows are packed in chunks of 2^22 floats (512 rows of 8192), row-major B is copied in
    // slabs of 2^22 floats (512 columns of 8192) and packed in groups of columns.
    expectWasmEqualsSequential(matrix(520, 8192, "dense", 9), matrix(8192, 9, "transposed", 10), [520, 9]);
    expectWasmEqualsSequential(matrix(2, 8192, "dense", 15), matrix(8192, 600, "dense", 16), [2, 600]);
    expectWasmEqualsSequential(matrix(6, 768, "dense", 11), matrix(768, 150, "transposed", 12), [6, 150]);
    expectWasmEqualsSequential(matrix(6, 768, "dense", 13), matrix(768, 150, "dense", 14), [6, 150]);
    // Widths that are multiples of 256 floats get a padded row stride for C in scratch; packed A
    // is laid out K block by K block (here 3 blocks, the last one short).
    expectWasmEqualsSequential(matrix(70, 600, "dense", 17), matrix(600, 256, "dense", 18), [70, 256]);
    expectWasmEqualsSequential(matrix(67, 513, "transposed", 19), matrix(513, 512, "transposed", 20), [67, 512]);
  }, 60_000);

  it("transposed and strided operands, every combination of layouts", () => {
    const layouts: Layout[] = ["dense", "transposed", "strided"];
    let seed = 2000;
    for (const la of layouts) {
      for (const lb of layouts) {
        for (const [m, k, n] of [[1, 9, 17], [3, 16, 8], [7, 33, 31], [16, 100, 64], [33, 257, 9]] as const) {
          expectWasmEqualsSequential(matrix(m, k, la, seed++), matrix(k, n, lb, seed++), [m, n]);
        }
      }
    }
  });

  it("operands read in place: a transposed A with a short K, a row-major B under few rows", () => {
    // gemmRows reads Yᵀ (a weight gradient's transposed A) in place when K ≤ 64 and a row-major
    // B in place when a chunk has ≤ 64 rows; lanes past the last row or column read whatever
    // lies beyond the copy. Odd sizes around both bounds, with B also at an offset and strided rows.
    let seed = 5000;
    for (const m of [1, 3, 4, 5, 17, 63, 64, 65, 130]) {
      for (const k of [1, 15, 16, 17, 64, 65]) {
        for (const n of [1, 7, 9, 33]) {
          expectWasmEqualsSequential(matrix(m, k, "transposed", seed++), matrix(k, n, "dense", seed++), [m, n]);
          expectWasmEqualsSequential(matrix(m, k, "dense", seed++), matrix(k, n, "dense", seed++), [m, n]);
        }
      }
    }
    const wide = view(values(20 * 41 + 7, 5999), [20, 33], [41, 1], 7);
    expectWasmEqualsSequential(matrix(5, 20, "transposed", 6000), wide, [5, 33]);
    expectWasmEqualsSequential(matrix(256, 16, "transposed", 6001), matrix(16, 784, "dense", 6002), [256, 784]);
    expectWasmEqualsSequential(matrix(16, 256, "dense", 6003), matrix(256, 784, "dense", 6004), [16, 784]);
    // Row-major B whose rows lie a multiple of 2 KiB apart is packed even under few rows (reading
    // it in place thrashes L1 sets); a convolution's columns are such a B. Same bits either way.
    expectWasmEqualsSequential(matrix(64, 27, "dense", 6010), matrix(27, 1024, "dense", 6011), [64, 1024]);
    expectWasmEqualsSequential(matrix(17, 9, "transposed", 6012), matrix(9, 512, "dense", 6013), [17, 512]);
    expectWasmEqualsSequential(matrix(5, 33, "dense", 6014), view(values(33 * 512 + 3, 6015), [33, 300], [512, 1], 3), [5, 300]);
    // Garbage past the copy must stay in its own lanes: NaN and infinity next to the operands.
    const aData = values(16 * 6 + 8, 6005);
    aData.fill(Number.NaN, 16 * 6);
    const bData = values(6 * 12 + 8, 6006);
    bData.fill(Number.POSITIVE_INFINITY, 6 * 12);
    expectWasmEqualsSequential(view(aData, [6, 16], [1, 6]), view(values(16 * 13, 6007), [16, 13], [13, 1]), [6, 13]);
    expectWasmEqualsSequential(view(values(7 * 6, 6008), [7, 6], [6, 1]), view(bData, [6, 11], [12, 1]), [7, 11]);
  }, 60_000);

  it("wide-magnitude values (cancellation, subnormal products, overflow to infinity)", () => {
    let seed = 3000;
    for (const [m, k, n] of [[4, 64, 8], [17, 257, 33], [9, 15, 100]] as const) {
      expectWasmEqualsSequential(matrix(m, k, "dense", seed++, true), matrix(k, n, "transposed", seed++, true), [m, n]);
    }
    const tiny = view(new Float32Array([1e-30, -3e-25, 2e-38, 1e30, 3e38, -3e38, 1, 0]), [2, 4], [4, 1]);
    const other = view(new Float32Array([1e-20, 2e-15, -1e-10, 3e20, 1e10, 1e10, -2, 5, 7, 1e-30, -0, 0]), [4, 3], [3, 1]);
    expectWasmEqualsSequential(tiny, other, [2, 3]);
  });

  it("batched: broadcast B (one segment), broadcast A, per-batch operands", () => {
    const k = 33;
    const n = 17;
    const m = 9;
    const aData = values(3 * m * k, 4000);
    const bData = values(3 * k * n, 4001);
    const aBatched = view(aData, [3, m, k], [m * k, k, 1]);
    const bBatched = view(bData, [3, k, n], [k * n, n, 1]);
    const bShared = view(bData, [3, k, n], [0, n, 1]);
    const aShared = view(aData, [3, m, k], [0, k, 1]);
    expectWasmEqualsSequential(aBatched, bShared, [3, m, n]);
    expectWasmEqualsSequential(aShared, bBatched, [3, m, n]);
    expectWasmEqualsSequential(aBatched, bBatched, [3, m, n]);
    // A batch of transposed matrices, and a batch dim of size 0.
    expectWasmEqualsSequential(view(aData, [3, m, k], [m * k, 1, m]), view(bData, [3, k, n], [k * n, 1, k]), [3, m, n]);
    expectWasmEqualsSequential(view(aData, [0, m, k], [m * k, k, 1]), view(bData, [0, k, n], [0, n, 1]), [0, m, n]);
  });

  it("K = 0 gives zeros; a zero-row or zero-column output writes nothing", () => {
    const out = output([3, 4]);
    out.storage.data.fill(7);
    expect(wasmMatmul([view(new Float32Array(0), [3, 0], [0, 1]), view(new Float32Array(0), [0, 4], [4, 1])], out, true)).toBe(true);
    expect([...out.storage.data]).toEqual(new Array(12).fill(0));
    expectWasmEqualsSequential(matrix(0, 5, "dense", 1), matrix(5, 3, "dense", 2), [0, 3]);
    expectWasmEqualsSequential(matrix(3, 5, "dense", 1), view(new Float32Array(0), [5, 0], [0, 1]), [3, 0]);
  });

  it("matmulKernel (the registered deterministic kernel) gives the same bits for any size", () => {
    for (const [m, k, n] of [[1, 1, 1], [2, 3, 4], [8, 64, 8], [33, 100, 17]] as const) {
      const a = matrix(m, k, "dense", m + k);
      const b = matrix(k, n, "transposed", k + n);
      const want = output([m, n]);
      sequentialMatmul([a, b], [want], {});
      const got = output([m, n]);
      matmulKernel([a, b], [got], {});
      expect(firstDifference(got, want)).toBe(-1);
    }
  });
});

/** |got − exact| ≤ 1e-5 · Σ|a·b| for every element, the exact value computed in double. */
function expectClose(a: CpuView, b: CpuView, got: CpuView): void {
  const [m, k] = a.shape.slice(-2) as [number, number];
  const n = b.shape[b.shape.length - 1]!;
  const x = a.storage.data;
  const y = b.storage.data;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let exact = 0;
      let scale = 0;
      for (let p = 0; p < k; p++) {
        const product = x[a.offset + i * a.strides[0]! + p * a.strides[1]!]! * y[b.offset + p * b.strides[0]! + j * b.strides[1]!]!;
        exact += product;
        scale += Math.abs(product);
      }
      const value = got.storage.data[i * n + j]!;
      expect(Math.abs(value - exact), `(${i}, ${j}) of ${m}×${k}×${n}`).toBeLessThanOrEqual(1e-5 * scale + 1e-30);
    }
  }
}

describe.runIf(wasmAvailable())("the WASM fast matmul", () => {
  it("is within 1e-5 of the exact product (relative to Σ|a·b|) on every path", () => {
    let seed = 5000;
    const layouts: Layout[] = ["dense", "transposed", "strided"];
    for (const la of layouts) {
      for (const lb of layouts) {
        for (const [m, k, n] of [[1, 1, 1], [1, 7, 9], [1, 257, 33], [1, 64, 100], [1, 4099, 67], [2, 33, 17], [17, 300, 31], [64, 100, 64]] as const) {
          const a = matrix(m, k, la, seed++);
          const b = matrix(k, n, lb, seed++);
          const got = output([m, n]);
          fastMatmulKernel([a, b], [got], {});
          expectClose(a, b, got);
        }
      }
    }
  }, 60_000);

  it("one row takes a GEMV that rounds differently from the rows of a batch", () => {
    const k = 768;
    const a = matrix(16, k, "dense", 1);
    const w = matrix(k, 64, "transposed", 2);
    const full = output([16, 64]);
    fastMatmulKernel([a, w], [full], {});
    let differing = 0;
    for (let i = 0; i < 16; i++) {
      const row = output([1, 64]);
      fastMatmulKernel([view(a.storage.data as Float32Array, [1, k], [k, 1], i * k), w], [row], {});
      for (let j = 0; j < 64; j++) if (row.storage.data[j] !== full.storage.data[i * 64 + j]) differing++;
    }
    expect(differing).toBeGreaterThan(0);
  });
});

describe("the JS fast matmul (the fallback without WebAssembly SIMD)", () => {
  it("is within 1e-5 of the exact product (relative to Σ|a·b|), one row and several", () => {
    let seed = 6000;
    for (const [m, k, n] of [[1, 300, 17], [7, 600, 9], [16, 33, 64]] as const) {
      const a = matrix(m, k, "dense", seed++);
      const b = matrix(k, n, "transposed", seed++);
      const got = output([m, n]);
      const job: GemmJob = {
        a: a.storage.data as Float32Array, b: b.storage.data as Float32Array, c: got.storage.data as Float32Array,
        aBases: new Int32Array([0]), bBases: new Int32Array([0]), m, k, n, aRow: k, aCol: 1, bRow: 1, bCol: k,
      };
      if (m === 1) gemvColumns(job, 0, n);
      else gemmRows(job, 0, m);
      expectClose(a, b, got);
    }
  });
});
