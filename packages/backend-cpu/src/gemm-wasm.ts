// Runs one share of a float32 matmul (a range of output rows × a range of output columns) on the
// WebAssembly kernels of wasm/gemm.wat: copies the operands it needs from their storages into
// this thread's WebAssembly memory, packs them, multiplies, and copies the result out. It runs
// on the main thread and in pool workers alike; matmul.ts decides the shares. Copies cost about
// as much as a small product's arithmetic, so each operand crosses main memory once where the
// layout allows (see gemmChunk). On a main thread whose kernels run on the tensor arena
// (arena.ts), storages in the arena are not copied at all: the kernels read them where they are
// (`placeRegion`) and write C straight into its storage when the tiles fit it (see gemmChunk).
//
// Rounding: with `deterministic` (and in fast mode for several rows) every output element is
// acc = fround(acc + fround(a·b)) over k = 0..K−1 — whatever the share, the row chunk or the K
// block, because copying and packing move floats without changing them and each SIMD lane is one
// output element. In fast mode a share with one row uses a GEMV kernel that sums in partial sums.
import { inArena } from "./arena.js";
import { gemmInstance, type GemmInstance } from "./wasm/instance.js";

/**
 * Output rows [row, row + rows) of a matmul whose A rows are affine in storage: row row + i of
 * the output reads A[aBase + i·aRow + p·aCol] and B[bBase + p·bRow + j·bCol].
 */
export interface MatmulSegment {
  row: number;
  rows: number;
  aBase: number;
  aRow: number;
  aCol: number;
  bBase: number;
  bRow: number;
  bCol: number;
}

export interface WasmGemmTask {
  a: Float32Array;
  b: Float32Array;
  /** Output, row-major with row stride n: output row r, column j is c[r·n + j]. */
  c: Float32Array;
  segments: MatmulSegment[];
  k: number;
  n: number;
  rowStart: number;
  rowEnd: number;
  colStart: number;
  colEnd: number;
  deterministic: boolean;
  /**
   * Shared claim counters (see `claimSlots`) when several threads run this same task: each
   * piece of work goes to the first thread that claims it, so a thread the OS preempts does not
   * hold up the others. Which thread computes an element never changes its arithmetic.
   */
  claims?: Int32Array;
  /** Threads running the task (sizes the chunks of rows when `claims` is set). */
  threads: number;
  /**
   * The chunk (claim slot) this thread starts at; it then walks the others in a cycle. Threads
   * start at different chunks, so each one mostly packs only its own rows of A.
   */
  first: number;
  /**
   * B's content stamp (core's `View.stamp`) when B is worth keeping packed in each thread's
   * cache (matmul.ts decides: a B multiplied again in the same layout); else undefined.
   */
  bStamp?: number;
}

/** K block: a 4×KC block of packed A (4 KiB) and a KC×8 panel of packed B (8 KiB) stay in L1. */
const KC = 256;
/** Packed B is made and used one group of columns at a time, small enough to stay in L2. */
const GROUP_FLOATS = 48 * 1024;
/**
 * Bounds the memory one share takes (WebAssembly memory never shrinks): rows of A and C are
 * packed this many floats at a time, and B is copied in slabs of at most this many floats.
 */
const CHUNK_FLOATS = 1 << 22;
/** Chunks of at most this many rows when threads share a product's rows (see `chunkOf`). */
const SHARED_CHUNK_ROWS = 256;
/**
 * Chunks of at most this many rows read a row-major B in place (see gemmChunk): below it, packing
 * B costs more than the kernel loses to B's longer stride.
 */
const DIRECT_B_MAX_ROWS = 64;
/**
 * …unless B's rows lie a multiple of this many bytes apart: stepping k through them in place then
 * hits the same few L1 sets again and again (a convolution's columns, 1024 positions wide: 18 against
 * 27 GFLOP/s packed on 64 rows, and 1.1–1.2× on 16–32 rows, or 512 wide).
 */
const ALIASED_ROW_BYTES = 2048;
/** A transposed A is read in place up to this K (a longer one strides through too many lines). */
const DIRECT_A_MAX_K = 64;

/** Where a strided region landed in WebAssembly memory (in floats) and its strides there. */
interface Placed {
  offset: number;
  rowStride: number;
  colStride: number;
}

type CopyKind = "span" | "rows" | "columns" | "gather";

/**
 * How to copy a rows×cols region (element (i, j) at base + i·rowStride + j·colStride): one copy
 * of the whole span when it is at most about twice the region (the usual case: dense, transposed
 * or broadcast operands), else row by row or column by column, else element by element.
 */
function copyKind(rows: number, cols: number, rowStride: number, colStride: number, unitColumns: boolean): CopyKind {
  const needed = rows * cols;
  const span = (rows - 1) * Math.abs(rowStride) + (cols - 1) * Math.abs(colStride) + 1;
  if (unitColumns && colStride !== 1) return "gather";
  if (span <= 2 * needed + 1024) return "span";
  if (colStride === 1) return "rows";
  if (rowStride === 1) return "columns";
  return "gather";
}

function copySize(rows: number, cols: number, rowStride: number, colStride: number, kind: CopyKind): number {
  if (kind !== "span") return rows * cols;
  return (rows - 1) * Math.abs(rowStride) + (cols - 1) * Math.abs(colStride) + 1;
}

/**
 * Where the kernels find the region: in place when it is one span of an arena storage and this
 * thread's kernels run on the arena (same strides, so the kernels read the same floats in the same
 * order: same bits), else copied to floats[at ...) as `copyKind` says.
 */
function placeRegion(
  w: GemmInstance, src: Float32Array, base: number, rows: number, cols: number, rowStride: number, colStride: number,
  kind: CopyKind, at: number,
): Placed {
  if (kind === "span" && w.arena && inArena(src)) return { offset: src.byteOffset / 4 + base, rowStride, colStride };
  return copyRegion(src, base, rows, cols, rowStride, colStride, kind, w.floats, at);
}

/** Copies the region to floats[at ...) as `copyKind` says; returns where element (0, 0) is. */
function copyRegion(
  src: Float32Array, base: number, rows: number, cols: number, rowStride: number, colStride: number,
  kind: CopyKind, floats: Float32Array, at: number,
): Placed {
  if (kind === "span") {
    const lo = base + Math.min(0, (rows - 1) * rowStride) + Math.min(0, (cols - 1) * colStride);
    const size = copySize(rows, cols, rowStride, colStride, kind);
    floats.set(src.subarray(lo, lo + size), at);
    return { offset: at + base - lo, rowStride, colStride };
  }
  if (kind === "rows") {
    for (let i = 0; i < rows; i++) floats.set(src.subarray(base + i * rowStride, base + i * rowStride + cols), at + i * cols);
    return { offset: at, rowStride: cols, colStride: 1 };
  }
  if (kind === "columns") {
    for (let j = 0; j < cols; j++) floats.set(src.subarray(base + j * colStride, base + j * colStride + rows), at + j * rows);
    return { offset: at, rowStride: 1, colStride: rows };
  }
  let o = at;
  for (let i = 0; i < rows; i++) {
    const start = base + i * rowStride;
    for (let j = 0; j < cols; j++) floats[o++] = src[start + j * colStride]!;
  }
  return { offset: at, rowStride: cols, colStride: 1 };
}

const roundUp = (x: number, to: number) => Math.ceil(x / to) * to;

/** Columns of B packed at once: as many as fit GROUP_FLOATS, a multiple of 8. */
export function groupColumns(k: number, width: number): number {
  return Math.min(roundUp(width, 8), Math.max(8, Math.floor(GROUP_FLOATS / k / 8) * 8));
}

/** Rows of A (and C) packed at once for a product with this K and output width. */
function chunkRows(k: number, width: number): number {
  return Math.max(4, Math.floor(CHUNK_FLOATS / Math.max(k, roundUp(width, 8)) / 4) * 4);
}

/**
 * Rows per chunk of a segment with `rows` rows. Several threads on one segment with at least as
 * many rows as columns share it out by chunks of rows — one per thread, or of SHARED_CHUNK_ROWS
 * when that makes more: each thread packs the rows of A of the chunks it works on once (and
 * writes their rows of C), and every thread packs or reads all of B, which is the smaller
 * operand. A thread that has finished its own chunks helps with the others', and a smaller chunk
 * costs a helper less of A to pack. With fewer rows than columns the threads share out the
 * columns of each chunk instead, and each packs all of the chunk's A.
 */
function chunkOf(task: WasmGemmTask, rows: number): number {
  const width = task.colEnd - task.colStart;
  const chunk = chunkRows(task.k, width);
  const byRows = task.threads > 1 && task.segments.length === 1 && rows >= width;
  return byRows ? Math.min(chunk, SHARED_CHUNK_ROWS, Math.max(4, roundUp(Math.ceil(rows / task.threads), 4))) : chunk;
}

/** C's row stride in scratch: 8-aligned, and off multiples of 1 KiB, whose rows would share cache sets. */
function cStride(width: number): number {
  const ldc = roundUp(width, 8);
  return ldc % 256 === 0 ? ldc + 16 : ldc;
}

/** Hands out the pieces of one chunk of rows: through its shared counter, or all in order. */
class Claims {
  #next = 0;
  constructor(
    readonly counters: Int32Array | undefined,
    readonly slot: number,
  ) {}
  /** The next unclaimed piece of the chunk. */
  claim(): number {
    return this.counters === undefined ? this.#next++ : Atomics.add(this.counters, this.slot, 1);
  }
}

/** One unit of claiming: rows [start, end) of a segment, multiplied as one chunk (or one GEMV row). */
interface Chunk {
  seg: MatmulSegment;
  start: number;
  end: number;
  gemv: boolean;
}

/** The task's chunks in claim-slot order (every thread computes the same list). */
function chunksOf(task: WasmGemmTask): Chunk[] {
  const out: Chunk[] = [];
  for (const seg of task.segments) {
    const start = Math.max(seg.row, task.rowStart);
    const end = Math.min(seg.row + seg.rows, task.rowEnd);
    if (start >= end) continue;
    if (gemv(task, end - start)) {
      out.push({ seg, start, end, gemv: true });
      continue;
    }
    const chunk = chunkOf(task, end - start);
    for (let r0 = start; r0 < end; r0 += chunk) out.push({ seg, start: r0, end: Math.min(end, r0 + chunk), gemv: false });
  }
  return out;
}

/**
 * C (+)= A·B through `gemm`, K block by K block (at most KC steps each; the accumulators go
 * through C between blocks, which is exact). A is packed (`aPacked`: K block after K block, each
 * `rows4`·kc floats, so the rows of a block that `gemm` sweeps are contiguous and spread over all
 * cache sets — blocks at a 16 KiB stride used a quarter of L2's sets) or read in place with step
 * `as` per k. B: panels at bp + j·bb, step bs per k.
 */
function multiply(
  w: GemmInstance, ap: number, aPacked: boolean, rows4: number, as: number,
  bp: number, bb: number, bs: number, c: number, rows: number, panels: number, k: number, ldc: number,
): void {
  // Fewer than 4 rows (a GEMV) reuse nothing from a K block, and blocks would make the kernel
  // jump between panels every KC steps instead of streaming each through once.
  const block = rows < 4 ? k : KC;
  for (let k0 = 0; k0 < k; k0 += block) {
    const kc = Math.min(block, k - k0);
    const a = aPacked ? ap + k0 * rows4 * 4 : ap + k0 * as;
    w.exports.gemm(a, aPacked ? 16 * kc : 16, aPacked ? 16 : as, bp + k0 * bs, bb, bs, c, rows, panels, kc, ldc, k0 === 0 ? 0 : 1);
  }
}

/** Packs rows×k of A at `src` (float strides) into `dst` K block by K block (see `multiply`). */
function packBlocks(w: GemmInstance, src: number, rowStride: number, colStride: number, rows: number, k: number, dst: number): void {
  const rows4 = roundUp(rows, 4);
  for (let k0 = 0; k0 < k; k0 += KC) w.exports.packA(src + 4 * k0 * colStride, rowStride, colStride, rows, Math.min(KC, k - k0), dst + 4 * k0 * rows4);
}

/** How `gemmChunk` copies B in: slabs of `slab` columns, each copied at once with `kind`. */
interface Slabs {
  slab: number;
  kind: CopyKind;
  /** Floats one slab's copy takes in scratch. */
  floats: number;
}

/**
 * Slabs of B's columns: one per group when a group is one contiguous span of the storage
 * (x·Wᵀ's transposed weight), so B crosses main memory once; else (B row-major) slabs as wide as
 * CHUNK_FLOATS allows, each copied at once and packed group by group.
 */
function slabsOf(k: number, width: number, group: number, seg: MatmulSegment): Slabs {
  const { bRow, bCol } = seg;
  const contiguousGroups = copyKind(k, group, bRow, bCol, false) === "span";
  const slab = contiguousGroups ? group : Math.min(roundUp(width, 8), Math.max(group, Math.floor(CHUNK_FLOATS / k / group) * group));
  const kind = copyKind(k, Math.min(slab, width), bRow, bCol, false);
  return { slab, kind, floats: roundUp(copySize(k, Math.min(slab, width), bRow, bCol, kind), 4) };
}

/** Copies the slab of B's columns starting at s0 (relative to colStart) to scratch at `at`. */
function copySlab(w: GemmInstance, task: WasmGemmTask, seg: MatmulSegment, slabs: Slabs, s0: number, at: number): Placed {
  const columns = Math.min(slabs.slab, task.colEnd - task.colStart - s0);
  return placeRegion(w, task.b, seg.bBase + (task.colStart + s0) * seg.bCol, task.k, columns, seg.bRow, seg.bCol, slabs.kind, at / 4);
}

/** The cache key of B's packed columns [colStart, colEnd) for this task and segment. */
function packKey(task: WasmGemmTask, seg: MatmulSegment): string {
  return `${task.bStamp!}:${seg.bBase}:${seg.bRow}:${seg.bCol}:${task.k}:${task.colStart}:${task.colEnd}`;
}

/**
 * Byte address of B's columns [colStart, colEnd) packed as consecutive k×8 panels in this
 * thread's cache: found there, or packed into it now (slab by slab through scratch). Undefined
 * when the task does not ask for caching or B does not fit the cache.
 */
function cachedB(w: GemmInstance, task: WasmGemmTask, seg: MatmulSegment): number | undefined {
  if (task.bStamp === undefined) return undefined;
  const key = packKey(task, seg);
  const hit = w.cache.get(key);
  if (hit !== undefined) return w.cacheBase() + hit;
  const at = w.cache.add(key, roundUp(task.colEnd - task.colStart, 8) * task.k * 4);
  if (at === undefined) return undefined;
  const base = w.cacheBase();
  packPanels(w, task, seg, base + at, w.reserve(slabBytes(task, seg)));
  return base + at;
}

/** How `packPanels` copies B's columns [colStart, colEnd) in. */
function panelSlabs(task: WasmGemmTask, seg: MatmulSegment): Slabs {
  const width = task.colEnd - task.colStart;
  return slabsOf(task.k, width, groupColumns(task.k, width), seg);
}

/** Scratch bytes `packPanels` needs. */
function slabBytes(task: WasmGemmTask, seg: MatmulSegment): number {
  return 4 * panelSlabs(task, seg).floats;
}

/**
 * Packs B's columns [colStart, colEnd) as consecutive k×8 panels at byte `at`, copying slab by
 * slab through scratch at byte `scratch` (`slabBytes` of it, reserved by the caller).
 */
function packPanels(w: GemmInstance, task: WasmGemmTask, seg: MatmulSegment, at: number, scratch: number): void {
  const { k } = task;
  const width = task.colEnd - task.colStart;
  const slabs = panelSlabs(task, seg);
  for (let s0 = 0; s0 < width; s0 += slabs.slab) {
    const b = copySlab(w, task, seg, slabs, s0, scratch);
    w.exports.packB(b.offset * 4, b.rowStride, b.colStride, k, Math.min(slabs.slab, width - s0), at + s0 * k * 4);
  }
}

/**
 * Output rows [r0, r1) of one segment (one chunk), columns [colStart, colEnd), through `gemm`.
 * Columns go in groups: each group of B is packed and multiplied against the whole chunk while
 * it is hot in cache; the groups are the pieces that threads claim. The chunk's A is copied and
 * packed once, when this thread claims its first group of the chunk. When B is in this
 * thread's pack cache (see `cachedB`) its panels are used as they are.
 *
 * Packing pays for itself only when each packed float is used many times. A small product (a
 * training step's [16, K] activations and gradients) uses each float of B once per 4 rows of A,
 * so the kernel reads some operands in place instead, straight from their copy: a row-major B
 * when the chunk has few rows (`directB`), and a transposed A (Yᵀ in a weight gradient: its 4 rows
 * are contiguous at each k) when K is short (`directA`). Neither changes a single rounding: the
 * kernel reads the same floats in the same order, only from other addresses.
 */
function gemmChunk(w: GemmInstance, task: WasmGemmTask, seg: MatmulSegment, r0: number, r1: number, claims: Claims): void {
  const { k, n, colStart } = task;
  const { aRow, aCol } = seg;
  const width = task.colEnd - colStart;
  const rows = r1 - r0;
  const rows4 = roundUp(rows, 4);
  const ldc = cStride(width);
  const group = groupColumns(k, width);
  // Threads claim one group at a time: the last pieces are small, so a thread that the OS or a
  // slower core holds up at the end delays the product by one group at most.
  let p0 = claims.claim() * group;
  if (p0 >= width) return;
  const packed = cachedB(w, task, seg);
  const directB =
    packed === undefined && seg.bCol === 1 && rows <= DIRECT_B_MAX_ROWS && k * seg.bRow <= CHUNK_FLOATS && (4 * seg.bRow) % ALIASED_ROW_BYTES !== 0;
  const bKind = directB ? copyKind(k, width, seg.bRow, 1, false) : "span";
  const slabs = packed === undefined && !directB ? slabsOf(k, width, group, seg) : { slab: 0, kind: "span" as const, floats: directB ? roundUp(copySize(k, width, seg.bRow, 1, bKind), 4) + 8 : 0 };
  const aKind = copyKind(rows, k, aRow, aCol, false);
  const directA = aKind === "span" && aRow === 1 && aCol !== 1 && k <= DIRECT_A_MAX_K;
  // Scratch, in bytes from `base`: [packed A][C][packed group of B][copy of B or of a slab of it][copy of A].
  const cp = directA ? 0 : rows4 * k * 4;
  const bp = cp + rows4 * ldc * 4;
  const slabAt = bp + (packed === undefined && !directB ? group * k * 4 : 0);
  const aRaw = slabAt + 4 * slabs.floats;
  const base = w.reserve(aRaw + 4 * copySize(rows, k, aRow, aCol, aKind) + 16);
  const floats = w.floats;
  const c = task.c;
  const a = placeRegion(w, task.a, seg.aBase + (r0 - seg.row) * aRow, rows, k, aRow, aCol, aKind, (base + aRaw) / 4);
  // C straight into the output when the kernel's whole 4×8 tiles fit it exactly: rows a multiple
  // of 4 and every column of rows that n (a multiple of 8) makes whole. Pieces of columns that
  // other threads claim are whole groups, so tiles of different threads never overlap.
  const directC = w.arena && rows % 4 === 0 && colStart === 0 && width === n && n % 8 === 0 && inArena(c);
  const cBase = directC ? c.byteOffset + 4 * r0 * n : base + cp;
  const cLd = directC ? n : ldc;
  // Where `gemm` finds A: packed K block by K block at `base`, or in place with step `as` per k.
  const ap = directA ? a.offset * 4 : base;
  const as = directA ? a.colStride * 4 : 16;
  if (!directA) packBlocks(w, a.offset * 4, a.rowStride, a.colStride, rows, k, base);
  let slabCopied = -1;
  let b: Placed | undefined;
  if (directB) b = placeRegion(w, task.b, seg.bBase + colStart, k, width, seg.bRow, 1, bKind, (base + slabAt) / 4);
  // Columns [runStart, runEnd) of C are done here and not yet copied out: claims that follow one
  // another make one run, so a thread that takes all of a chunk copies it out in one piece.
  let runStart = p0;
  let runEnd = p0;
  const copyOut = () => {
    if (directC) return;
    if (runEnd - runStart === n) {
      if (ldc !== n) w.exports.compact(base + cp, rows, ldc, n);
      c.set(floats.subarray((base + cp) / 4, (base + cp) / 4 + rows * n), r0 * n);
      return;
    }
    for (let i = 0; i < rows; i++) {
      const from = (base + cp) / 4 + i * ldc;
      c.set(floats.subarray(from + runStart, from + runEnd), (r0 + i) * n + colStart + runStart);
    }
  };
  for (; p0 < width; p0 = claims.claim() * group) {
    const columns = Math.min(group, width - p0);
    if (p0 !== runEnd) {
      copyOut();
      runStart = p0;
    }
    runEnd = p0 + columns;
    const panelCount = Math.ceil(columns / 8);
    const cAt = cBase + p0 * 4;
    if (directB) {
      multiply(w, ap, !directA, rows4, as, (b!.offset + p0) * 4, 32, b!.rowStride * 4, cAt, rows, panelCount, k, cLd);
      continue;
    }
    const panels = packed === undefined ? base + bp : packed + p0 * k * 4;
    if (packed === undefined) {
      const s0 = Math.floor(p0 / slabs.slab) * slabs.slab;
      if (b === undefined || slabCopied !== s0) {
        b = copySlab(w, task, seg, slabs, s0, base + slabAt);
        slabCopied = s0;
      }
      w.exports.packB((b.offset + (p0 - s0) * b.colStride) * 4, b.rowStride, b.colStride, k, columns, panels);
    }
    multiply(w, ap, !directA, rows4, as, panels, k * 32, 32, cAt, rows, panelCount, k, cLd);
  }
  copyOut();
}

/**
 * One output row against B's k×8 panels, packed: from the pack cache when it has them, else
 * packed into scratch now. Fast mode runs `gemvColumns` on each panel (partial sums, so not the
 * deterministic order); deterministic mode runs `gemm` on the row with A read in place and K in
 * one block — the arithmetic `gemmChunk` gives the row, so the same bits, without its packing of
 * A and its setup, which cost a small product as much as its arithmetic. Either way the result
 * never depends on what the cache held: the same call gives the same bits the first time and
 * every time after.
 */
function gemvRow(w: GemmInstance, task: WasmGemmTask, seg: MatmulSegment, r: number): void {
  const { k, n, colStart, colEnd } = task;
  const width = colEnd - colStart;
  const xBytes = roundUp(k, 4) * 4;
  const cBytes = roundUp(width, 8) * 4;
  const cached = cachedB(w, task, seg);
  // Scratch: [x][c][packed B unless cached][slab copies while packing].
  const packedBytes = cached === undefined ? roundUp(width, 8) * k * 4 : 0;
  const base = w.reserve(xBytes + cBytes + packedBytes + (cached === undefined ? slabBytes(task, seg) : 0));
  let packed = cached;
  if (packed === undefined) {
    packed = base + xBytes + cBytes;
    packPanels(w, task, seg, packed, packed + packedBytes);
  }
  const cp = base + xBytes;
  // Contiguous: copied (gathered) unless it is one span already.
  const x = placeRegion(w, task.a, seg.aBase + (r - seg.row) * seg.aRow, 1, k, 0, seg.aCol, copyKind(1, k, 0, seg.aCol, true), base / 4);
  if (task.deterministic) w.exports.gemm(x.offset * 4, 16, 4, packed, k * 32, 32, cp, 1, Math.ceil(width / 8), k, roundUp(width, 8), 0);
  else for (let j = 0; j < width; j += 8) w.exports.gemvColumns(x.offset * 4, packed + j * k * 4, cp + j * 4, k, 8, 8, 0);
  task.c.set(w.floats.subarray(cp / 4, cp / 4 + width), r * n + colStart);
}

/**
 * One row takes `gemvRow`: always in fast mode (its GEMV kernel), and in deterministic mode when
 * B is kept packed (`bStamp`: a weight used again, as in inference). A deterministic row whose B
 * is used once stays with `gemmChunk`, which reads a row-major B in place instead of packing it.
 */
function gemv(task: WasmGemmTask, rows: number): boolean {
  return rows === 1 && (!task.deterministic || task.bStamp !== undefined);
}

/** How many claim counters a task needs: one per chunk (see `chunksOf`). */
export function claimSlots(task: WasmGemmTask): number {
  return chunksOf(task).length;
}

/** Runs the task's share on this thread. False when WebAssembly SIMD is not available here. */
export function runWasmGemm(task: WasmGemmTask): boolean {
  const w = gemmInstance();
  if (w === undefined) return false;
  const { k, n, rowStart, rowEnd, colStart, colEnd } = task;
  if (rowEnd <= rowStart || colEnd <= colStart) return true;
  if (k === 0) {
    for (let r = rowStart; r < rowEnd; r++) task.c.fill(0, r * n + colStart, r * n + colEnd);
    return true;
  }
  const chunks = chunksOf(task);
  for (let i = 0; i < chunks.length; i++) {
    const slot = (task.first + i) % chunks.length;
    const { seg, start, end } = chunks[slot]!;
    const claims = new Claims(task.claims, slot);
    if (!chunks[slot]!.gemv) gemmChunk(w, task, seg, start, end, claims);
    else if (claims.claim() === 0) gemvRow(w, task, seg, start);
  }
  return true;
}
