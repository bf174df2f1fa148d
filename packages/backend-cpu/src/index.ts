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
import { binaryKernel, castKernel, copyKernel, unaryKernel, whereKernel } from "./elementwise.js";
import { catKernel, gatherKernel, indexSelectKernel, scatterKernel } from "./indexing.js";
import { matmulKernel } from "./matmul.js";
import { extremumKernel, reduceKernel } from "./reduce.js";
import { cpuBackend, type CpuStorage } from "./storage.js";

export { cpuBackend, type CpuStorage } from "./storage.js";

/** Registers a kernel that is deterministic and batch-invariant: one fixed order per output element. */
function invariant<P extends Primitive>(op: P, run: KernelFn<P, CpuStorage>): void {
  registerKernel({ op, device: "cpu", deterministic: true, batchInvariant: true, run });
}

/** Registers the CPU backend and every CPU kernel. Safe to call more than once. */
export function registerCpuBackend(): void {
  registerBackend(cpuBackend);
  for (const op of UNARY_OPS) invariant(op, unaryKernel(op));
  for (const op of BINARY_OPS) invariant(op, binaryKernel(op));
  for (const op of REDUCE_OPS) invariant(op, reduceKernel(op));
  invariant("maxDim", extremumKernel("maxDim"));
  invariant("minDim", extremumKernel("minDim"));
  invariant("where", whereKernel);
  invariant("cast", castKernel);
  invariant("copy", copyKernel);
  invariant("matmul", matmulKernel);
  invariant("cat", catKernel);
  invariant("indexSelect", indexSelectKernel);
  invariant("gather", gatherKernel);
  invariant("scatter", scatterKernel);
}

registerCpuBackend();
