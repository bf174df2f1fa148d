// nn.functional: layers and losses as functions, built from core ops so that autograd, every
// backend and the deterministic kernels apply without extra code.
import {
  DTypeError,
  IndexError,
  ShapeError,
  Tensor,
  ValueError,
  emptyLike,
  isFloating,
  where,
  formatValue,
  checkSizes,
  crossEntropyIndices,
  fusedLinear,
  hasKernel,
} from "@lockstep/core";

/**
 * How a loss reduces per-element losses, like PyTorch's reduction=: "mean" (default), "sum", or
 * "none" (unreduced). Other values throw ValueError.
 */
export type Reduction = "mean" | "sum" | "none";

function checkReduction(reduction: string): Reduction {
  if (reduction !== "mean" && reduction !== "sum" && reduction !== "none") {
    throw new ValueError(`${reduction} is not a valid value for reduction`);
  }
  return reduction;
}

function reduce(loss: Tensor, reduction: Reduction): Tensor {
  return reduction === "mean" ? loss.mean() : reduction === "sum" ? loss.sum() : loss;
}

/** `x @ weightᵀ + bias`: the bias is added after the full sum over the input features. */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  tensorArg("linear", "input", x);
  tensorArg("linear", "weight", weight);
  optionalTensorArg("linear", "bias", bias);
  // With a bias, one fused primitive where the device has it (the same bits as the two ops).
  const fused = bias === undefined ? undefined : fusedLinear(x, weight, bias);
  if (fused !== undefined) return fused;
  const out = x.matmul(weight.t());
  return bias === undefined ? out : out.add(bias);
}

/**
 * Zeroes each element with probability p and scales the rest by 1/(1−p), drawing PyTorch's CPU
 * mask: a Bernoulli(1−p) fill, then a division by (1−p) in the tensor's dtype.
 */
export function dropout(x: Tensor, p = 0.5, training = true): Tensor {
  tensorArg("dropout", "input", x);
  if (typeof p !== "number" || !(p >= 0 && p <= 1)) {
    throw new ValueError(`dropout probability has to be between 0 and 1, but got ${formatValue(p)}`);
  }
  if (!training || p === 0 || x.numel() === 0) return x;
  if (p === 1) return x.mul(0);
  const noise = emptyLike(x).bernoulli_(1 - p).div(1 - p);
  return x.mul(noise);
}

/** Like torch.nn.functional.relu: `max(x, 0)` elementwise. */
export const relu = (x: Tensor): Tensor => tensorArg("relu", "input", x).relu();
/** Like torch.nn.functional.gelu: `x·Φ(x)`, exact or with `approximate: "tanh"`. */
export const gelu = (x: Tensor, options?: { approximate?: "none" | "tanh" }): Tensor => tensorArg("gelu", "input", x).gelu(options);
/** Like torch.nn.functional.softmax: values along `dim` normalized to sum to 1. */
export const softmax = (x: Tensor, dim: number): Tensor => tensorArg("softmax", "input", x).softmax(dim);
/** Like torch.nn.functional.log_softmax: `log(softmax(x, dim))`, computed stably. */
export const logSoftmax = (x: Tensor, dim: number): Tensor => tensorArg("log_softmax", "input", x).logSoftmax(dim);

/** Normalises over the trailing `normalizedShape` dims with the biased variance, then scales and shifts. */
export function layerNorm(
  x: Tensor,
  normalizedShape: readonly number[],
  weight?: Tensor,
  bias?: Tensor,
  eps = 1e-5,
): Tensor {
  tensorArg("layer_norm", "input", x);
  optionalTensorArg("layer_norm", "weight", weight);
  optionalTensorArg("layer_norm", "bias", bias);
  checkSizes("layer_norm", "normalized_shape", normalizedShape);
  const n = normalizedShape.length;
  const tail = x.shape.slice(x.ndim - n);
  if (n === 0 || x.ndim < n || tail.join(",") !== normalizedShape.join(",")) {
    throw new ShapeError(
      `Given normalized_shape=[${normalizedShape.join(", ")}], expected input with shape [*, ${normalizedShape.join(", ")}], ` +
        `but got input of size[${x.shape.join(", ")}]`,
    );
  }
  const dims = Array.from({ length: n }, (_, i) => x.ndim - n + i);
  const mean = x.mean(dims, true);
  const centered = x.sub(mean);
  const variance = centered.mul(centered).mean(dims, true);
  let out = centered.mul(variance.add(eps).rsqrt());
  if (weight !== undefined) out = out.mul(weight);
  if (bias !== undefined) out = out.add(bias);
  return out;
}

/** Options of `nllLoss` (and `crossEntropy`). */
export interface NllOptions {
  /** Reduction of the per-sample losses; default "mean" (over non-ignored targets). */
  reduction?: Reduction;
  /** Target value that contributes neither loss nor gradient; default -100, as in PyTorch. */
  ignoreIndex?: number;
}

function checkTargets(name: string, input: Tensor, target: Tensor): void {
  if (!(target instanceof Tensor) || target.dtype !== "int32") {
    throw new DTypeError(`${name}: expected target of dtype int32 (class indices), got ${target instanceof Tensor ? target.dtype : typeof target}`);
  }
  if (!isFloating(input.dtype)) throw new DTypeError(`${name}: expected floating point input, got ${input.dtype}`);
  const batched = input.ndim === 2;
  if (!(batched || input.ndim === 1) || target.ndim !== (batched ? 1 : 0) || (batched && target.shape[0] !== input.shape[0])) {
    throw new ShapeError(
      `${name}: expected input of shape [N, C] with target [N] (or [C] with a 0-d target), got input ` +
        `[${input.shape.join(", ")}] and target [${target.shape.join(", ")}]`,
    );
  }
}

/** Per-sample losses over class indices, with ignored targets contributing 0. */
function pickClass(logProbs: Tensor, target: Tensor, ignoreIndex: number): { picked: Tensor; keep: Tensor } {
  const batched = logProbs.ndim === 2;
  const lp = batched ? logProbs : logProbs.unsqueeze(0);
  const t = batched ? target : target.reshape(1);
  const keep = t.ne(ignoreIndex);
  const safe = where(keep, t, 0);
  const picked = lp.gather(1, safe.unsqueeze(1)).squeeze(1);
  return { picked: batched ? picked : picked.reshape([]), keep: batched ? keep : keep.reshape([]) };
}

function validTargets(name: string, logits: Tensor, target: Tensor, ignoreIndex: number): void {
  checkTargets(name, logits, target);
  if (target.backend.readSync === undefined) return;
  const classes = logits.shape[logits.ndim - 1]!;
  for (const t of target.dataSync()) {
    if (t !== ignoreIndex && (t < 0 || t >= classes)) throw new IndexError(`Target ${t} is out of bounds.`);
  }
}

function meanOverKept(loss: Tensor, keep: Tensor, reduction: Reduction): Tensor {
  if (reduction !== "mean") return reduce(loss, reduction);
  return loss.sum().div(keep.float().sum());
}

/** Negative log-likelihood of class indices given log-probabilities. */
export function nllLoss(logProbs: Tensor, target: Tensor, options: NllOptions = {}): Tensor {
  tensorArg("nll_loss", "input", logProbs);
  const reduction = checkReduction(options.reduction ?? "mean");
  const ignoreIndex = options.ignoreIndex ?? -100;
  validTargets("nll_loss", logProbs, target, ignoreIndex);
  const { picked, keep } = pickClass(logProbs, target, ignoreIndex);
  const loss = where(keep, picked.neg(), 0);
  return meanOverKept(loss, keep, reduction);
}

/** Options of `crossEntropy`. */
export interface CrossEntropyOptions extends NllOptions {
  /** Mixes the target with the uniform distribution: (1−ε)·one-hot + ε/C. */
  labelSmoothing?: number;
}

/**
 * Whether core's fused cross-entropy (one kernel forward, one backward, the unfused bits) covers
 * this call: float logits on a device with its kernels, an int32 ignoreIndex, and at most 2^24
 * samples (the mean's count is exact in float32 up to there, as the unfused float sum is).
 * Empty inputs and label smoothing take the composed path below.
 */
function fusable(logits: Tensor, ignoreIndex: number): boolean {
  if (logits.dtype !== "float32" && logits.dtype !== "float64") return false;
  if (logits.numel() === 0 || (logits.ndim === 2 && logits.shape[0]! > 2 ** 24)) return false;
  if (!Number.isInteger(ignoreIndex) || (ignoreIndex | 0) !== ignoreIndex) return false;
  return hasKernel("crossEntropy", logits.device) && hasKernel("crossEntropyBackward", logits.device);
}

/** Cross-entropy of logits against class indices: logSoftmax, then NLL (with optional smoothing). */
export function crossEntropy(logits: Tensor, target: Tensor, options: CrossEntropyOptions = {}): Tensor {
  tensorArg("cross_entropy", "input", logits);
  // A target of the input's shape holds class probabilities (PyTorch's soft-label form); any other
  // shape holds class indices, so a floating one is a dtype error, as in PyTorch.
  const sameShape = target instanceof Tensor && logits instanceof Tensor && target.shape.join(",") === logits.shape.join(",");
  if (sameShape && isFloating(target.dtype)) return crossEntropyWithProbabilities(logits, target, options);
  const reduction = checkReduction(options.reduction ?? "mean");
  const ignoreIndex = options.ignoreIndex ?? -100;
  const smoothing = options.labelSmoothing ?? 0;
  if (!(smoothing >= 0 && smoothing <= 1)) {
    throw new ValueError(`label_smoothing must be between 0.0 and 1.0. Got: ${smoothing}`);
  }
  validTargets("cross_entropy", logits, target, ignoreIndex);
  if (smoothing === 0 && fusable(logits, ignoreIndex)) return crossEntropyIndices(logits, target, { reduction, ignoreIndex });
  const logProbs = logits.logSoftmax(logits.ndim - 1);
  const { picked, keep } = pickClass(logProbs, target, ignoreIndex);
  let loss = picked.neg();
  if (smoothing > 0) {
    const classes = logits.shape[logits.ndim - 1]!;
    const uniform = logProbs.sum(logits.ndim - 1).neg().div(classes);
    loss = loss.mul(1 - smoothing).add(uniform.mul(smoothing));
  }
  return meanOverKept(where(keep, loss, 0), keep, reduction);
}

/**
 * Like torch.nn.functional.mse_loss: squared differences of same-shaped `input` and `target`,
 * reduced by `reduction` (default "mean"). Throws ShapeError when the shapes differ.
 */
export function mseLoss(input: Tensor, target: Tensor, options: { reduction?: Reduction } = {}): Tensor {
  tensorArg("mse_loss", "input", input);
  tensorArg("mse_loss", "target", target);
  const reduction = checkReduction(options.reduction ?? "mean");
  if (input.shape.join(",") !== target.shape.join(",")) {
    throw new ShapeError(
      `mse_loss: input shape [${input.shape.join(", ")}] and target shape [${target.shape.join(", ")}] differ`,
    );
  }
  const diff = input.sub(target);
  return reduce(diff.mul(diff), reduction);
}

/**
 * Sigmoid + binary cross-entropy in one stable expression, PyTorch's: with m = max(−x, 0),
 * (1 − y)·x + w·(m + log(e^(−m) + e^(−x−m))), w = 1 + (posWeight − 1)·y. Its autograd gradient is
 * σ(x)·(…) − … everywhere, also at x = 0 — a form through |x| would give the wrong one-sided
 * derivative there (logits of exactly 0 are common, e.g. from a zero-initialised layer).
 */
export function binaryCrossEntropyWithLogits(
  input: Tensor,
  target: Tensor,
  options: { reduction?: Reduction; posWeight?: Tensor } = {},
): Tensor {
  tensorArg("binary_cross_entropy_with_logits", "input", input);
  tensorArg("binary_cross_entropy_with_logits", "target", target);
  optionalTensorArg("binary_cross_entropy_with_logits", "pos_weight", options.posWeight);
  const reduction = checkReduction(options.reduction ?? "mean");
  if (input.shape.join(",") !== target.shape.join(",")) {
    throw new ShapeError(
      `Target size ([${target.shape.join(", ")}]) must be the same as input size ([${input.shape.join(", ")}])`,
    );
  }
  const maxVal = input.neg().clamp(0);
  const softplusNeg = maxVal.neg().exp().add(input.neg().sub(maxVal).exp()).log().add(maxVal);
  let loss: Tensor;
  if (options.posWeight === undefined) {
    loss = input.mul(target.neg().add(1)).add(softplusNeg);
  } else {
    const logWeight = options.posWeight.sub(1).mul(target).add(1);
    loss = input.mul(target.neg().add(1)).add(logWeight.mul(softplusNeg));
  }
  return reduce(loss, reduction);
}

export { pad, type PadMode, type PadOptions, type SizeArg } from "./functional/windows.js";
export * from "./functional/conv.js";
export * from "./functional/pool.js";
export * from "./functional/norm.js";
export * from "./functional/attention.js";
export * from "./functional/activation.js";
export * from "./functional/rms-norm.js";
export * from "./functional/losses.js";
import { crossEntropyWithProbabilities } from "./functional/losses.js";
import { optionalTensorArg, tensorArg } from "./functional/check.js";
/** Like torch.nn.functional.one_hot: int32 class indices to int32 one-hot vectors (see core's `oneHot`). */
export { oneHot } from "@lockstep/core";
