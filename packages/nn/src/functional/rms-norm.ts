// nn.functional.rmsNorm: root-mean-square normalisation (PyTorch 2.4's F.rms_norm), composed from
// core ops. It lives apart from functional.ts's layerNorm only because it arrived with the
// transformer layers; both normalise over the trailing `normalizedShape` dims.
import { ShapeError, ValueError, type Tensor, formatValue } from "@lockstep/core";
import { optionalTensorArg, tensorArg } from "./check.js";

/** Machine epsilon of a floating dtype: PyTorch's `torch.finfo(dtype).eps`. */
function finfoEps(dtype: string): number {
  return dtype === "float64" ? 2 ** -52 : 2 ** -23;
}

/**
 * Like torch.nn.functional.rms_norm (PyTorch 2.4): `x · rsqrt(mean(x², trailing dims) + eps) ·
 * weight`. `eps` defaults to the machine epsilon of x's dtype (`torch.finfo(x.dtype).eps`). Throws
 * ShapeError when x's trailing dims are not `normalizedShape`.
 */
export function rmsNorm(x: Tensor, normalizedShape: readonly number[], weight?: Tensor, eps?: number): Tensor {
  tensorArg("rms_norm", "input", x);
  optionalTensorArg("rms_norm", "weight", weight);
  const n = normalizedShape.length;
  const tail = x.shape.slice(x.ndim - n);
  if (n === 0 || x.ndim < n || tail.join(",") !== normalizedShape.join(",")) {
    throw new ShapeError(
      `Given normalized_shape=[${normalizedShape.join(", ")}], expected input with shape [*, ${normalizedShape.join(", ")}], ` +
        `but got input of size[${x.shape.join(", ")}]`,
    );
  }
  if (eps !== undefined && (typeof eps !== "number" || !(eps >= 0))) throw new ValueError(`rms_norm: eps must be a non-negative number, got ${formatValue(eps)}`);
  const dims = Array.from({ length: n }, (_, i) => x.ndim - n + i);
  const meanSquare = x.mul(x).mean(dims, true);
  const out = x.mul(meanSquare.add(eps ?? finfoEps(x.dtype)).rsqrt());
  return weight === undefined ? out : out.mul(weight);
}
