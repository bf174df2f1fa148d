// Matrix multiply over identical (possibly broadcast, stride-0) batch dims. Each output element
// is a sequential sum over k with the product rounded before the add — for float32,
// fround(acc + fround(a·b)) — the order of reference BLAS. It depends only on K, so it is
// deterministic and batch-invariant.
import { getNumThreads, type KernelFn } from "@lockstep/core";
import { gemmRows, gemvColumns, gemvPartial, type GemmJob } from "./gemm.js";
import { isShared, workerPool, type PoolTask } from "./pool.js";
import { elementOffsets, type CpuStorage, type CpuView } from "./storage.js";

export const matmulKernel: KernelFn<"matmul", CpuStorage> = ([a, b], [out]) => {
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

/** Below this many multiply-adds the pool's hand-off costs more than it saves. */
const POOL_MIN_WORK = 1 << 20;

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

/**
 * The fast matmul (flag off): float32 only — float64 and int32 take the exact kernel above.
 * Work is shared out over output rows, over columns for one row, or over k when the output is
 * too small to share (see gemm.ts for the summation each path uses).
 */
export const fastMatmulKernel: KernelFn<"matmul", CpuStorage> = (inputs, outputs, attrs) => {
  const [A, B] = inputs as [CpuView, CpuView];
  const out = outputs[0]!;
  if (A.dtype !== "float32") return matmulKernel(inputs, outputs, attrs);
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
  const threads = getNumThreads();
  const pool = rows * job.n * job.k >= POOL_MIN_WORK ? workerPool(threads) : undefined;
  if (rows === 0 || job.n === 0) return;
  if (pool === undefined) {
    if (rows === 1) gemvColumns(job, 0, job.n);
    else gemmRows(job, 0, rows);
    return;
  }
  const sharedJob: GemmJob = { ...job, a: shared(job.a), b: shared(job.b), c: isShared(job.c) ? job.c : new Float32Array(new SharedArrayBuffer(job.c.byteLength)) };
  const runHere = (task: PoolTask) => {
    if (task.kind === "gemmRows") gemmRows(task.job, task.start, task.end);
    else if (task.kind === "gemvColumns") gemvColumns(task.job, task.start, task.end);
    else gemvPartial(task.job, task.start, task.end, task.partial);
  };
  if (rows > 1) {
    pool.run(ranges(rows, threads, 4).map(([start, end]) => ({ kind: "gemmRows", job: sharedJob, start, end })), runHere);
  } else if (job.n >= 64 * threads) {
    pool.run(ranges(job.n, threads, 16).map(([start, end]) => ({ kind: "gemvColumns", job: sharedJob, start, end })), runHere);
  } else {
    // Split-K: each thread's partial dots are rounded to float32, then added in thread order.
    const parts = ranges(job.k, threads, 4).map(([start, end]) => ({
      kind: "gemvPartial" as const,
      job: sharedJob,
      start,
      end,
      partial: new Float32Array(new SharedArrayBuffer(4 * job.n)),
    }));
    pool.run(parts, runHere);
    for (let j = 0; j < job.n; j++) {
      let total = parts[0]!.partial[j]!;
      for (let t = 1; t < parts.length; t++) total = Math.fround(total + parts[t]!.partial[j]!);
      sharedJob.c[j] = total;
    }
  }
  if (sharedJob.c !== job.c) job.c.set(sharedJob.c);
};
