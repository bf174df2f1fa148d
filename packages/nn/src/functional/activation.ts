// nn.functional activations that functional.ts does not already have (relu, gelu, softmax and
// logSoftmax live there). Each is a composition of core ops, so autograd and the deterministic
// kernels apply; where PyTorch has a special-cased formula (softplus's threshold, leaky_relu's
// slope at 0) the composition keeps PyTorch's branch and gradient.
import { Tensor, ValueError, where, formatValue } from "@lockstep/core";
import { tensorArg } from "./check.js";

/** Like torch.sigmoid / torch.nn.functional.sigmoid: `1 / (1 + exp(−x))` elementwise. */
export const sigmoid = (x: Tensor): Tensor => tensorArg("sigmoid", "input", x).sigmoid();

/** Like torch.tanh / torch.nn.functional.tanh: hyperbolic tangent elementwise. */
export const tanh = (x: Tensor): Tensor => tensorArg("tanh", "input", x).tanh();

/** Like torch.nn.functional.silu (swish): `x · sigmoid(x)` elementwise. */
export const silu = (x: Tensor): Tensor => tensorArg("silu", "input", x).mul(x.sigmoid());

/**
 * Like torch.nn.functional.leaky_relu(x, negative_slope=0.01): x where x > 0, else
 * `negativeSlope · x`. The gradient at exactly 0 is `negativeSlope`, as PyTorch's.
 */
export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor {
  tensorArg("leaky_relu", "input", x);
  if (typeof negativeSlope !== "number" || !Number.isFinite(negativeSlope)) {
    throw new ValueError(`leaky_relu: negative_slope must be a finite number, got ${formatValue(negativeSlope)}`);
  }
  return where(x.gt(0), x, x.mul(negativeSlope));
}

/**
 * log(1 + e) for e in (0, 1], accurate to float32 rounding without a log1p primitive: a short
 * Taylor series where 1 + e would lose e's low bits, log(1 + e) above. Both branches are finite for
 * every e in range, so `where`'s backward sees no 0·∞.
 */
function log1pUnit(e: Tensor): Tensor {
  // Horner form of e − e²/2 + e³/3 − e⁴/4 + e⁵/5 − e⁶/6; the next term is below 2e-9 relative at e = 0.05.
  let series = e.mul(-1 / 6).add(1 / 5);
  for (const c of [1 / 4, 1 / 3, 1 / 2, 1]) series = e.mul(series).neg().add(c);
  series = e.mul(series);
  return where(e.lt(0.05), series, e.add(1).log());
}

/** Options of `softplus` and `nn.Softplus`. */
export interface SoftplusOptions {
  /** Sharpness: softplus(x) = log(1 + exp(β·x)) / β; default 1. */
  beta?: number;
  /** Above β·x > threshold the input is returned unchanged (PyTorch's linear region); default 20. */
  threshold?: number;
}

/**
 * Like torch.nn.functional.softplus(x, beta=1, threshold=20): `log(1 + exp(β·x)) / β`, and x itself
 * where β·x > threshold. Computed as max(z, 0) + log1p(exp(−|z|)) with z = β·x, so large negative x
 * keeps its tiny positive value as PyTorch's log1p does; the gradient is sigmoid(β·x) (0.5 at 0).
 */
export function softplus(x: Tensor, options: SoftplusOptions = {}): Tensor {
  tensorArg("softplus", "input", x);
  const beta = options.beta ?? 1;
  const threshold = options.threshold ?? 20;
  if (typeof beta !== "number" || !Number.isFinite(beta) || beta === 0) {
    throw new ValueError(`softplus: beta must be a finite non-zero number, got ${formatValue(beta)}`);
  }
  if (typeof threshold !== "number" || Number.isNaN(threshold)) {
    throw new ValueError(`softplus: threshold must be a number, got ${formatValue(threshold)}`);
  }
  const z = beta === 1 ? x : x.mul(beta);
  const positive = z.gt(0);
  // −|z| written with `where`, so that z = 0 takes the non-positive branch with slope +1 (|z|'s
  // gradient there is 0, which would lose softplus's 0.5).
  const l = log1pUnit(where(positive, z.neg(), z).exp());
  const smooth = where(positive, z.add(l), l);
  return where(z.gt(threshold), x, beta === 1 ? smooth : smooth.div(beta));
}
