// Pooling layers: thin modules over nn.functional's pooling, holding PyTorch's arguments. They have
// no parameters or buffers.
import type { Tensor } from "@lockstep/core";
import * as F from "../functional.js";
import { Module } from "../module.js";
import { pyTuple, pyValue, type PyValue } from "../repr.js";

/** Options of `MaxPool1d` / `MaxPool2d`. */
export interface MaxPoolLayerOptions<R extends boolean> extends F.MaxPoolOptions {
  /** Also return the int32 index of each maximum (for an unpooling step), like return_indices=True. */
  returnIndices?: R;
}

/** What a max-pooling layer returns: the pooled values, or [values, indices] with `returnIndices`. */
export type MaxPoolOutput<R extends boolean> = R extends true ? [Tensor, Tensor] : Tensor;

/** Like torch.nn.MaxPool2d: the maximum of each window of [N, C, H, W] (or [C, H, W]) inputs. */
export class MaxPool2d<R extends boolean = false> extends Module<[Tensor], MaxPoolOutput<R>> {
  /** Like torch.nn.MaxPool2d(kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False). */
  constructor(
    /** Window size. */
    readonly kernelSize: F.SizeArg,
    /** Stride, padding, dilation, ceilMode and returnIndices. */
    readonly options: MaxPoolLayerOptions<R> = {},
  ) {
    super();
  }

  /** Pools `x`; with `returnIndices`, also where each maximum came from. */
  forward(x: Tensor): MaxPoolOutput<R> {
    if (this.options.returnIndices === true) return F.maxPool2dWithIndices(x, this.kernelSize, this.options) as MaxPoolOutput<R>;
    return F.maxPool2d(x, this.kernelSize, { ...this.options, returnIndices: false }) as MaxPoolOutput<R>;
  }

  /** `kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False`, as PyTorch prints it. */
  override extraRepr(): string {
    const o = this.options;
    return (
      `kernel_size=${pyValue(this.kernelSize)}, stride=${pyValue(o.stride ?? this.kernelSize)}, padding=${pyValue(o.padding ?? 0)}, ` +
      `dilation=${pyValue(o.dilation ?? 1)}, ceil_mode=${pyValue(o.ceilMode ?? false)}`
    );
  }
}

/** Like torch.nn.MaxPool1d: the maximum of each window of [N, C, L] (or [C, L]) inputs. */
export class MaxPool1d<R extends boolean = false> extends Module<[Tensor], MaxPoolOutput<R>> {
  /** Like torch.nn.MaxPool1d(kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False). */
  constructor(
    /** Window size. */
    readonly kernelSize: F.SizeArg,
    /** Stride, padding, dilation, ceilMode and returnIndices. */
    readonly options: MaxPoolLayerOptions<R> = {},
  ) {
    super();
  }

  /** Pools `x`; with `returnIndices`, also where each maximum came from. */
  forward(x: Tensor): MaxPoolOutput<R> {
    if (this.options.returnIndices === true) return F.maxPool1dWithIndices(x, this.kernelSize, this.options) as MaxPoolOutput<R>;
    return F.maxPool1d(x, this.kernelSize, { ...this.options, returnIndices: false }) as MaxPoolOutput<R>;
  }

  /** `kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False`, as PyTorch prints it. */
  override extraRepr(): string {
    const o = this.options;
    return (
      `kernel_size=${pyValue(this.kernelSize)}, stride=${pyValue(o.stride ?? this.kernelSize)}, padding=${pyValue(o.padding ?? 0)}, ` +
      `dilation=${pyValue(o.dilation ?? 1)}, ceil_mode=${pyValue(o.ceilMode ?? false)}`
    );
  }
}

/** Like torch.nn.AvgPool2d: the mean of each window of [N, C, H, W] (or [C, H, W]) inputs. */
export class AvgPool2d extends Module<[Tensor], Tensor> {
  /** Like torch.nn.AvgPool2d(kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None). */
  constructor(
    /** Window size. */
    readonly kernelSize: F.SizeArg,
    /** Stride, padding, ceilMode, countIncludePad and divisorOverride. */
    readonly options: F.AvgPoolOptions = {},
  ) {
    super();
  }

  /** Pools `x`. */
  forward(x: Tensor): Tensor {
    return F.avgPool2d(x, this.kernelSize, this.options);
  }

  /** `kernel_size=2, stride=2, padding=0`, as PyTorch prints it (stride defaults to the kernel size). */
  override extraRepr(): string {
    const o = this.options;
    return `kernel_size=${pyValue(this.kernelSize)}, stride=${pyValue(o.stride ?? this.kernelSize)}, padding=${pyValue(o.padding ?? 0)}`;
  }
}

/** Like torch.nn.AvgPool1d: the mean of each window of [N, C, L] (or [C, L]) inputs. */
export class AvgPool1d extends Module<[Tensor], Tensor> {
  /** Like torch.nn.AvgPool1d(kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True). */
  constructor(
    /** Window size. */
    readonly kernelSize: F.SizeArg,
    /** Stride, padding, ceilMode and countIncludePad. */
    readonly options: F.AvgPoolOptions = {},
  ) {
    super();
  }

  /** Pools `x`. */
  forward(x: Tensor): Tensor {
    return F.avgPool1d(x, this.kernelSize, this.options);
  }

  /** `kernel_size=(4,), stride=(2,), padding=(0,)`: AvgPool1d keeps one-element tuples, as PyTorch prints it. */
  override extraRepr(): string {
    const single = (v: F.SizeArg): string => pyTuple(typeof v === "number" ? [v] : v);
    const o = this.options;
    return `kernel_size=${single(this.kernelSize)}, stride=${single(o.stride ?? this.kernelSize)}, padding=${single(o.padding ?? 0)}`;
  }
}

/** Like torch.nn.AdaptiveAvgPool2d: averages [N, C, H, W] (or [C, H, W]) inputs down to a fixed size. */
export class AdaptiveAvgPool2d extends Module<[Tensor], Tensor> {
  /** Like torch.nn.AdaptiveAvgPool2d(output_size); null in a pair keeps that input size. */
  constructor(
    /** Target [H, W] (or one number for both). */
    readonly outputSize: F.AdaptiveSize,
  ) {
    super();
  }

  /** Pools `x` to `outputSize`. */
  forward(x: Tensor): Tensor {
    return F.adaptiveAvgPool2d(x, this.outputSize);
  }

  /** `output_size=(1, 1)`, as PyTorch prints it. */
  override extraRepr(): string {
    return `output_size=${pyValue(this.outputSize as PyValue)}`;
  }
}

/** Like torch.nn.AdaptiveAvgPool1d: averages [N, C, L] (or [C, L]) inputs down to a fixed length. */
export class AdaptiveAvgPool1d extends Module<[Tensor], Tensor> {
  /** Like torch.nn.AdaptiveAvgPool1d(output_size). */
  constructor(
    /** Target length. */
    readonly outputSize: F.AdaptiveSize,
  ) {
    super();
  }

  /** Pools `x` to `outputSize`. */
  forward(x: Tensor): Tensor {
    return F.adaptiveAvgPool1d(x, this.outputSize);
  }

  /** `output_size=(1, 1)`, as PyTorch prints it. */
  override extraRepr(): string {
    return `output_size=${pyValue(this.outputSize as PyValue)}`;
  }
}
