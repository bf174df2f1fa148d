// matmul with torch.matmul's rank rules. The primitive multiplies [...batch, M, K] by
// [...batch, K, N] with identical batch shapes; broadcast batch dims arrive as stride-0 views, so
// no operand is ever copied to make the shapes agree.
import { DTypeError, ShapeError } from "../errors.js";
import { commonDevice, runPrimitive } from "../dispatch.js";
import { broadcastShapes } from "../shape.js";
import type { Tensor } from "../tensor.js";
import { broadcastTo } from "./elementwise.js";
import { hasKernel } from "../registry.js";
import { reshape, transpose, unsqueeze } from "./views.js";
import { checkTensor } from "../validate.js";

function checkDTypes(a: Tensor, b: Tensor): void {
  if (a.dtype !== b.dtype) {
    throw new DTypeError(`expected m1 and m2 to have the same dtype, but got: ${a.dtype} != ${b.dtype}`);
  }
  if (a.dtype === "bool") throw new DTypeError("matmul is not implemented for bool tensors");
}

function product(a: Tensor, b: Tensor): Tensor {
  const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const [m, k] = a.shape.slice(-2) as [number, number];
  const n = b.shape[b.ndim - 1]!;
  const left = broadcastTo(a, [...batch, m, k]);
  const right = broadcastTo(b, [...batch, k, n]);
  return runPrimitive("matmul", [left, right], [{ shape: [...batch, m, n], dtype: a.dtype }], {})[0]!;
}

/**
 * `x · weightᵀ + bias` (nn.Linear) as one primitive when the shapes are Linear's: x [..., K] with
 * at least 2 dims, weight [N, K], bias [N], one dtype and device. Each output is the matmul's
 * output plus the bias, rounded once more: bit for bit `matmul(x, weightᵀ)` then `add(·, bias)`
 * (the same kernels' sums, in both modes), and its gradients are theirs (the matmul rule's, and the
 * bias broadcast's sum). Returns undefined for any other shapes, dtypes or devices, and when the
 * device has no kernel for it: the caller then runs the two ops.
 */
export function fusedLinear(x: Tensor, weight: Tensor, bias: Tensor): Tensor | undefined {
  if (x.ndim < 2 || weight.ndim !== 2 || bias.ndim !== 1 || x.dtype === "bool") return undefined;
  const [n, k] = weight.shape as [number, number];
  if (x.shape[x.ndim - 1] !== k || bias.shape[0] !== n) return undefined;
  if (weight.dtype !== x.dtype || bias.dtype !== x.dtype) return undefined;
  if (weight.device !== x.device || bias.device !== x.device || !hasKernel("linear", x.device)) return undefined;
  const batch = x.shape.slice(0, -2);
  const m = x.shape[x.ndim - 2]!;
  const right = broadcastTo(transpose(weight, 0, 1), [...batch, k, n]);
  const shifted = broadcastTo(bias, [...batch, m, n]);
  return runPrimitive("linear", [x, right, shifted], [{ shape: [...batch, m, n], dtype: x.dtype }], {})[0]!;
}

/**
 * Like torch.matmul: dot product of 1-D tensors, matrix product of 2-D ones, and batched products
 * with broadcast batch dims for higher ranks (a 1-D operand gains and loses a dim). Both operands
 * must have one dtype, not bool. Throws ShapeError for mismatched inner sizes.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  checkTensor("matmul", "input", a);
  checkTensor("matmul", "other", b);
  commonDevice([a, b]);
  if (a.ndim === 0 || b.ndim === 0) {
    throw new ShapeError(`both arguments to matmul need to be at least 1D, but they are ${a.ndim}D and ${b.ndim}D`);
  }
  checkDTypes(a, b);
  if (a.ndim === 1 && b.ndim === 1) {
    if (a.shape[0] !== b.shape[0]) {
      throw new ShapeError(
        `inconsistent tensor size, expected tensor [${a.shape[0]}] and src [${b.shape[0]}] to have the same number ` +
          `of elements, but got ${a.shape[0]} and ${b.shape[0]} elements respectively`,
      );
    }
    return reshape(product(unsqueeze(a, 0), unsqueeze(b, 1)), []);
  }
  const left = a.ndim === 1 ? unsqueeze(a, 0) : a;
  const right = b.ndim === 1 ? unsqueeze(b, 1) : b;
  const k = left.shape[left.ndim - 1]!;
  const kRight = right.shape[right.ndim - 2]!;
  if (k !== kRight) {
    if (a.ndim <= 2 && b.ndim <= 2) {
      if (b.ndim === 1) throw new ShapeError(`size mismatch, got input (${a.shape[0]}), mat (${a.shape.join("x")}), vec (${b.shape[0]})`);
      throw new ShapeError(
        `mat1 and mat2 shapes cannot be multiplied (${left.shape.join("x")} and ${right.shape.join("x")})`,
      );
    }
    if (b.ndim <= 2) {
      // PyTorch folds the batch dims of a into rows and multiplies two matrices.
      const rows = left.shape.slice(0, -1).reduce((p, s) => p * s, 1);
      throw new ShapeError(`mat1 and mat2 shapes cannot be multiplied (${rows}x${k} and ${right.shape.join("x")})`);
    }
    const batch = broadcastShapes(left.shape.slice(0, -2), right.shape.slice(0, -2)).reduce((p, s) => p * s, 1);
    throw new ShapeError(
      `Expected size for first two dimensions of batch2 tensor to be: [${batch}, ${k}] but got: [${batch}, ${kRight}].`,
    );
  }
  const out = product(left, right);
  if (a.ndim === 1) return reshape(out, [...out.shape.slice(0, -2), out.shape[out.ndim - 1]!]);
  if (b.ndim === 1) return reshape(out, out.shape.slice(0, -1));
  return out;
}
