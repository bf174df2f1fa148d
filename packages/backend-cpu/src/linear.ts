// The fused Linear (core's `linear` primitive: matmul(a, b) + bias): the matmul kernel of the
// current mode writes the product, then the add kernel adds the bias into it in place — the very
// kernels of the unfused sequence, so the bits are matmul-then-add's in both modes. The speed is
// that of the two ops less a launch and an allocation; the fusion exists for backends where every
// kernel launch costs.
import type { KernelFn } from "@lockstep/core";
import { binaryKernel } from "./elementwise.js";
import type { CpuStorage } from "./storage.js";

type MatmulKernel = KernelFn<"matmul", CpuStorage>;

/** Elementwise kernels read each element before writing it, so the output may be the first operand. */
const add = binaryKernel("add");

/** The linear kernel over `matmul` (the deterministic or the fast matmul kernel). */
export function linearKernel(matmul: MatmulKernel): KernelFn<"linear", CpuStorage> {
  return ([a, b, bias], [out], attrs) => {
    matmul([a!, b!], [out!], attrs);
    add([out!, bias!], [out!], {});
  };
}
