// Normalisation layers. Affine weights start at ones and biases at zeros, as in PyTorch (no draws).
import { ones, zeros, type Tensor } from "@lockstep/core";
import * as F from "../functional.js";
import { Module, Parameter, checkPositiveInt } from "../module.js";
import type { FactoryOptions } from "./factory.js";

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
}
