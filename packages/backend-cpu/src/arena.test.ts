import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { BinaryOp, UnaryOp } from "@lockstep/core";
import { afterEach, describe, expect, it } from "vitest";
import { ARENA_MAX_BYTES, arenaArray, arenaBuffer, arenaStats, inArena, setArenaCap } from "./arena.js";
import { simdBinary, simdScaledAdd, simdTransposeCopy, simdUnary, simdWhere } from "./elementwise-simd.js";
import { sequentialMatmul, wasmMatmul } from "./matmul.js";
import { clearStoragePool, cpuBackend, type CpuView } from "./storage.js";
import { wasmAvailable } from "./wasm/instance.js";

// The arena (arena.ts) and the kernels that use its storages in place. Each kernel test runs the
// same numbers twice — operands and output in the arena, and in plain arrays, where the kernels
// copy in and out as without an arena — and wants the same bits, with guard elements right after
// the output untouched (the kernels' loops write whole vectors and tiles).

setFlagsFromString("--expose_gc");
const gc = runInNewContext("gc") as () => void;

const GUARD = 37;
const SENTINEL = 0x7fa5a5a5; // a NaN payload no kernel makes

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function values(count: number, seed: number): Float32Array {
  const next = random(seed);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = next() < 0.05 ? 0 : (next() * 2 - 1) * 2 ** Math.floor(next() * 8 - 4);
  return out;
}

/** The same values in an arena array, or in a plain one, with `extra` guard elements after them. */
function place(data: Float32Array, arena: boolean, extra = 0): Float32Array {
  const out = arena ? arenaArray(Float32Array, data.length + extra)! : new Float32Array(data.length + extra);
  expect(inArena(out)).toBe(arena);
  out.set(data);
  new Uint32Array(out.buffer, out.byteOffset + 4 * data.length, extra).fill(SENTINEL);
  return out;
}

function view(data: Float32Array | Uint8Array, shape: number[], strides: number[], offset = 0): CpuView {
  const dtype = data instanceof Float32Array ? "float32" : "bool";
  return { storage: { device: "cpu", dtype, length: data.length, data }, dtype, shape, strides, offset };
}

const bitsOf = (a: Float32Array, n = a.length) => Array.from(new Uint32Array(a.slice(0, n).buffer));
const guardOf = (a: Float32Array, n: number) => new Uint32Array(a.slice(n).buffer);

// LOCKSTEP_ARENA=0 runs the rest of the suite without an arena; these tests then have nothing to test.
const hasArena = arenaStats() !== undefined;

afterEach(() => {
  setArenaCap(ARENA_MAX_BYTES);
});

describe.runIf(hasArena)("the tensor arena", () => {
  it("holds the storages of 16 KiB and more, of every dtype; smaller ones are plain arrays", () => {
    for (const dtype of ["float32", "float64", "int32", "bool"] as const) {
      const big = cpuBackend.allocate(dtype, 20000);
      expect(inArena(big.data)).toBe(true);
      expect(big.data.length).toBe(20000);
      expect(big.data.byteOffset % 64).toBe(0);
      expect(inArena(cpuBackend.allocate(dtype, 100).data)).toBe(false);
    }
  });

  it("keeps old views valid when it grows", () => {
    const first = cpuBackend.upload(values(30000, 1), "float32").data as Float32Array;
    const before = arenaStats()!.memoryBytes;
    const keep: Float32Array[] = [];
    // A few times the memory's size, in blocks no free list holds.
    for (let i = 0; keep.length < 400 && arenaStats()!.memoryBytes <= 3 * before; i++) keep.push(arenaArray(Float32Array, 2 ** 18 + 16 * i)!);
    expect(arenaStats()!.memoryBytes).toBeGreaterThan(3 * before);
    expect(first.buffer).not.toBe(arenaBuffer());
    expect(bitsOf(first)).toEqual(bitsOf(values(30000, 1)));
    // The old view and a view made on the grown memory are the same bytes.
    first[7] = 1234.5;
    expect(new Float32Array(arenaBuffer(), first.byteOffset, first.length)[7]).toBe(1234.5);
    keep[keep.length - 1]!.fill(3);
    expect(first[8]).toBe(values(30000, 1)[8]);
  });

  it("reuses a block once its array is garbage (dropped by the pool or never released)", async () => {
    const length = 54321;
    let array: Float32Array | undefined = cpuBackend.allocate("float32", length).data as Float32Array;
    const offset = array.byteOffset;
    const freeBefore = arenaStats()!.freeBytes;
    array = undefined;
    clearStoragePool();
    for (let i = 0; i < 20 && arenaStats()!.freeBytes === freeBefore; i++) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(arenaStats()!.freeBytes).toBeGreaterThan(freeBefore);
    expect(cpuBackend.allocate("float32", length).data.byteOffset).toBe(offset);
  });

  it("falls back to SharedArrayBuffers when full, and kernels mix both kinds", () => {
    setArenaCap(arenaStats()!.top);
    const fallback = cpuBackend.allocate("float32", 70001).data;
    expect(inArena(fallback)).toBe(false);
    expect(fallback.buffer).toBeInstanceOf(SharedArrayBuffer);
    setArenaCap(0);
    expect(inArena(cpuBackend.allocate("float32", 20000).data)).toBe(false);
    setArenaCap(ARENA_MAX_BYTES);
    const a = place(values(64 * 100, 2), true);
    const b = values(100 * 72, 3);
    const bShared = new Float32Array(new SharedArrayBuffer(b.byteLength));
    bShared.set(b);
    const out = new Float32Array(new SharedArrayBuffer(4 * 64 * 72));
    const ref = new Float32Array(64 * 72);
    expect(wasmMatmul([view(a, [64, 100], [100, 1]), view(bShared, [100, 72], [72, 1])], view(out, [64, 72], [72, 1]), true)).toBe(true);
    sequentialMatmul([view(a, [64, 100], [100, 1]), view(b, [100, 72], [72, 1])], [view(ref, [64, 72], [72, 1])], {} as never);
    expect(bitsOf(out)).toEqual(bitsOf(ref));
  });
});

describe.runIf(hasArena && wasmAvailable())("matmul on arena operands", () => {
  // [rows, k, n]: rows % 4 and n % 8 both off (scratch C), both exact (C written in place),
  // one row (the fast GEMV), K across blocks, and a B whose pack is cached.
  const shapes: [number, number, number][] = [[13, 37, 19], [16, 64, 24], [64, 300, 40], [6, 784, 256], [16, 256, 10], [1, 77, 45], [20, 40, 1000], [5, 70, 8]];
  for (const [rows, k, n] of shapes) {
    for (const layout of ["nn", "tn", "nt"] as const) {
      it(`${rows}×${k}·${k}×${n} (${layout}): the plain arrays' bits, in both modes, guards untouched`, () => {
        const aVals = values(rows * k, rows + k);
        const bVals = values(k * n, k + n);
        const aStrides = layout === "tn" ? [1, rows] : [k, 1];
        const bStrides = layout === "nt" ? [1, k] : [n, 1];
        for (const deterministic of [true, false]) {
          const results = [true, false].map((arena) => {
            const a = place(aVals, arena);
            const b = place(bVals, arena);
            const out = place(new Float32Array(rows * n), arena, GUARD);
            new Uint32Array(out.buffer, out.byteOffset, rows * n).fill(SENTINEL);
            // Twice with a stamp: the second call takes B's panels from the pack cache.
            for (const stamp of [undefined, 1e9 + rows * 7 + k, 1e9 + rows * 7 + k, 1e9 + rows * 7 + k]) {
              const B = { ...view(b, [k, n], bStrides), stamp };
              expect(wasmMatmul([view(a, [rows, k], aStrides), B], view(out, [rows, n], [n, 1]), deterministic)).toBe(true);
            }
            expect(Array.from(guardOf(out, rows * n))).toEqual(new Array(GUARD).fill(SENTINEL));
            return bitsOf(out, rows * n);
          });
          expect(results[0]).toEqual(results[1]);
        }
      });
    }
  }
});

describe.runIf(hasArena && wasmAvailable())("elementwise kernels on arena operands", () => {
  // n % 16 off (a staged tail), exact, and past one 16384-element chunk.
  const sizes = [4100 * 4 + 5, 16 * 1100, 40000 + 7, 16400];
  const binary: BinaryOp[] = ["add", "sub", "mul", "div", "gt", "le", "eq"];
  const unary: UnaryOp[] = ["relu", "neg", "abs", "sqrt"];

  function run(arena: boolean, n: number, f: (x: Float32Array, y: Float32Array, outF: Float32Array, outB: Uint8Array) => void) {
    const x = place(values(n, n), arena);
    const y = place(values(n, n + 1), arena);
    const outF = place(new Float32Array(n), arena, GUARD);
    const outB = arena ? arenaArray(Uint8Array, n + GUARD)! : new Uint8Array(n + GUARD);
    outB.fill(0xa5);
    f(x, y, outF, outB);
    expect(Array.from(guardOf(outF, n))).toEqual(new Array(GUARD).fill(SENTINEL));
    expect(Array.from(outB.slice(n))).toEqual(new Array(GUARD).fill(0xa5));
    return [bitsOf(outF, n), Array.from(outB.slice(0, n))];
  }

  for (const n of sizes) {
    it(`binary, unary, where and the SGD update on ${n} elements: the plain arrays' bits, guards untouched`, () => {
      for (const op of binary) {
        const compare = !["add", "sub", "mul", "div"].includes(op);
        const [inArenaBits, plainBits] = [true, false].map((arena) =>
          run(arena, n, (x, y, outF, outB) => {
            const out = compare ? view(outB, [n], [1]) : view(outF, [n], [1]);
            expect(simdBinary(op, view(x, [n], [1]), view(y, [n], [1]), out)).toBe(true);
            // A broadcast scalar and a strided operand beside an arena one.
            if (!compare) expect(simdBinary(op, view(x, [n], [1]), view(y, [n], [0], 3), view(outF, [n], [1]))).toBe(true);
          }),
        );
        expect(inArenaBits).toEqual(plainBits);
      }
      for (const op of unary) {
        const [inArenaBits, plainBits] = [true, false].map((arena) => run(arena, n, (x, _y, outF) => expect(simdUnary(op, view(x, [n], [1]), view(outF, [n], [1]))).toBe(true)));
        expect(inArenaBits).toEqual(plainBits);
      }
      const [whereArena, wherePlain] = [true, false].map((arena) =>
        run(arena, n, (x, y, outF, outB) => {
          for (let i = 0; i < n; i++) outB[i] = x[i]! > 0 ? 1 : 0;
          expect(simdWhere(view(outB, [n], [1]), view(x, [n], [1]), view(y, [n], [1]), view(outF, [n], [1]))).toBe(true);
        }),
      );
      expect(whereArena).toEqual(wherePlain);
      // In place (the output is an input at the same address), then the SGD update in place.
      const [inPlaceArena, inPlacePlain] = [true, false].map((arena) =>
        run(arena, n, (x, y, outF) => {
          outF.set(x.subarray(0, n));
          expect(simdBinary("add", view(outF, [n], [1]), view(y, [n], [1]), view(outF, [n], [1]))).toBe(true);
          expect(simdScaledAdd(outF.subarray(0, n), y, -0.01)).toBe(true);
        }),
      );
      expect(inPlaceArena).toEqual(inPlacePlain);
    });
  }

  it("the SGD update with one operand in the arena and the other not, guards untouched", () => {
    const n = 16 * 300 + 9;
    const p = values(n, 5);
    const g = values(n, 6);
    const reference = place(p, false);
    simdScaledAdd(reference, place(g, false), -0.1);
    for (const [pa, ga] of [[true, false], [false, true], [true, true]]) {
      const param = place(p, pa, GUARD);
      simdScaledAdd(param.subarray(0, n), place(g, ga), -0.1);
      expect(bitsOf(param, n)).toEqual(bitsOf(reference));
      expect(Array.from(guardOf(param, n))).toEqual(new Array(GUARD).fill(SENTINEL));
    }
  });

  it("a transposed copy reads and writes the arena in place with the copies' bits", () => {
    const [rows, cols] = [67, 130];
    const src = values(rows * cols, 9);
    const results = [true, false].map((arena) => {
      const s = place(src, arena);
      const out = place(new Float32Array(rows * cols), arena, GUARD);
      expect(simdTransposeCopy(view(s, [rows, cols], [1, rows]), out, 0)).toBe(true);
      expect(Array.from(guardOf(out, rows * cols))).toEqual(new Array(GUARD).fill(SENTINEL));
      return bitsOf(out, rows * cols);
    });
    expect(results[0]).toEqual(results[1]);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) expect(results[0]![r * cols + c]).toBe(new Uint32Array(src.buffer)[c * rows + r]);
  });
});
