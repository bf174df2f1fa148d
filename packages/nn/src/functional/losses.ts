// More losses as functions (l1, smooth L1, Huber, binary cross-entropy, KL divergence, and
// cross-entropy against class probabilities), composed from core ops in PyTorch 1.13's operation
// order, so unreduced values match PyTorch's CPU kernels and gradients come from autograd.
import { DTypeError, ShapeError, Tensor, ValueError, isFloating, where, formatValue } from "@lockstep/core";
import { tensorArg } from "./check.js";

/** How a loss reduces per-element losses: "mean" (default), "sum" or "none". */
type Reduction = "mean" | "sum" | "none";

function checkReduction(reduction: unknown, extra: readonly string[] = []): string {
  if (reduction !== "mean" && reduction !== "sum" && reduction !== "none" && !extra.includes(reduction as string)) {
    throw new ValueError(`${String(reduction)} is not a valid value for reduction`);
  }
  return reduction as string;
}

function reduce(loss: Tensor, reduction: string): Tensor {
  return reduction === "mean" ? loss.mean() : reduction === "sum" ? loss.sum() : loss;
}

function checkPair(name: string, input: Tensor, target: Tensor): void {
  tensorArg(name, "input", input);
  tensorArg(name, "target", target);
  if (!isFloating(input.dtype) || !isFloating(target.dtype)) {
    throw new DTypeError(`${name}: expected floating point input and target, got ${input.dtype} and ${target.dtype}`);
  }
  if (input.shape.join(",") !== target.shape.join(",")) {
    throw new ShapeError(`${name}: input shape [${input.shape.join(", ")}] and target shape [${target.shape.join(", ")}] differ`);
  }
}

/** Like torch.nn.functional.l1_loss: |input − target|, reduced (default "mean"). */
export function l1Loss(input: Tensor, target: Tensor, options: { reduction?: Reduction } = {}): Tensor {
  const reduction = checkReduction(options.reduction ?? "mean");
  checkPair("l1_loss", input, target);
  return reduce(input.sub(target).abs(), reduction);
}

/**
 * Like torch.nn.functional.smooth_l1_loss(beta=1.0): with z = |input − target|, 0.5·z²/beta where
 * z < beta, else z − 0.5·beta; beta = 0 is the L1 loss. Throws ValueError for a negative beta.
 */
export function smoothL1Loss(input: Tensor, target: Tensor, options: { reduction?: Reduction; beta?: number } = {}): Tensor {
  const reduction = checkReduction(options.reduction ?? "mean");
  const beta = options.beta ?? 1;
  if (typeof beta !== "number" || !(beta >= 0)) throw new ValueError(`smooth_l1_loss does not support negative values for beta, got ${formatValue(beta)}`);
  checkPair("smooth_l1_loss", input, target);
  const z = input.sub(target).abs();
  if (beta === 0) return reduce(z, reduction);
  return reduce(where(z.lt(beta), z.mul(0.5).mul(z).div(beta), z.sub(0.5 * beta)), reduction);
}

/**
 * Like torch.nn.functional.huber_loss(delta=1.0): with z = |input − target|, 0.5·z² where
 * z < delta, else delta·(z − 0.5·delta). Throws ValueError unless delta > 0.
 */
export function huberLoss(input: Tensor, target: Tensor, options: { reduction?: Reduction; delta?: number } = {}): Tensor {
  const reduction = checkReduction(options.reduction ?? "mean");
  const delta = options.delta ?? 1;
  if (typeof delta !== "number" || !(delta > 0)) throw new ValueError(`huber_loss does not support non-positive values for delta, got ${formatValue(delta)}`);
  checkPair("huber_loss", input, target);
  const z = input.sub(target).abs();
  return reduce(where(z.lt(delta), z.mul(0.5).mul(z), z.sub(0.5 * delta).mul(delta)), reduction);
}

/**
 * Like torch.nn.functional.binary_cross_entropy: (target − 1)·max(log(1 − input), −100) −
 * target·max(log(input), −100), times `weight` if given. The clamp at −100 keeps inputs of exactly
 * 0 or 1 finite, as in PyTorch, and the gradient is PyTorch's (x − t)/max((1 − x)·x, 1e-12); like
 * PyTorch, no gradient flows to the target. Throws ValueError when an input lies outside [0, 1] (checked on
 * devices the CPU can read synchronously).
 */
export function binaryCrossEntropy(input: Tensor, target: Tensor, options: { reduction?: Reduction; weight?: Tensor } = {}): Tensor {
  const reduction = checkReduction(options.reduction ?? "mean");
  if (input instanceof Tensor && target instanceof Tensor && input.shape.join(",") !== target.shape.join(",")) {
    throw new ShapeError(
      `Using a target size ([${target.shape.join(", ")}]) that is different to the input size ([${input.shape.join(", ")}]) is deprecated. ` +
        "Please ensure they have the same size.",
    );
  }
  checkPair("binary_cross_entropy", input, target);
  if (input.backend.readSync !== undefined) {
    for (const v of input.contiguous().dataSync() as Float32Array) {
      if (!(v >= 0 && v <= 1)) throw new ValueError(`all elements of input should be between 0 and 1, got ${formatValue(v)}`);
    }
  }
  const x = input.detach();
  const t = target.detach();
  const logX = x.log().clamp(-100);
  const log1mX = x.neg().add(1).log().clamp(-100);
  // The value from the clamped logs, the input's gradient from PyTorch's formula
  // (x − t) / max((1 − x)·x, 1e-12): finite where autograd through the clamp would give NaN
  // (0·∞ at inputs of exactly 0 or 1). (input − x) is 0 in the forward pass and passes g back.
  const g = x.sub(t).div(x.neg().add(1).mul(x).clamp(1e-12));
  let loss = t.sub(1).mul(log1mX).sub(t.mul(logX)).add(input.sub(x).mul(g));
  if (options.weight !== undefined) loss = loss.mul(options.weight);
  return reduce(loss, reduction);
}

/** Options of `klDiv`. */
export interface KLDivOptions {
  /** "mean" (default; over all elements, as PyTorch 1.13), "batchmean" (sum / batch size), "sum" or "none". */
  reduction?: Reduction | "batchmean";
  /** The target is given as log-probabilities; default false. */
  logTarget?: boolean;
}

/**
 * Like torch.nn.functional.kl_div(input, target): the pointwise KL divergence of log-probabilities
 * `input` from `target`, target·(log target − input) (0 where target = 0), or
 * exp(target)·(target − input) with `logTarget`.
 */
export function klDiv(input: Tensor, target: Tensor, options: KLDivOptions = {}): Tensor {
  const reduction = checkReduction(options.reduction ?? "mean", ["batchmean"]);
  checkPair("kl_div", input, target);
  let loss: Tensor;
  if (options.logTarget === true) {
    loss = target.exp().mul(target.sub(input));
  } else {
    // xlogy(t, t): 0 at t = 0 without a NaN gradient (log is taken of 1 there).
    const xlogy = where(target.eq(0), 0, target.mul(where(target.eq(0), 1, target).log()));
    loss = xlogy.sub(target.mul(input));
  }
  if (reduction === "batchmean") {
    const sum = loss.sum();
    return input.ndim === 0 ? sum : sum.div(input.shape[0]!);
  }
  return reduce(loss, reduction);
}

/**
 * Cross-entropy against class probabilities (PyTorch's soft-label form, used when the target is a
 * floating tensor of the input's shape): −Σ log_softmax(input)·target over the class dim (dim 1,
 * or 0 for an unbatched input); with label smoothing ε the target becomes target·(1 − ε) + ε/C.
 * "mean" divides the sum by the number of samples.
 */
export function crossEntropyWithProbabilities(
  input: Tensor,
  target: Tensor,
  options: { reduction?: Reduction; labelSmoothing?: number; ignoreIndex?: number } = {},
): Tensor {
  const reduction = checkReduction(options.reduction ?? "mean");
  if (options.ignoreIndex !== undefined && options.ignoreIndex >= 0) {
    throw new ValueError(`ignore_index is not supported for floating point target, got ignoreIndex ${options.ignoreIndex}`);
  }
  const smoothing = options.labelSmoothing ?? 0;
  if (typeof smoothing !== "number" || !(smoothing >= 0 && smoothing <= 1)) {
    throw new ValueError(`label_smoothing must be between 0.0 and 1.0. Got: ${smoothing}`);
  }
  checkPair("cross_entropy", input, target);
  if (input.ndim === 0) throw new ShapeError("cross_entropy: input must have a class dimension, got a 0-d tensor");
  const classDim = input.ndim === 1 ? 0 : 1;
  const classes = input.shape[classDim]!;
  const logProbs = input.logSoftmax(classDim);
  const t = smoothing > 0 ? target.mul(1 - smoothing).add(smoothing / classes) : target;
  const products = logProbs.mul(t);
  if (reduction === "none") return products.sum(classDim).neg();
  const total = products.sum().neg();
  if (reduction === "sum") return total;
  return total.div(Math.trunc(input.numel() / classes));
}
