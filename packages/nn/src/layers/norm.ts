// Normalisation layers. Affine weights start at ones and biases at zeros, as in PyTorch (no draws);
// BatchNorm's running statistics are buffers under PyTorch's names, so checkpoints load unchanged.
import { noGrad } from "@lockstep/autograd";
import { ShapeError, ValueError, ones, zeros, type Tensor } from "@lockstep/core";
import * as F from "../functional.js";
import { Module, Parameter, checkPositiveInt } from "../module.js";
import type { FactoryOptions } from "./factory.js";
import { pyFloat, pyTuple, pyValue } from "../repr.js";
import { tensorArg } from "../functional/check.js";

/** Options of `LayerNorm`. */
export interface LayerNormOptions extends FactoryOptions {
  /** Added to the variance for stability; default 1e-5. */
  eps?: number;
  /** Whether to learn a per-element weight and bias; default true. */
  elementwiseAffine?: boolean;
}

/** Normalises the trailing dims; weight starts at ones and bias at zeros (no draws). */
export class LayerNorm extends Module {
  /** The trailing shape that is normalized. */
  readonly normalizedShape: number[];
  /** Added to the variance for stability. */
  readonly eps: number;
  /** Scale of shape `normalizedShape`, starting at ones; undefined without elementwise affine. */
  weight: Parameter | undefined;
  /** Shift of shape `normalizedShape`, starting at zeros; undefined without elementwise affine. */
  bias: Parameter | undefined;

  /**
   * Like torch.nn.LayerNorm(normalized_shape, eps=1e-5, elementwise_affine=True). Throws ValueError
   * for non-integer or negative sizes.
   */
  constructor(normalizedShape: number | readonly number[], options: LayerNormOptions = {}) {
    super();
    this.normalizedShape = typeof normalizedShape === "number" ? [normalizedShape] : [...normalizedShape];
    this.normalizedShape.forEach((s) => checkPositiveInt("normalized_shape", s));
    this.eps = options.eps ?? 1e-5;
    const factory = { dtype: options.dtype ?? "float32", device: options.device ?? "cpu" };
    const affine = options.elementwiseAffine ?? true;
    this.weight = affine ? new Parameter(ones(this.normalizedShape, factory)) : undefined;
    this.bias = affine ? new Parameter(zeros(this.normalizedShape, factory)) : undefined;
  }

  forward(x: Tensor): Tensor {
    return F.layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }

  /** `(4,), eps=1e-05, elementwise_affine=True`, as PyTorch prints it. */
  override extraRepr(): string {
    return `${pyTuple(this.normalizedShape)}, eps=${pyFloat(this.eps)}, elementwise_affine=${pyValue(this.weight !== undefined)}`;
  }
}

/** Options of `RMSNorm`. */
export interface RMSNormOptions extends FactoryOptions {
  /** Added to the mean square; default undefined = the input dtype's machine epsilon, as in PyTorch. */
  eps?: number;
  /** Whether to learn a per-element weight (starting at ones); default true. */
  elementwiseAffine?: boolean;
}

/**
 * Like torch.nn.RMSNorm (PyTorch 2.4): `x · rsqrt(mean(x²) + eps) · weight` over the trailing
 * dims; the weight starts at ones (no draws), and there is no bias.
 */
export class RMSNorm extends Module {
  /** The trailing shape that is normalized. */
  readonly normalizedShape: number[];
  /** Added to the mean square; undefined means the input dtype's machine epsilon. */
  readonly eps: number | undefined;
  /** Scale of shape `normalizedShape`, starting at ones; undefined without elementwise affine. */
  weight: Parameter | undefined;

  /**
   * Like torch.nn.RMSNorm(normalized_shape, eps=None, elementwise_affine=True). Throws ValueError
   * for non-integer or negative sizes.
   */
  constructor(normalizedShape: number | readonly number[], options: RMSNormOptions = {}) {
    super();
    this.normalizedShape = typeof normalizedShape === "number" ? [normalizedShape] : [...normalizedShape];
    this.normalizedShape.forEach((s) => checkPositiveInt("normalized_shape", s));
    this.eps = options.eps;
    const factory = { dtype: options.dtype ?? "float32", device: options.device ?? "cpu" };
    this.weight = options.elementwiseAffine ?? true ? new Parameter(ones(this.normalizedShape, factory)) : undefined;
  }

  forward(x: Tensor): Tensor {
    return F.rmsNorm(x, this.normalizedShape, this.weight, this.eps);
  }

  /** `(4,), eps=None, elementwise_affine=True`, as PyTorch 2.4+ prints it. */
  override extraRepr(): string {
    const eps = this.eps === undefined ? "None" : pyFloat(this.eps);
    return `${pyTuple(this.normalizedShape)}, eps=${eps}, elementwise_affine=${pyValue(this.weight !== undefined)}`;
  }
}

/** Options of `BatchNorm1d` / `BatchNorm2d`, like PyTorch's keyword arguments. */
export interface BatchNormLayerOptions extends FactoryOptions {
  /** Added to the variance; default 1e-5. */
  eps?: number;
  /**
   * Weight of each new batch in the running statistics; default 0.1. `null` gives the cumulative
   * average (1 / num_batches_tracked), as PyTorch's momentum=None.
   */
  momentum?: number | null;
  /** Whether to learn a per-channel weight and bias; default true. */
  affine?: boolean;
  /** Keep running statistics for eval mode; default true. Without them eval uses batch statistics. */
  trackRunningStats?: boolean;
}

/**
 * What BatchNorm1d and BatchNorm2d share: PyTorch's parameters (weight, bias) and buffers
 * (running_mean, running_var, num_batches_tracked — int32 here, int64 in PyTorch; safetensors
 * loading converts), and the training-vs-eval rule.
 */
abstract class BatchNormBase extends Module<[Tensor], Tensor> {
  /** Number of channels C. */
  readonly numFeatures: number;
  /** Added to the variance. */
  readonly eps: number;
  /** Running-average weight of a new batch; null for the cumulative average. */
  readonly momentum: number | null;
  /** Whether weight and bias exist. */
  readonly affine: boolean;
  /** Whether running statistics are kept. */
  readonly trackRunningStats: boolean;
  /** Per-channel scale, starting at ones; undefined without affine. */
  weight: Parameter | undefined;
  /** Per-channel shift, starting at zeros; undefined without affine. */
  bias: Parameter | undefined;
  /** Running mean per channel (buffer), starting at zeros. */
  declare running_mean: Tensor | undefined;
  /** Running unbiased variance per channel (buffer), starting at ones. */
  declare running_var: Tensor | undefined;
  /** Training batches seen (buffer, int32 scalar). */
  declare num_batches_tracked: Tensor | undefined;

  protected constructor(numFeatures: number, options: BatchNormLayerOptions) {
    super();
    checkPositiveInt("num_features", numFeatures);
    const momentum = options.momentum === undefined ? 0.1 : options.momentum;
    if (momentum !== null && (typeof momentum !== "number" || !Number.isFinite(momentum))) {
      throw new ValueError(`momentum must be a number or null, got ${String(momentum)}`);
    }
    const eps = options.eps ?? 1e-5;
    if (typeof eps !== "number" || !(eps >= 0)) throw new ValueError(`eps must be a non-negative number, got ${String(eps)}`);
    this.numFeatures = numFeatures;
    this.eps = eps;
    this.momentum = momentum;
    this.affine = options.affine ?? true;
    this.trackRunningStats = options.trackRunningStats ?? true;
    const factory = { dtype: options.dtype ?? "float32", device: options.device ?? "cpu" };
    this.weight = this.affine ? new Parameter(ones([numFeatures], factory)) : undefined;
    this.bias = this.affine ? new Parameter(zeros([numFeatures], factory)) : undefined;
    if (this.trackRunningStats) {
      this.registerBuffer("running_mean", zeros([numFeatures], factory));
      this.registerBuffer("running_var", ones([numFeatures], factory));
      this.registerBuffer("num_batches_tracked", zeros([], { dtype: "int32", device: factory.device }));
    }
  }

  /** Throws ShapeError unless `x` has a rank this layer accepts. */
  protected abstract checkInput(x: Tensor): void;

  /** `16, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True`, as PyTorch prints it. */
  override extraRepr(): string {
    const momentum = this.momentum === null ? "None" : pyFloat(this.momentum);
    return (
      `${this.numFeatures}, eps=${pyFloat(this.eps)}, momentum=${momentum}, affine=${pyValue(this.affine)}, ` +
      `track_running_stats=${pyValue(this.trackRunningStats)}`
    );
  }

  /**
   * Like PyTorch's reset_running_stats: running mean 0, variance 1, no batches tracked (in place,
   * so optimizers and state dicts keep seeing the same tensors).
   */
  resetRunningStats(): void {
    if (!this.trackRunningStats) return;
    this.running_mean!.zero_();
    this.running_var!.fill_(1);
    this.num_batches_tracked!.zero_();
  }

  /**
   * Normalises with the batch's statistics in training mode (updating the running ones) and with
   * the running statistics in eval mode, as PyTorch does.
   */
  forward(x: Tensor): Tensor {
    tensorArg(this.constructor.name, "input", x);
    this.checkInput(x);
    const useBatchStats = this.training || !this.trackRunningStats;
    const updating = this.training && this.trackRunningStats;
    // momentum null: the cumulative average, 1 / batches seen (this one included), computed on the
    // buffer's device so that a WebGPU model never reads its counter back.
    const momentum =
      updating && this.momentum === null ? noGrad(() => ones([], { device: this.num_batches_tracked!.device }).div(this.num_batches_tracked!.add(1).float())) : (this.momentum ?? 0);
    // F.batchNorm checks everything before it updates the running statistics; the batch counter
    // moves only after that succeeded, so a failed call changes nothing.
    const out = F.batchNorm(x, this.running_mean, this.running_var, {
      weight: this.weight,
      bias: this.bias,
      training: useBatchStats,
      momentum,
      eps: this.eps,
    });
    if (updating) noGrad(() => this.num_batches_tracked!.copy_(this.num_batches_tracked!.add(1)));
    return out;
  }
}

/** Like torch.nn.BatchNorm1d: per-channel normalisation of [N, C] or [N, C, L] inputs. */
export class BatchNorm1d extends BatchNormBase {
  /** Like torch.nn.BatchNorm1d(num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True). */
  constructor(numFeatures: number, options: BatchNormLayerOptions = {}) {
    super(numFeatures, options);
  }

  protected checkInput(x: Tensor): void {
    if (x.ndim !== 2 && x.ndim !== 3) throw new ShapeError(`expected 2D or 3D input (got ${x.ndim}D input)`);
  }
}

/** Like torch.nn.BatchNorm2d: per-channel normalisation of [N, C, H, W] inputs. */
export class BatchNorm2d extends BatchNormBase {
  /** Like torch.nn.BatchNorm2d(num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True). */
  constructor(numFeatures: number, options: BatchNormLayerOptions = {}) {
    super(numFeatures, options);
  }

  protected checkInput(x: Tensor): void {
    if (x.ndim !== 4) throw new ShapeError(`expected 4D input (got ${x.ndim}D input)`);
  }
}

/** Options of `GroupNorm`. */
export interface GroupNormLayerOptions extends FactoryOptions {
  /** Added to the variance; default 1e-5. */
  eps?: number;
  /** Whether to learn a per-channel weight and bias; default true. */
  affine?: boolean;
}

/** Like torch.nn.GroupNorm: each sample's channel groups normalised separately; no running statistics. */
export class GroupNorm extends Module<[Tensor], Tensor> {
  /** Number of channel groups. */
  readonly numGroups: number;
  /** Number of channels C. */
  readonly numChannels: number;
  /** Added to the variance. */
  readonly eps: number;
  /** Per-channel scale, starting at ones; undefined without affine. */
  weight: Parameter | undefined;
  /** Per-channel shift, starting at zeros; undefined without affine. */
  bias: Parameter | undefined;

  /** Like torch.nn.GroupNorm(num_groups, num_channels, eps=1e-5, affine=True). */
  constructor(numGroups: number, numChannels: number, options: GroupNormLayerOptions = {}) {
    super();
    checkPositiveInt("num_groups", numGroups);
    checkPositiveInt("num_channels", numChannels);
    if (numChannels % numGroups !== 0) throw new ValueError("num_channels must be divisible by num_groups");
    this.numGroups = numGroups;
    this.numChannels = numChannels;
    this.eps = options.eps ?? 1e-5;
    const factory = { dtype: options.dtype ?? "float32", device: options.device ?? "cpu" };
    const affine = options.affine ?? true;
    this.weight = affine ? new Parameter(ones([numChannels], factory)) : undefined;
    this.bias = affine ? new Parameter(zeros([numChannels], factory)) : undefined;
  }

  /** Normalises `x` [N, numChannels, …]. */
  forward(x: Tensor): Tensor {
    return F.groupNorm(x, this.numGroups, { weight: this.weight, bias: this.bias, eps: this.eps });
  }

  /** `2, 6, eps=1e-05, affine=True`, as PyTorch prints it. */
  override extraRepr(): string {
    return `${this.numGroups}, ${this.numChannels}, eps=${pyFloat(this.eps)}, affine=${pyValue(this.weight !== undefined)}`;
  }
}
