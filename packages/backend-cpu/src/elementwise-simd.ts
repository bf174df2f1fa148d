// The float32 elementwise kernels that run in WebAssembly SIMD (wasm/elementwise.wat): + − × ÷,
// comparisons, relu, neg, abs, sqrt, where, and copies of transposed views. Storages are JS typed
// arrays, so each call copies its operands into the module's memory chunk by chunk (a set() from
// a dense view, a fill() for a broadcast scalar; a strided view is gathered once first), runs one
// loop per chunk and copies the result out. Measured on the 2-core VM (Node 20): 1.2–1.7 ns per
// element with the copies against 4–10 ns for the JS loops, whose comparisons and selects branch
// on the data (a misprediction per other element on signs) and whose loads convert every float32
// to double and back.
//
// The results are the JS kernels' bits (see elementwise.wat and elementwise-simd.test.ts; the
// payload of NaN ∘ NaN, which the JS kernels never fixed, aside), so these loops serve both
// modes; the ops whose deterministic float32 version is a detmath twin (÷, √) use them only in
// fast mode.
import type { BinaryOp, DataArray, UnaryOp } from "@lockstep/core";
import { ELEMENTWISE_WASM_BASE64 } from "./wasm/elementwise.generated.js";
import { gatherElements, gatherInto, isBroadcastScalar, isDense, mergeDims, type CpuView } from "./storage.js";

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

/**
 * Elements per call into the module: operands are copied in and results out this many at a time,
 * so the module's memory stays small (≤ 13 × CHUNK bytes) and in cache whatever the tensor's size.
 */
const CHUNK = 16384;

/**
 * An operand's elements in row-major order: a run of an array, one broadcast value, or a strided
 * view that fits one chunk, gathered straight into the module's memory when staged.
 */
type Source =
  | { readonly kind: 0; readonly array: DataArray; readonly start: number }
  | { readonly kind: 1; readonly value: number }
  | { readonly kind: 2; readonly view: CpuView };

/**
 * Dense views are read in place. A strided one (a broadcast bias row, a transpose) is gathered
 * once: into the module's memory when it fits one chunk, else into a temporary array, as the JS
 * kernels do.
 */
function source(view: CpuView, n: number): Source {
  if (isDense(view)) return { kind: 0, array: view.storage.data, start: view.offset };
  if (isBroadcastScalar(view)) return { kind: 1, value: view.storage.data[view.offset]! };
  if (n <= CHUNK) return { kind: 2, view };
  return { kind: 0, array: gatherElements(view), start: 0 };
}

/** Copies elements [from, from + length) of `src` into `target` from element `at` on. */
function stage(src: Source, target: DataArray, at: number, from: number, length: number): void {
  if (src.kind === 1) target.fill(src.value, at, at + length);
  else if (src.kind === 2) gatherInto(src.view, target, at);
  else if (src.start + from === 0 && length === src.array.length) target.set(src.array, at);
  else target.set(src.array.subarray(src.start + from, src.start + from + length), at);
}

function count(view: CpuView): number {
  let n = 1;
  for (const s of view.shape) n *= s;
  return n;
}

// Regions, in 32-bit elements: x at 0, y at CHUNK, the result at 2·CHUNK (bytes for a
// comparison), condition bytes for where at byte 12·CHUNK.
const X = 0;
const Y = CHUNK;
const D = 2 * CHUNK;
const C_BYTES = 12 * CHUNK;

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
  const x = source(a, n);
  const y = source(b, n);
  const dst = out.storage.data;
  s.reserve(12 * CHUNK);
  for (let from = 0; from < n; from += CHUNK) {
    const length = Math.min(CHUNK, n - from);
    stage(x, s.f32, X, from, length);
    stage(y, s.f32, Y, from, length);
    if (arith !== undefined) {
      s.exports.arith(arith, 4 * X, 4 * Y, 4 * D, padded(length));
      dst.set(s.f32.subarray(D, D + length), out.offset + from);
    } else {
      const [code, swap] = compare!;
      s.exports.compare(code, swap ? 4 * Y : 4 * X, swap ? 4 * X : 4 * Y, 4 * D, padded(length));
      dst.set(s.u8.subarray(4 * D, 4 * D + length), out.offset + from);
    }
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
  const src = source(x, n);
  const dst = out.storage.data;
  s.reserve(12 * CHUNK);
  for (let from = 0; from < n; from += CHUNK) {
    const length = Math.min(CHUNK, n - from);
    stage(src, s.f32, X, from, length);
    s.exports.unary(code, 4 * X, 4 * D, padded(length));
    dst.set(s.f32.subarray(D, D + length), out.offset + from);
  }
  return true;
}

/**
 * In place, `param[i] = fround(param[i] + fround(grad[i] · scale))` — plain SGD's update, as the
 * mul and add kernels compute it (each rounded once, never fused) — on two dense float32 runs of
 * one length. False when WebAssembly SIMD is missing (the caller runs its JS loop).
 */
export function simdScaledAdd(param: Float32Array, grad: Float32Array, scale: number): boolean {
  const s = instance();
  if (s === null) return false;
  const n = param.length;
  s.reserve(12 * CHUNK);
  // The loops never write y's region, so one fill serves every chunk.
  s.f32.fill(scale, Y, Y + padded(Math.min(CHUNK, n)));
  for (let from = 0; from < n; from += CHUNK) {
    const length = Math.min(CHUNK, n - from);
    s.f32.set(grad.subarray(from, from + length), X);
    s.exports.arith(ARITH.mul!, 4 * X, 4 * Y, 4 * D, padded(length));
    s.f32.set(param.subarray(from, from + length), X);
    s.exports.arith(ARITH.add!, 4 * X, 4 * D, 4 * D, padded(length));
    param.set(s.f32.subarray(D, D + length), from);
  }
  return true;
}

/** `where` on 32-bit values (float32, int32) in WebAssembly: a bit select, exact for both. */
export function simdWhere(condition: CpuView, a: CpuView, b: CpuView, out: CpuView): boolean {
  if (a.dtype !== "float32" && a.dtype !== "int32") return false;
  const s = instance();
  if (s === null) return false;
  const n = count(out);
  const c = source(condition, n);
  const x = source(a, n);
  const y = source(b, n);
  const dst = out.storage.data;
  s.reserve(13 * CHUNK);
  const values = s.arrayFor(a);
  for (let from = 0; from < n; from += CHUNK) {
    const length = Math.min(CHUNK, n - from);
    stage(x, values, X, from, length);
    stage(y, values, Y, from, length);
    stage(c, s.u8, C_BYTES, from, length);
    s.exports.where(C_BYTES, 4 * X, 4 * Y, 4 * D, padded(length));
    dst.set(values.subarray(D, D + length), out.offset + from);
  }
  return true;
}

/** Most elements (source span plus result) a transposed copy stages: 32 MiB of memory. */
const TRANSPOSE_MAX = 2 ** 23;

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
  // In one piece, so only up to a size whose copies the module's memory may keep for good.
  if ((cols - 1) * ld + rows + rows * cols > TRANSPOSE_MAX) return false;
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
