// Batch and group normalisation from core reductions. Batch statistics are sums over the batch —
// their value depends on the batch by definition (DESIGN rule 8) — but they are summed in a fixed
// order, so a training step gives the same bits on every run, thread count and device. In eval
// mode BatchNorm is elementwise with the running statistics, so each sample's output is
// batch-invariant.
import { noGrad } from "@lockstep/autograd";
import { DTypeError, ShapeError, Tensor, ValueError, commonDevice, formatValue, isFloating } from "@lockstep/core";
import { optionalTensorArg, tensorArg } from "./check.js";

/** Options of `batchNorm`, like torch.nn.functional.batch_norm's keyword arguments. */
export interface BatchNormOptions {
  /** Per-channel scale (gamma); none when omitted. */
  weight?: Tensor;
  /** Per-channel shift (beta); none when omitted. */
  bias?: Tensor;
  /** Use batch statistics (and update the running ones) instead of the running statistics. */
  training?: boolean;
  /**
   * Weight of the new batch statistics in the running average; default 0.1. A 0-d tensor on the
   * input's device also works (BatchNorm's cumulative average computes it there, so a WebGPU model
   * needs no read back).
   */
  momentum?: number | Tensor;
  /** Added to the variance; default 1e-5. */
  eps?: number;
}

/** Shape [C, 1, 1, …] that broadcasts a per-channel vector over a [N, C, …] input. */
function channelShape(x: Tensor): number[] {
  return [x.shape[1]!, ...x.shape.slice(2).map(() => 1)];
}

function checkChannelVector(name: string, t: Tensor | undefined, channels: number): void {
  if (t !== undefined && (t.ndim !== 1 || t.shape[0] !== channels)) {
    throw new ShapeError(`${name} should contain ${channels} elements not ${t.numel()}`);
  }
}

/**
 * Like torch.nn.functional.batch_norm: normalises `x` [N, C, …] per channel C, with the batch's
 * mean and biased variance when `training` (then, under no-grad, running ← (1 − momentum)·running +
 * momentum·batch, with the unbiased variance), else with `runningMean` / `runningVar`. Throws
 * before changing anything when shapes do not match or a training batch has one value per channel.
 */
export function batchNorm(
  x: Tensor,
  runningMean: Tensor | undefined,
  runningVar: Tensor | undefined,
  options: BatchNormOptions = {},
): Tensor {
  tensorArg("batch_norm", "input", x);
  optionalTensorArg("batch_norm", "running_mean", runningMean);
  optionalTensorArg("batch_norm", "running_var", runningVar);
  optionalTensorArg("batch_norm", "weight", options.weight);
  optionalTensorArg("batch_norm", "bias", options.bias);
  const { weight, bias } = options;
  const training = options.training ?? false;
  const momentum = options.momentum ?? 0.1;
  const eps = options.eps ?? 1e-5;
  commonDevice([x, ...[runningMean, runningVar, weight, bias].filter((t): t is Tensor => t !== undefined)]);
  if (x.ndim < 2) throw new ShapeError(`batch_norm: expected an input with at least 2 dims [N, C, …], got [${x.shape.join(", ")}]`);
  if (!isFloating(x.dtype)) throw new DTypeError(`batch_norm expects a floating input, got ${x.dtype}`);
  if (momentum instanceof Tensor) {
    if (momentum.ndim !== 0 || !isFloating(momentum.dtype) || momentum.device !== x.device) {
      throw new ValueError(`batch_norm: a momentum tensor must be a 0-d floating tensor on ${x.device}, got ${formatValue(momentum)}`);
    }
  } else if (typeof momentum !== "number" || !Number.isFinite(momentum)) {
    throw new ValueError(`batch_norm: momentum must be a number, got ${formatValue(momentum)}`);
  }
  if (typeof eps !== "number" || !(eps >= 0)) throw new ValueError(`batch_norm: eps must be a non-negative number, got ${String(eps)}`);
  const channels = x.shape[1]!;
  checkChannelVector("running_mean", runningMean, channels);
  checkChannelVector("running_var", runningVar, channels);
  checkChannelVector("weight", weight, channels);
  checkChannelVector("bias", bias, channels);
  if (!training && (runningMean === undefined || runningVar === undefined)) {
    throw new ValueError("batch_norm: running_mean and running_var are required when training is false");
  }
  const shape = channelShape(x);
  const reduced = [0, ...x.shape.slice(2).map((_, i) => 2 + i)];
  let mean: Tensor;
  let variance: Tensor;
  if (training) {
    const count = x.numel() / channels;
    if (count <= 1) {
      throw new ValueError(`Expected more than 1 value per channel when training, got input size [${x.shape.join(", ")}]`);
    }
    mean = x.mean(reduced, true);
    variance = x.var(reduced, true, { correction: 0 });
    if (runningMean !== undefined && runningVar !== undefined) {
      noGrad(() => {
        const unbiased = variance.mul(count / (count - 1)).reshape([channels]);
        const keep = typeof momentum === "number" ? 1 - momentum : momentum.neg().add(1);
        runningMean.copy_(runningMean.mul(keep).add(mean.reshape([channels]).mul(momentum)));
        runningVar.copy_(runningVar.mul(keep).add(unbiased.mul(momentum)));
      });
    }
  } else {
    mean = runningMean!.reshape(shape);
    variance = runningVar!.reshape(shape);
  }
  let out = x.sub(mean).mul(variance.add(eps).rsqrt());
  if (weight !== undefined) out = out.mul(weight.reshape(shape));
  if (bias !== undefined) out = out.add(bias.reshape(shape));
  return out;
}

/** Options of `groupNorm`. */
export interface GroupNormOptions {
  /** Per-channel scale; none when omitted. */
  weight?: Tensor;
  /** Per-channel shift; none when omitted. */
  bias?: Tensor;
  /** Added to the variance; default 1e-5. */
  eps?: number;
}

/**
 * Like torch.nn.functional.group_norm: the C channels of `x` [N, C, …] split into `numGroups`
 * groups, each sample's group normalised by its own mean and biased variance, then a per-channel
 * scale and shift. Each sample's output depends on that sample alone.
 */
export function groupNorm(x: Tensor, numGroups: number, options: GroupNormOptions = {}): Tensor {
  tensorArg("group_norm", "input", x);
  optionalTensorArg("group_norm", "weight", options.weight);
  optionalTensorArg("group_norm", "bias", options.bias);
  const { weight, bias } = options;
  const eps = options.eps ?? 1e-5;
  commonDevice([x, ...[weight, bias].filter((t): t is Tensor => t !== undefined)]);
  if (x.ndim < 2) throw new ShapeError(`group_norm: expected an input with at least 2 dims [N, C, …], got [${x.shape.join(", ")}]`);
  if (!isFloating(x.dtype)) throw new DTypeError(`group_norm expects a floating input, got ${x.dtype}`);
  if (!Number.isInteger(numGroups) || numGroups <= 0) throw new ValueError(`group_norm: num_groups must be a positive integer, got ${formatValue(numGroups)}`);
  const channels = x.shape[1]!;
  if (channels % numGroups !== 0) {
    throw new ShapeError(
      `Expected number of channels in input to be divisible by num_groups, but got input of shape [${x.shape.join(", ")}] and num_groups=${numGroups}`,
    );
  }
  checkChannelVector("weight", weight, channels);
  checkChannelVector("bias", bias, channels);
  const n = x.shape[0]!;
  const grouped = x.reshape([n, numGroups, -1]);
  const mean = grouped.mean(-1, true);
  const variance = grouped.var(-1, true, { correction: 0 });
  let out = grouped.sub(mean).mul(variance.add(eps).rsqrt()).reshape(x.shape);
  const shape = channelShape(x);
  if (weight !== undefined) out = out.mul(weight.reshape(shape));
  if (bias !== undefined) out = out.add(bias.reshape(shape));
  return out;
}
