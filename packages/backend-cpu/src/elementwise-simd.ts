// The float32 elementwise kernels that run in WebAssembly SIMD (wasm/elementwise.wat): + − × ÷,
// comparisons, relu, neg, abs, sqrt, where, and copies of transposed views. Storages are JS typed arrays, so each call stages
// its operands into the module's memory (a set() for a dense view, a fill() for a broadcast
// scalar, a strided walk otherwise), runs one loop and copies the result out. Measured on the
// 2-core VM (Node 20): 1.2–1.7 ns per element with the copies against 4–10 ns for the JS loops,
// whose comparisons and selects branch on the data (a misprediction per other element on signs)
// and whose loads convert every float32 to double and back.
//
// The results are the JS kernels' bits (see elementwise.wat and elementwise-simd.test.ts), so
// these loops serve both modes; the ops whose deterministic float32 version is a detmath twin
// (÷, √) use them only in fast mode.
import type { BinaryOp, DataArray, UnaryOp } from "@lockstep/core";
import { ELEMENTWISE_WASM_BASE64 } from "./wasm/elementwise.generated.js";
import { gatherInto, isBroadcastScalar, isDense, mergeDims, type CpuView } from "./storage.js";

interface ElementwiseExports {
  readonly memory: WebAssembly.Memory;
  arith(op: number, x: number, y: number, d: number, n: number): void;
  compare(op: number, x: number, y: number, d: number, n: number): void;
  unary(op: number, x: number, d: number, n: number): void;
  where(c: number, x: number, y: number, d: number, n: number): void;
  transpose(s: number, ld: number, o: number, ldo: number, rows: number, cols: number): void;
}

const ARITH: Partial<Record<BinaryOp, number>> = { add: 0, sub: 1, mul: 2, div: 3 };
/** Comparison code and whether the operands are swapped (x < y is y > x). */
const COMPARE: Partial<Record<BinaryOp, readonly [number, boolean]>> = {
  eq: [0, false],
  ne: [1, false],
  gt: [2, false],
  ge: [3, false],
  lt: [2, true],
  le: [3, true],
};
const UNARY: Partial<Record<UnaryOp, number>> = { relu: 0, neg: 1, abs: 2, sqrt: 3 };

/** The module's exports and typed views of its memory, renewed when the memory grows. */
class Scratch {
  readonly exports: ElementwiseExports;
  f32: Float32Array;
  i32: Int32Array;
  u8: Uint8Array;

  constructor(module: WebAssembly.Module) {
    this.exports = new WebAssembly.Instance(module).exports as unknown as ElementwiseExports;
    const buffer = this.exports.memory.buffer;
    this.f32 = new Float32Array(buffer);
    this.i32 = new Int32Array(buffer);
    this.u8 = new Uint8Array(buffer);
  }

  /** Grows memory to at least `bytes`; it never shrinks, so the next call reuses it. */
  reserve(bytes: number): void {
    const memory = this.exports.memory;
    const missing = bytes - memory.buffer.byteLength;
    if (missing <= 0) return;
    memory.grow(Math.ceil(missing / 65536));
    this.f32 = new Float32Array(memory.buffer);
    this.i32 = new Int32Array(memory.buffer);
    this.u8 = new Uint8Array(memory.buffer);
  }

  /** The view of the memory that holds elements of `view`'s storage type. */
  arrayFor(view: CpuView): DataArray {
    const data = view.storage.data;
    return data instanceof Float32Array ? this.f32 : data instanceof Int32Array ? this.i32 : this.u8;
  }
}

/** undefined: not tried yet; null: no WebAssembly SIMD here (the JS kernels run instead). */
let scratch: Scratch | null | undefined;

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(new ArrayBuffer(binary.length));
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function instance(): Scratch | null {
  if (scratch !== undefined) return scratch;
  scratch = null;
  if (typeof WebAssembly !== "object" || typeof atob !== "function") return null;
  const bytes = decodeBase64(ELEMENTWISE_WASM_BASE64);
  // An engine without SIMD rejects the module: that is the feature detection. The module is far
  // below the 4 KiB that browsers compile synchronously on the main thread.
  if (!WebAssembly.validate(bytes)) return null;
  try {
    scratch = new Scratch(new WebAssembly.Module(bytes));
  } catch {
    scratch = null;
  }
  return scratch;
}

/** Test hook: turns the WebAssembly loops off (false) or back on, so tests can compare both paths. */
export function setSimdElementwise(enabled: boolean): void {
  scratch = enabled ? undefined : null;
}

/** Elements of a region rounded up so every loop runs whole 16-element vectors. */
function padded(n: number): number {
  return (n + 15) & ~15;
}

/** Copies `view`'s n elements in row-major order into `target` from element `at` on. */
function stage(view: CpuView, target: DataArray, at: number, n: number): void {
  const src = view.storage.data;
  if (isDense(view)) target.set(src.subarray(view.offset, view.offset + n), at);
  else if (isBroadcastScalar(view)) target.fill(src[view.offset]!, at, at + n);
  else gatherInto(view, target, at);
}

function count(view: CpuView): number {
  let n = 1;
  for (const s of view.shape) n *= s;
  return n;
}

/**
 * Runs a float32 binary op in WebAssembly when it has a loop there; false when it does not (or
 * when WebAssembly SIMD is missing), and the caller runs the JS kernel.
 */
export function simdBinary(op: BinaryOp, a: CpuView, b: CpuView, out: CpuView): boolean {
  if (a.dtype !== "float32") return false;
  const arith = ARITH[op];
  const compare = COMPARE[op];
  if (arith === undefined && compare === undefined) return false;
  const s = instance();
  if (s === null) return false;
  const n = count(out);
  if (n === 0) return true;
  const p = padded(n);
  // Regions, in floats: x at 0, y at p, the result at 2p (bytes for a comparison).
  s.reserve(12 * p);
  stage(a, s.f32, 0, n);
  stage(b, s.f32, p, n);
  if (arith !== undefined) {
    s.exports.arith(arith, 0, 4 * p, 8 * p, p);
    out.storage.data.set(s.f32.subarray(2 * p, 2 * p + n), out.offset);
  } else {
    const [code, swap] = compare!;
    s.exports.compare(code, swap ? 4 * p : 0, swap ? 0 : 4 * p, 8 * p, p);
    out.storage.data.set(s.u8.subarray(8 * p, 8 * p + n), out.offset);
  }
  return true;
}

/** Runs a float32 unary op in WebAssembly when it has a loop there (see simdBinary). */
export function simdUnary(op: UnaryOp, x: CpuView, out: CpuView): boolean {
  const code = UNARY[op];
  if (x.dtype !== "float32" || code === undefined) return false;
  const s = instance();
  if (s === null) return false;
  const n = count(out);
  if (n === 0) return true;
  const p = padded(n);
  s.reserve(8 * p);
  stage(x, s.f32, 0, n);
  s.exports.unary(code, 0, 4 * p, p);
  out.storage.data.set(s.f32.subarray(p, p + n), out.offset);
  return true;
}

/** `where` on 32-bit values (float32, int32) in WebAssembly: a bit select, exact for both. */
export function simdWhere(condition: CpuView, a: CpuView, b: CpuView, out: CpuView): boolean {
  if (a.dtype !== "float32" && a.dtype !== "int32") return false;
  const s = instance();
  if (s === null) return false;
  const n = count(out);
  if (n === 0) return true;
  const p = padded(n);
  // x at 0, y at p, the result at 2p (in 32-bit elements), the condition bytes at byte 12p.
  s.reserve(13 * p);
  const values = s.arrayFor(a);
  stage(a, values, 0, n);
  stage(b, values, p, n);
  stage(condition, s.u8, 12 * p, n);
  s.exports.where(12 * p, 0, 4 * p, 8 * p, p);
  out.storage.data.set(s.arrayFor(out).subarray(2 * p, 2 * p + n), out.offset);
  return true;
}

/**
 * Copies a float32 view that is a transpose in memory — rows × cols after merging dims, row
 * stride 1, column stride ld ≥ rows — into `out` from `at` on, row-major: the source span is
 * copied in once, transposed in 4×4 blocks, copied out, and the ragged edges are copied here.
 * Measured 2–4 ns per element for the JS tiles on a [256, 784] transpose here. False when the
 * view is not such a transpose (or WebAssembly SIMD is missing).
 */
export function simdTransposeCopy(x: CpuView, out: DataArray, at: number): boolean {
  if (x.dtype !== "float32") return false;
  const { shape, strides } = mergeDims(x.shape, x.strides);
  if (shape.length !== 2 || strides[0] !== 1) return false;
  const rows = shape[0]!;
  const cols = shape[1]!;
  const ld = strides[1]!;
  if (rows < 4 || cols < 4 || ld < rows) return false;
  const s = instance();
  if (s === null) return false;
  const src = x.storage.data;
  const span = (cols - 1) * ld + rows;
  const first = padded(span);
  const n = rows * cols;
  s.reserve(4 * (first + padded(n)));
  s.f32.set(src.subarray(x.offset, x.offset + span), 0);
  const rows4 = rows & ~3;
  const cols4 = cols & ~3;
  s.exports.transpose(0, ld, 4 * first, cols, rows4, cols4);
  out.set(s.f32.subarray(first, first + n), at);
  // The edges the 4×4 blocks left: columns past cols4 of the first rows4 rows, then whole rows.
  for (let r = 0; r < rows; r++) {
    for (let c = r < rows4 ? cols4 : 0; c < cols; c++) out[at + r * cols + c] = src[x.offset + r + c * ld]!;
  }
  return true;
}
