// Convolution as windows and one matrix product. The padded input's windows (a strided view) are
// gathered into columns [N, groups, C/groups·kernel, positions], and the weight [groups,
// out/groups, C/groups·kernel] multiplies them. Each output element is therefore one dot product
// over (input channel, kernel row, kernel column) in that order — the order of the weight's own
// layout — summed by the matmul kernel, which in deterministic mode sums sequentially over that
// length alone: the result does not depend on the batch size, the spatial size, the thread count
// or the device. The input gradient comes back through the window view's backward (a gather over
// window offsets in a fixed order, no scatter-add); the weight gradient is the matmul's, summed
// over positions and then over the batch in fixed orders. The bias is added after the full sum.
import { isGradEnabled } from "@lockstep/autograd";
import { DTypeError, ShapeError, ValueError, commonDevice, formatShape, scope, type Tensor } from "@lockstep/core";
import { formatSizes, pad, sizes, slidingWindows, span, type SizeArg } from "./windows.js";
import { optionalTensorArg, tensorArg } from "./check.js";

/** Options of `conv1d` and `conv2d`, like PyTorch's keyword arguments. */
export interface ConvOptions {
  /** Distance between window starts; default 1. */
  stride?: SizeArg;
  /**
   * Zero padding on both sides of each spatial dim (default 0), or "valid" (none) or "same"
   * (output as large as the input; stride must be 1, extra padding goes after, as in PyTorch).
   */
  padding?: SizeArg | "same" | "valid";
  /** Distance between kernel taps; default 1. */
  dilation?: SizeArg;
  /** Channels are split into this many independent groups; default 1. */
  groups?: number;
}

/** The checked geometry of one convolution call. */
interface ConvGeometry {
  stride: number[];
  dilation: number[];
  /** Padding before and after, per spatial dim. */
  padBefore: number[];
  padAfter: number[];
  groups: number;
}

function checkGeometry(rank: number, kernel: readonly number[], options: ConvOptions): ConvGeometry {
  const stride = sizes("stride", options.stride ?? 1, rank);
  const dilation = sizes("dilation", options.dilation ?? 1, rank);
  const groups = options.groups ?? 1;
  if (!Number.isInteger(groups) || groups <= 0) throw new ValueError(`non-positive groups is not supported, got groups=${groups}`);
  if (stride.some((s) => s <= 0)) throw new ValueError("non-positive stride is not supported");
  if (dilation.some((d) => d <= 0)) throw new ValueError(`dilation should be greater than zero, but got [${dilation.join(", ")}]`);
  const padding = options.padding ?? 0;
  if (typeof padding === "string") {
    if (padding === "valid") return { stride, dilation, padBefore: Array(rank).fill(0), padAfter: Array(rank).fill(0), groups };
    if (padding !== "same") throw new ValueError(`Invalid padding string: '${padding}'`);
    if (stride.some((s) => s !== 1)) throw new ValueError("padding='same' is not supported for strided convolutions");
    // PyTorch puts the odd element of the total padding after the input.
    const total = kernel.map((k, i) => dilation[i]! * (k - 1));
    const padBefore = total.map((t) => Math.floor(t / 2));
    return { stride, dilation, padBefore, padAfter: total.map((t, i) => t - padBefore[i]!), groups };
  }
  const amounts = sizes("padding", padding, rank);
  if (amounts.some((p) => p < 0)) throw new ValueError("negative padding is not supported");
  return { stride, dilation, padBefore: amounts, padAfter: amounts, groups };
}

/**
 * The batched convolution over `rank` spatial dims (1 or 2). Checks every argument before any
 * tensor is made, then runs windows → columns → matmul → bias.
 */
function convolution(name: string, rank: number, x: Tensor, weight: Tensor, bias: Tensor | undefined, options: ConvOptions): Tensor {
  tensorArg(name, "input", x);
  tensorArg(name, "weight", weight);
  optionalTensorArg(name, "bias", bias);
  commonDevice(bias === undefined ? [x, weight] : [x, weight, bias]);
  if (weight.ndim !== rank + 2) {
    throw new ShapeError(`${name}: expected weight to be ${rank + 2}-dimensional, but got weight of size ${formatShape(weight.shape)}`);
  }
  if (x.ndim !== rank + 1 && x.ndim !== rank + 2) {
    throw new ShapeError(
      `Expected ${rank + 1}D (unbatched) or ${rank + 2}D (batched) input to ${name}, but got input of size: ${formatShape(x.shape)}`,
    );
  }
  if (x.dtype !== weight.dtype || (bias !== undefined && bias.dtype !== x.dtype)) {
    throw new DTypeError(
      `Input type (${x.dtype}) and weight type (${weight.dtype})${bias === undefined ? "" : ` and bias type (${bias.dtype})`} should be the same`,
    );
  }
  if (x.dtype !== "float32" && x.dtype !== "float64") throw new DTypeError(`${name} expects a floating input, got ${x.dtype}`);
  const kernel = weight.shape.slice(2);
  const geometry = checkGeometry(rank, kernel, options);
  const { groups } = geometry;
  const batched = x.ndim === rank + 2 ? x : x.unsqueeze(0);
  const [n, channels] = batched.shape as [number, number];
  const outChannels = weight.shape[0]!;
  if (outChannels % groups !== 0) {
    throw new ShapeError(
      `Given groups=${groups}, expected weight to be divisible by ${groups} at dimension 0, but got weight of size ${formatShape(weight.shape)} instead`,
    );
  }
  if (channels !== weight.shape[1]! * groups) {
    throw new ShapeError(
      `Given groups=${groups}, weight of size ${formatShape(weight.shape)}, expected input${formatShape(batched.shape)} to have ` +
        `${weight.shape[1]! * groups} channels, but got ${channels} channels instead`,
    );
  }
  if (bias !== undefined && (bias.ndim !== 1 || bias.shape[0] !== outChannels)) {
    throw new ShapeError(
      `Given weight of size ${formatShape(weight.shape)}, expected bias to be 1-dimensional with ${outChannels} elements, ` +
        `but got bias of size ${formatShape(bias.shape)} instead`,
    );
  }
  const spatial = batched.shape.slice(2);
  const padded = spatial.map((s, i) => s + geometry.padBefore[i]! + geometry.padAfter[i]!);
  const extents = kernel.map((k, i) => span(k, geometry.dilation[i]!));
  if (extents.some((e, i) => e > padded[i]!)) {
    throw new ShapeError(
      `Calculated padded input size per channel: ${formatSizes(padded)}. Kernel size: ${formatSizes(extents)}. ` +
        "Kernel size can't be greater than actual input size",
    );
  }

  // Without a graph to record (inference, noGrad, frozen layers) the temporaries — the padded
  // input and the columns, tens of MB for a batch of images — are freed as soon as the product
  // exists, so the next call reuses their memory instead of faulting in fresh pages (~10 ms of a
  // 40 ms conv2d of 8×64×32×32 here) while the garbage collector has not yet found them. Only up to
  // the product: what follows is views of it and the bias add, which the result keeps as its base.
  // With a graph the matmul keeps the columns for the weight gradient, and they live as long as it.
  const records = isGradEnabled() && (x.requiresGrad || weight.requiresGrad || bias?.requiresGrad === true);
  const run = () => columnsProduct(rank, batched, weight, geometry, kernel);
  const { product, outSpatial } = records ? run() : scope(run);
  let out = product.reshape([n, outChannels, ...outSpatial]);
  if (bias !== undefined) out = out.add(bias.reshape([outChannels, ...outSpatial.map(() => 1)]));
  return x.ndim === rank + 2 ? out : out.squeeze(0);
}

/** windows → columns → weight · columns, on checked arguments: [N, groups, out/groups, positions]. */
function columnsProduct(
  rank: number, batched: Tensor, weight: Tensor, geometry: ConvGeometry, kernel: readonly number[],
): { product: Tensor; outSpatial: number[] } {
  const { groups } = geometry;
  const [n, channels] = batched.shape as [number, number];
  const outChannels = weight.shape[0]!;
  const amounts: number[] = [];
  for (let i = rank - 1; i >= 0; i--) amounts.push(geometry.padBefore[i]!, geometry.padAfter[i]!);
  const input = amounts.some((a) => a !== 0) ? pad(batched, amounts) : batched;
  const windows = slidingWindows(input, { kernel, stride: geometry.stride, dilation: geometry.dilation });
  const outSpatial = windows.shape.slice(2, 2 + rank);
  const positions = outSpatial.reduce((p, s) => p * s, 1);
  const taps = kernel.reduce((p, s) => p * s, 1);
  const groupChannels = channels / groups;
  // [N, C, out…, k…] → [N, C, k…, out…]: channel then kernel taps along the reduced axis, matching
  // the weight's layout; positions along the columns.
  const order = [0, 1, ...kernel.map((_, i) => 2 + rank + i), ...outSpatial.map((_, i) => 2 + i)];
  const columns = windows.permute(order).reshape([n, groups, groupChannels * taps, positions]);
  const w = weight.reshape([groups, outChannels / groups, groupChannels * taps]);
  return { product: w.matmul(columns), outSpatial };
}

/**
 * Like torch.nn.functional.conv2d: `x` [N, C, H, W] (or unbatched [C, H, W]) convolved with
 * `weight` [out, C/groups, kH, kW], plus `bias` [out]. Throws ShapeError or ValueError with
 * PyTorch's messages for wrong ranks, channel counts, groups, kernels larger than the padded input,
 * non-positive stride or dilation, negative padding and "same" padding with a stride.
 */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor, options: ConvOptions = {}): Tensor {
  return convolution("conv2d", 2, x, weight, bias, options);
}

/**
 * Like torch.nn.functional.conv1d: `x` [N, C, L] (or unbatched [C, L]) convolved with `weight`
 * [out, C/groups, k], plus `bias` [out]. Errors as `conv2d`'s.
 */
export function conv1d(x: Tensor, weight: Tensor, bias?: Tensor, options: ConvOptions = {}): Tensor {
  return convolution("conv1d", 1, x, weight, bias, options);
}
