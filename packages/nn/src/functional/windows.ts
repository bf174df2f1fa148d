// What convolution and pooling share: reading their size arguments (a number or a pair, checked
// and named like PyTorch's), constant padding, and the sliding windows themselves — a strided
// view (Tensor.unfold) over the padded input, so no window is copied until a kernel reads it.
// Everything here is composed from core ops, so it runs on every backend, autograd follows it,
// and the deterministic kernels' guarantees carry over unchanged.
import { ShapeError, ValueError, cat, formatValue, full, tensor, type Scalar, type Tensor } from "@lockstep/core";
import { tensorArg } from "./check.js";

/** A size per spatial dim: one number for all of them, or one each, like PyTorch's `_pair`. */
export type SizeArg = number | readonly number[];

/**
 * `value` as `rank` integers (a number is repeated). Throws ValueError naming `name` when it has
 * the wrong length or holds anything but integers.
 */
export function sizes(name: string, value: SizeArg, rank: number): number[] {
  const list: unknown[] = typeof value === "number" ? Array<number>(rank).fill(value) : Array.isArray(value) ? [...(value as unknown[])] : [];
  if ((typeof value !== "number" && !Array.isArray(value)) || list.length !== rank || list.some((v) => typeof v !== "number" || !Number.isInteger(v))) {
    throw new ValueError(`${name} must be an integer or a list of ${rank} integers, but got ${formatValue(value)}`);
  }
  return list as number[];
}

/** How `pad` fills: a constant, or the input mirrored, its edge repeated, or wrapped around. */
export type PadMode = "constant" | "reflect" | "replicate" | "circular";

/** Options of `pad`. */
export interface PadOptions {
  /** "constant" (default), "reflect", "replicate" or "circular", as PyTorch's mode=. */
  mode?: PadMode;
  /** Fill value of "constant" mode; default 0. */
  value?: number;
}

/** Source index along a dim of `size` for padded position i (i − before outside [0, size) is folded back). */
function sourceIndex(mode: Exclude<PadMode, "constant">, j: number, size: number): number {
  if (mode === "replicate") return Math.min(Math.max(j, 0), size - 1);
  if (mode === "circular") return ((j % size) + size) % size;
  while (j < 0 || j >= size) j = j < 0 ? -j : 2 * (size - 1) - j;
  return j;
}

/** Throws ValueError, as PyTorch does, when `x` is too short along `dim` for this mode's padding. */
function checkPadByIndex(x: Tensor, dim: number, before: number, after: number, mode: Exclude<PadMode, "constant">): void {
  const size = x.shape[dim]!;
  const limit = mode === "reflect" ? size - 1 : mode === "circular" ? size : Number.POSITIVE_INFINITY;
  if (before > limit || after > limit || size === 0) {
    throw new ValueError(
      mode === "circular"
        ? `Padding value causes wrapping around more than once: padding (${before}, ${after}) at dimension ${dim} of input [${x.shape.join(", ")}]`
        : `Padding size should be less than the corresponding input dimension, but got: padding (${before}, ${after}) at dimension ${dim} of input [${x.shape.join(", ")}]`,
    );
  }
}

/**
 * `x` padded along `dim` by reading the input at mirrored, clamped or wrapped positions: one
 * indexSelect, whose gradient adds each position's contributions in a fixed order.
 */
function padByIndex(x: Tensor, dim: number, before: number, after: number, mode: Exclude<PadMode, "constant">): Tensor {
  const size = x.shape[dim]!;
  const index = Int32Array.from({ length: size + before + after }, (_, i) => sourceIndex(mode, i - before, size));
  return x.indexSelect(dim, tensor(index, { device: x.device }));
}

/**
 * Like torch.nn.functional.pad: `amounts` lists (before, after) amounts starting from the last dim
 * — `[left, right, top, bottom]` pads the last two — filled with a constant (negative amounts
 * crop), or in "reflect", "replicate" or "circular" mode from the input itself. Throws ValueError
 * for an odd-length or too long list, an unknown mode, or reflect/circular padding the input is too
 * short for.
 */
export function pad(x: Tensor, amounts: readonly number[], options: PadOptions = {}): Tensor {
  tensorArg("pad", "input", x);
  if (!Array.isArray(amounts)) throw new ValueError(`pad(): amounts must be a list of integers, got ${formatValue(amounts)}`);
  const mode = options.mode ?? "constant";
  if (mode !== "constant" && mode !== "reflect" && mode !== "replicate" && mode !== "circular") {
    throw new ValueError(`Unrecognised padding mode ${formatValue(mode)}: expected "constant", "reflect", "replicate" or "circular"`);
  }
  if (amounts.length % 2 !== 0) throw new ValueError("Padding length must be divisible by 2");
  if (amounts.length / 2 > x.ndim) throw new ValueError("Padding length too large");
  if (amounts.some((a) => !Number.isInteger(a))) throw new ValueError(`pad(): amounts must be integers, got ${formatValue(amounts)}`);
  if (mode !== "constant") {
    if (amounts.some((a) => a < 0)) throw new ValueError(`pad(): negative padding is only supported in "constant" mode, got ${formatValue(amounts)}`);
    // Check every dim before building anything.
    for (let i = 0; i < amounts.length / 2; i++) checkPadByIndex(x, x.ndim - 1 - i, amounts[2 * i]!, amounts[2 * i + 1]!, mode);
    let padded = x;
    for (let i = 0; i < amounts.length / 2; i++) {
      const [before, after] = [amounts[2 * i]!, amounts[2 * i + 1]!];
      if (before !== 0 || after !== 0) padded = padByIndex(padded, x.ndim - 1 - i, before, after, mode);
    }
    return padded;
  }
  let out = x;
  for (let i = 0; i < amounts.length / 2; i++) {
    const dim = x.ndim - 1 - i;
    const before = amounts[2 * i]!;
    const after = amounts[2 * i + 1]!;
    const size = out.shape[dim]!;
    if (size + before + after < 0) {
      throw new ShapeError(
        `The input size ${size}, plus negative padding ${before} and ${after} resulted in a negative output size, which is invalid. Check dimension ${dim} of your input.`,
      );
    }
    out = padDim(out, dim, before, after, options.value ?? 0);
  }
  return out;
}

/** `x` with `before` and `after` elements of `value` added along `dim` (negative amounts crop). */
export function padDim(x: Tensor, dim: number, before: number, after: number, value: Scalar): Tensor {
  let out = x;
  if (before < 0 || after < 0) {
    const start = Math.max(0, -before);
    out = out.narrow(dim, start, out.shape[dim]! - start - Math.max(0, -after));
  }
  const filler = (n: number) =>
    full(
      out.shape.map((s, k) => (k === dim ? n : s)),
      value,
      { dtype: out.dtype, device: out.device },
    );
  const parts: Tensor[] = [];
  if (before > 0) parts.push(filler(before));
  parts.push(out);
  if (after > 0) parts.push(filler(after));
  return parts.length === 1 ? out : cat(parts, dim);
}

/** Geometry of sliding windows over the spatial dims of an already padded input. */
export interface WindowSpec {
  /** Window size per spatial dim (in taps). */
  kernel: readonly number[];
  /** Distance between window starts. */
  stride: readonly number[];
  /** Distance between taps inside a window. */
  dilation: readonly number[];
}

/** Extent of a dilated window: (k − 1)·d + 1. */
export function span(kernel: number, dilation: number): number {
  return (kernel - 1) * dilation + 1;
}

/**
 * Every window of `x` ([N, C, ...spatial], already padded) as a view of shape
 * [N, C, ...outputSpatial, ...kernel]: element [n, c, o…, k…] is x[n, c, o·stride + k·dilation …].
 * The caller has checked that each window fits.
 */
export function slidingWindows(x: Tensor, spec: WindowSpec): Tensor {
  const rank = spec.kernel.length;
  let windows = x;
  for (let i = 0; i < rank; i++) {
    const dim = 2 + i;
    // unfold appends the window dim last, so after the loop the kernel dims follow the outputs in order.
    windows = windows.unfold(dim, span(spec.kernel[i]!, spec.dilation[i]!), spec.stride[i]!);
    if (spec.dilation[i]! > 1) windows = windows.slice(-1, 0, undefined, spec.dilation[i]!);
  }
  return windows;
}

/** "(4 x 4)"-style size lists, as PyTorch prints spatial sizes in its messages. */
export function formatSizes(values: readonly number[]): string {
  return `(${values.join(" x ")})`;
}
