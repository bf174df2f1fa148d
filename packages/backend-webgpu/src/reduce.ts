// Reductions in WGSL: sum, prod, amax, amin over a set of dims, and maxDim/minDim (values and
// first indices along one dim). One thread per output element walks its reduced elements one by
// one in row-major order of the reduced dims — the CPU backend's order — with no atomics and no
// subgroups, so the result depends only on the reduced elements: deterministic and batch
// invariant. float32 sums follow the CPU's fixed tree (backend-cpu reduce.ts: blocks of SUM_BLOCK
// summed in order, block sums combined like a binary counter) in one thread, so they stay
// accurate for long rows and equal the CPU bit for bit.
import type { KernelFn, ReduceOp } from "@lockstep/core";
import type { WebGPUStorage, WebGPUView } from "./backend.js";
import { contextOf } from "./backend.js";
import {
  FLOAT_HELPERS,
  bindings,
  collapseDims,
  linearMain,
  offsetCode,
  runShader,
  wgslType,
  workgroupsFor,
} from "./program.js";

/** Shapes and strides of the kept and the reduced dims of `x`, each collapsed where contiguous. */
function split(x: WebGPUView, reduced: readonly number[]) {
  const keptShape = x.shape.map((s, d) => (reduced.includes(d) ? 1 : s));
  const reducedShape = x.shape.map((s, d) => (reduced.includes(d) ? s : 1));
  const kept = collapseDims(keptShape, [x.strides]);
  const red = collapseDims(reducedShape, [x.strides]);
  return {
    keptShape: kept.shape,
    keptStrides: kept.strides[0]!,
    reducedShape: red.shape,
    reducedStrides: red.strides[0]!,
    outputs: keptShape.reduce((a, b) => a * b, 1),
    reducedCount: reducedShape.reduce((a, b) => a * b, 1),
  };
}

/**
 * WGSL stepping `pos` to the next reduced element in row-major order: an odometer over the
 * reduced dims (counters k0…), sizes at info[sizeAt…], strides at info[strideAt…].
 */
function odometer(rank: number, sizeAt: number, strideAt: number): { declare: string; advance: string } {
  const declare = Array.from({ length: rank }, (_, d) => `  var k${d} = 0u;`).join("\n");
  const step = (d: number, indent: string): string => {
    const lines = [`${indent}k${d} = k${d} + 1u;`, `${indent}pos = pos + info[${strideAt + d}u];`];
    if (d > 0) {
      lines.push(
        `${indent}if (k${d} == info[${sizeAt + d}u]) {`,
        `${indent}  k${d} = 0u;`,
        `${indent}  pos = pos - info[${strideAt + d}u] * info[${sizeAt + d}u];`,
        step(d - 1, indent + "  "),
        `${indent}}`,
      );
    }
    return lines.join("\n");
  };
  return { declare, advance: step(rank - 1, "    ") };
}

const STEPS: Record<ReduceOp, (kind: string) => { init: string; step: string }> = {
  sum: (kind) => ({ init: kind === "f32" ? "0.0" : "0", step: "acc = acc + v;" }),
  prod: (kind) => ({ init: kind === "f32" ? "1.0" : "1", step: "acc = acc * v;" }),
  // amax/amin start from the first element (which the first step leaves unchanged); NaN wins and stops.
  amax: (kind) => ({
    init: "x[pos]",
    step: kind === "f32" ? "if (v > acc || is_nan(v)) { acc = v; if (is_nan(v)) { break; } }" : "if (v > acc) { acc = v; }",
  }),
  amin: (kind) => ({
    init: "x[pos]",
    step: kind === "f32" ? "if (v < acc || is_nan(v)) { acc = v; if (is_nan(v)) { break; } }" : "if (v < acc) { acc = v; }",
  }),
};

/** Elements per leaf block of the float32 sum tree: must equal backend-cpu's SUM_BLOCK. */
export const SUM_BLOCK = 32;

/**
 * The f32 sum as the CPU's tree: `acc` sums the current block; a finished block is folded with
 * ctz(blocks so far) stacked partials and pushed; the stack is folded from the top at the end.
 */
const TREE_SUM = {
  init: "0.0",
  declare: `  var stack: array<f32, 64>;
  var depth = 0u;
  var blocks = 0u;
  var inBlock = 0u;`,
  step: `acc = acc + v;
    inBlock = inBlock + 1u;
    if (inBlock == ${SUM_BLOCK}u || r + 1u == info[1]) {
      blocks = blocks + 1u;
      for (var m = countTrailingZeros(blocks); m > 0u; m = m - 1u) {
        depth = depth - 1u;
        acc = stack[depth] + acc;
      }
      stack[depth] = acc;
      depth = depth + 1u;
      acc = 0.0;
      inBlock = 0u;
    }`,
  finish: `  if (depth > 0u) {
    depth = depth - 1u;
    acc = stack[depth];
    while (depth > 0u) {
      depth = depth - 1u;
      acc = stack[depth] + acc;
    }
  }`,
};

export function reduceKernel(op: ReduceOp): KernelFn<ReduceOp, WebGPUStorage> {
  return ([x], [out], { dims }) => {
    const ctx = contextOf(out!.storage);
    contextOf(x!.storage);
    const plan = split(x!, dims);
    if (plan.outputs === 0) return;
    const keptRank = plan.keptShape.length;
    const reducedRank = plan.reducedShape.length;
    const info = new Uint32Array(3 + 2 * keptRank + 2 * reducedRank);
    info[0] = plan.outputs;
    info[1] = plan.reducedCount;
    info[2] = x!.offset;
    info.set(plan.keptShape, 3);
    info.set(plan.keptStrides, 3 + keptRank);
    const sizeAt = 3 + 2 * keptRank;
    info.set(plan.reducedShape, sizeAt);
    info.set(plan.reducedStrides, sizeAt + reducedRank);
    const type = wgslType(x!.dtype);
    const tree = op === "sum" && type === "f32";
    const { init, step } = tree ? TREE_SUM : STEPS[op](type);
    const walk = odometer(reducedRank, sizeAt, sizeAt + reducedRank);
    runShader(ctx, {
      key: `reduce:${op}:${type}:k${keptRank}:r${reducedRank}${tree ? ":tree" : ""}`,
      source: () => `${bindings([["out", type]], [["x", type]])}
${FLOAT_HELPERS}
${linearMain()}
  if (index >= info[0]) { return; }
  var rem = index;
  var pos = info[2];
${offsetCode(keptRank, 3, [3 + keptRank], ["pos"])}
  var acc: ${type} = ${init};
${tree ? TREE_SUM.declare : ""}
${walk.declare}
  for (var r = 0u; r < info[1]; r = r + 1u) {
    let v = x[pos];
    ${step}
${walk.advance}
  }
${tree ? TREE_SUM.finish : ""}
  out[index] = acc;
}`,
      outputs: [out!.storage.buffer],
      inputs: [x!.storage.buffer],
      info,
      workgroups: workgroupsFor(plan.outputs),
    });
  };
}

/** Values and first indices of the max (or min) along one dim; NaN wins, as in PyTorch. */
export function extremumKernel(op: "maxDim" | "minDim"): KernelFn<"maxDim" | "minDim", WebGPUStorage> {
  return ([x], [values, indices], { dim }) => {
    const ctx = contextOf(values!.storage);
    contextOf(x!.storage);
    const scalar = x!.shape.length === 0;
    const plan = split(x!, scalar ? [] : [dim]);
    if (plan.outputs === 0) return;
    const keptRank = plan.keptShape.length;
    const info = new Uint32Array(4 + 2 * keptRank);
    info[0] = plan.outputs;
    info[1] = scalar ? 1 : x!.shape[dim]!;
    info[2] = scalar ? 0 : x!.strides[dim]!;
    info[3] = x!.offset;
    info.set(plan.keptShape, 4);
    info.set(plan.keptStrides, 4 + keptRank);
    const type = wgslType(x!.dtype);
    const compare = op === "maxDim" ? ">" : "<";
    const nan = type === "f32";
    runShader(ctx, {
      key: `${op}:${type}:k${keptRank}`,
      source: () => `${bindings([["values", type], ["indices", "i32"]], [["x", type]])}
${FLOAT_HELPERS}
${linearMain()}
  if (index >= info[0]) { return; }
  var rem = index;
  var pos = info[3];
${offsetCode(keptRank, 4, [4 + keptRank], ["pos"])}
  var best = x[pos];
  var at = 0u;
  for (var r = 1u; r < info[1]; r = r + 1u) {
    ${nan ? "if (is_nan(best)) { break; }" : ""}
    pos = pos + info[2];
    let v = x[pos];
    if (v ${compare} best${nan ? " || is_nan(v)" : ""}) {
      best = v;
      at = r;
    }
  }
  values[index] = best;
  indices[index] = i32(at);
}`,
      outputs: [values!.storage.buffer, indices!.storage.buffer],
      inputs: [x!.storage.buffer],
      info,
      workgroups: workgroupsFor(plan.outputs),
    });
  };
}
