// Reduction kernels. Each output element is reduced over the reduced dims in row-major order of
// those dims: the order depends only on the reduced shape, never on the other dims, so a row of a
// batch reduces exactly as it would alone.
//
// The deterministic float32 sum is a fixed tree over that order (DESIGN rule 7), identical in the
// WGSL kernel: blocks of SUM_BLOCK consecutive elements are summed one by one, and the block sums
// are combined pairwise like a binary counter — after block k (counting from 1) the top ctz(k)
// entries of a stack are folded into it, and at the end the stack is folded from the top. The
// tree's shape depends only on the reduced length, and the rounding error grows like
// SUM_BLOCK + log2(n / SUM_BLOCK) instead of n: a running float32 sum of 2.0s stops growing at 2^25.
import type { KernelFn, ReduceOp } from "@lockstep/core";
import { elementOffsets, mergeDims, type CpuStorage, type CpuView } from "./storage.js";

interface Plan {
  /** Storage offset of the first reduced element for each output element. */
  bases: Int32Array;
  /** Offsets of the reduced elements relative to a base, in reduction order. */
  reduced: Int32Array;
}

function plan(x: CpuView, dims: readonly number[]): Plan {
  const keptShape = x.shape.map((s, i) => (dims.includes(i) ? 1 : s));
  const reducedShape = x.shape.map((s, i) => (dims.includes(i) ? s : 1));
  return {
    bases: elementOffsets(keptShape, x.strides, x.offset),
    reduced: elementOffsets(reducedShape, x.strides, 0),
  };
}

type Step = (acc: number, v: number) => number;

const STEPS: Record<ReduceOp, { init: number; step: Step }> = {
  sum: { init: 0, step: (acc, v) => acc + v },
  prod: { init: 1, step: (acc, v) => acc * v },
  amax: { init: Number.NEGATIVE_INFINITY, step: (acc, v) => (v > acc || Number.isNaN(v) ? v : acc) },
  amin: { init: Number.POSITIVE_INFINITY, step: (acc, v) => (v < acc || Number.isNaN(v) ? v : acc) },
};

/** Integer accumulation must wrap like int32. */
const INT_STEPS: Partial<Record<ReduceOp, Step>> = {
  sum: (acc, v) => (acc + v) | 0,
  prod: (acc, v) => Math.imul(acc, v),
};

/** float32 products rounded at every step: the order and rounding the WGSL kernel uses (sums use the tree). */
const FLOAT32_STEPS: Partial<Record<ReduceOp, Step>> = {
  prod: (acc, v) => Math.fround(acc * v),
};

/** Elements per leaf block of the deterministic float32 sum tree (the WGSL kernel uses the same). */
export const SUM_BLOCK = 32;

/** Partial sums waiting to be combined: at most one per bit of the block count. */
const stack = new Float32Array(64);

/**
 * The deterministic float32 sum of src[base + reduced[r]] for r = 0…n−1: the blocked pairwise tree
 * described at the top of this file, every addition rounded to float32.
 */
export function treeSum(src: ArrayLike<number>, base: number, reduced: Int32Array): number {
  const n = reduced.length;
  let depth = 0;
  let block = 0;
  for (let start = 0; start < n; start += SUM_BLOCK) {
    const end = Math.min(start + SUM_BLOCK, n);
    let acc = 0;
    for (let r = start; r < end; r++) acc = Math.fround(acc + src[base + reduced[r]!]!);
    depth = pushBlock(acc, ++block, depth);
  }
  return popAll(depth);
}

/**
 * Pushes the sum of block number `block` (from 1) onto `stack` after ctz(block) merges — the same
 * carries as incrementing a binary counter; returns the new depth.
 */
function pushBlock(acc: number, block: number, depth: number): number {
  for (let m = 31 - Math.clz32(block & -block); m > 0; m--) acc = Math.fround(stack[--depth]! + acc);
  stack[depth++] = acc;
  return depth;
}

/** The stack's partial sums added from the top down: the tree's last merges. */
function popAll(depth: number): number {
  if (depth === 0) return 0;
  let total = stack[--depth]!;
  while (depth > 0) total = Math.fround(stack[--depth]! + total);
  return total;
}

/** treeSum over src[start], src[start + stride], …: the same tree, without an offset table. */
export function treeSumStrided(src: Float32Array, start: number, n: number, stride: number): number {
  let depth = 0;
  let block = 0;
  for (let begin = 0; begin < n; begin += SUM_BLOCK) {
    const end = Math.min(begin + SUM_BLOCK, n);
    let acc = 0;
    for (let r = begin, p = start + begin * stride; r < end; r++, p += stride) acc = Math.fround(acc + src[p]!);
    depth = pushBlock(acc, ++block, depth);
  }
  return popAll(depth);
}

/** Pending block sums of four outputs, lane-interleaved (treeSum's stack, four wide). */
const stack4 = new Float32Array(4 * 64);

/**
 * treeSumStrided of four outputs at once, lane k reading src[start + k·lane + r·stride]: each lane
 * meets the same additions in the same order as alone. Four independent chains keep the adder
 * busy (one chain waits on each rounding), and for neighbouring columns (lane 1) one pass down
 * the rows reads each cache line once for all four.
 */
function treeSum4(src: Float32Array, start: number, n: number, stride: number, lane: number, dst: Float32Array, at: number): void {
  const l2 = 2 * lane;
  const l3 = 3 * lane;
  let depth = 0;
  let block = 0;
  for (let begin = 0; begin < n; begin += SUM_BLOCK) {
    const end = Math.min(begin + SUM_BLOCK, n);
    let a0 = 0;
    let a1 = 0;
    let a2 = 0;
    let a3 = 0;
    for (let r = begin, p = start + begin * stride; r < end; r++, p += stride) {
      a0 = Math.fround(a0 + src[p]!);
      a1 = Math.fround(a1 + src[p + lane]!);
      a2 = Math.fround(a2 + src[p + l2]!);
      a3 = Math.fround(a3 + src[p + l3]!);
    }
    block++;
    for (let m = 31 - Math.clz32(block & -block); m > 0; m--) {
      const top = 4 * --depth;
      a0 = Math.fround(stack4[top]! + a0);
      a1 = Math.fround(stack4[top + 1]! + a1);
      a2 = Math.fround(stack4[top + 2]! + a2);
      a3 = Math.fround(stack4[top + 3]! + a3);
    }
    const top = 4 * depth++;
    stack4[top] = a0;
    stack4[top + 1] = a1;
    stack4[top + 2] = a2;
    stack4[top + 3] = a3;
  }
  if (depth === 0) {
    dst.fill(0, at, at + 4);
    return;
  }
  const last = 4 * --depth;
  let t0 = stack4[last]!;
  let t1 = stack4[last + 1]!;
  let t2 = stack4[last + 2]!;
  let t3 = stack4[last + 3]!;
  while (depth > 0) {
    const below = 4 * --depth;
    t0 = Math.fround(stack4[below]! + t0);
    t1 = Math.fround(stack4[below + 1]! + t1);
    t2 = Math.fround(stack4[below + 2]! + t2);
    t3 = Math.fround(stack4[below + 3]! + t3);
  }
  dst[at] = t0;
  dst[at + 1] = t1;
  dst[at + 2] = t2;
  dst[at + 3] = t3;
}

/** Sums in double, in order, rounded once on store: the fast float32 sum without an offset table. */
export function doubleSumStrided(src: Float32Array, start: number, n: number, stride: number): number {
  let acc = 0;
  for (let r = 0, p = start; r < n; r++, p += stride) acc += src[p]!;
  return acc;
}

/** doubleSumStrided of four outputs at once (see treeSum4). */
function doubleSum4(src: Float32Array, start: number, n: number, stride: number, lane: number, dst: Float32Array, at: number): void {
  const l2 = 2 * lane;
  const l3 = 3 * lane;
  let a0 = 0;
  let a1 = 0;
  let a2 = 0;
  let a3 = 0;
  for (let r = 0, p = start; r < n; r++, p += stride) {
    a0 += src[p]!;
    a1 += src[p + lane]!;
    a2 += src[p + l2]!;
    a3 += src[p + l3]!;
  }
  dst[at] = a0;
  dst[at + 1] = a1;
  dst[at + 2] = a2;
  dst[at + 3] = a3;
}

/**
 * The float32 sum without a table of reduced offsets when the reduced dims merge into one
 * strided run (rows, columns, or any single dim); outputs evenly spaced in the input (one kept
 * dim after merging) are summed four at a time. False when the reduced dims do not merge; the general loop runs then.
 */
function float32Sum(x: CpuView, out: CpuView, dims: readonly number[], tree: boolean): boolean {
  const keptShape: number[] = [];
  const keptStrides: number[] = [];
  const reducedShape: number[] = [];
  const reducedStrides: number[] = [];
  for (let d = 0; d < x.shape.length; d++) {
    (dims.includes(d) ? reducedShape : keptShape).push(x.shape[d]!);
    (dims.includes(d) ? reducedStrides : keptStrides).push(x.strides[d]!);
  }
  let n = 1;
  for (const size of reducedShape) n *= size;
  if (n === 0) return false;
  const reduced = mergeDims(reducedShape, reducedStrides);
  if (reduced.shape.length !== 1) return false;
  const kept = mergeDims(keptShape, keptStrides);
  const src = x.storage.data as Float32Array;
  const dst = out.storage.data as Float32Array;
  const stride = reduced.strides[0]!;
  if (kept.shape.length === 1) {
    // Outputs evenly spaced in the input (rows, columns): four per pass.
    const outputs = kept.shape[0]!;
    const lane = kept.strides[0]!;
    let j = 0;
    for (; j + 4 <= outputs; j += 4) (tree ? treeSum4 : doubleSum4)(src, x.offset + j * lane, n, stride, lane, dst, j);
    for (; j < outputs; j++) {
      const start = x.offset + j * lane;
      dst[j] = tree ? treeSumStrided(src, start, n, stride) : doubleSumStrided(src, start, n, stride);
    }
    return true;
  }
  const bases = elementOffsets(kept.shape, kept.strides, x.offset);
  for (let o = 0; o < bases.length; o++) {
    dst[o] = tree ? treeSumStrided(src, bases[o]!, n, stride) : doubleSumStrided(src, bases[o]!, n, stride);
  }
  return true;
}

/**
 * `roundEachStep` false: float32 accumulates in double and rounds once (fast, more accurate, CPU
 * only). True: rounded to float32 at every step, bit-identical to the WebGPU kernel.
 */
export function reduceKernel(op: ReduceOp, roundEachStep: boolean): KernelFn<ReduceOp, CpuStorage> {
  return ([x], [out], { dims }) => {
    if (op === "sum" && out!.dtype === "float32" && x!.dtype === "float32" && float32Sum(x!, out!, dims, roundEachStep)) return;
    const { bases, reduced } = plan(x!, dims);
    const { init } = STEPS[op];
    const dtype = out!.dtype;
    const special = dtype === "int32" ? INT_STEPS[op] : dtype === "float32" && roundEachStep ? FLOAT32_STEPS[op] : undefined;
    const step = special ?? STEPS[op].step;
    const src = x!.storage.data;
    const dst = out!.storage.data;
    if (op === "sum" && (dtype === "float32" || dtype === "float64")) {
      // The most common reduction, without a call per element: same order and rounding as `step`.
      if (dtype === "float32" && roundEachStep) {
        for (let o = 0; o < bases.length; o++) dst[o] = treeSum(src, bases[o]!, reduced);
        return;
      }
      for (let o = 0; o < bases.length; o++) {
        const base = bases[o]!;
        let acc = 0;
        for (let r = 0; r < reduced.length; r++) acc += src[base + reduced[r]!]!;
        dst[o] = acc;
      }
      return;
    }
    // amax/amin of bools and ints start from the first element rather than ±inf.
    const fromFirst = op === "amax" || op === "amin";
    for (let o = 0; o < bases.length; o++) {
      const base = bases[o]!;
      let acc = fromFirst ? src[base + reduced[0]!]! : init;
      for (let r = fromFirst ? 1 : 0; r < reduced.length; r++) {
        const v = src[base + reduced[r]!]!;
        acc = step(acc, v);
        if (fromFirst && Number.isNaN(acc)) break;
      }
      dst[o] = acc;
    }
  };
}

/** Values and first indices of the max (or min) along one dim; NaN wins, as in PyTorch. */
export function extremumKernel(op: "maxDim" | "minDim"): KernelFn<"maxDim" | "minDim", CpuStorage> {
  const better = op === "maxDim" ? (v: number, best: number) => v > best : (v: number, best: number) => v < best;
  return ([x], [values, indices], { dim }) => {
    const dims = x!.shape.length === 0 ? [] : [dim];
    const { bases, reduced } = plan(x!, dims);
    const src = x!.storage.data;
    const vals = values!.storage.data;
    const idx = indices!.storage.data;
    for (let o = 0; o < bases.length; o++) {
      const base = bases[o]!;
      let best = src[base + reduced[0]!]!;
      let at = 0;
      for (let r = 1; r < reduced.length && !Number.isNaN(best); r++) {
        const v = src[base + reduced[r]!]!;
        if (better(v, best) || Number.isNaN(v)) {
          best = v;
          at = r;
        }
      }
      vals[o] = best;
      idx[o] = at;
    }
  };
}
