// Matrix multiply in WGSL: [...batch, M, K] × [...batch, K, N] → [...batch, M, N], operands of
// any strides (transposed, sliced, batch-broadcast with stride 0).
//
// Determinism (DESIGN.md, "Deterministic kernels"): each output element is owned by one thread
// and is the sequential sum over k = 0, 1, …, K−1 of separately rounded products, starting from
// +0 — `acc = acc + a·b`, never fma() — exactly the CPU kernel's `fround(acc + fround(a·b))`.
// A thread computes a block of outputs (rule 2: vectorise across outputs, not across K): per k it
// loads one value of A per row and one of B per column and updates rows × columns independent
// accumulators. The block size changes how many outputs a thread owns, never the order of any
// output's additions, and there is no split-K, no workgroup memory and no barrier, so each result
// depends only on K: deterministic and batch invariant (the block may depend on M for speed).
// No product or sum has two constant or loop-invariant operands for a compiler to regroup
// (rule 6). On lavapipe this is ~16× faster than staging 16×16 tiles in workgroup memory
// (barriers are expensive on CPU "GPUs").
//
// Lavapipe runs a workgroup's invocations as SIMD lanes and every buffer load with a per-lane
// address as a gather, so the cost is the loads per multiply-add: a 4×4 block does 8 loads for 16,
// an 8×8 block 16 for 64, which measured 1.5–1.9× faster for every matmul of an MLP training step
// at batch 16 (x·Wᵀ, gᵀ·x, g·W) and for 128×768×768 and 1024³. Threads are 8 × 2 so that a
// workgroup's 16 rows do not leave lanes idle at batch 16. For M < 8 a thread owns M rows
// (rounded up to a power of two) rather than 8 copies of one: 2–2.7× faster at M = 1.
// Measured and not kept: vec4 loads along k or along rows/columns (no faster: lavapipe fetches
// each component of each lane on its own), one set of rows per workgroup so that A's addresses
// are the same in every lane (lavapipe's broadcast load only recognises constant addresses, not
// ones computed from buffers or workgroup ids: 2× slower), 16×8 and 16×16 blocks (spills).
//
// With a bias (core's `linear` primitive, nn.Linear) the store writes `acc + bias`: one more
// correctly rounded add after the whole sum, exactly what the unfused add kernel computes.
import type { KernelFn, View } from "@lockstep/core";
import type { WebGPUStorage } from "./backend.js";
import { contextOf } from "./backend.js";
import { bindings, collapseDims, offsetCode, runShader, wgslType } from "./program.js";

type WebGPUView = View<WebGPUStorage>;

/** Columns each thread owns, and threads per workgroup along the columns. */
const COLS = 8;
const LANES = 8;

/**
 * Rows each thread owns for an M-row product: 8, or M rounded up to a power of two when smaller;
 * and threads per workgroup along the rows (2 when M is above 8, else 1).
 */
function rowLayout(m: number): { rows: number; rowThreads: number } {
  const rows = m >= 8 ? 8 : m > 2 ? (m > 4 ? 8 : 4) : m;
  return { rows, rowThreads: m > rows ? 2 : 1 };
}

/**
 * WGSL for one thread's rows × COLS outputs: for k = 0, 1, …, K−1 it loads one value of a per row
 * and one of b per column and adds each product to its own accumulator. Rows and columns past the
 * edge read the last valid one and are not written.
 */
function blockCode(type: string, rows: number, store: (i: number, j: number) => string): string {
  const lines: string[] = [];
  const rowRange = Array.from({ length: rows }, (_, i) => i);
  const colRange = Array.from({ length: COLS }, (_, j) => j);
  for (const i of rowRange) lines.push(`  var ia${i} = pa + min(row0 + ${i}u, M - 1u) * info[6];`);
  for (const j of colRange) lines.push(`  var ib${j} = pb + min(col0 + ${j}u, N - 1u) * info[9];`);
  for (const i of rowRange) for (const j of colRange) lines.push(`  var acc${i}_${j} = ${type}(0);`);
  lines.push("  for (var k = 0u; k < K; k = k + 1u) {");
  for (const i of rowRange) lines.push(`    let a${i} = a[ia${i}];`);
  for (const j of colRange) lines.push(`    let b${j} = b[ib${j}];`);
  for (const i of rowRange) for (const j of colRange) lines.push(`    acc${i}_${j} = acc${i}_${j} + a${i} * b${j};`);
  for (const i of rowRange) lines.push(`    ia${i} = ia${i} + sa;`);
  for (const j of colRange) lines.push(`    ib${j} = ib${j} + sb;`);
  lines.push("  }");
  for (const i of rowRange) {
    for (const j of colRange) {
      lines.push(`  if (row0 + ${i}u < M && col0 + ${j}u < N) { out[(batch * M + row0 + ${i}u) * N + col0 + ${j}u] = ${store(i, j)}; }`);
    }
  }
  return lines.join("\n");
}

/**
 * Records a matmul of views a (B,M,K) and b (B,K,N) into out (B,M,N); with `bias` (a B,M,N view,
 * usually a broadcast row) each output is the rounded sum plus its bias — `acc + bias`, one more
 * correctly rounded add after the whole k loop, exactly the unfused add kernel's result.
 */
function recordMatmul(A: WebGPUView, B: WebGPUView, out: WebGPUView, bias?: WebGPUView): void {
  const ctx = contextOf(out.storage);
  contextOf(A.storage);
  contextOf(B.storage);
  if (bias !== undefined) contextOf(bias.storage);
  const nd = A.shape.length;
  const m = A.shape[nd - 2]!;
  const k = A.shape[nd - 1]!;
  const n = B.shape[nd - 1]!;
  const batchShape = A.shape.slice(0, nd - 2);
  const batches = batchShape.reduce((x, y) => x * y, 1);
  if (m === 0 || n === 0 || batches === 0) return;
  const operands = bias === undefined ? [A, B] : [A, B, bias];
  const batch = collapseDims(batchShape, operands.map((v) => v.strides.slice(0, nd - 2)));
  const rank = batch.shape.length;
  const { rows, rowThreads } = rowLayout(m);
  const tileRows = rows * rowThreads;
  const tileCols = COLS * LANES;
  const tilesX = Math.ceil(n / tileCols);
  const tilesY = Math.ceil(m / tileRows);
  // Header: sizes, offsets and strides of a and b, the tile grid, then the bias's offset and
  // strides; then the batch dims' sizes and each operand's batch strides.
  const header = bias === undefined ? 12 : 15;
  const count = operands.length;
  const info = new Uint32Array(header + (1 + count) * rank);
  info.set([m, n, k, batches, A.offset, B.offset, A.strides[nd - 2]!, A.strides[nd - 1]!, B.strides[nd - 2]!, B.strides[nd - 1]!, tilesX, tilesY]);
  if (bias !== undefined) info.set([bias.offset, bias.strides[nd - 2]!, bias.strides[nd - 1]!], 12);
  info.set(batch.shape, header);
  batch.strides.forEach((strides, j) => info.set(strides, header + (1 + j) * rank));
  const strideAt = operands.map((_, j) => header + (1 + j) * rank);
  const names = bias === undefined ? ["pa", "pb"] : ["pa", "pb", "pc"];
  const type = wgslType(A.dtype);
  const inputs: [string, string][] = [["a", type], ["b", type]];
  if (bias !== undefined) inputs.push(["bias", type]);
  const store = (i: number, j: number) =>
    bias === undefined ? `acc${i}_${j}` : `acc${i}_${j} + bias[pc + (row0 + ${i}u) * info[13] + (col0 + ${j}u) * info[14]]`;
  runShader(ctx, {
    key: `matmul:${type}:b${rank}:r${rows}x${rowThreads}${bias === undefined ? "" : ":bias"}`,
    source: () => `${bindings([["out", type]], inputs)}
@compute @workgroup_size(${LANES}, ${rowThreads})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let group = wid.y * groups.x + wid.x;
  let M = info[0];
  let N = info[1];
  let K = info[2];
  let tilesX = info[10];
  let perBatch = tilesX * info[11];
  if (group >= perBatch * info[3]) { return; }
  let batch = group / perBatch;
  let tile = group % perBatch;
  let row0 = (tile / tilesX) * ${tileRows}u + lid.y * ${rows}u;
  let col0 = (tile % tilesX) * ${tileCols}u + lid.x * ${COLS}u;
  if (row0 >= M || col0 >= N) { return; }
  var rem = batch;
  var pa = info[4];
  var pb = info[5];${bias === undefined ? "" : "\n  var pc = info[12];"}
${offsetCode(rank, header, strideAt, names)}
  let sa = info[7];
  let sb = info[8];
${blockCode(type, rows, store)}
}`,
    outputs: [out.storage.buffer],
    inputs: operands.map((v) => v.storage.buffer),
    info,
    workgroups: tilesX * tilesY * batches,
  });
}

export const matmulKernel: KernelFn<"matmul", WebGPUStorage> = ([a, b], [out]) => recordMatmul(a!, b!, out!);

/** core's `linear`: matmul(a, b) + bias in one dispatch, with matmul-then-add's bits. */
export const linearKernel: KernelFn<"linear", WebGPUStorage> = ([a, b, bias], [out]) => recordMatmul(a!, b!, out!, bias!);
