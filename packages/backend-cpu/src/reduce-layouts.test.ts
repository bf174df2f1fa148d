// The float32 sums' layout fast paths (contiguous rows, columns summed side by side) against the
// general loop over offset tables, bit for bit: every dims choice of 1- to 3-d inputs, dense,
// offset, transposed, strided and broadcast views, lengths around the block size, with NaN, ±0,
// ±Inf and subnormals among the values; both the deterministic tree and the fast double sum. A
// NaN result compares as NaN, not by its bits: the general loop's own NaN sign (Inf − Inf) changes
// with V8's tier, so those bits were never defined.
import { describe, expect, it } from "vitest";
import { SUM_BLOCK, reduceKernel, treeSum } from "./reduce.js";
import { cpuBackend, elementOffsets, type CpuView } from "./storage.js";

let seed = 99;
function next(): number {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 2 ** 32;
}

function value(): number {
  const r = next();
  if (r < 0.01) return NaN;
  if (r < 0.02) return next() < 0.5 ? Infinity : -Infinity;
  if (r < 0.05) return next() < 0.5 ? 0 : -0;
  if (r < 0.08) return (next() - 0.5) * 2 ** -130;
  return (next() - 0.5) * 2 ** Math.floor(next() * 40 - 20);
}

/** The general path's answer: offset tables, treeSum or an in-order double sum per output. */
function reference(x: CpuView, dims: number[], tree: boolean): Float32Array {
  const keptShape = x.shape.map((s, i) => (dims.includes(i) ? 1 : s));
  const reducedShape = x.shape.map((s, i) => (dims.includes(i) ? s : 1));
  const bases = elementOffsets(keptShape, x.strides, x.offset);
  const reduced = elementOffsets(reducedShape, x.strides, 0);
  const out = new Float32Array(bases.length);
  for (let o = 0; o < bases.length; o++) {
    if (tree) out[o] = treeSum(x.storage.data, bases[o]!, reduced);
    else {
      let acc = 0;
      for (let r = 0; r < reduced.length; r++) acc += x.storage.data[bases[o]! + reduced[r]!]!;
      out[o] = acc;
    }
  }
  return out;
}

/** Bit patterns, every NaN written as "NaN". */
function bits(values: Float32Array): (number | string)[] {
  const words = new Uint32Array(values.buffer, values.byteOffset, values.length);
  return Array.from(values, (v, i) => (Number.isNaN(v) ? "NaN" : words[i]!));
}

function layouts(shape: number[]): CpuView[] {
  const n = shape.reduce((a, b) => a * b, 1);
  const storage = (length: number) => {
    const s = cpuBackend.allocate("float32", length);
    for (let i = 0; i < length; i++) s.data[i] = value();
    return s;
  };
  const contiguous = (sh: number[]) => {
    const st = new Array<number>(sh.length);
    for (let i = sh.length - 1, acc = 1; i >= 0; i--) (st[i] = acc), (acc *= sh[i]!);
    return st;
  };
  const views: CpuView[] = [
    { storage: storage(n), dtype: "float32", shape, strides: contiguous(shape), offset: 0 },
    { storage: storage(n + 5), dtype: "float32", shape, strides: contiguous(shape), offset: 5 },
    { storage: storage(2 * n + 1), dtype: "float32", shape, strides: contiguous(shape).map((s) => 2 * s), offset: 1 },
  ];
  // Reversed dims (a transpose) and a broadcast first dim.
  const reversed = [...shape].reverse();
  views.push({ storage: storage(n), dtype: "float32", shape, strides: contiguous(reversed).reverse(), offset: 0 });
  const rest = shape.slice(1);
  views.push({ storage: storage(rest.reduce((a, b) => a * b, 1)), dtype: "float32", shape, strides: [0, ...contiguous(rest)], offset: 0 });
  return views;
}

function dimSets(ndim: number): number[][] {
  const sets: number[][] = [];
  for (let mask = 0; mask < 1 << ndim; mask++) sets.push(Array.from({ length: ndim }, (_, d) => d).filter((d) => mask & (1 << d)));
  return sets;
}

describe("float32 sum layout fast paths", () => {
  it("equal the general loop bit for bit", () => {
    const B = SUM_BLOCK;
    const shapes = [[1], [7], [B], [B + 1], [3 * B + 5], [4, 5], [B + 3, 3], [3, 2 * B + 1], [9 * B, 2], [2, 3, 4], [3, B + 1, 5], [5, 3 * B + 7], [6, 2, 9 * B + 1], [0, 3], [3, 0]];
    for (const shape of shapes) {
      for (const x of layouts(shape)) {
        for (const dims of dimSets(shape.length)) {
          for (const tree of [true, false]) {
            const expected = reference(x, dims, tree);
            const out: CpuView = { storage: cpuBackend.allocate("float32", expected.length), dtype: "float32", shape: [expected.length], strides: [1], offset: 0 };
            reduceKernel("sum", tree)([x], [out], { dims, keepdim: false } as never);
            expect(bits(out.storage.data as Float32Array), `[${shape}] strides [${x.strides}] dims [${dims}] tree ${tree}`).toEqual(bits(expected));
          }
        }
      }
    }
  });

  it("sum long columns in the tree's order (9 levels of pending blocks)", () => {
    const rows = 300 * SUM_BLOCK + 7;
    const x: CpuView = { storage: cpuBackend.allocate("float32", rows * 6), dtype: "float32", shape: [rows, 6], strides: [6, 1], offset: 0 };
    for (let i = 0; i < rows * 6; i++) x.storage.data[i] = value();
    const out: CpuView = { storage: cpuBackend.allocate("float32", 6), dtype: "float32", shape: [6], strides: [1], offset: 0 };
    for (const tree of [true, false]) {
      reduceKernel("sum", tree)([x], [out], { dims: [0], keepdim: false } as never);
      expect(bits(out.storage.data as Float32Array)).toEqual(bits(reference(x, [0], tree)));
    }
  });
});
