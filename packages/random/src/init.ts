// Weight initialisers with the arithmetic of torch.nn.init (RNG.md §7): bounds are computed in
// double exactly as PyTorch's Python code computes them (same operations, same order), then the
// uniform_/normal_ fills apply. Like nn.init, they run outside autograd: a parameter that requires
// grad can be initialised in place.
import { ValueError, castScalar, checkNumber, checkTensor, type Tensor } from "@lockstep/core";
import { fillNormal, fillUniform, planFill, writeFill } from "./fills.js";
import type { Generator } from "./generator.js";
import { allocateValues } from "./sampling.js";

/** Nonlinearities `calculateGain` knows, named as in PyTorch. */
export type Nonlinearity =
  | "linear"
  | "conv1d"
  | "conv2d"
  | "conv3d"
  | "conv_transpose1d"
  | "conv_transpose2d"
  | "conv_transpose3d"
  | "sigmoid"
  | "tanh"
  | "relu"
  | "leaky_relu"
  | "selu";

const UNIT_GAIN = new Set<string>([
  "linear",
  "conv1d",
  "conv2d",
  "conv3d",
  "conv_transpose1d",
  "conv_transpose2d",
  "conv_transpose3d",
  "sigmoid",
]);

/**
 * The recommended gain for a nonlinearity, `torch.nn.init.calculate_gain`: 1 for linear/conv/
 * sigmoid, 5/3 for tanh, √2 for relu, √(2 / (1 + slope²)) for leaky_relu (slope 0.01 when
 * `param` is omitted), 3/4 for selu.
 */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  if (UNIT_GAIN.has(nonlinearity)) return 1;
  switch (nonlinearity) {
    case "tanh":
      return 5.0 / 3;
    case "relu":
      return Math.sqrt(2.0);
    case "leaky_relu": {
      let slope = 0.01;
      if (param !== undefined) {
        if (typeof param !== "number" || Number.isNaN(param)) {
          throw new ValueError(`negative_slope ${String(param)} not a valid number`);
        }
        slope = param;
      }
      return Math.sqrt(2.0 / (1 + slope * slope));
    }
    case "selu":
      return 3.0 / 4;
    default:
      throw new ValueError(`Unsupported nonlinearity ${String(nonlinearity)}`);
  }
}

/**
 * `[fanIn, fanOut]` of a weight of shape [out, in, ...kernel]: in·R and out·R with R the
 * product of the kernel dims, as PyTorch's `_calculate_fan_in_and_fan_out`.
 */
export function fanInAndFanOut(t: Tensor): [number, number] {
  checkTensor("fanInAndFanOut", "tensor", t);
  if (t.shape.length < 2) {
    throw new ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions");
  }
  let receptive = 1;
  for (let d = 2; d < t.shape.length; d++) receptive *= t.shape[d]!;
  return [t.shape[1]! * receptive, t.shape[0]! * receptive];
}

/** Fan selection of the Kaiming initialisers. */
export type FanMode = "fan_in" | "fan_out";

/** Options of `kaimingUniform_` and `kaimingNormal_`. */
export interface KaimingOptions {
  /** Negative slope of the rectifier after this layer (leaky_relu only); 0 by default. */
  a?: number;
  /** Preserve the variance of the forward pass ("fan_in", default) or of the backward pass. */
  mode?: FanMode;
  /** The nonlinearity after this layer; "leaky_relu" by default. */
  nonlinearity?: Nonlinearity;
  /** Draw from this generator instead of the default one (PyTorch 1.13 always uses the default). */
  generator?: Generator;
}

function kaimingStd(t: Tensor, options: KaimingOptions): number {
  const mode = options.mode ?? "fan_in";
  if (mode !== "fan_in" && mode !== "fan_out") {
    throw new ValueError(`Mode ${String(mode)} not supported, please use one of fan_in, fan_out`);
  }
  const [fanIn, fanOut] = fanInAndFanOut(t);
  const fan = mode === "fan_in" ? fanIn : fanOut;
  const gain = calculateGain(options.nonlinearity ?? "leaky_relu", options.a ?? 0);
  return gain / Math.sqrt(fan);
}

function isEmpty(t: Tensor, name: string): boolean {
  if (t.numel() !== 0) return false;
  console.warn(`lockstep: ${name}: initializing zero-element tensors is a no-op`);
  return true;
}

/**
 * He/Kaiming uniform initialisation, `torch.nn.init.kaiming_uniform_`: U(−b, b) with
 * b = √3 · gain / √fan. `nn.Linear` initialises its weight with `{ a: Math.sqrt(5) }`.
 */
export function kaimingUniform_(t: Tensor, options: KaimingOptions = {}): Tensor {
  checkTensor("kaimingUniform_", "tensor", t);
  if (options.a !== undefined) checkNumber("kaimingUniform_", "a", options.a);
  if (isEmpty(t, "kaimingUniform_")) return t;
  const std = kaimingStd(t, options);
  const bound = Math.sqrt(3.0) * std;
  return fillUniform(t, -bound, bound, { generator: options.generator }, false);
}

/** He/Kaiming normal initialisation, `torch.nn.init.kaiming_normal_`: N(0, gain² / fan). */
export function kaimingNormal_(t: Tensor, options: KaimingOptions = {}): Tensor {
  checkTensor("kaimingNormal_", "tensor", t);
  if (options.a !== undefined) checkNumber("kaimingNormal_", "a", options.a);
  if (isEmpty(t, "kaimingNormal_")) return t;
  const std = kaimingStd(t, options);
  return fillNormal(t, 0, std, { generator: options.generator }, false);
}

/** Options of `xavierUniform_` and `xavierNormal_`. */
export interface XavierOptions {
  /** Scaling factor; 1 by default. */
  gain?: number;
  /** Draw from this generator instead of the default one. */
  generator?: Generator;
}

function xavierStd(t: Tensor, options: XavierOptions): number {
  const [fanIn, fanOut] = fanInAndFanOut(t);
  return (options.gain ?? 1.0) * Math.sqrt(2.0 / (fanIn + fanOut));
}

/** Glorot/Xavier uniform initialisation, `torch.nn.init.xavier_uniform_`: U(−a, a), a = √3 · gain · √(2 / (fanIn + fanOut)). */
export function xavierUniform_(t: Tensor, options: XavierOptions = {}): Tensor {
  checkTensor("xavierUniform_", "tensor", t);
  if (options.gain !== undefined) checkNumber("xavierUniform_", "gain", options.gain);
  const std = xavierStd(t, options);
  const a = Math.sqrt(3.0) * std;
  return fillUniform(t, -a, a, { generator: options.generator }, false);
}

/** Glorot/Xavier normal initialisation, `torch.nn.init.xavier_normal_`: N(0, gain² · 2 / (fanIn + fanOut)). */
export function xavierNormal_(t: Tensor, options: XavierOptions = {}): Tensor {
  checkTensor("xavierNormal_", "tensor", t);
  if (options.gain !== undefined) checkNumber("xavierNormal_", "gain", options.gain);
  const std = xavierStd(t, options);
  return fillNormal(t, 0, std, { generator: options.generator }, false);
}

/** Sets every element to `value` without drawing, `torch.nn.init.constant_`. Returns `t`. */
export function constant_(t: Tensor, value: number): Tensor {
  checkTensor("constant_", "tensor", t);
  if (typeof value !== "number") throw new ValueError(`constant_(): value must be a number, got ${String(value)}`);
  const plan = planFill(t);
  const values = allocateValues(t.dtype, t.numel());
  values.fill(castScalar(value, t.dtype));
  writeFill(plan, values);
  return t;
}

/** Sets every element to 0, `torch.nn.init.zeros_`. Returns `t`. */
export function zeros_(t: Tensor): Tensor {
  return constant_(t, 0);
}

/** Sets every element to 1, `torch.nn.init.ones_`. Returns `t`. */
export function ones_(t: Tensor): Tensor {
  return constant_(t, 1);
}
