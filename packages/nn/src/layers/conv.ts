// Convolution layers. Construction draws exactly what PyTorch's _ConvNd.reset_parameters draws, in
// the same order (kaiming-uniform weight with a = √5, then the bias from U(−1/√fanIn, 1/√fanIn)),
// so a seeded Conv2d holds PyTorch's weights bit for bit.
import { ValueError, empty, type Tensor } from "@lockstep/core";
import { fanInAndFanOut, kaimingUniform_, type Generator } from "@lockstep/random";
import { uniform_ } from "../init.js";
import * as F from "../functional.js";
import { sizes } from "../functional/windows.js";
import { Module, Parameter, checkPositiveInt } from "../module.js";
import type { FactoryOptions } from "./factory.js";
import { pyTuple, pyValue } from "../repr.js";

/** Options of `Conv1d` and `Conv2d`, like PyTorch's keyword arguments. */
export interface ConvLayerOptions extends FactoryOptions {
  /** Distance between window starts; default 1. */
  stride?: F.SizeArg;
  /** Zero padding per side, or "same" / "valid"; default 0. */
  padding?: F.SizeArg | "same" | "valid";
  /** Distance between kernel taps; default 1. */
  dilation?: F.SizeArg;
  /** Number of independent channel groups; default 1. */
  groups?: number;
  /** Whether to learn an additive bias; default true. */
  bias?: boolean;
  /** How the padding is filled: "zeros" (default), "reflect", "replicate" or "circular", as PyTorch's padding_mode. */
  paddingMode?: "zeros" | "reflect" | "replicate" | "circular";
  /** Generator for the initial weights; the default generator when omitted. */
  generator?: Generator;
}

/** What Conv1d and Conv2d share: argument checks, parameters and PyTorch's initialisation. */
abstract class ConvNd extends Module<[Tensor], Tensor> {
  /** Channels of the input (in_channels). */
  readonly inChannels: number;
  /** Channels of the output (out_channels). */
  readonly outChannels: number;
  /** Kernel size per spatial dim. */
  readonly kernelSize: number[];
  /** Window stride per spatial dim. */
  readonly stride: number[];
  /** Padding per spatial dim, or "same" / "valid". */
  readonly padding: number[] | "same" | "valid";
  /** Tap distance per spatial dim. */
  readonly dilation: number[];
  /** Number of channel groups. */
  readonly groups: number;
  /** How padding is filled. */
  readonly paddingMode: "zeros" | "reflect" | "replicate" | "circular";
  /** Weight of shape [outChannels, inChannels / groups, ...kernelSize]. */
  weight: Parameter;
  /** Bias of shape [outChannels]; undefined when created with `bias: false`. */
  bias: Parameter | undefined;

  protected constructor(rank: number, inChannels: number, outChannels: number, kernelSize: F.SizeArg, options: ConvLayerOptions) {
    super();
    checkPositiveInt("in_channels", inChannels);
    checkPositiveInt("out_channels", outChannels);
    const groups = options.groups ?? 1;
    if (!Number.isInteger(groups) || groups <= 0) throw new ValueError("groups must be a positive integer");
    if (inChannels % groups !== 0) throw new ValueError("in_channels must be divisible by groups");
    if (outChannels % groups !== 0) throw new ValueError("out_channels must be divisible by groups");
    const kernel = sizes("kernel_size", kernelSize, rank);
    if (kernel.some((k) => k <= 0)) throw new ValueError(`kernel_size must be positive, got [${kernel.join(", ")}]`);
    const stride = sizes("stride", options.stride ?? 1, rank);
    const dilation = sizes("dilation", options.dilation ?? 1, rank);
    if (stride.some((s) => s <= 0)) throw new ValueError("non-positive stride is not supported");
    if (dilation.some((d) => d <= 0)) throw new ValueError(`dilation should be greater than zero, but got [${dilation.join(", ")}]`);
    const padding = options.padding ?? 0;
    if (typeof padding === "string") {
      if (padding !== "same" && padding !== "valid") {
        throw new ValueError(`Invalid padding string '${padding}', should be one of {'valid', 'same'}`);
      }
      if (padding === "same" && stride.some((s) => s !== 1)) throw new ValueError("padding='same' is not supported for strided convolutions");
    } else if (sizes("padding", padding, rank).some((p) => p < 0)) {
      throw new ValueError("negative padding is not supported");
    }
    const paddingMode = options.paddingMode ?? "zeros";
    if (!["zeros", "reflect", "replicate", "circular"].includes(paddingMode)) {
      throw new ValueError(`padding_mode must be one of {'zeros', 'reflect', 'replicate', 'circular'}, but got padding_mode='${String(paddingMode)}'`);
    }
    this.paddingMode = paddingMode;
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = kernel;
    this.stride = stride;
    this.padding = typeof padding === "string" ? padding : sizes("padding", padding, rank);
    this.dilation = dilation;
    this.groups = groups;
    const factory = { dtype: options.dtype ?? "float32", device: options.device ?? "cpu" };
    this.weight = new Parameter(empty([outChannels, inChannels / groups, ...kernel], factory));
    this.bias = options.bias === false ? undefined : new Parameter(empty([outChannels], factory));
    this.resetParameters(options.generator);
  }

  /** kaiming_uniform_(a=√5) on the weight, then U(−1/√fanIn, 1/√fanIn) on the bias — PyTorch's draws, in order. */
  resetParameters(generator?: Generator): void {
    kaimingUniform_(this.weight, { a: Math.sqrt(5), generator });
    if (this.bias !== undefined) {
      const [fanIn] = fanInAndFanOut(this.weight);
      const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
      uniform_(this.bias, -bound, bound, { generator });
    }
  }

  /**
   * `1, 6, kernel_size=(5, 5), stride=(1, 1)` plus the arguments that differ from their defaults,
   * as PyTorch prints it.
   */
  override extraRepr(): string {
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=${pyTuple(this.kernelSize)}, stride=${pyTuple(this.stride)}`;
    if (typeof this.padding === "string" || this.padding.some((p) => p !== 0)) s += `, padding=${pyValue(this.padding)}`;
    if (this.dilation.some((d) => d !== 1)) s += `, dilation=${pyTuple(this.dilation)}`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (this.bias === undefined) s += ", bias=False";
    if (this.paddingMode !== "zeros") s += `, padding_mode=${this.paddingMode}`;
    return s;
  }

  /**
   * The convolution with this layer's geometry. Modes other than "zeros" pad the input first
   * (PyTorch's _reversed_padding_repeated_twice; "same" puts the odd element after) and convolve
   * without padding, as PyTorch does.
   */
  protected convolve(conv: typeof F.conv2d, x: Tensor): Tensor {
    const options = { stride: this.stride, dilation: this.dilation, groups: this.groups };
    if (this.paddingMode === "zeros" || this.padding === "valid") return conv(x, this.weight, this.bias, { ...options, padding: this.padding });
    const amounts: number[] = [];
    for (let i = this.kernelSize.length - 1; i >= 0; i--) {
      if (this.padding === "same") {
        const total = this.dilation[i]! * (this.kernelSize[i]! - 1);
        amounts.push(Math.floor(total / 2), total - Math.floor(total / 2));
      } else {
        amounts.push(this.padding[i]!, this.padding[i]!);
      }
    }
    return conv(F.pad(x, amounts, { mode: this.paddingMode }), this.weight, this.bias, { ...options, padding: 0 });
  }
}

/** Like torch.nn.Conv2d: 2-D convolution over [N, C, H, W] (or [C, H, W]) inputs. */
export class Conv2d extends ConvNd {
  /**
   * Like torch.nn.Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
   * groups=1, bias=True). Throws ValueError for sizes PyTorch refuses.
   */
  constructor(inChannels: number, outChannels: number, kernelSize: F.SizeArg, options: ConvLayerOptions = {}) {
    super(2, inChannels, outChannels, kernelSize, options);
  }

  /** Convolves `x` [N, inChannels, H, W] into [N, outChannels, H', W']. */
  forward(x: Tensor): Tensor {
    return this.convolve(F.conv2d, x);
  }
}

/** Like torch.nn.Conv1d: 1-D convolution over [N, C, L] (or [C, L]) inputs. */
export class Conv1d extends ConvNd {
  /** Like torch.nn.Conv1d(in_channels, out_channels, kernel_size, …); errors as Conv2d's. */
  constructor(inChannels: number, outChannels: number, kernelSize: F.SizeArg, options: ConvLayerOptions = {}) {
    super(1, inChannels, outChannels, kernelSize, options);
  }

  /** Convolves `x` [N, inChannels, L] into [N, outChannels, L']. */
  forward(x: Tensor): Tensor {
    return this.convolve(F.conv1d, x);
  }
}
