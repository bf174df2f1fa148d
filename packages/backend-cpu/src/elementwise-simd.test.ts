// The WebAssembly elementwise loops against the JS kernels they replace, bit for bit: random
// values over the whole float32 range plus quiet NaNs with payloads and both signs, ±0, ±Inf,
// subnormals and repeated values (for the comparisons), in dense, offset, strided, transposed
// and broadcast layouts of odd lengths. Signalling NaNs are left out: the JS loops themselves
// quiet them or not depending on V8's tier, so their bits were never defined. So is the payload
// of an arithmetic op on two NaNs: V8's optimized code may commute x + y, and the JS kernel gave
// either operand's payload in one process, so where both operands are NaN only NaN is required.
import type { BinaryOp, DType, UnaryOp } from "@lockstep/core";
import { afterEach, describe, expect, it } from "vitest";
import { detDiv, detExp } from "./detmath.js";
import { binaryKernel, copyKernel, unaryKernel, whereKernel } from "./elementwise.js";
import { catKernel } from "./indexing.js";
import { setSimdElementwise, simdScaledAdd } from "./elementwise-simd.js";
import { cpuBackend, gatherElements, type CpuView } from "./storage.js";

let seed = 12345;
function next(): number {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 2 ** 32;
}

/** Bit patterns of float32 values, specials included. */
function specialBits(): number {
  const r = next();
  const sign = next() < 0.5 ? 0x80000000 : 0;
  if (r < 0.08) return (0x7fc00000 | Math.floor(next() * 0x3fffff) | sign) >>> 0; // quiet NaN, payload
  if (r < 0.14) return sign; // ±0
  if (r < 0.2) return (0x7f800000 | sign) >>> 0; // ±Inf
  if (r < 0.3) return (Math.floor(next() * 0x7fffff) + 1) | sign; // subnormal
  if (r < 0.35) return (0x3f800000 | sign) >>> 0; // ±1
  return (Math.floor(next() * 0x7f000000) | sign) >>> 0; // any finite magnitude
}

function storageOf(dtype: DType, length: number, fill: (i: number) => number) {
  const storage = cpuBackend.allocate(dtype, length);
  if (dtype === "float32") {
    const bits = new Uint32Array(storage.data.buffer, storage.data.byteOffset, length);
    for (let i = 0; i < length; i++) bits[i] = fill(i);
  } else {
    for (let i = 0; i < length; i++) storage.data[i] = fill(i);
  }
  return storage;
}

function randomStorage(dtype: DType, length: number, pool?: Uint32Array) {
  if (dtype === "float32") return storageOf(dtype, length, () => (pool !== undefined && next() < 0.3 ? pool[Math.floor(next() * pool.length)]! : specialBits()));
  if (dtype === "bool") return storageOf(dtype, length, () => (next() < 0.5 ? 1 : 0));
  if (dtype === "int32") return storageOf(dtype, length, () => Math.floor((next() - 0.5) * 2 ** 32));
  return storageOf(dtype, length, () => (next() - 0.5) * 2 ** Math.floor(next() * 60 - 30));
}

type Layout = "dense" | "offset" | "strided" | "transposed" | "scalar" | "rows";
const LAYOUTS: Layout[] = ["dense", "offset", "strided", "transposed", "scalar", "rows"];

/** A [r, c] view of fresh random storage in the given layout. */
function view(dtype: DType, r: number, c: number, layout: Layout, pool?: Uint32Array): CpuView {
  const n = r * c;
  const make = (length: number) => randomStorage(dtype, length, pool);
  switch (layout) {
    case "dense":
      return { storage: make(n), dtype, shape: [r, c], strides: [c, 1], offset: 0 };
    case "offset":
      return { storage: make(n + 3), dtype, shape: [r, c], strides: [c, 1], offset: 3 };
    case "strided":
      return { storage: make(2 * n + 1), dtype, shape: [r, c], strides: [2 * c, 2], offset: 1 };
    case "transposed":
      return { storage: make(n), dtype, shape: [r, c], strides: [1, r], offset: 0 };
    case "scalar":
      return { storage: make(2), dtype, shape: [r, c], strides: [0, 0], offset: 1 };
    case "rows":
      return { storage: make(c), dtype, shape: [r, c], strides: [0, 1], offset: 0 };
  }
}

function output(dtype: DType, r: number, c: number): CpuView {
  return { storage: cpuBackend.allocate(dtype, r * c), dtype, shape: [r, c], strides: [c, 1], offset: 0 };
}

/** Runs `kernel` with the WebAssembly loops on and off; returns both outputs' bytes. */
function both(outDType: DType, r: number, c: number, run: (out: CpuView) => void): [Uint8Array, Uint8Array] {
  const results: Uint8Array[] = [];
  for (const simd of [true, false]) {
    setSimdElementwise(simd);
    const out = output(outDType, r, c);
    run(out);
    results.push(new Uint8Array(out.storage.data.buffer, out.storage.data.byteOffset, out.storage.data.byteLength));
  }
  return [results[0]!, results[1]!];
}

/** Index of the first differing element (by `size` bytes), for the failure message. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

const ARITHMETIC = new Set<BinaryOp>(["add", "sub", "mul", "div", "maximum", "pow"]);

/**
 * For a float32 arithmetic op, checks that both results are NaN where both operands are, then
 * writes one canonical NaN into both, so the byte comparison that follows ignores those payloads.
 */
function equateTwoNaNResults(op: BinaryOp, a: CpuView, b: CpuView, simd: Uint8Array, js: Uint8Array): void {
  if (a.dtype !== "float32" || !ARITHMETIC.has(op)) return;
  const x = gatherElements(a);
  const y = gatherElements(b);
  const rs = new Float32Array(simd.buffer, simd.byteOffset, x.length);
  const rj = new Float32Array(js.buffer, js.byteOffset, x.length);
  for (let i = 0; i < x.length; i++) {
    if (Number.isNaN(x[i]!) && Number.isNaN(y[i]!)) {
      expect(Number.isNaN(rs[i]!) && Number.isNaN(rj[i]!), `${op}: NaN ∘ NaN at ${i}`).toBe(true);
      rs[i] = NaN;
      rj[i] = NaN;
    }
  }
}

const SHAPES: [number, number][] = [[1, 1], [1, 3], [3, 5], [4, 4], [1, 17], [7, 33], [13, 77]];
const BINARY: BinaryOp[] = ["add", "sub", "mul", "div", "reluBackward", "eq", "ne", "lt", "le", "gt", "ge", "maximum", "pow"];
const COMPARISONS = new Set<BinaryOp>(["eq", "ne", "lt", "le", "gt", "ge"]);
const DTYPES: DType[] = ["float32", "float64", "int32", "bool"];

afterEach(() => setSimdElementwise(true));

describe("WebAssembly elementwise loops", () => {
  it("give the JS kernels' bits for every binary op, layout pair and dtype", () => {
    for (const op of BINARY) {
      const kernel = binaryKernel(op);
      for (const dtype of DTYPES) {
        for (const [r, c] of SHAPES) {
          for (const la of LAYOUTS) {
            for (const lb of LAYOUTS) {
              const a = view(dtype, r, c, la);
              // Half of b's values repeat a's, so equal operands meet in the comparisons.
              const pool = dtype === "float32" ? new Uint32Array(a.storage.data.buffer, a.storage.data.byteOffset, a.storage.length) : undefined;
              const b = view(dtype, r, c, lb, pool);
              const outDType = COMPARISONS.has(op) ? "bool" : dtype;
              const [simd, js] = both(outDType, r, c, (out) => kernel([a, b], [out], {}));
              equateTwoNaNResults(op, a, b, simd, js);
              expect(firstDifference(simd, js), `${op} ${dtype} [${r},${c}] ${la} ∘ ${lb}`).toBe(-1);
            }
          }
        }
      }
    }
  });

  it("give the JS kernels' bits for relu, neg, abs and sqrt", () => {
    const ops: UnaryOp[] = ["relu", "neg", "abs", "sqrt", "exp"];
    for (const op of ops) {
      const kernel = unaryKernel(op);
      for (const dtype of ["float32", "float64", "int32"] as DType[]) {
        for (const [r, c] of SHAPES) {
          for (const layout of LAYOUTS) {
            const x = view(dtype, r, c, layout);
            const outDType = op === "sqrt" || op === "exp" ? (dtype === "int32" ? "float32" : dtype) : dtype;
            if (outDType !== dtype) continue; // core casts ints to float first
            const [simd, js] = both(outDType, r, c, (out) => kernel([x], [out], {}));
            expect(firstDifference(simd, js), `${op} ${dtype} [${r},${c}] ${layout}`).toBe(-1);
          }
        }
      }
    }
  });

  it("give the JS kernel's bits for where on float32 and int32 (and leave float64 to JS)", () => {
    for (const dtype of ["float32", "int32", "float64"] as DType[]) {
      for (const [r, c] of SHAPES) {
        for (const lc of ["dense", "strided", "rows", "scalar"] as Layout[]) {
          for (const la of LAYOUTS) {
            for (const lb of ["dense", "scalar", "transposed"] as Layout[]) {
              const condition = view("bool", r, c, lc);
              const a = view(dtype, r, c, la);
              const b = view(dtype, r, c, lb);
              const [simd, js] = both(dtype, r, c, (out) => whereKernel([condition, a, b], [out], {}));
              expect(firstDifference(simd, js), `where ${dtype} [${r},${c}] ${lc} ${la} ${lb}`).toBe(-1);
            }
          }
        }
      }
    }
  });

  it("treat any non-zero condition byte as true, like the JS kernel", () => {
    const n = 37;
    const condition: CpuView = { storage: storageOf("bool", n, (i) => (i % 3 === 0 ? 0 : i)), dtype: "bool", shape: [1, n], strides: [n, 1], offset: 0 };
    const a = view("float32", 1, n, "dense");
    const b = view("float32", 1, n, "dense");
    const [simd, js] = both("float32", 1, n, (out) => whereKernel([condition, a, b], [out], {}));
    expect(firstDifference(simd, js)).toBe(-1);
  });

  it("handle empty tensors", () => {
    const a: CpuView = { storage: cpuBackend.allocate("float32", 0), dtype: "float32", shape: [0, 3], strides: [3, 1], offset: 0 };
    const out: CpuView = { storage: cpuBackend.allocate("float32", 0), dtype: "float32", shape: [0, 3], strides: [3, 1], offset: 0 };
    binaryKernel("add")([a, a], [out], {});
    unaryKernel("relu")([a], [out], {});
    expect(out.storage.data.length).toBe(0);
  });
});

describe("the deterministic division in WebAssembly", () => {
  const kernel = binaryKernel("div", detDiv);

  /** Runs x ÷ y elementwise (dense [1, n]) with the WebAssembly loop and with detDiv in JS. */
  function divideBoth(xs: Float32Array, ys: Float32Array): [Uint8Array, Uint8Array] {
    const a: CpuView = { storage: storageOf("float32", xs.length, (i) => new Uint32Array(xs.buffer)[i]!), dtype: "float32", shape: [1, xs.length], strides: [xs.length, 1], offset: 0 };
    const b: CpuView = { storage: storageOf("float32", ys.length, (i) => new Uint32Array(ys.buffer)[i]!), dtype: "float32", shape: [1, ys.length], strides: [ys.length, 1], offset: 0 };
    const [simd, js] = both("float32", 1, xs.length, (out) => kernel([a, b], [out], {}));
    equateTwoNaNResults("div", a, b, simd, js);
    return [simd, js];
  }

  it("gives detDiv's bits in every layout, specials and subnormals included", () => {
    for (const [r, c] of SHAPES) {
      for (const la of LAYOUTS) {
        for (const lb of LAYOUTS) {
          const a = view("float32", r, c, la);
          const b = view("float32", r, c, lb);
          const [simd, js] = both("float32", r, c, (out) => kernel([a, b], [out], {}));
          equateTwoNaNResults("div", a, b, simd, js);
          expect(firstDifference(simd, js), `[${r},${c}] ${la} ÷ ${lb}`).toBe(-1);
        }
      }
    }
  });

  it("gives detDiv's bits for quotients around the smallest normal float and below 2^-100 (flushed, 24-bit rounding)", () => {
    const xs: number[] = [];
    const ys: number[] = [];
    // x ≈ y·2^-126 nudged by a few ulps: exact quotients just above and below the smallest
    // normal float, where rounding to the subnormal grid and to 24 bits disagree; scaled by 2^e
    // so the operands range from tiny to large.
    for (let y = 1; y <= 99; y += 2) {
      for (const e of [0, 20, 60, 100]) {
        const base = Math.fround(y * 2 ** (e - 126));
        const ulp = 2 ** (Math.floor(Math.log2(base)) - 23);
        for (let k = -12; k <= 12; k++) {
          xs.push(Math.fround(base + k * ulp));
          ys.push(Math.fround(y * 2 ** e));
        }
      }
    }
    // Random quotients between 2^-140 and 2^-90.
    for (let i = 0; i < 20000; i++) {
      const y = Math.fround((1 + next()) * 2 ** Math.floor(next() * 60));
      xs.push(Math.fround(y * (1 + next()) * 2 ** (-140 + Math.floor(next() * 50))));
      ys.push(next() < 0.5 ? y : -y);
    }
    const [simd, js] = divideBoth(Float32Array.from(xs), Float32Array.from(ys));
    const i = firstDifference(simd, js);
    expect(i, i < 0 ? "" : `${xs[i >> 2]} ÷ ${ys[i >> 2]}`).toBe(-1);
  });
});

describe("the deterministic exp in WebAssembly", () => {
  const kernel = unaryKernel("exp", detExp);

  function expBoth(xs: Float32Array): [Uint8Array, Uint8Array] {
    const a: CpuView = { storage: storageOf("float32", xs.length, (i) => new Uint32Array(xs.buffer)[i]!), dtype: "float32", shape: [xs.length], strides: [1], offset: 0 };
    return both("float32", 1, xs.length, (out) => kernel([a], [out], {}));
  }

  it("gives detExp's bits in every layout, specials and subnormals included", () => {
    for (const [r, c] of SHAPES) {
      for (const layout of LAYOUTS) {
        const x = view("float32", r, c, layout);
        const [simd, js] = both("float32", r, c, (out) => kernel([x], [out], {}));
        expect(firstDifference(simd, js), `[${r},${c}] ${layout}`).toBe(-1);
      }
    }
  });

  it("gives detExp's bits on 10^6 values over its whole range and on every float near its edges", () => {
    const xs: number[] = [];
    for (let i = 0; i < 1_000_000; i++) xs.push(Math.fround((next() - 0.5) * 200));
    // Every float within 4096 ulps of the overflow and underflow limits (n = 128 needs two
    // steps; results near the smallest normal are flushed), of the rounding edges of n around
    // ±0.5·ln 2, and of 0.
    const bits = new Uint32Array(1);
    const asFloat = new Float32Array(bits.buffer);
    for (const edge of [88.72283935546875, -87.33654022216797, 88.0, -86.5, 0.34657359, -0.34657359, 1e-30, -1e-30]) {
      asFloat[0] = edge;
      const center = bits[0]!;
      for (let k = -4096; k <= 4096; k++) {
        bits[0] = center + k;
        xs.push(asFloat[0]!);
      }
    }
    const [simd, js] = expBoth(Float32Array.from(xs));
    const i = firstDifference(simd, js);
    expect(i, i < 0 ? "" : `exp(${xs[i >> 2]})`).toBe(-1);
  });
});

describe("WebAssembly transposed copies", () => {
  it("give the JS copy's bits for transposes of every size around the 4×4 blocks, offset and sliced", () => {
    for (const rows of [1, 3, 4, 5, 8, 13, 33]) {
      for (const cols of [1, 4, 6, 7, 16, 31]) {
        for (const [extra, offset] of [[0, 0], [3, 5]]) {
          // Stored as cols × (rows + extra): the view [rows, cols] with strides [1, rows + extra].
          const ld = rows + extra;
          const storage = randomStorage("float32", cols * ld + offset);
          const x: CpuView = { storage, dtype: "float32", shape: [rows, cols], strides: [1, ld], offset };
          const [simd, js] = both("float32", rows, cols, (out) => copyKernel([x], [out], {}));
          expect(firstDifference(simd, js), `[${rows}, ${cols}] ld ${ld} offset ${offset}`).toBe(-1);
          const expected = new Float32Array(rows * cols);
          for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) expected[r * cols + c] = storage.data[offset + r + c * ld]!;
          expect(firstDifference(simd, new Uint8Array(expected.buffer)), `[${rows}, ${cols}] against the definition`).toBe(-1);
        }
      }
    }
  });

  it("leave batched transposes (three dims after merging) to the JS copy", () => {
    const storage = randomStorage("float32", 2 * 5 * 6);
    const x: CpuView = { storage, dtype: "float32", shape: [2, 5, 6], strides: [30, 1, 5], offset: 0 };
    const results: Uint8Array[] = [];
    for (const simd of [true, false]) {
      setSimdElementwise(simd);
      const out: CpuView = { storage: cpuBackend.allocate("float32", 60), dtype: "float32", shape: [2, 5, 6], strides: [30, 6, 1], offset: 0 };
      copyKernel([x], [out], {});
      results.push(new Uint8Array(out.storage.data.buffer.slice(0)));
    }
    expect(firstDifference(results[0]!, results[1]!)).toBe(-1);
  });
});

describe("WebAssembly copies of short runs (a convolution's columns)", () => {
  it("give the JS copy's bits and the definition's, NaN payloads included, for runs of every length", () => {
    // Windows of a [2, 3, h, w] input as [N, C, kh, kw, oh, ow] (stride s), ordered like conv's
    // columns; big enough that both storages come from the arena, where the module reads and
    // writes them in place. Runs (ow) of 32, 45, 30, 21 and 39 floats: whole vectors and tails of
    // 1, 2 and 3; then a small input whose storages are not in the arena (the JS walk).
    for (const [h, w, kernel, stride] of [[34, 34, 3, 1], [45, 47, 3, 1], [30, 31, 2, 1], [40, 43, 3, 2], [36, 39, 1, 1], [12, 9, 2, 1]] as const) {
      const storage = randomStorage("float32", 2 * 3 * h * w + 5);
      const oh = Math.floor((h - kernel) / stride) + 1;
      const ow = Math.floor((w - kernel) / stride) + 1;
      const shape = [2, 3, kernel, kernel, oh, ow];
      const strides = [3 * h * w, h * w, w, 1, stride * w, stride];
      const x: CpuView = { storage, dtype: "float32", shape, strides, offset: 5 };
      const n = shape.reduce((a, b) => a * b, 1);
      const [simd, js] = both("float32", 1, n, (out) => copyKernel([x], [{ ...out, shape, strides: shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1)) }], {}));
      expect(firstDifference(simd, js), `${h}×${w} k${kernel} s${stride}`).toBe(-1);
      expect(firstDifference(simd, new Uint8Array(gatherElements(x).slice().buffer)), "against the strided walk").toBe(-1);
    }
  });

  it("leave runs of 256 floats or more to the JS walk (set), with the same bits", () => {
    // A run of 300 floats is long enough for set(): the module is not asked, and the bits are the same.
    const storage = randomStorage("float32", 4 * 2 * 300 + 7);
    const x: CpuView = { storage, dtype: "float32", shape: [4, 300], strides: [600, 1], offset: 7 };
    const [simd, js] = both("float32", 4, 300, (out) => copyKernel([x], [out], {}));
    expect(firstDifference(simd, js)).toBe(-1);
  });
});

describe("WebAssembly cat of short blocks (constant padding of an image's rows)", () => {
  it("gives the JS cat's bits and the definition's, blocks of 1 to 33 floats, inputs dense or strided", () => {
    // [rows, w] pieces catted along the last dim, as pad() builds a padded row: big enough that
    // the storages are in the arena, where the module copies the blocks in place (the strided
    // piece is gathered into a plain array first, which the JS loop copies).
    const rows = 5000;
    for (const widths of [[1, 32, 1], [3, 7, 2, 5], [33, 1], [4, 8]]) {
      const total = widths.reduce((a, b) => a + b, 0);
      const inputs: CpuView[] = widths.map((w, i) =>
        i === 1
          ? // A strided piece (every other row of a taller storage): cat gathers it first.
            { storage: randomStorage("float32", 2 * rows * w), dtype: "float32", shape: [rows, w], strides: [2 * w, 1], offset: 0 }
          : { storage: randomStorage("float32", rows * w + 3), dtype: "float32", shape: [rows, w], strides: [w, 1], offset: 3 },
      );
      const [simd, js] = both("float32", rows, total, (out) => catKernel(inputs, [out], { dim: 1 }));
      expect(firstDifference(simd, js), `widths ${widths}`).toBe(-1);
      const expected = new Float32Array(rows * total);
      let column = 0;
      for (const x of inputs) {
        const w = x.shape[1]!;
        for (let r = 0; r < rows; r++) for (let j = 0; j < w; j++) expected[r * total + column + j] = x.storage.data[x.offset + r * x.strides[0]! + j]!;
        column += w;
      }
      expect(firstDifference(simd, new Uint8Array(expected.buffer)), `widths ${widths} against the definition`).toBe(-1);
    }
  });
});

describe("WebAssembly elementwise loops over several chunks", () => {
  it("give the JS kernels' bits past the 16384-element chunk, in every layout", () => {
    const [r, c] = [3, 11_001];
    for (const la of LAYOUTS) {
      for (const lb of ["dense", "scalar", "transposed", "rows"] as Layout[]) {
        const a = view("float32", r, c, la);
        const b = view("float32", r, c, lb);
        for (const op of ["add", "div", "lt"] as BinaryOp[]) {
          const [simd, js] = both(op === "lt" ? "bool" : "float32", r, c, (out) => binaryKernel(op)([a, b], [out], {}));
          equateTwoNaNResults(op, a, b, simd, js);
          expect(firstDifference(simd, js), `${op} ${la} ∘ ${lb}`).toBe(-1);
        }
        const [simd, js] = both("float32", r, c, (out) => unaryKernel("relu")([a], [out], {}));
        expect(firstDifference(simd, js), `relu ${la}`).toBe(-1);
        const condition = view("bool", r, c, lb);
        const [ws, wj] = both("float32", r, c, (out) => whereKernel([condition, a, b], [out], {}));
        expect(firstDifference(ws, wj), `where ${lb} ${la} ${lb}`).toBe(-1);
      }
    }
  });
});

describe("the WebAssembly SGD update (simdScaledAdd)", () => {
  it("gives the JS loop's bits, fround(p + fround(g·s)), on storages of every size (NaN only where a NaN goes in)", () => {
    for (const n of [1, 15, 16, 17, 1000, 4096 + 3, 16384 + 16 * 9 + 5, 40000]) {
      // Float32 scales, as sgdCoefficients gives them for float32 parameters.
      for (const scale of [-0.01, 3.5e-3, -1e30].map(Math.fround)) {
        const p = storageOf("float32", n, specialBits).data as Float32Array;
        const g = storageOf("float32", n, specialBits).data as Float32Array;
        const want = new Float32Array(n);
        for (let i = 0; i < n; i++) want[i] = Math.fround(p[i]! + Math.fround(g[i]! * scale));
        const got = p.slice();
        const param = cpuBackend.upload(got, "float32").data as Float32Array;
        expect(simdScaledAdd(param, g, scale)).toBe(true);
        const wantBits = new Uint32Array(want.buffer);
        const gotBits = new Uint32Array(param.slice().buffer);
        for (let i = 0; i < n; i++) {
          if (Number.isNaN(want[i]!)) expect(Number.isNaN(param[i]!)).toBe(true);
          else if (gotBits[i] !== wantBits[i]) expect([i, gotBits[i]]).toEqual([i, wantBits[i]]);
        }
      }
    }
  });
});
