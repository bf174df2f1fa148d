// Kernels that move elements by position: cat, indexSelect, gather, scatter. Index values were
// range-checked by core; negative indices count from the end.
import type { KernelFn } from "@lockstep/core";
import { simdCopyBlocks } from "./elementwise-simd.js";
import { elementOffsets, gatherElements, type CpuStorage } from "./storage.js";

function wrap(i: number, size: number): number {
  return i < 0 ? i + size : i;
}

export const catKernel: KernelFn<"cat", CpuStorage> = (inputs, [out], { dim }) => {
  const shape = out!.shape;
  const outer = shape.slice(0, dim).reduce((a, b) => a * b, 1);
  const inner = shape.slice(dim + 1).reduce((a, b) => a * b, 1);
  const dst = out!.storage.data;
  const rowLength = shape[dim]! * inner;
  let column = 0;
  for (const input of inputs) {
    const block = input.shape[dim]! * inner;
    const src = gatherElements(input);
    if (!simdCopyBlocks(src, 0, block, dst, out!.offset + column, rowLength, block, outer)) {
      for (let o = 0; o < outer; o++) dst.set(src.subarray(o * block, (o + 1) * block), out!.offset + o * rowLength + column);
    }
    column += block;
  }
};

export const indexSelectKernel: KernelFn<"indexSelect", CpuStorage> = ([x, index], [out], { dim }) => {
  const X = x!;
  const picks = gatherElements(index!);
  const dst = out!.storage.data;
  if (X.shape.length === 0) {
    for (let i = 0; i < picks.length; i++) dst[i] = X.storage.data[X.offset]!;
    return;
  }
  const size = X.shape[dim]!;
  // Offsets of one slice (dim fixed at 0) in output order, then shift by the picked index.
  const sliceShape = X.shape.map((s, i) => (i === dim ? 1 : s));
  const outer = X.shape.slice(0, dim).reduce((a, b) => a * b, 1);
  const inner = X.shape.slice(dim + 1).reduce((a, b) => a * b, 1);
  const sliceOffsets = elementOffsets(sliceShape, X.strides, X.offset);
  const stride = X.strides[dim]!;
  const src = X.storage.data;
  let o = 0;
  for (let a = 0; a < outer; a++) {
    for (let p = 0; p < picks.length; p++) {
      const shift = wrap(picks[p]!, size) * stride;
      for (let b = 0; b < inner; b++) dst[o++] = src[sliceOffsets[a * inner + b]! + shift]!;
    }
  }
};

/** For each element of `index` (row-major), the storage offset in `target` with `dim` replaced by the index value. */
function indexedOffsets(
  indexShape: readonly number[],
  indexValues: ArrayLike<number>,
  target: { shape: readonly number[]; strides: readonly number[]; offset: number },
  dim: number,
): Int32Array {
  const ndim = indexShape.length;
  const strides = indexShape.map((_, d) => (d < target.strides.length ? target.strides[d]! : 0));
  const zeroAtDim = strides.map((s, d) => (d === dim ? 0 : s));
  const bases = elementOffsets(indexShape, zeroAtDim, target.offset);
  // A 0-d index into a 1-d tensor still picks along dim 0, as in PyTorch.
  const size = target.shape[dim] ?? 1;
  const dimStride = ndim === 0 ? (target.strides[dim] ?? 0) : (strides[dim] ?? 0);
  const out = new Int32Array(bases.length);
  for (let i = 0; i < bases.length; i++) out[i] = bases[i]! + wrap(indexValues[i]!, size) * dimStride;
  return out;
}

export const gatherKernel: KernelFn<"gather", CpuStorage> = ([x, index], [out], { dim }) => {
  const offsets = indexedOffsets(index!.shape, gatherElements(index!), x!, dim);
  const src = x!.storage.data;
  const dst = out!.storage.data;
  for (let i = 0; i < offsets.length; i++) dst[i] = src[offsets[i]!]!;
};

/** Writes in row-major order of `index`, so with repeated indices the last write wins — every run. */
export const scatterKernel: KernelFn<"scatter", CpuStorage> = ([x, index, src], [out], { dim }) => {
  const dst = out!.storage.data;
  dst.set(gatherElements(x!));
  const target = { shape: out!.shape, strides: out!.strides, offset: 0 };
  const offsets = indexedOffsets(index!.shape, gatherElements(index!), target, dim);
  // src may be larger than index: take its elements at the index's positions.
  const srcOffsets = elementOffsets(index!.shape, src!.strides.slice(0, index!.shape.length), src!.offset);
  const values = src!.storage.data;
  for (let i = 0; i < offsets.length; i++) dst[offsets[i]!] = values[srcOffsets[i]!]!;
};
