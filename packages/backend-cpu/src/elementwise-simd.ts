// The float32 elementwise kernels that run in WebAssembly SIMD (wasm/elementwise.wat): + − × ÷,
// comparisons, relu, neg, abs, sqrt, where, and copies of transposed views. A storage in the tensor
// arena (arena.ts; the module imports the arena as its memory on the main thread) is read in place
// and an arena output is written in place; any other operand is copied into the module's memory
// chunk by chunk (a set() from a dense view, a fill() for a broadcast scalar; a strided view is
// gathered once first), one loop runs per chunk, and any other result is copied out. Measured on the 2-core VM (Node 20): 1.2–1.7 ns per
// element with the copies against 4–10 ns for the JS loops, whose comparisons and selects branch
// on the data (a misprediction per other element on signs) and whose loads convert every float32
// to double and back.
//
// The results are the JS kernels' bits (see elementwise.wat and elementwise-simd.test.ts; the
// payload of NaN ∘ NaN, which the JS kernels never fixed, aside), so these loops serve both
// modes; the ops whose deterministic float32 version is a detmath twin (÷, √) use them only in
// fast mode.
import type { BinaryOp, DataArray, UnaryOp } from "@lockstep/core";
import { arenaBuffer, arenaMemory, freeScratch, inArena, scratchBlock } from "./arena.js";
import { detDiv, detExp } from "./detmath.js";
import { ELEMENTWISE_ARENA_WASM_BASE64, ELEMENTWISE_WASM_BASE64 } from "./wasm/elementwise.generated.js";
import { elementOffsets, gatherElements, gatherInto, isBroadcastScalar, isDense, mergeDims, type CpuView } from "./storage.js";

interface ElementwiseExports {
  readonly memory: WebAssembly.Memory;
  arith(op: number, x: number, y: number, d: number, n: number): void;
  scaledAdd(x: number, y: number, s: number, d: number, n: number): void;
  compare(op: number, x: number, y: number, d: number, n: number): void;
  unary(op: number, x: number, d: number, n: number): void;
  where(c: number, x: number, y: number, d: number, n: number): void;
  transpose(s: number, ld: number, o: number, ldo: number, rows: number, cols: number): void;
  copyRuns(s: number, ss: number, o: number, os: number, len: number, count: number): void;
}

const ARITH: Partial<Record<BinaryOp, number>> = { add: 0, sub: 1, mul: 2, div: 3, reluBackward: 5 };
/**
 * The detmath twins (the deterministic kernels' functions) that have a loop of their own, by
 * function: arith's flushed division has `detDiv`'s bits, unary's exp `detExp`'s.
 */
const TWIN_ARITH = new Map<(x: number, y: number) => number, number>([[detDiv, 4]]);
const TWIN_UNARY = new Map<(x: number) => number, number>([[detExp, 4]]);
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

/**
 * The module's exports and typed views of its memory: the tensor arena (arena.ts) on the main
 * thread when there is one, where storages in the arena are passed by address and scratch space
 * is an arena block; else the module's own memory, scratch at address 0.
 */
class Scratch {
  readonly exports: ElementwiseExports;
  readonly memory: WebAssembly.Memory;
  /** True when the memory is the arena (operands in it are read and written in place). */
  readonly arena: boolean;
  f32: Float32Array;
  i32: Int32Array;
  u8: Uint8Array;
  #base = 0;
  #bytes = 0;

  constructor(module: WebAssembly.Module, arena: WebAssembly.Memory | undefined) {
    this.exports = new WebAssembly.Instance(module, arena === undefined ? {} : { env: { memory: arena } }).exports as unknown as ElementwiseExports;
    this.memory = arena ?? this.exports.memory;
    this.arena = arena !== undefined;
    const buffer = this.memory.buffer;
    this.f32 = new Float32Array(buffer);
    this.i32 = new Int32Array(buffer);
    this.u8 = new Uint8Array(buffer);
  }

  /**
   * Byte address of scratch space of at least `bytes` (64-aligned), and views that cover it;
   * undefined when memory cannot grow. Scratch contents do not survive the next call.
   */
  reserve(bytes: number): number | undefined {
    if (this.arena) {
      if (bytes > this.#bytes) {
        if (this.#bytes > 0) freeScratch(this.#base, this.#bytes);
        this.#bytes = 0;
        const size = Math.max(bytes, 13 * CHUNK);
        const at = scratchBlock(size);
        if (at === undefined) return undefined;
        this.#base = at;
        this.#bytes = size;
      }
      // Storages allocated since the last call may have grown the arena past these views.
      if (this.f32.buffer !== arenaBuffer()) this.#views();
      return this.#base;
    }
    const missing = bytes - this.memory.buffer.byteLength;
    if (missing > 0) {
      try {
        this.memory.grow(Math.ceil(missing / 65536));
      } catch {
        return undefined;
      }
      this.#views();
    }
    return 0;
  }

  #views(): void {
    const buffer = this.memory.buffer;
    this.f32 = new Float32Array(buffer);
    this.i32 = new Int32Array(buffer);
    this.u8 = new Uint8Array(buffer);
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
  const arena = arenaMemory();
  const bytes = decodeBase64(arena === undefined ? ELEMENTWISE_WASM_BASE64 : ELEMENTWISE_ARENA_WASM_BASE64);
  // An engine without SIMD rejects the module: that is the feature detection. The module is far
  // below the 4 KiB that browsers compile synchronously on the main thread.
  if (!WebAssembly.validate(bytes)) return null;
  try {
    scratch = new Scratch(new WebAssembly.Module(bytes), arena);
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

// Regions of the scratch space, in 32-bit elements from its start: x at 0, y at CHUNK, the
// result at 2·CHUNK (bytes for a comparison), condition bytes for where at byte 12·CHUNK.
const X = 0;
const Y = CHUNK;
const D = 2 * CHUNK;
const C_BYTES = 12 * CHUNK;

/**
 * Byte address of elements [from, …) of a dense operand the module can read in place (an arena
 * storage, when the module's memory is the arena), else -1 (the caller stages it).
 */
function address(s: Scratch, src: Source, from: number): number {
  if (!s.arena || src.kind !== 0 || !inArena(src.array)) return -1;
  return src.array.byteOffset + src.array.BYTES_PER_ELEMENT * (src.start + from);
}

/** Where operand `src`'s chunk is for the module: in place, or staged at element `at` of `target`. */
function place(s: Scratch, src: Source, target: DataArray, at: number, from: number, length: number): number {
  const p = address(s, src, from);
  if (p >= 0) return p;
  stage(src, target, at, from, length);
  return target.BYTES_PER_ELEMENT * at;
}

/** A loop of the module over n elements (a multiple of 16) of operands x and y into d. */
type Loop = (x: number, y: number, d: number, n: number) => void;

/**
 * Runs `loop` on `length` elements at x and y (byte addresses, inputs of 4 bytes per element)
 * and puts the results, `width` bytes each, into dst[at, at + length). The loops run whole
 * 16-element vectors, so a result goes straight into dst only when dst is in the arena, and then
 * only its whole vectors: the tail (and any result when dst is elsewhere, or overlaps an input
 * read in place at another address) goes through scratch at byte `d` and is copied out.
 */
function emit(s: Scratch, loop: Loop, x: number, y: number, d: number, dst: DataArray, at: number, length: number, width: number, result: DataArray): void {
  let done = 0;
  if (s.arena && length >= 16 && inArena(dst)) {
    const out = dst.byteOffset + width * at;
    if (!overlaps(x, out, length, width) && !overlaps(y, out, length, width)) {
      done = length & ~15;
      loop(x, y, out, done);
      if (done === length) return;
      x += 4 * done;
      y += 4 * done;
    }
  }
  loop(x, y, d, padded(length - done));
  dst.set(result.subarray(d / width, d / width + length - done), at + done);
}

/**
 * True when an input at byte p and an output at byte out (`length` elements) share bytes without
 * being the same elements: writing whole vectors could then change inputs not read yet.
 */
function overlaps(p: number, out: number, length: number, width: number): boolean {
  return p !== out && p < out + width * length && out < p + 4 * length;
}

/**
 * Runs a float32 binary op in WebAssembly when it has a loop there; false when it does not (or
 * when WebAssembly SIMD is missing), and the caller runs the JS kernel. With `twin` (the
 * deterministic kernel's detmath function), the op is that function, bit for bit, where it has a loop.
 */
export function simdBinary(op: BinaryOp, a: CpuView, b: CpuView, out: CpuView, twin?: (x: number, y: number) => number): boolean {
  if (a.dtype !== "float32") return false;
  const arith = twin === undefined ? ARITH[op] : TWIN_ARITH.get(twin);
  const compare = twin === undefined ? COMPARE[op] : undefined;
  if (arith === undefined && compare === undefined) return false;
  const s = instance();
  if (s === null) return false;
  const n = count(out);
  const x = source(a, n);
  const y = source(b, n);
  const dst = out.storage.data;
  const base = s.reserve(12 * CHUNK);
  if (base === undefined) return false;
  const f32 = s.f32;
  const x0 = base / 4 + X;
  const y0 = base / 4 + Y;
  const d = base + 4 * D;
  let loop: Loop;
  if (arith !== undefined) loop = (px, py, pd, m) => s.exports.arith(arith, px, py, pd, m);
  else {
    const [code, swap] = compare!;
    loop = swap ? (px, py, pd, m) => s.exports.compare(code, py, px, pd, m) : (px, py, pd, m) => s.exports.compare(code, px, py, pd, m);
  }
  const width = arith !== undefined ? 4 : 1;
  const result = arith !== undefined ? f32 : s.u8;
  for (let from = 0; from < n; from += CHUNK) {
    const length = Math.min(CHUNK, n - from);
    const px = place(s, x, f32, x0, from, length);
    const py = place(s, y, f32, y0, from, length);
    emit(s, loop, px, py, d, dst, out.offset + from, length, width, result);
  }
  return true;
}

/**
 * Runs a float32 unary op in WebAssembly when it has a loop there (see simdBinary); with
 * `twin`, that detmath function instead (see simdBinary).
 */
export function simdUnary(op: UnaryOp, x: CpuView, out: CpuView, twin?: (x: number) => number): boolean {
  const code = twin === undefined ? UNARY[op] : TWIN_UNARY.get(twin);
  if (x.dtype !== "float32" || code === undefined) return false;
  const s = instance();
  if (s === null) return false;
  const n = count(out);
  const src = source(x, n);
  const dst = out.storage.data;
  const base = s.reserve(12 * CHUNK);
  if (base === undefined) return false;
  const loop: Loop = (px, _py, pd, m) => s.exports.unary(code, px, pd, m);
  for (let from = 0; from < n; from += CHUNK) {
    const length = Math.min(CHUNK, n - from);
    const px = place(s, src, s.f32, base / 4 + X, from, length);
    emit(s, loop, px, px, base + 4 * D, dst, out.offset + from, length, 4, s.f32);
  }
  return true;
}

/**
 * In place, `param[i] = fround(param[i] + fround(grad[i] · scale))` — plain SGD's update, as the
 * mul and add kernels compute it (each rounded once, never fused) — on two dense float32 runs of
 * one length. Arena operands are read and written in place (no copies at all when both are).
 * False when WebAssembly SIMD is missing (the caller runs its JS loop).
 */
export function simdScaledAdd(param: Float32Array, grad: Float32Array, scale: number): boolean {
  const s = instance();
  if (s === null) return false;
  const n = param.length;
  const base = s.reserve(12 * CHUNK);
  if (base === undefined) return false;
  const f32 = s.f32;
  const g: Source = { kind: 0, array: grad, start: 0 };
  const p: Source = { kind: 0, array: param, start: 0 };
  const scaledAdd = s.exports.scaledAdd;
  const loop: Loop = (px, py, pd, m) => scaledAdd(px, py, scale, pd, m);
  for (let from = 0; from < n; from += CHUNK) {
    const length = Math.min(CHUNK, n - from);
    const pp = place(s, p, f32, base / 4 + X, from, length);
    const pg = place(s, g, f32, base / 4 + Y, from, length);
    emit(s, loop, pp, pg, base + 4 * D, param, from, length, 4, f32);
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
  const base = s.reserve(13 * CHUNK);
  if (base === undefined) return false;
  const values = s.arrayFor(a);
  const cp = base + C_BYTES;
  const loop: Loop = (px, py, pd, m) => s.exports.where(cp, px, py, pd, m);
  for (let from = 0; from < n; from += CHUNK) {
    const length = Math.min(CHUNK, n - from);
    const px = place(s, x, values, base / 4 + X, from, length);
    const py = place(s, y, values, base / 4 + Y, from, length);
    stage(c, s.u8, cp, from, length);
    // The condition is staged, so a result written straight out needs its address to move with it.
    emitWhere(s, loop, cp, px, py, base + 4 * D, dst, out.offset + from, length, values);
  }
  return true;
}

/** `emit` for where, whose condition bytes (staged at cp) advance one byte per element. */
function emitWhere(s: Scratch, loop: Loop, cp: number, x: number, y: number, d: number, dst: DataArray, at: number, length: number, result: DataArray): void {
  let done = 0;
  if (s.arena && length >= 16 && inArena(dst)) {
    const out = dst.byteOffset + 4 * at;
    if (!overlaps(x, out, length, 4) && !overlaps(y, out, length, 4)) {
      done = length & ~15;
      loop(x, y, out, done);
      if (done === length) return;
      // The tail's condition bytes: moved down to cp, where the loop reads them.
      s.u8.copyWithin(cp, cp + done, cp + length);
      x += 4 * done;
      y += 4 * done;
    }
  }
  loop(x, y, d, padded(length - done));
  dst.set(result.subarray(d / 4, d / 4 + length - done), at + done);
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
  // In place when both are in the arena (the blocks write exactly rows4 × cols4 of the output).
  const sp = s.arena && inArena(src) ? src.byteOffset + 4 * x.offset : -1;
  const op = s.arena && inArena(out) ? out.byteOffset + 4 * at : -1;
  const direct = sp >= 0 && op >= 0 && (op + 4 * n <= sp || sp + 4 * span <= op);
  const base = s.reserve(direct ? 64 : sp >= 0 ? 4 * padded(n) : 4 * (first + padded(n)));
  if (base === undefined) return false;
  const rows4 = rows & ~3;
  const cols4 = cols & ~3;
  if (direct) s.exports.transpose(sp, ld, op, cols, rows4, cols4);
  else if (sp >= 0) {
    s.exports.transpose(sp, ld, base, cols, rows4, cols4);
    out.set(s.f32.subarray(base / 4, base / 4 + n), at);
  } else {
    s.f32.set(src.subarray(x.offset, x.offset + span), base / 4);
    s.exports.transpose(base, ld, base + 4 * first, cols, rows4, cols4);
    out.set(s.f32.subarray(base / 4 + first, base / 4 + first + n), at);
  }
  // The edges the 4×4 blocks left: columns past cols4 of the first rows4 rows, then whole rows.
  for (let r = 0; r < rows; r++) {
    for (let c = r < rows4 ? cols4 : 0; c < cols; c++) out[at + r * cols + c] = src[x.offset + r + c * ld]!;
  }
  return true;
}

/** Runs shorter than this are copied by `copyRuns`; longer ones go through `set` fast enough. */
const SHORT_RUN = 256;

/**
 * The module, when `copyRuns` can move floats from `src` to `dst` in place: both float32 arrays
 * in the arena, which the module runs on. Null otherwise (the caller copies in JS).
 */
function arenaCopier(src: DataArray, dst: DataArray): Scratch | null {
  if (!(src instanceof Float32Array) || !(dst instanceof Float32Array)) return null;
  const s = instance();
  return s !== null && s.arena && inArena(src) && inArena(dst) ? s : null;
}

/**
 * A strided float32 view copied into `out[at ...)` when both are arena storages and its innermost
 * dim is a contiguous run shorter than SHORT_RUN: the module copies the two innermost dims (runs
 * of that length, `count` of them at the next dim's stride) and this walks the dims above them —
 * a convolution's columns are [N, C, kh, kw, oh, ow] with 32-float rows of the input. Pure data
 * movement: every bit arrives unchanged, NaN payloads included (the JS walk's, once V8 has
 * optimised it; interpreted, V8 may quiet a signalling NaN). False when it does not apply.
 */
export function simdGatherRuns(x: CpuView, out: DataArray, at: number): boolean {
  const { shape, strides } = mergeDims(x.shape, x.strides);
  const ndim = shape.length;
  if (ndim < 2 || strides[ndim - 1] !== 1 || shape[ndim - 1]! >= SHORT_RUN) return false;
  const s = arenaCopier(x.storage.data, out);
  if (s === null) return false;
  const len = shape[ndim - 1]!;
  const count = shape[ndim - 2]!;
  const runStride = strides[ndim - 2]!;
  // Where each block of runs starts, one per index of the dims above the two the module walks.
  const starts = elementOffsets(shape.slice(0, ndim - 2), strides.slice(0, ndim - 2), x.storage.data.byteOffset / 4 + x.offset);
  const block = len * count;
  const outBase = out.byteOffset / 4 + at;
  for (let b = 0; b < starts.length; b++) s.exports.copyRuns(4 * starts[b]!, runStride, 4 * (outBase + b * block), len, len, count);
  return true;
}

/**
 * dst[at + r·dstStride + j] = src[from + r·srcStride + j] for r < count, j < len, when both are
 * float32 arena arrays of different storages and the runs are short (cat along an inner dim: a
 * padded row's three pieces), where `set` on a subarray per run costs more than the run. False
 * when it does not apply.
 */
export function simdCopyBlocks(src: DataArray, from: number, srcStride: number, dst: DataArray, at: number, dstStride: number, len: number, count: number): boolean {
  const s = len < SHORT_RUN ? arenaCopier(src, dst) : null;
  if (s === null) return false;
  s.exports.copyRuns(src.byteOffset + 4 * from, srcStride, dst.byteOffset + 4 * at, dstStride, len, count);
  return true;
}
