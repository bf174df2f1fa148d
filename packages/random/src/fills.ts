// In-place random fills: uniform_, normal_, bernoulli_ (also reachable as Tensor methods once
// this package is loaded). Values are generated on the host in the tensor's memory order, exactly
// as PyTorch's element iterator visits it — dimensions sorted by stride, largest outermost, so a
// transposed view is filled in storage order, not logical order — and written into its storage
// through the backend. Arguments, the tensor and its layout are all checked before the first draw.
import { DTypeError, NotImplementedError, Tensor, ValueError, checkInPlaceAllowed } from "@lockstep/core";
import { resolveGenerator } from "./default-generator.js";
import type { Generator } from "./generator.js";
import { sampleBernoulli, sampleNormal, sampleUniform, type FloatDType } from "./sampling.js";

/** Options of the in-place fills. */
export interface FillOptions {
  /** Draw from this generator instead of the default one. */
  generator?: Generator;
}

const FLOAT32_MAX = 3.4028234663852886e38;

function checkTarget(t: unknown, options: unknown, op: string): asserts t is Tensor {
  if (!(t instanceof Tensor)) throw new ValueError(`${op}() needs a Tensor to fill, got ${String(t)}`);
  t.assertLive();
  if (options !== undefined && (options === null || typeof options !== "object")) {
    throw new ValueError(`${op}(): options must be an object, got ${String(options)}`);
  }
}

function checkFloating(t: Tensor, op: string): FloatDType {
  if (t.dtype !== "float32" && t.dtype !== "float64") {
    throw new DTypeError(`${op}() needs a float32 or float64 tensor, got ${t.dtype}`);
  }
  return t.dtype;
}

function checkNumber(value: unknown, name: string, op: string): number {
  if (typeof value !== "number") throw new ValueError(`${op}(): ${name} must be a number, got ${String(value)}`);
  return value;
}

// Initialisers pass checkGrad = false: like nn.init (which runs under no_grad) they may fill a
// leaf that requires grad, which a plain in-place op may not.
function prepare(t: Tensor, checkGrad: boolean): FillPlan {
  if (checkGrad) checkInPlaceAllowed(t);
  return planFill(t);
}

/**
 * Fills `t` in place with uniform values in [from, to), PyTorch's `t.uniform_(from, to)`:
 * float32 uses fl32(from), fl32(to) and a fused multiply-add in float32, float64 one in double.
 * Returns `t`.
 */
export function uniform_(t: Tensor, from = 0, to = 1, options: FillOptions = {}): Tensor {
  return fillUniform(t, from, to, options, true);
}

/** @internal `uniform_` with the autograd leaf check optional (for initialisers). */
export function fillUniform(t: Tensor, from: number, to: number, options: FillOptions, checkGrad: boolean): Tensor {
  checkTarget(t, options, "uniform_");
  const dtype = checkFloating(t, "uniform_");
  checkNumber(from, "from", "uniform_");
  checkNumber(to, "to", "uniform_");
  const max = dtype === "float32" ? FLOAT32_MAX : Number.MAX_VALUE;
  if (!(from >= -max && from <= max)) throw new ValueError(`uniform_(): from=${from} is out of bounds for ${dtype}`);
  if (!(to >= -max && to <= max)) throw new ValueError(`uniform_(): to=${to} is out of bounds for ${dtype}`);
  if (from > to) {
    throw new ValueError(`uniform_ expects to return a [from, to) range, but found from=${from} > to=${to}`);
  }
  if (!(to - from <= max)) {
    throw new ValueError(
      `uniform_ expects to-from <= the largest finite ${dtype}, but found to=${to} and from=${from} ` +
        "which result in to-from to exceed the limit",
    );
  }
  const generator = resolveGenerator(options.generator, "uniform_");
  const plan = prepare(t, checkGrad);
  writeFill(plan, sampleUniform(generator, t.numel(), dtype, from, to));
  return t;
}

/**
 * Fills `t` in place with normal values, PyTorch's `t.normal_(mean, std)`. A contiguous tensor of
 * 16 or more elements takes the blocked path (float32 in float32 arithmetic); smaller or
 * non-contiguous tensors take the scalar path in storage order, sharing the generator's cached
 * value. `std = 0` is allowed. Returns `t`.
 */
export function normal_(t: Tensor, mean = 0, std = 1, options: FillOptions = {}): Tensor {
  return fillNormal(t, mean, std, options, true);
}

/** @internal `normal_` with the autograd leaf check optional (for initialisers). */
export function fillNormal(t: Tensor, mean: number, std: number, options: FillOptions, checkGrad: boolean): Tensor {
  checkTarget(t, options, "normal_");
  const dtype = checkFloating(t, "normal_");
  checkNumber(mean, "mean", "normal_");
  checkNumber(std, "std", "normal_");
  if (!(std >= 0)) throw new ValueError(`normal expects std >= 0.0, but found std ${std}`);
  const generator = resolveGenerator(options.generator, "normal_");
  const plan = prepare(t, checkGrad);
  writeFill(plan, sampleNormal(generator, t.numel(), dtype, mean, std, t.isContiguous()));
  return t;
}

/**
 * Fills `t` in place with 1 (probability p) or 0, PyTorch's `t.bernoulli_(p)` on a build without
 * MKL: two draws per element (`U53 < p`). Works for every dtype. Returns `t`.
 */
export function bernoulli_(t: Tensor, p = 0.5, options: FillOptions = {}): Tensor {
  checkTarget(t, options, "bernoulli_");
  checkNumber(p, "p", "bernoulli_");
  if (!(p >= 0 && p <= 1)) throw new ValueError(`bernoulli_ expects p to be in [0, 1], but got p=${p}`);
  const generator = resolveGenerator(options.generator, "bernoulli_");
  const plan = prepare(t, true);
  writeFill(plan, sampleBernoulli(generator, t.numel(), t.dtype, p));
  return t;
}

/**
 * Storage positions of a view's elements in the order PyTorch fills them: dimensions ordered by
 * decreasing stride (ties keep their logical order), the last one innermost. Throws when one
 * storage element would be written through several indices (a stride-0 dimension), as PyTorch does.
 */
export function fillOrder(shape: readonly number[], strides: readonly number[], offset: number): Float64Array {
  let total = 1;
  for (const size of shape) total *= size;
  const dims: number[] = [];
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    if (strides[d] === 0 && shape[d]! > 1) {
      throw new ValueError(
        "unsupported operation: more than one element of the written-to tensor refers to a single memory location. " +
          "Please clone() the tensor before performing the operation.",
      );
    }
    dims.push(d);
  }
  // Array.prototype.sort is stable, so equal strides keep their logical order.
  dims.sort((a, b) => strides[b]! - strides[a]!);
  const positions = new Float64Array(total);
  if (total === 0) return positions;
  const sizes = dims.map((d) => shape[d]!);
  const steps = dims.map((d) => strides[d]!);
  const index = new Array<number>(dims.length).fill(0);
  let position = offset;
  for (let i = 0; i < total; i++) {
    positions[i] = position;
    // odometer increment from the innermost (smallest-stride) dimension
    for (let k = dims.length - 1; k >= 0; k--) {
      index[k]!++;
      position += steps[k]!;
      if (index[k]! < sizes[k]!) break;
      position -= steps[k]! * sizes[k]!;
      index[k] = 0;
    }
  }
  return positions;
}

/**
 * True when the view's elements are exactly the elements of its storage, each once — a
 * contiguous tensor, or a permuted one such as a transposed weight. Then the fill can write the
 * whole storage without reading it first.
 */
function coversStorage(t: Tensor, positions: Float64Array | undefined): boolean {
  const length = t.storageView.storage.length;
  if (t.numel() !== length) return false;
  if (positions === undefined) return t.offset === 0;
  const seen = new Uint8Array(length);
  for (let i = 0; i < positions.length; i++) {
    const at = positions[i]!;
    if (at < 0 || at >= length || seen[at] === 1) return false;
    seen[at] = 1;
  }
  return true;
}

type Values = Float32Array | Float64Array | Int32Array | Uint8Array;

/** How the values of one fill reach the storage; made before any draw so that errors cost none. */
export interface FillPlan {
  readonly tensor: Tensor;
  /** Storage positions in fill order; undefined when the view is contiguous. */
  readonly positions: Float64Array | undefined;
  /** The values make up the whole storage, so no read is needed. */
  readonly direct: boolean;
}

/**
 * Checks that the tensor can be filled in place and works out where each value goes. A view
 * covering its whole storage is written directly; a partial view needs the rest of the storage,
 * which is read synchronously — possible on the CPU, not yet on devices that can only be read
 * asynchronously.
 */
export function planFill(t: Tensor): FillPlan {
  t.assertLive();
  const positions = t.isContiguous() ? undefined : fillOrder(t.shape, t.strides, t.offset);
  const direct = coversStorage(t, positions);
  if (!direct && t.backend.readSync === undefined) {
    throw new NotImplementedError(
      `random fills of a tensor view that covers only part of its storage are not supported yet on '${t.device}' ` +
        "(its memory cannot be read synchronously). Fill a contiguous tensor and copy it into the view instead.",
    );
  }
  return { tensor: t, positions, direct };
}

/** Writes `values` (one per element, in fill order) as planned and bumps the tensor's version. */
export function writeFill(plan: FillPlan, values: Values): void {
  const t = plan.tensor;
  const { storage } = t.storageView;
  const backend = t.backend;
  const positions = plan.positions;
  if (plan.direct && positions === undefined) {
    backend.write(storage, values);
  } else if (plan.direct) {
    const data = values.slice() as Values; // same type and length as the storage
    for (let i = 0; i < values.length; i++) data[positions![i]!] = values[i]!;
    backend.write(storage, data);
  } else {
    const data = backend.readSync!(storage).slice() as Values;
    if (positions === undefined) data.set(values, t.offset);
    else for (let i = 0; i < values.length; i++) data[positions[i]!] = values[i]!;
    backend.write(storage, data);
  }
  t.bumpVersion();
}
