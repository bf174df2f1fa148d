// The fused Linear (core's `linear` primitive: matmul(a, b) + bias): the matmul kernel of the
// current mode writes the product, then the bias is added in place. An add of two stored values,
// rounded by the store into the output's typed array (float32: the correctly rounded sum, since
// a double holds the exact sum of two floats; int32: wrapped), is exactly what the add kernel of
// the unfused sequence computes, so the bits are matmul-then-add's in both modes. The speed is
// the same as the two ops here; the fusion exists for backends where every kernel launch costs.
import type { KernelFn } from "@lockstep/core";
import { gatherElements, type CpuStorage } from "./storage.js";

type MatmulKernel = KernelFn<"matmul", CpuStorage>;

/** The linear kernel over `matmul` (the deterministic or the fast matmul kernel). */
export function linearKernel(matmul: MatmulKernel): KernelFn<"linear", CpuStorage> {
  return ([a, b, bias], [out], attrs) => {
    matmul([a!, b!], [out!], attrs);
    const dst = out!.storage.data;
    const n = out!.shape[out!.shape.length - 1]!;
    const total = out!.shape.reduce((x, y) => x * y, 1);
    if (total === 0) return;
    const view = bias!;
    const rank = view.shape.length;
    const src = view.storage.data;
    if (view.strides.every((s, d) => s === 0 || d === rank - 1)) {
      // Linear's layout: one row of biases repeated over every output row.
      const step = view.strides[rank - 1]!;
      for (let row = 0; row < total; row += n) {
        for (let j = 0, at = view.offset; j < n; j++, at += step) dst[row + j] = dst[row + j]! + src[at]!;
      }
      return;
    }
    const values = gatherElements(view);
    for (let i = 0; i < total; i++) dst[i] = dst[i]! + values[i]!;
  };
}
