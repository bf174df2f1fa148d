// Fast float32 matrix multiply in plain JS, used with the deterministic flag off where the engine
// has no WebAssembly SIMD (else gemm-wasm.ts runs). Like every BLAS, it picks a
// different summation for different shapes, which is why its results can change with the batch
// size and thread count:
// - one output row (GEMV, e.g. batch 1): each dot product runs four partial sums in double across
//   k and rounds once;
// - several rows (GEMM): four rows share each load of B, and k is cut into panels of PANEL; each
//   panel is summed in double, rounded, and added to the float32 output;
// - split-K (few outputs, long k, several threads): each thread rounds its partial dot products
//   and the partials are added in float32.
// These functions run on the main thread and in the pool's workers, on shared memory.

export interface GemmJob {
  a: Float32Array;
  b: Float32Array;
  c: Float32Array;
  /** Storage offset of each batch's first element in a and b. */
  aBases: Int32Array;
  bBases: Int32Array;
  m: number;
  n: number;
  k: number;
  aRow: number;
  aCol: number;
  bRow: number;
  bCol: number;
}

export const PANEL = 256;
const f = Math.fround;

/** Output rows [rowStart, rowEnd) of the batch·m rows; c is contiguous. */
export function gemmRows(job: GemmJob, rowStart: number, rowEnd: number): void {
  const { a, b, c, m, n, k, aRow, aCol, bRow, bCol } = job;
  // With K = 0 the panel loop below never stores: write the empty sums (a new c is not zeroed).
  if (k === 0) c.fill(0, rowStart * n, rowEnd * n);
  let row = rowStart;
  while (row < rowEnd) {
    const batch = Math.floor(row / m);
    const i = row - batch * m;
    // Up to four rows of the same batch share each element of B.
    const count = Math.min(4, rowEnd - row, m - i);
    const aBase = job.aBases[batch]! + i * aRow;
    const bBase = job.bBases[batch]!;
    const a0 = aBase;
    const a1 = aBase + aRow;
    const a2 = aBase + 2 * aRow;
    const a3 = aBase + 3 * aRow;
    for (let j = 0; j < n; j++) {
      const bColumn = bBase + j * bCol;
      for (let k0 = 0; k0 < k; k0 += PANEL) {
        const k1 = Math.min(k, k0 + PANEL);
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        for (let p = k0; p < k1; p++) {
          const w = b[bColumn + p * bRow]!;
          const offset = p * aCol;
          s0 += a[a0 + offset]! * w;
          if (count > 1) s1 += a[a1 + offset]! * w;
          if (count > 2) s2 += a[a2 + offset]! * w;
          if (count > 3) s3 += a[a3 + offset]! * w;
        }
        const out = row * n + j;
        const first = k0 === 0;
        c[out] = first ? s0 : f(c[out]! + f(s0));
        if (count > 1) c[out + n] = first ? s1 : f(c[out + n]! + f(s1));
        if (count > 2) c[out + 2 * n] = first ? s2 : f(c[out + 2 * n]! + f(s2));
        if (count > 3) c[out + 3 * n] = first ? s3 : f(c[out + 3 * n]! + f(s3));
      }
    }
    row += count;
  }
}

/** Dot products of the single row with columns [colStart, colEnd) over k in [kStart, kEnd). */
function gemvDots(job: GemmJob, colStart: number, colEnd: number, kStart: number, kEnd: number, out: Float32Array, outOffset: number): void {
  const { a, b, aCol, bRow, bCol } = job;
  const aBase = job.aBases[0]!;
  const bBase = job.bBases[0]!;
  for (let j = colStart; j < colEnd; j++) {
    const column = bBase + j * bCol;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let p = kStart;
    for (; p + 3 < kEnd; p += 4) {
      s0 += a[aBase + p * aCol]! * b[column + p * bRow]!;
      s1 += a[aBase + (p + 1) * aCol]! * b[column + (p + 1) * bRow]!;
      s2 += a[aBase + (p + 2) * aCol]! * b[column + (p + 2) * bRow]!;
      s3 += a[aBase + (p + 3) * aCol]! * b[column + (p + 3) * bRow]!;
    }
    for (; p < kEnd; p++) s0 += a[aBase + p * aCol]! * b[column + p * bRow]!;
    out[outOffset + j - colStart] = (s0 + s1) + (s2 + s3);
  }
}

/** GEMV over columns [colStart, colEnd) and all of k, written to c. */
export function gemvColumns(job: GemmJob, colStart: number, colEnd: number): void {
  gemvDots(job, colStart, colEnd, 0, job.k, job.c, colStart);
}

/** One thread's share of a split-K GEMV: partial dots over [kStart, kEnd) for every column. */
export function gemvPartial(job: GemmJob, kStart: number, kEnd: number, partial: Float32Array): void {
  gemvDots(job, 0, job.n, kStart, kEnd, partial, 0);
}
