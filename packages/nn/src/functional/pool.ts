// Pooling over sliding windows: max and average pooling read the padded input through the same
// window view as convolution (windows.ts), and adaptive average pooling gathers its uneven windows
// with indexSelect. Each output is a reduction over its own window in the window's row-major
// order (kernel row, then column), so outputs are batch-invariant and, in deterministic mode, the
// same bits on every device and thread count; gradients flow back through gathers, never a
// scatter-add.
import { DTypeError, ShapeError, ValueError, checkNumel, formatValue, isFloating, tensor, where, zeros, type Tensor } from "@lockstep/core";
import { padDim, sizes, slidingWindows, span, type SizeArg } from "./windows.js";
import { tensorArg } from "./check.js";

/** Options of `maxPool1d` / `maxPool2d`, like PyTorch's keyword arguments. */
export interface MaxPoolOptions {
  /** Distance between window starts; default the kernel size. */
  stride?: SizeArg;
  /** Implicit −∞ padding on both sides; at most half the kernel size. Default 0. */
  padding?: SizeArg;
  /** Distance between taps inside a window; default 1. */
  dilation?: SizeArg;
  /** Round the output size up instead of down (windows may then start in the right padding). */
  ceilMode?: boolean;
}

/** Options of `avgPool1d` / `avgPool2d`, like PyTorch's keyword arguments. */
export interface AvgPoolOptions {
  /** Distance between window starts; default the kernel size. */
  stride?: SizeArg;
  /** Implicit zero padding on both sides; at most half the kernel size. Default 0. */
  padding?: SizeArg;
  /** Round the output size up instead of down. */
  ceilMode?: boolean;
  /** Count padding zeros in the divisor (default true), as PyTorch's count_include_pad. */
  countIncludePad?: boolean;
  /** Divide every window's sum by this instead. */
  divisorOverride?: number;
}

interface PoolGeometry {
  kernel: number[];
  stride: number[];
  padding: number[];
  dilation: number[];
  /** Input and output sizes per spatial dim. */
  input: number[];
  output: number[];
}

/** PyTorch's pooling_output_shape: floor or ceil, and no window may start in the right padding only. */
function outputSize(input: number, kernel: number, pad: number, stride: number, dilation: number, ceilMode: boolean): number {
  const numerator = input + 2 * pad - dilation * (kernel - 1) - 1 + (ceilMode ? stride - 1 : 0);
  let out = Math.floor(numerator / stride) + 1;
  if (ceilMode && (out - 1) * stride >= input + pad) out--;
  return out;
}

function poolGeometry(
  name: string,
  rank: number,
  x: Tensor,
  kernelSize: SizeArg,
  options: { stride?: SizeArg; padding?: SizeArg; dilation?: SizeArg; ceilMode?: boolean },
): PoolGeometry {
  tensorArg(name, "input", x);
  if (x.ndim !== rank + 1 && x.ndim !== rank + 2) {
    const shape = `[${x.shape.join(", ")}]`;
    throw new ShapeError(`${name}: Expected ${rank + 1}D or ${rank + 2}D (batch mode) tensor for input, but got input of size: ${shape}`);
  }
  if (!isFloating(x.dtype)) throw new DTypeError(`${name} expects a floating input, got ${x.dtype}`);
  const kernel = sizes("kernel_size", kernelSize, rank);
  const stride = options.stride === undefined || (Array.isArray(options.stride) && options.stride.length === 0)
    ? kernel
    : sizes("stride", options.stride, rank);
  const padding = sizes("padding", options.padding ?? 0, rank);
  const dilation = sizes("dilation", options.dilation ?? 1, rank);
  if (kernel.some((k) => k <= 0)) throw new ValueError(`kernel size should be greater than zero, but got kernel_size=[${kernel.join(", ")}]`);
  if (stride.some((s) => s <= 0)) throw new ValueError(`stride should be greater than zero, but got stride=[${stride.join(", ")}]`);
  if (dilation.some((d) => d <= 0)) throw new ValueError(`dilation should be greater than zero, but got dilation=[${dilation.join(", ")}]`);
  kernel.forEach((k, i) => {
    if (padding[i]! < 0 || padding[i]! > Math.floor(k / 2)) {
      throw new ValueError(`pad should be at most half of kernel size, but got pad=${padding[i]} and kernel_size=${k}`);
    }
  });
  const input = x.shape.slice(-rank);
  const output = input.map((s, i) => outputSize(s, kernel[i]!, padding[i]!, stride[i]!, dilation[i]!, options.ceilMode ?? false));
  if (output.some((o) => o < 1)) {
    const planes = x.shape[x.ndim - rank - 1]!;
    throw new ShapeError(
      `Given input size: (${[planes, ...input].join("x")}). Calculated output size: (${[planes, ...output].join("x")}). Output size is too small`,
    );
  }
  return { kernel, stride, padding, dilation, input, output };
}

/**
 * `x` ([N, C, …] or unbatched) padded with `fill` so that exactly `output` windows fit: the left
 * padding, and on the right whatever the last window needs (more than `padding` in ceil mode, less
 * when the tail is never reached), then viewed as windows [N, C, …output, …kernel].
 */
function windowsOf(x: Tensor, rank: number, g: PoolGeometry, fill: number): { windows: Tensor; batched: boolean } {
  const batched = x.ndim === rank + 2;
  let input = batched ? x : x.unsqueeze(0);
  for (let i = 0; i < rank; i++) {
    const needed = (g.output[i]! - 1) * g.stride[i]! + span(g.kernel[i]!, g.dilation[i]!);
    const after = needed - g.input[i]! - g.padding[i]!;
    if (g.padding[i]! !== 0 || after !== 0) input = padDim(input, 2 + i, g.padding[i]!, after, fill);
  }
  return { windows: slidingWindows(input, g), batched };
}

/** Row-major flat input index of every window tap, [...output, taps]; where max pooling's indices point. */
function tapIndices(g: PoolGeometry, device: string): Tensor {
  const taps = g.kernel.reduce((p, k) => p * k, 1);
  const positions = g.output.reduce((p, o) => p * o, 1);
  const table = new Int32Array(positions * taps);
  const rank = g.kernel.length;
  const out = new Array<number>(rank).fill(0);
  const tap = new Array<number>(rank).fill(0);
  for (let p = 0; p < positions; p++) {
    for (let r = rank - 1, rest = p; r >= 0; r--) (out[r] = rest % g.output[r]!), (rest = Math.floor(rest / g.output[r]!));
    for (let t = 0; t < taps; t++) {
      for (let r = rank - 1, rest = t; r >= 0; r--) (tap[r] = rest % g.kernel[r]!), (rest = Math.floor(rest / g.kernel[r]!));
      let flat = 0;
      for (let r = 0; r < rank; r++) flat = flat * g.input[r]! + (out[r]! * g.stride[r]! - g.padding[r]! + tap[r]! * g.dilation[r]!);
      table[p * taps + t] = flat;
    }
  }
  return tensor(table, { device }).reshape([...g.output, taps]);
}

function maxPool(name: string, rank: number, x: Tensor, kernelSize: SizeArg, options: MaxPoolOptions, withIndices: boolean): [Tensor, Tensor?] {
  const g = poolGeometry(name, rank, x, kernelSize, options);
  const { windows, batched } = windowsOf(x, rank, g, Number.NEGATIVE_INFINITY);
  const taps = g.kernel.reduce((p, k) => p * k, 1);
  // Taps before positions, [N, C, taps, …output]: the copy then runs along whole output rows
  // instead of the few elements of one window; the maximum is taken along dim 2, taps in order.
  const order = [0, 1, ...g.kernel.map((_, i) => 2 + rank + i), ...g.output.map((_, i) => 2 + i)];
  const flat = windows.permute(order).reshape([...windows.shape.slice(0, 2), taps, ...g.output]);
  const { values, indices } = flat.max(2) as { values: Tensor; indices: Tensor };
  if (!withIndices) return [batched ? values : values.squeeze(0)];
  const outDims = g.output.map((_, i) => i);
  const table = tapIndices(g, x.device).permute([rank, ...outDims]).expand([...flat.shape]);
  const inputIndices = table.gather(2, indices.unsqueeze(2)).squeeze(2);
  return batched ? [values, inputIndices] : [values.squeeze(0), inputIndices.squeeze(0)];
}

/**
 * Like torch.nn.functional.max_pool2d: the maximum of each (dilated) window of `x` [N, C, H, W]
 * (or [C, H, W]), padding counting as −∞. Throws ValueError or ShapeError with PyTorch's messages
 * for padding above half the kernel, non-positive sizes and outputs that would be empty. With
 * `returnIndices: true` returns [values, indices] as PyTorch's return_indices=True.
 */
export function maxPool2d(x: Tensor, kernelSize: SizeArg, options: MaxPoolOptions & { returnIndices: true }): [Tensor, Tensor];
export function maxPool2d(x: Tensor, kernelSize: SizeArg, options?: MaxPoolOptions & { returnIndices?: false }): Tensor;
export function maxPool2d(x: Tensor, kernelSize: SizeArg, options?: MaxPoolOptions & { returnIndices?: boolean }): Tensor | [Tensor, Tensor];
export function maxPool2d(x: Tensor, kernelSize: SizeArg, options: MaxPoolOptions & { returnIndices?: boolean } = {}): Tensor | [Tensor, Tensor] {
  const pair = maxPool("max_pool2d", 2, x, kernelSize, options, options.returnIndices === true);
  return options.returnIndices === true ? (pair as [Tensor, Tensor]) : pair[0];
}

/**
 * `maxPool2d` that also returns where each maximum came from: int32 indices into each input plane
 * flattened (h·W + w), as PyTorch's return_indices=True (the first maximum of a window on ties).
 */
export function maxPool2dWithIndices(x: Tensor, kernelSize: SizeArg, options: MaxPoolOptions = {}): [Tensor, Tensor] {
  return maxPool("max_pool2d", 2, x, kernelSize, options, true) as [Tensor, Tensor];
}

/**
 * Like torch.nn.functional.max_pool1d over `x` [N, C, L] (or [C, L]); errors as `maxPool2d`'s, and
 * [values, indices] with `returnIndices: true`.
 */
export function maxPool1d(x: Tensor, kernelSize: SizeArg, options: MaxPoolOptions & { returnIndices: true }): [Tensor, Tensor];
export function maxPool1d(x: Tensor, kernelSize: SizeArg, options?: MaxPoolOptions & { returnIndices?: false }): Tensor;
export function maxPool1d(x: Tensor, kernelSize: SizeArg, options?: MaxPoolOptions & { returnIndices?: boolean }): Tensor | [Tensor, Tensor];
export function maxPool1d(x: Tensor, kernelSize: SizeArg, options: MaxPoolOptions & { returnIndices?: boolean } = {}): Tensor | [Tensor, Tensor] {
  const pair = maxPool("max_pool1d", 1, x, kernelSize, options, options.returnIndices === true);
  return options.returnIndices === true ? (pair as [Tensor, Tensor]) : pair[0];
}

/** `maxPool1d` with the int32 index of each maximum along L, as PyTorch's return_indices=True. */
export function maxPool1dWithIndices(x: Tensor, kernelSize: SizeArg, options: MaxPoolOptions = {}): [Tensor, Tensor] {
  return maxPool("max_pool1d", 1, x, kernelSize, options, true) as [Tensor, Tensor];
}

/** PyTorch's avg_pool divisor for every output position: window size, clipped as its kernel does. */
function divisors(g: PoolGeometry, options: AvgPoolOptions, device: string, dtype: Tensor["dtype"]): Tensor {
  const rank = g.kernel.length;
  const positions = g.output.reduce((p, o) => p * o, 1);
  const values = new Float64Array(positions);
  const includePad = options.countIncludePad ?? true;
  for (let p = 0; p < positions; p++) {
    let withPad = 1;
    let inside = 1;
    for (let r = rank - 1, rest = p; r >= 0; r--) {
      const o = rest % g.output[r]!;
      rest = Math.floor(rest / g.output[r]!);
      const start = o * g.stride[r]! - g.padding[r]!;
      const end = Math.min(start + g.kernel[r]!, g.input[r]! + g.padding[r]!);
      withPad *= end - start;
      inside *= Math.min(end, g.input[r]!) - Math.max(start, 0);
    }
    values[p] = options.divisorOverride ?? (includePad ? withPad : inside);
  }
  return tensor(values, { dtype, device }).reshape(g.output);
}

function avgPool(name: string, rank: number, x: Tensor, kernelSize: SizeArg, options: AvgPoolOptions): Tensor {
  const g = poolGeometry(name, rank, x, kernelSize, { ...options, dilation: 1 });
  if (options.divisorOverride !== undefined && (!Number.isInteger(options.divisorOverride) || options.divisorOverride === 0)) {
    throw new ValueError(`divisor must be a non-zero integer, got ${formatValue(options.divisorOverride)}`);
  }
  const { windows, batched } = windowsOf(x, rank, g, 0);
  const sums = windows.sum(g.kernel.map((_, i) => -1 - i));
  const out = sums.div(divisors(g, options, x.device, x.dtype));
  return batched ? out : out.squeeze(0);
}

/**
 * Like torch.nn.functional.avg_pool2d: the mean of each window of `x` [N, C, H, W] (or
 * [C, H, W]), the sum divided by PyTorch's divisor (padding counted unless `countIncludePad` is
 * false; windows clipped at the padded edge in ceil mode).
 */
export function avgPool2d(x: Tensor, kernelSize: SizeArg, options: AvgPoolOptions = {}): Tensor {
  return avgPool("avg_pool2d", 2, x, kernelSize, options);
}

/** Like torch.nn.functional.avg_pool1d over `x` [N, C, L] (or [C, L]). */
export function avgPool1d(x: Tensor, kernelSize: SizeArg, options: AvgPoolOptions = {}): Tensor {
  return avgPool("avg_pool1d", 1, x, kernelSize, options);
}

/**
 * The uneven windows of adaptive pooling along one dim: window o covers
 * [⌊o·in/out⌋, ⌈(o+1)·in/out⌉). Returned as a gather table [out·width] (taps past a window's end
 * repeat its last element), a mask [out, width] of the real taps, and the window lengths.
 */
function adaptiveWindows(input: number, output: number): { index: Int32Array; mask: Uint8Array; lengths: number[]; width: number } {
  const starts = Array.from({ length: output }, (_, o) => Math.floor((o * input) / output));
  const ends = Array.from({ length: output }, (_, o) => Math.ceil(((o + 1) * input) / output));
  const lengths = starts.map((s, o) => ends[o]! - s);
  const width = Math.max(...lengths);
  const index = new Int32Array(output * width);
  const mask = new Uint8Array(output * width);
  for (let o = 0; o < output; o++) {
    for (let j = 0; j < width; j++) {
      index[o * width + j] = Math.min(starts[o]! + j, ends[o]! - 1);
      mask[o * width + j] = j < lengths[o]! ? 1 : 0;
    }
  }
  return { index, mask, lengths, width };
}

/** Output size of adaptive pooling: a number, or one per dim where null keeps the input's size. */
export type AdaptiveSize = number | readonly (number | null)[];

function adaptiveAvgPool(name: string, rank: number, x: Tensor, outputSize: AdaptiveSize): Tensor {
  tensorArg(name, "input", x);
  if (x.ndim !== rank + 1 && x.ndim !== rank + 2) {
    throw new ShapeError(`${name}(): Expected ${rank + 1}D or ${rank + 2}D tensor, but got [${x.shape.join(", ")}]`);
  }
  if (!isFloating(x.dtype)) throw new DTypeError(`${name} expects a floating input, got ${x.dtype}`);
  const input = x.shape.slice(-rank);
  if (typeof outputSize !== "number" && !Array.isArray(outputSize)) {
    throw new ValueError(`${name}: output_size must be a number or ${rank} elements, got ${formatValue(outputSize)}`);
  }
  const requested = typeof outputSize === "number" ? Array<number | null>(rank).fill(outputSize) : [...outputSize];
  if (requested.length !== rank) throw new ValueError(`${name}: output_size must be ${rank} elements, got ${formatValue(outputSize)}`);
  const output = requested.map((o, i) => (o === null ? input[i]! : o));
  if (output.some((o) => !Number.isInteger(o) || o < 0)) {
    throw new ValueError(`${name}: elements of output_size must be greater than or equal to 0 but received ${formatValue(outputSize)}`);
  }
  checkNumel(name, [...x.shape.slice(0, -rank), ...output]);
  if (input.some((s) => s === 0)) {
    throw new ShapeError(`${name}(): Expected input to have non-zero size for non-batch dimensions, but input has sizes [${x.shape.join(", ")}]`);
  }
  const batched = x.ndim === rank + 2 ? x : x.unsqueeze(0);
  if (output.some((o) => o === 0)) return zeros([...x.shape.slice(0, -rank), ...output], { dtype: x.dtype, device: x.device });
  // Gather each dim's windows in turn: [N, C, o₀, w₀, o₁, w₁, …].
  let gathered = batched;
  let mask: Tensor | undefined;
  let counts: Tensor | undefined;
  const windows = input.map((s, i) => adaptiveWindows(s, output[i]!));
  windows.forEach((win, i) => {
    const dim = 2 + 2 * i;
    gathered = gathered.indexSelect(dim, tensor(win.index, { device: x.device }));
    gathered = gathered.reshape([...gathered.shape.slice(0, dim), output[i]!, win.width, ...gathered.shape.slice(dim + 1)]);
    const dimMask = tensor(win.mask, { dtype: "bool", device: x.device }).reshape([output[i]!, win.width]);
    const dimCount = tensor(Float64Array.from(win.lengths), { dtype: x.dtype, device: x.device });
    mask = mask === undefined ? dimMask : mask.unsqueeze(-1).unsqueeze(-1).logicalAnd(dimMask);
    counts = counts === undefined ? dimCount : counts.unsqueeze(-1).mul(dimCount);
  });
  const kept = where(mask!, gathered, 0);
  const sums = kept.sum(windows.map((_, i) => 3 + 2 * i));
  const out = sums.div(counts!);
  return x.ndim === rank + 2 ? out : out.squeeze(0);
}

/**
 * Like torch.nn.functional.adaptive_avg_pool2d: `x` [N, C, H, W] (or [C, H, W]) averaged over
 * PyTorch's uneven windows to `outputSize` (a number, or [h, w] where null keeps that size).
 */
export function adaptiveAvgPool2d(x: Tensor, outputSize: AdaptiveSize): Tensor {
  return adaptiveAvgPool("adaptive_avg_pool2d", 2, x, outputSize);
}

/** Like torch.nn.functional.adaptive_avg_pool1d over `x` [N, C, L] (or [C, L]). */
export function adaptiveAvgPool1d(x: Tensor, outputSize: AdaptiveSize): Tensor {
  return adaptiveAvgPool("adaptive_avg_pool1d", 1, x, outputSize);
}
