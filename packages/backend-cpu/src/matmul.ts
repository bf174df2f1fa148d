// Matrix multiply over identical (possibly broadcast, stride-0) batch dims.
//
// The deterministic contract (flag on, `matmulKernel`): each output element is a sequential sum
// over k = 0..K−1 with the product rounded before the add — for float32,
// acc = fround(acc + fround(a·b)) from acc = +0 — the order of reference BLAS (Debian PyTorch's
// CPU matmul gives the same bits) and of the WebGPU kernel. It depends only on K, so it is
// deterministic and batch-invariant. Float32 runs on the WebAssembly SIMD kernels (gemm.wat:
// lanes are output columns, multiply then add, never fused) when the engine has SIMD, else on
// `sequentialMatmul`; both give the same bits, and so does any split of the output rows or
// columns over the worker pool, since a split never touches one element's order.
//
// The fast kernel (flag off, `fastMatmulKernel`) may round differently with the shape: one-row
// products take a partial-sum GEMV kernel, and tiny outputs with a long K are split over K.
import { getNumThreads, type KernelFn } from "@lockstep/core";
import { gemmRows, gemvColumns, type GemmJob } from "./gemm.js";
import { claimSlots, groupColumns, runWasmGemm, type MatmulSegment, type WasmGemmTask } from "./gemm-wasm.js";
import { PACK_CACHE_BYTES } from "./pack-cache.js";
import { MAX_WORKERS, isShared, workerPool, type PoolTask } from "./pool.js";
import { elementOffsets, type CpuStorage, type CpuView } from "./storage.js";
import { wasmAvailable } from "./wasm/instance.js";

/** The deterministic matmul in plain JS, for every dtype: the reference the WASM kernel matches. */
export const sequentialMatmul: KernelFn<"matmul", CpuStorage> = ([a, b], [out]) => {
  const A = a!;
  const B = b!;
  const nd = A.shape.length;
  const m = A.shape[nd - 2]!;
  const k = A.shape[nd - 1]!;
  const n = B.shape[nd - 1]!;
  const batchShape = A.shape.slice(0, nd - 2);
  const aBases = elementOffsets(batchShape, A.strides.slice(0, nd - 2), A.offset);
  const bBases = elementOffsets(batchShape, B.strides.slice(0, nd - 2), B.offset);
  const [aRow, aCol] = [A.strides[nd - 2]!, A.strides[nd - 1]!];
  const [bRow, bCol] = [B.strides[nd - 2]!, B.strides[nd - 1]!];
  const x = A.storage.data;
  const y = B.storage.data;
  const dst = out!.storage.data;
  const round = A.dtype === "float32" ? Math.fround : null;
  const integer = A.dtype === "int32";
  let o = 0;
  for (let batch = 0; batch < aBases.length; batch++) {
    const aBase = aBases[batch]!;
    const bBase = bBases[batch]!;
    for (let i = 0; i < m; i++) {
      const rowStart = aBase + i * aRow;
      for (let j = 0; j < n; j++) {
        const colStart = bBase + j * bCol;
        let acc = 0;
        if (round !== null) {
          for (let p = 0; p < k; p++) acc = round(acc + round(x[rowStart + p * aCol]! * y[colStart + p * bRow]!));
        } else if (integer) {
          for (let p = 0; p < k; p++) acc = (acc + Math.imul(x[rowStart + p * aCol]!, y[colStart + p * bRow]!)) | 0;
        } else {
          for (let p = 0; p < k; p++) acc += x[rowStart + p * aCol]! * y[colStart + p * bRow]!;
        }
        dst[o++] = acc;
      }
    }
  }
};

/** Below this many multiply-adds the JS loop costs less than copying into WebAssembly. */
const WASM_MIN_WORK = 256;
/** Below this many multiply-adds the pool's hand-off costs more than it saves. */
const POOL_MIN_WORK = 1 << 20;
/** WASM kernels compute several times faster, so the hand-off pays later for them. */
const WASM_POOL_MIN_WORK = 1 << 21;

function shared(array: Float32Array): Float32Array {
  if (isShared(array)) return array;
  const copy = new Float32Array(new SharedArrayBuffer(array.byteLength));
  copy.set(array);
  return copy;
}

/** Splits [0, total) into `parts` contiguous ranges whose starts are multiples of `align`. */
function ranges(total: number, parts: number, align: number): [number, number][] {
  const out: [number, number][] = [];
  const size = Math.ceil(total / parts / align) * align;
  for (let start = 0; start < total; start += size) out.push([start, Math.min(total, start + size)]);
  return out;
}

interface Operands {
  a: Float32Array;
  b: Float32Array;
  c: Float32Array;
  segments: MatmulSegment[];
  rows: number;
  k: number;
  n: number;
}

/**
 * The product as segments of output rows. A weight shared by the whole batch (stride-0 batch
 * dims of B) over a batch-contiguous A is one segment, so B is packed once for every row.
 */
function operands(A: CpuView, B: CpuView, out: CpuView): Operands {
  const nd = A.shape.length;
  const batchShape = A.shape.slice(0, nd - 2);
  const aBases = elementOffsets(batchShape, A.strides.slice(0, nd - 2), A.offset);
  const bBases = elementOffsets(batchShape, B.strides.slice(0, nd - 2), B.offset);
  const m = A.shape[nd - 2]!;
  const [aRow, aCol, bRow, bCol] = [A.strides[nd - 2]!, A.strides[nd - 1]!, B.strides[nd - 2]!, B.strides[nd - 1]!];
  const segment = (batch: number, rows: number): MatmulSegment => ({
    row: batch * m, rows, aBase: aBases[batch]!, aRow, aCol, bBase: bBases[batch]!, bRow, bCol,
  });
  let folds = true;
  for (let i = 1; i < aBases.length && folds; i++) folds = bBases[i] === bBases[0] && aBases[i] === aBases[0]! + i * m * aRow;
  const segments = aBases.length === 0 ? [] : folds ? [segment(0, aBases.length * m)] : Array.from(aBases, (_, i) => segment(i, m));
  return {
    a: A.storage.data as Float32Array,
    b: B.storage.data as Float32Array,
    c: out.storage.data as Float32Array,
    segments,
    rows: aBases.length * m,
    k: A.shape[nd - 1]!,
    n: B.shape[nd - 1]!,
  };
}

/**
 * A copy of the task with some fields replaced. Written out rather than `{ ...task, ... }`: on
 * Node 20's V8 that spread took ~18 µs per call (measured), as much as a small product itself.
 */
function withTask(t: WasmGemmTask, over: Partial<WasmGemmTask>): WasmGemmTask {
  return {
    a: over.a ?? t.a, b: over.b ?? t.b, c: over.c ?? t.c, segments: over.segments ?? t.segments,
    k: over.k ?? t.k, n: t.n, rowStart: over.rowStart ?? t.rowStart, rowEnd: over.rowEnd ?? t.rowEnd,
    colStart: over.colStart ?? t.colStart, colEnd: over.colEnd ?? t.colEnd, deterministic: t.deterministic,
    claims: over.claims ?? t.claims, threads: over.threads ?? t.threads, first: over.first ?? t.first, bStamp: t.bStamp,
  };
}

/** Layouts in which each B content stamp was multiplied, newest stamps last (bounded). */
const seenLayouts = new Map<number, Set<string>>();
const SEEN_STAMPS = 1024;

/**
 * B's content stamp when B should be kept packed in the threads' caches: the second time the
 * same contents are multiplied in the same layout (a weight used again — inference, a loop of
 * products), not the first (an activation or gradient, used once). A weight the optimizer
 * changed every step has a new stamp each time, so a training step packs into scratch as before.
 */
function cacheStamp(B: CpuView, ops: Operands): number | undefined {
  const stamp = B.stamp;
  if (stamp === undefined || ops.segments.length !== 1 || 4 * ops.k * (ops.n + 8) > PACK_CACHE_BYTES) return undefined;
  const seg = ops.segments[0]!;
  const layout = `${seg.bBase}:${seg.bRow}:${seg.bCol}:${ops.k}:${ops.n}`;
  let layouts = seenLayouts.get(stamp);
  if (layouts === undefined) {
    layouts = new Set();
    seenLayouts.set(stamp, layouts);
    if (seenLayouts.size > SEEN_STAMPS) seenLayouts.delete(seenLayouts.keys().next().value!);
  }
  if (layouts.has(layout)) return stamp;
  layouts.add(layout);
  return undefined;
}

/**
 * Float32 matmul on the WebAssembly kernels; false (nothing written) when the engine lacks SIMD
 * or the dtype is not float32. Exported for the tests, which compare it with `sequentialMatmul`.
 */
export function wasmMatmul(inputs: readonly CpuView[], out: CpuView, deterministic: boolean): boolean {
  const [A, B] = inputs as [CpuView, CpuView];
  if (A.dtype !== "float32" || !wasmAvailable()) return false;
  const ops = operands(A, B, out);
  const { rows, k, n } = ops;
  if (rows === 0 || n === 0) return true;
  const whole: WasmGemmTask = {
    a: ops.a, b: ops.b, c: ops.c, segments: ops.segments, k, n, rowStart: 0, rowEnd: rows, colStart: 0, colEnd: n,
    deterministic, claims: undefined, threads: 1, first: 0, bStamp: cacheStamp(B, ops),
  };
  const threads = Math.min(getNumThreads(), MAX_WORKERS + 1);
  const pool = rows * n * k >= WASM_POOL_MIN_WORK ? workerPool(threads) : undefined;
  if (pool === undefined) return runWasmGemm(whole);
  const task = withTask(whole, { a: shared(ops.a), b: shared(ops.b), c: isShared(ops.c) ? ops.c : new Float32Array(new SharedArrayBuffer(ops.c.byteLength)) });
  const tasks: PoolTask[] = [];
  if (rows === 1 && n >= 64 * threads) {
    // One row: each thread takes a range of columns (the same arithmetic per column either way).
    for (const [start, end] of ranges(n, threads, 16)) tasks.push({ kind: "wasmGemm", task: withTask(task, { colStart: start, colEnd: end }) });
    pool.run(tasks);
  } else if (!deterministic && rows === 1) {
    // Split-K (fast mode only): each thread's partial dot products, added in thread order.
    const seg = ops.segments[0]!;
    const parts = ranges(k, threads, 4).map(([k0, k1]) => withTask(task, {
      segments: [{ ...seg, aBase: seg.aBase + k0 * seg.aCol, bBase: seg.bBase + k0 * seg.bRow }],
      k: k1 - k0,
      c: new Float32Array(new SharedArrayBuffer(4 * n)),
    }));
    pool.run(parts.map((part) => ({ kind: "wasmGemm", task: part })));
    for (let j = 0; j < n; j++) {
      let total = parts[0]!.c[j]!;
      for (let t = 1; t < parts.length; t++) total = Math.fround(total + parts[t]!.c[j]!);
      task.c[j] = total;
    }
  } else if (Math.ceil(n / groupColumns(k, n)) >= 2 * threads || ops.segments.length >= 2 * threads) {
    // Every thread runs the whole task and claims pieces (a group of columns of one chunk of rows
    // of one segment) as it goes, so a thread the OS preempts does not hold up the others. Each
    // starts at its own chunk, so that with a chunk per thread it packs only its own rows of A.
    const sharing = withTask(task, { threads });
    const slots = claimSlots(sharing);
    const claims = new Int32Array(new SharedArrayBuffer(4 * slots));
    for (let t = 0; t < threads; t++) tasks.push({ kind: "wasmGemm", task: withTask(sharing, { claims, first: Math.floor((t * slots) / threads) }) });
    pool.run(tasks);
  } else {
    // Too few columns to share: fixed shares of rows, or of columns when there are few rows.
    const byRows = rows >= 8 * threads;
    const shares = byRows ? ranges(rows, threads, 4) : ranges(n, threads, 8);
    for (const [start, end] of shares) {
      tasks.push({ kind: "wasmGemm", task: withTask(task, byRows ? { rowStart: start, rowEnd: end } : { colStart: start, colEnd: end }) });
    }
    pool.run(tasks);
  }
  if (task.c !== ops.c) ops.c.set(task.c);
  return true;
}

/** The deterministic matmul (see the header): WASM for float32 when available, else JS. */
export const matmulKernel: KernelFn<"matmul", CpuStorage> = (inputs, outputs, attrs) => {
  const A = inputs[0] as CpuView;
  const nd = A.shape.length;
  const work = outputs[0]!.shape.reduce((x, y) => x * y, 1) * A.shape[nd - 1]!;
  if (work >= WASM_MIN_WORK && wasmMatmul(inputs, outputs[0]!, true)) return;
  sequentialMatmul(inputs, outputs, attrs);
};

/**
 * The fast matmul (flag off): float32 only — float64 and int32 take the exact kernel above.
 * WASM when available; else the JS kernels of gemm.ts, shared over output rows, over columns for
 * one row, or over k when the output is too small to share.
 */
export const fastMatmulKernel: KernelFn<"matmul", CpuStorage> = (inputs, outputs, attrs) => {
  const [A, B] = inputs as [CpuView, CpuView];
  const out = outputs[0]!;
  if (A.dtype !== "float32") return sequentialMatmul(inputs, outputs, attrs);
  if (wasmMatmul(inputs, out, false)) return;
  const nd = A.shape.length;
  const batchShape = A.shape.slice(0, nd - 2);
  const job: GemmJob = {
    a: A.storage.data as Float32Array,
    b: B.storage.data as Float32Array,
    c: out.storage.data as Float32Array,
    aBases: elementOffsets(batchShape, A.strides.slice(0, nd - 2), A.offset),
    bBases: elementOffsets(batchShape, B.strides.slice(0, nd - 2), B.offset),
    m: A.shape[nd - 2]!,
    k: A.shape[nd - 1]!,
    n: B.shape[nd - 1]!,
    aRow: A.strides[nd - 2]!,
    aCol: A.strides[nd - 1]!,
    bRow: B.strides[nd - 2]!,
    bCol: B.strides[nd - 1]!,
  };
  const rows = job.aBases.length * job.m;
  const threads = Math.min(getNumThreads(), MAX_WORKERS + 1);
  const pool = rows * job.n * job.k >= POOL_MIN_WORK ? workerPool(threads) : undefined;
  if (rows === 0 || job.n === 0) return;
  if (pool === undefined) {
    if (rows === 1) gemvColumns(job, 0, job.n);
    else gemmRows(job, 0, rows);
    return;
  }
  const sharedJob: GemmJob = { ...job, a: shared(job.a), b: shared(job.b), c: isShared(job.c) ? job.c : new Float32Array(new SharedArrayBuffer(job.c.byteLength)) };
  if (rows > 1) {
    pool.run(ranges(rows, threads, 4).map(([start, end]) => ({ kind: "gemmRows", job: sharedJob, start, end })));
  } else if (job.n >= 64 * threads) {
    pool.run(ranges(job.n, threads, 16).map(([start, end]) => ({ kind: "gemvColumns", job: sharedJob, start, end })));
  } else {
    // Split-K: each thread's partial dots are rounded to float32, then added in thread order.
    const parts = ranges(job.k, threads, 4).map(([start, end]) => ({
      kind: "gemvPartial" as const,
      job: sharedJob,
      start,
      end,
      partial: new Float32Array(new SharedArrayBuffer(4 * job.n)),
    }));
    pool.run(parts);
    for (let j = 0; j < job.n; j++) {
      let total = parts[0]!.partial[j]!;
      for (let t = 1; t < parts.length; t++) total = Math.fround(total + parts[t]!.partial[j]!);
      sharedJob.c[j] = total;
    }
  }
  if (sharedJob.c !== job.c) job.c.set(sharedJob.c);
};
