// Kernels that move elements by position, in WGSL: cat, indexSelect, gather, scatter. Semantics
// follow packages/backend-cpu/src/indexing.ts: negative indices count from the end; scatter
// writes in row-major order of the index so that with repeated indices the last write wins.
// (One deliberate difference: a 0-d index into a 1-d tensor addresses element `index`, as in
// PyTorch; the CPU kernel currently reads element 0.)
//
// Core range-checks indices only when it can read them synchronously (CPU tensors). Here, as in
// PyTorch's CUDA kernels (device-side asserts), the kernel checks each index it uses: one outside
// [0, size) — negative ones too, as on the CPU — is not used (gather and indexSelect write 0,
// scatter skips it) and the first such index is recorded in the context's index-error buffer.
// The next read of any webgpu tensor copies that buffer back with its data (no readback per op)
// and throws the IndexError the CPU would have thrown, naming the op.
import { IndexError, type KernelFn } from "@lockstep/core";
import type { WebGPUStorage, WebGPUView } from "./backend.js";
import { contextOf } from "./backend.js";
import type { GpuContext } from "./device.js";
import { mapElements } from "./elementwise.js";
import { bindings, linearMain, runShader, wgslType, workgroupsFor } from "./program.js";

function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let step = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = step;
    step *= shape[d]!;
  }
  return strides;
}

const product = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Op codes in the index-error record. */
const INDEX_OPS = ["", "indexSelect", "gather", "scatter"] as const;

/**
 * WGSL checking an index `v` against [0, size): an out-of-range one gives 0xffffffff and, if it is
 * the first since the flag was cleared, is recorded with the op, the dim and the size.
 * `index_error` is bound read_write as the second output.
 */
export function checkIndexWgsl(op: number, dim: number): string {
  return `
fn wrap_index(v: i32, size: u32) -> u32 {
  if (v >= 0 && u32(v) < size) { return u32(v); }
  if (atomicAdd(&index_error[0], 1u) == 0u) {
    atomicStore(&index_error[1], ${op}u);
    atomicStore(&index_error[2], bitcast<u32>(v));
    atomicStore(&index_error[3], size);
    atomicStore(&index_error[4], ${dim}u);
  }
  return 0xffffffffu;
}`;
}

export const ERROR_BINDING: [string, string] = ["index_error", "atomic<u32>"];

/** Marks that an index-checking dispatch was recorded, so the next read looks at the flag. */
export function errorBuffer(ctx: GpuContext): GPUBuffer {
  ctx.indexChecksRecorded++;
  return ctx.indexErrorBuffer();
}

/**
 * The IndexError a flagged record stands for (undefined when nothing was flagged), with the CPU
 * kernel's message and the op named.
 */
export function indexErrorOf(record: Uint32Array): IndexError | undefined {
  if (record[0] === 0) return undefined;
  const op = INDEX_OPS[record[1]!] ?? "an indexing op";
  const value = record[2]! | 0;
  const text = op === "indexSelect"
    ? "index out of range in self"
    : `index ${value} is out of bounds for dimension ${record[4]} with size ${record[3]}`;
  return new IndexError(
    `${text} (in ${op} on webgpu: the kernel found index ${value} outside [0, ${record[3]}); raised at the next read, ` +
      "like a CUDA device-side assert)",
  );
}

/** Each input copied into its slab of the output along `dim`. */
export const catKernel: KernelFn<"cat", WebGPUStorage> = (inputs, [out], { dim }) => {
  const shape = out!.shape;
  const strides = contiguousStrides(shape);
  const inner = product(shape.slice(dim + 1));
  let start = 0;
  for (const input of inputs) {
    const slab: WebGPUView = { storage: out!.storage, dtype: out!.dtype, shape: input.shape, strides, offset: start * inner };
    mapElements(slab, [input], { key: "copy", expression: "a" });
    start += input.shape[dim]!;
  }
};

export const indexSelectKernel: KernelFn<"indexSelect", WebGPUStorage> = ([x, index], [out], { dim }) => {
  const ctx = contextOf(out!.storage);
  contextOf(x!.storage);
  contextOf(index!.storage);
  const count = product(out!.shape);
  if (count === 0) return;
  // A 0-d x behaves as shape [1]: every pick reads its one element.
  const scalar = x!.shape.length === 0;
  const outShape = scalar ? [count] : out!.shape;
  const xStrides = scalar ? [0] : x!.strides;
  const d = scalar ? 0 : dim;
  const rank = outShape.length;
  const info = new Uint32Array(5 + 2 * rank);
  info.set([count, x!.offset, scalar ? 1 : x!.shape[dim]!, index!.offset, index!.shape.length === 0 ? 0 : index!.strides[0]!]);
  info.set(outShape, 5);
  info.set(xStrides, 5 + rank);
  const type = wgslType(x!.dtype);
  const lines: string[] = [];
  for (let k = rank - 1; k >= 0; k--) {
    lines.push(k === 0 ? `  let c${k} = rem;` : `  let c${k} = rem % info[${5 + k}u];\n  rem = rem / info[${5 + k}u];`);
    if (k === d) {
      lines.push(`  let picked = wrap_index(index_values[info[3] + c${k} * info[4]], info[2]);`);
      lines.push(`  valid = picked != 0xffffffffu;`);
      lines.push(`  pos = pos + picked * info[${5 + rank + k}u];`);
    } else {
      lines.push(`  pos = pos + c${k} * info[${5 + rank + k}u];`);
    }
  }
  runShader(ctx, {
    key: `indexSelect:${type}:r${rank}:d${d}:dim${dim}`,
    source: () => `${bindings([["out", type], ERROR_BINDING], [["x", type], ["index_values", "i32"]])}
${checkIndexWgsl(1, dim)}
${linearMain()}
  if (index >= info[0]) { return; }
  var rem = index;
  var pos = info[1];
  var valid = true;
${lines.join("\n")}
  out[index] = select(${type}(0), x[select(0u, pos, valid)], valid);
}`,
    outputs: [out!.storage.buffer, errorBuffer(ctx)],
    inputs: [x!.storage.buffer, index!.storage.buffer],
    info,
    workgroups: workgroupsFor(count),
  });
};

/**
 * Addressing for gather and scatter: for index rank R, the target's strides (0 past its rank),
 * the size of `dim` and `dim` itself. A 0-d index (allowed with a 0-d or 1-d target) counts as
 * shape [1] along the target's dim 0, as in PyTorch: gather(x1d, 0, tensor(2)) is x[2].
 */
function indexedTarget(indexShape: readonly number[], target: { shape: readonly number[]; strides: readonly number[] }, dim: number) {
  if (indexShape.length === 0) {
    const scalarTarget = target.shape.length === 0;
    return { shape: [1], strides: [scalarTarget ? 0 : target.strides[0]!], size: scalarTarget ? 1 : target.shape[0]!, dim: 0 };
  }
  const strides = indexShape.map((_, d) => (d < target.strides.length ? target.strides[d]! : 0));
  return { shape: [...indexShape], strides, size: target.shape[dim] ?? 1, dim };
}

function paddedStrides(view: WebGPUView, rank: number): number[] {
  return Array.from({ length: rank }, (_, d) => (view.shape.length === 0 ? 0 : (view.strides[d] ?? 0)));
}

export const gatherKernel: KernelFn<"gather", WebGPUStorage> = ([x, index], [out], { dim }) => {
  const ctx = contextOf(out!.storage);
  contextOf(x!.storage);
  contextOf(index!.storage);
  const count = product(index!.shape);
  if (count === 0) return;
  const t = indexedTarget(index!.shape, x!, dim);
  const rank = t.shape.length;
  const indexStrides = paddedStrides(index!, rank);
  const info = new Uint32Array(4 + 3 * rank);
  info.set([count, x!.offset, t.size, index!.offset]);
  info.set(t.shape, 4);
  info.set(indexStrides, 4 + rank);
  info.set(t.strides, 4 + 2 * rank);
  const type = wgslType(x!.dtype);
  const lines: string[] = [];
  for (let k = rank - 1; k >= 0; k--) {
    lines.push(k === 0 ? `  let c${k} = rem;` : `  let c${k} = rem % info[${4 + k}u];\n  rem = rem / info[${4 + k}u];`);
    lines.push(`  pi = pi + c${k} * info[${4 + rank + k}u];`);
    if (k !== t.dim) lines.push(`  pos = pos + c${k} * info[${4 + 2 * rank + k}u];`);
  }
  runShader(ctx, {
    key: `gather:${type}:r${rank}:d${t.dim}:dim${dim}`,
    source: () => `${bindings([["out", type], ERROR_BINDING], [["x", type], ["index_values", "i32"]])}
${checkIndexWgsl(2, dim)}
${linearMain()}
  if (index >= info[0]) { return; }
  var rem = index;
  var pos = info[1];
  var pi = info[3];
${lines.join("\n")}
  let picked = wrap_index(index_values[pi], info[2]);
  let valid = picked != 0xffffffffu;
  pos = pos + select(0u, picked, valid) * info[${4 + 2 * rank + t.dim}u];
  out[index] = select(${type}(0), x[pos], valid);
}`,
    outputs: [out!.storage.buffer, errorBuffer(ctx)],
    inputs: [x!.storage.buffer, index!.storage.buffer],
    info,
    workgroups: workgroupsFor(count),
  });
};

/**
 * A copy of x, then src written at the indexed positions. Writes to one target element can only
 * come from one line of the index along `dim` (the other coordinates pick the target), so each
 * thread owns one line and writes it in order: the last write wins, on every run.
 */
export const scatterKernel: KernelFn<"scatter", WebGPUStorage> = ([x, index, src], [out], { dim }) => {
  mapElements(out!, [x!], { key: "copy", expression: "a" });
  const ctx = contextOf(out!.storage);
  contextOf(index!.storage);
  contextOf(src!.storage);
  const count = product(index!.shape);
  if (count === 0) return;
  const t = indexedTarget(index!.shape, { shape: out!.shape, strides: contiguousStrides(out!.shape) }, dim);
  const rank = t.shape.length;
  const lineLength = t.shape[t.dim]!;
  const lines = count / lineLength;
  const lineShape = t.shape.map((s, d) => (d === t.dim ? 1 : s));
  const info = new Uint32Array(5 + 4 * rank);
  info.set([lines, lineLength, t.size, index!.offset, src!.offset]);
  info.set(lineShape, 5);
  info.set(paddedStrides(index!, rank), 5 + rank);
  info.set(paddedStrides(src!, rank), 5 + 2 * rank);
  info.set(t.strides, 5 + 3 * rank);
  const type = wgslType(out!.dtype);
  const at = (block: number, k: number | string) => `info[${5 + block * rank}u + ${k}u]`;
  const decompose: string[] = [];
  for (let k = rank - 1; k >= 0; k--) {
    if (k === t.dim) continue;
    decompose.push(k === 0 ? `  let c${k} = rem;` : `  let c${k} = rem % ${at(0, k)};\n  rem = rem / ${at(0, k)};`);
    decompose.push(`  pi = pi + c${k} * ${at(1, k)};`, `  ps = ps + c${k} * ${at(2, k)};`, `  pt = pt + c${k} * ${at(3, k)};`);
  }
  runShader(ctx, {
    key: `scatter:${type}:r${rank}:d${t.dim}:dim${dim}`,
    source: () => `${bindings([["out", type], ERROR_BINDING], [["index_values", "i32"], ["src", type]])}
${checkIndexWgsl(3, dim)}
${linearMain()}
  if (index >= info[0]) { return; }
  var rem = index;
  var pi = info[3];
  var ps = info[4];
  var pt = 0u;
${decompose.join("\n")}
  for (var j = 0u; j < info[1]; j = j + 1u) {
    let picked = wrap_index(index_values[pi + j * ${at(1, t.dim)}], info[2]);
    if (picked != 0xffffffffu) {
      out[pt + picked * ${at(3, t.dim)}] = src[ps + j * ${at(2, t.dim)}];
    }
  }
}`,
    outputs: [out!.storage.buffer, errorBuffer(ctx)],
    inputs: [index!.storage.buffer, src!.storage.buffer],
    info,
    workgroups: workgroupsFor(lines),
  });
};
