// @lockstep/backend-cpu: registers the CPU backend and its kernels with core. Importing this
// module is enough; `lockstep` does it for you.
import {
  BINARY_OPS,
  REDUCE_OPS,
  UNARY_OPS,
  registerBackend,
  registerKernel,
  type KernelFn,
  type Primitive,
} from "@lockstep/core";
import {
  DETERMINISTIC_BINARY,
  DETERMINISTIC_UNARY,
  binaryKernel,
  castKernel,
  copyKernel,
  unaryKernel,
  whereKernel,
} from "./elementwise.js";
import { catKernel, gatherKernel, indexSelectKernel, scatterKernel } from "./indexing.js";
import { crossEntropyBackwardKernel, crossEntropyKernel } from "./losses.js";
import { linearKernel } from "./linear.js";
import { fastMatmulKernel, matmulKernel } from "./matmul.js";
import { adamUpdateKernel, sgdUpdateKernel } from "./optimizers.js";
import { extremumKernel, reduceKernel } from "./reduce.js";
import { cpuBackend, type CpuStorage } from "./storage.js";

export { cpuBackend, setStoragePoison, type CpuStorage } from "./storage.js";

/** Registers a kernel that is deterministic and batch-invariant: one fixed order per output element. */
function invariant<P extends Primitive>(op: P, run: KernelFn<P, CpuStorage>): void {
  registerKernel({ op, device: "cpu", deterministic: true, batchInvariant: true, run });
}

/**
 * Registers a kernel that is batch-invariant and reproducible run to run on this machine, but does
 * not give the same bits as the other backends (V8's Math functions, double accumulation). The
 * flag off prefers it; the flag on uses the deterministic twin registered beside it.
 */
function fastOnly<P extends Primitive>(op: P, run: KernelFn<P, CpuStorage>): void {
  registerKernel({ op, device: "cpu", deterministic: false, batchInvariant: true, run });
}

/**
 * Ops whose double-precision "fast" version measured slower than the deterministic float32 one on
 * 2^20 elements (Node 20, 2026-11-22: erf 0.80–0.85, gelu 0.82–0.86, pow 0.53–0.61 det/fast
 * time): a fast kernel that is not faster is not used, so these run the deterministic kernel in
 * both modes.
 */
const NOT_FASTER = new Set<string>(["erf", "gelu", "pow"]);

/** Registers the CPU backend and every CPU kernel. Safe to call more than once. */
export function registerCpuBackend(): void {
  registerBackend(cpuBackend);
  for (const op of UNARY_OPS) {
    const twin = DETERMINISTIC_UNARY[op];
    invariant(op, unaryKernel(op, twin));
    if (twin !== undefined && !NOT_FASTER.has(op)) fastOnly(op, unaryKernel(op));
  }
  for (const op of BINARY_OPS) {
    const twin = DETERMINISTIC_BINARY[op];
    invariant(op, binaryKernel(op, twin));
    if (twin !== undefined && !NOT_FASTER.has(op)) fastOnly(op, binaryKernel(op));
  }
  for (const op of REDUCE_OPS) {
    invariant(op, reduceKernel(op, true));
    if (op === "sum" || op === "prod") fastOnly(op, reduceKernel(op, false));
  }
  invariant("maxDim", extremumKernel("maxDim"));
  invariant("minDim", extremumKernel("minDim"));
  invariant("where", whereKernel);
  invariant("cast", castKernel);
  invariant("copy", copyKernel);
  invariant("matmul", matmulKernel);
  // Changes its summation with the shape and thread count: neither deterministic nor batch-invariant.
  registerKernel({ op: "matmul", device: "cpu", deterministic: false, batchInvariant: false, run: fastMatmulKernel });
  // matmul then add in one primitive, over the same two matmul kernels (so the same bits).
  invariant("linear", linearKernel(matmulKernel));
  registerKernel({ op: "linear", device: "cpu", deterministic: false, batchInvariant: false, run: linearKernel(fastMatmulKernel) });
  invariant("cat", catKernel);
  invariant("indexSelect", indexSelectKernel);
  invariant("gather", gatherKernel);
  invariant("scatter", scatterKernel);
  // The unfused sequence's bits in either mode: the mode is an attribute (see core's ops/optim.ts).
  invariant("sgdUpdate", sgdUpdateKernel);
  invariant("adamUpdate", adamUpdateKernel);
  invariant("crossEntropy", crossEntropyKernel);
  invariant("crossEntropyBackward", crossEntropyBackwardKernel);
}

registerCpuBackend();
