// Matrix multiply in WGSL: [...batch, M, K] × [...batch, K, N] → [...batch, M, N], operands of
// any strides (transposed, sliced, batch-broadcast with stride 0).
//
// Determinism (DESIGN.md, "Deterministic kernels"): each output element is owned by one thread
// and is the sequential sum over k = 0, 1, …, K−1 of separately rounded products, starting from
// +0 — `acc = acc + a·b`, never fma() — exactly the CPU kernel's `fround(acc + fround(a·b))`.
// A thread computes a 4×4 block of outputs (rule 2: vectorise across outputs, not across K):
// per k it loads 4 values of A and 4 of B and updates 16 independent accumulators. The block
// size changes how many outputs a thread owns, never the order of any output's additions, and
// there is no split-K, no workgroup memory and no barrier, so each result depends only on K:
// deterministic and batch invariant. No product or sum has two constant or loop-invariant
// operands for a compiler to regroup (rule 6). On lavapipe this is ~16× faster than staging
// 16×16 tiles in workgroup memory (barriers are expensive on CPU "GPUs").
import type { KernelFn } from "@lockstep/core";
import type { WebGPUStorage } from "./backend.js";
import { contextOf } from "./backend.js";
import { bindings, collapseDims, offsetCode, runShader, wgslType } from "./program.js";

/** Outputs per thread along rows and along columns. */
const BLOCK = 4;
/** Threads per workgroup along each axis; a workgroup computes a TILE × TILE block of outputs. */
const THREADS = 8;
const TILE = BLOCK * THREADS;

/**
 * WGSL for one thread's BLOCK × BLOCK outputs: for k = 0, 1, …, K−1 it loads BLOCK values of a's
 * rows and BLOCK of b's columns and adds each product to its own accumulator. Rows and columns
 * past the edge read the last valid one and are not written.
 */
function blockCode(type: string): string {
  const lines: string[] = [];
  const range = Array.from({ length: BLOCK }, (_, i) => i);
  for (const i of range) {
    lines.push(`  let row_${i} = min(row0 + ${i}u, M - 1u);`, `  let col_${i} = min(col0 + ${i}u, N - 1u);`);
  }
  for (const i of range) lines.push(`  var ia${i} = pa + row_${i} * info[6];`, `  var ib${i} = pb + col_${i} * info[9];`);
  for (const i of range) for (const j of range) lines.push(`  var acc${i}${j} = ${type}(0);`);
  lines.push("  for (var k = 0u; k < K; k = k + 1u) {");
  for (const i of range) lines.push(`    let a${i} = a[ia${i}];`, `    let b${i} = b[ib${i}];`);
  for (const i of range) for (const j of range) lines.push(`    acc${i}${j} = acc${i}${j} + a${i} * b${j};`);
  for (const i of range) lines.push(`    ia${i} = ia${i} + sa;`, `    ib${i} = ib${i} + sb;`);
  lines.push("  }");
  for (const i of range) {
    for (const j of range) {
      lines.push(`  if (row0 + ${i}u < M && col0 + ${j}u < N) { out[(batch * M + row0 + ${i}u) * N + col0 + ${j}u] = acc${i}${j}; }`);
    }
  }
  return lines.join("\n");
}

export const matmulKernel: KernelFn<"matmul", WebGPUStorage> = ([a, b], [out]) => {
  const A = a!;
  const B = b!;
  const ctx = contextOf(out!.storage);
  contextOf(A.storage);
  contextOf(B.storage);
  const nd = A.shape.length;
  const m = A.shape[nd - 2]!;
  const k = A.shape[nd - 1]!;
  const n = B.shape[nd - 1]!;
  const batchShape = A.shape.slice(0, nd - 2);
  const batches = batchShape.reduce((x, y) => x * y, 1);
  if (m === 0 || n === 0 || batches === 0) return;
  const batch = collapseDims(batchShape, [A.strides.slice(0, nd - 2), B.strides.slice(0, nd - 2)]);
  const rank = batch.shape.length;
  const tilesX = Math.ceil(n / TILE);
  const tilesY = Math.ceil(m / TILE);
  const info = new Uint32Array(12 + 3 * rank);
  info.set([m, n, k, batches, A.offset, B.offset, A.strides[nd - 2]!, A.strides[nd - 1]!, B.strides[nd - 2]!, B.strides[nd - 1]!, tilesX, tilesY]);
  info.set(batch.shape, 12);
  info.set(batch.strides[0]!, 12 + rank);
  info.set(batch.strides[1]!, 12 + 2 * rank);
  const type = wgslType(A.dtype);
  runShader(ctx, {
    key: `matmul:${type}:b${rank}`,
    source: () => `${bindings([["out", type]], [["a", type], ["b", type]])}
@compute @workgroup_size(${THREADS}, ${THREADS})
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
  let row0 = (tile / tilesX) * ${TILE}u + lid.y * ${BLOCK}u;
  let col0 = (tile % tilesX) * ${TILE}u + lid.x * ${BLOCK}u;
  if (row0 >= M || col0 >= N) { return; }
  var rem = batch;
  var pa = info[4];
  var pb = info[5];
${offsetCode(rank, 12, [12 + rank, 12 + 2 * rank], ["pa", "pb"])}
  let sa = info[7];
  let sb = info[8];
${blockCode(type)}
}`,
    outputs: [out!.storage.buffer],
    inputs: [A.storage.buffer, B.storage.buffer],
    info,
    workgroups: tilesX * tilesY * batches,
  });
};
