// Random tensor factories: rand, randn, randint, randperm, bernoulli, and the dropout mask. Values
// are generated on the host from the chosen generator — the same stream whatever the device, so a
// WebGPU model gets the CPU's dropout mask without reading anything back — and uploaded once.
// Every argument is checked before the first draw, so a rejected call leaves the generator as it was.
import {
  DTypeError,
  NotImplementedError,
  Tensor,
  ValueError,
  checkBool,
  checkDevice,
  checkOptions as checkOptionsObject,
  getBackend,
  isFloating,
  type DType,
  type DataArray,
  type OptionChecker,
} from "@lockstep/core";
import { resolveGenerator } from "./default-generator.js";
import type { Generator } from "./generator.js";
import {
  sampleBernoulliTensor,
  sampleDropoutMask,
  sampleIntegers,
  sampleNormal,
  samplePermutation,
  sampleUniform,
  type FloatDType,
} from "./sampling.js";

/** Options of the random factories. */
export interface RandomTensorOptions {
  /** Draw from this generator instead of the default one. */
  generator?: Generator;
  /** Element type of the result (float32 for rand/randn, int32 for randint/randperm by default). */
  dtype?: DType;
  /** Device of the result ("cpu" by default); the values are the same on every device. */
  device?: string;
  /** Mark the result as a leaf that requires gradients (floating dtypes only). */
  requiresGrad?: boolean;
}

const DTYPE_NAMES: readonly DType[] = ["float32", "float64", "int32", "bool"];

/** Validates a shape argument and returns its element count. */
export function checkShape(shape: readonly number[], op: string): number {
  if (!Array.isArray(shape)) throw new ValueError(`${op}(): the shape must be an array of integers, got ${describe(shape)}`);
  let n = 1;
  for (const size of shape) {
    if (typeof size !== "number" || !Number.isInteger(size) || size < 0) {
      throw new ValueError(`${op}(): the shape must contain non-negative integers, got ${describe(shape)}`);
    }
    n *= size;
  }
  return n;
}

/** The dtype option, checked against what the op supports. */
export function checkDType(dtype: unknown, fallback: DType, allowed: readonly DType[], op: string): DType {
  const value = dtype ?? fallback;
  if (!DTYPE_NAMES.includes(value as DType)) {
    throw new DTypeError(`${op}(): unknown dtype ${describe(value)}; expected one of ${DTYPE_NAMES.join(", ")}`);
  }
  if (!allowed.includes(value as DType)) {
    throw new DTypeError(`${op}(): dtype ${String(value)} is not supported; use one of ${allowed.join(", ")}`);
  }
  return value as DType;
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (Array.isArray(value)) return `[${value.map(describe).join(", ")}]`;
  return value !== null && typeof value === "object" ? Object.prototype.toString.call(value) : String(value);
}

/**
 * Checks an options object with core's validation layer (a plain object whose keys are all known;
 * a value of the wrong JavaScript type is a LockstepTypeError naming it). The generator is
 * checked by resolveGenerator, the dtype against what the op supports by checkDType.
 */
function checkOptions(options: unknown, known: readonly string[], op: string): void {
  const checkers: Record<string, OptionChecker> = {};
  for (const key of known) checkers[key] = OPTION_CHECKERS[key] ?? ((_fn, _arg, value) => value);
  checkOptionsObject(op, options, checkers);
}

const OPTION_CHECKERS: Record<string, OptionChecker> = { device: checkDevice, requiresGrad: checkBool };

const TENSOR_OPTIONS = ["generator", "dtype", "device", "requiresGrad"] as const;

/**
 * The output of a random op, allocated before the first draw: the device, the dtype on that
 * device, the size and `requiresGrad` are all checked by then, so a rejected call leaves the
 * generator where it was. `fill` writes the drawn values; `cancel` frees the memory if drawing fails.
 */
interface Reserved {
  fill(values: DataArray): Tensor;
  cancel(): void;
}

function reserve(shape: readonly number[], dtype: DType, options: { device?: unknown; requiresGrad?: unknown }, op: string): Reserved {
  const device = options.device ?? "cpu";
  if (typeof device !== "string") throw new ValueError(`${op}(): device must be a string such as "cpu" or "webgpu", got ${describe(device)}`);
  const requiresGrad = options.requiresGrad ?? false;
  if (typeof requiresGrad !== "boolean") throw new ValueError(`${op}(): requiresGrad must be a boolean, got ${describe(requiresGrad)}`);
  if (requiresGrad && !isFloating(dtype)) {
    throw new DTypeError(`${op}(): only Tensors of floating point dtype can require gradients (got ${dtype})`);
  }
  let n = 1;
  for (const size of shape) n *= size;
  if (n > 2 ** 31 - 1) throw new ValueError(`${op}(): a tensor of shape [${shape.join(", ")}] has ${n} elements, more than 2^31 - 1`);
  const backend = getBackend(device);
  const storage = backend.allocate(dtype, n);
  return {
    fill(values) {
      backend.write(storage, values);
      const t = Tensor.fromStorage(storage, backend, [...shape]);
      return requiresGrad ? t.requiresGrad_(true) : t;
    },
    cancel() {
      backend.release(storage);
    },
  };
}

/** Draws with `draw` into a reserved output; the memory is freed if drawing throws. */
function drawInto(out: Reserved, draw: () => DataArray): Tensor {
  let values: DataArray;
  try {
    values = draw();
  } catch (error) {
    out.cancel();
    throw error;
  }
  return out.fill(values);
}

const FLOATS: readonly DType[] = ["float32", "float64"];

/** Uniform values in [0, 1), PyTorch's `torch.rand(shape)` stream. */
export function rand(shape: readonly number[], options: RandomTensorOptions = {}): Tensor {
  checkOptions(options, TENSOR_OPTIONS, "rand");
  const n = checkShape(shape, "rand");
  const dtype = checkDType(options.dtype, "float32", FLOATS, "rand") as FloatDType;
  const generator = resolveGenerator(options.generator, "rand");
  const out = reserve(shape, dtype, options, "rand");
  return drawInto(out, () => sampleUniform(generator, n, dtype, 0, 1));
}

/**
 * Standard normal values, PyTorch's `torch.randn(shape)` stream: 16 or more elements take the
 * blocked Box–Muller path, fewer the scalar path that keeps a cached value in the generator.
 */
export function randn(shape: readonly number[], options: RandomTensorOptions = {}): Tensor {
  checkOptions(options, TENSOR_OPTIONS, "randn");
  const n = checkShape(shape, "randn");
  const dtype = checkDType(options.dtype, "float32", FLOATS, "randn") as FloatDType;
  const generator = resolveGenerator(options.generator, "randn");
  const out = reserve(shape, dtype, options, "randn");
  return drawInto(out, () => sampleNormal(generator, n, dtype, 0, 1, true));
}

/** Smallest and largest integer each dtype holds exactly (float ranges as PyTorch allows them). */
const INTEGER_BOUNDS: Record<DType, readonly [bigint, bigint]> = {
  int32: [-(1n << 31n), (1n << 31n) - 1n],
  float32: [-(1n << 24n), 1n << 24n],
  float64: [-(1n << 53n), 1n << 53n],
  bool: [0n, 1n],
};

function toInteger(value: number | bigint, name: string): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new ValueError(`randint(): ${name} must be an integer (number or bigint), got ${describe(value)}`);
  }
  return BigInt(value);
}

/**
 * Integers in [low, high), PyTorch's `torch.randint(low, high, shape)` stream (int32 by default;
 * float64 can hold bounds up to ±2^53, and then ranges of 2^32 or more take 64-bit draws).
 * `draw mod range + low`, with PyTorch's modulo bias.
 */
export function randint(
  low: number | bigint,
  high: number | bigint,
  shape: readonly number[],
  options: RandomTensorOptions = {},
): Tensor {
  checkOptions(options, TENSOR_OPTIONS, "randint");
  const lowValue = toInteger(low, "low");
  const highValue = toInteger(high, "high");
  const n = checkShape(shape, "randint");
  const dtype = checkDType(options.dtype, "int32", DTYPE_NAMES, "randint");
  if (lowValue >= highValue) {
    throw new ValueError(`random_ expects 'from' to be less than 'to', but got from=${lowValue} >= to=${highValue}`);
  }
  const [min, max] = INTEGER_BOUNDS[dtype];
  if (lowValue < min || lowValue > max) {
    throw new ValueError(`randint(): from=${lowValue} is out of bounds for ${dtype} [${min}, ${max}]`);
  }
  if (highValue - 1n < min || highValue - 1n > max) {
    throw new ValueError(`randint(): to - 1 = ${highValue - 1n} is out of bounds for ${dtype} [${min}, ${max}]`);
  }
  const generator = resolveGenerator(options.generator, "randint");
  const out = reserve(shape, dtype, options, "randint");
  return drawInto(out, () => sampleIntegers(generator, n, dtype, lowValue, highValue));
}

const PERMUTATION_LIMITS: Partial<Record<DType, number>> = {
  int32: 2 ** 31,
  float32: 2 ** 24 + 1,
  float64: 2 ** 53 + 1,
};

/** A random permutation of 0 … n−1, PyTorch 1.13's `torch.randperm(n)` stream (int32 by default). */
export function randperm(n: number, options: RandomTensorOptions = {}): Tensor {
  checkOptions(options, TENSOR_OPTIONS, "randperm");
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0) throw new ValueError(`randperm(): n must be a non-negative integer, got ${describe(n)}`);
  const dtype = checkDType(options.dtype, "int32", ["int32", "float32", "float64"], "randperm");
  if (n > PERMUTATION_LIMITS[dtype]!) {
    throw new ValueError(`randperm(): n cannot be greater than ${PERMUTATION_LIMITS[dtype]} for ${dtype}, got ${n}`);
  }
  const generator = resolveGenerator(options.generator, "randperm");
  const out = reserve([n], dtype, options, "randperm");
  return drawInto(out, () => samplePermutation(generator, n, dtype));
}

/**
 * 0/1 samples with per-element probabilities `probs` (float32 or float64, values in [0, 1]),
 * PyTorch's `torch.bernoulli(probs)`: float64 probabilities take two draws per element, float32
 * ones one draw. The result has the dtype, shape and device of `probs`. Reads `probs`
 * synchronously, so `probs` must live on a device the CPU can read (the CPU).
 */
export function bernoulli(probs: Tensor, options: { generator?: Generator } = {}): Tensor {
  if (!(probs instanceof Tensor)) throw new ValueError(`bernoulli(): probs must be a Tensor, got ${describe(probs)}`);
  checkOptions(options, ["generator"], "bernoulli");
  probs.assertLive();
  if (probs.dtype !== "float32" && probs.dtype !== "float64") {
    throw new DTypeError(`bernoulli(): probabilities must be float32 or float64, got ${probs.dtype}`);
  }
  const readSync = probs.backend.readSync;
  if (readSync === undefined) {
    throw new NotImplementedError(`bernoulli() needs probabilities the CPU can read synchronously; '${probs.device}' cannot`);
  }
  const storage = readSync.call(probs.backend, probs.storageView.storage) as Float32Array | Float64Array;
  const positions = logicalPositions(probs.shape, probs.strides, probs.offset);
  const n = positions.length;
  const order = visitOrder(probs, positions);
  // probabilities in the order PyTorch draws for them
  const ordered = probs.dtype === "float32" ? new Float32Array(n) : new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const logical = order === undefined ? k : order[k]!;
    const p = storage[positions[logical]!]!;
    if (!(p >= 0 && p <= 1)) {
      throw new ValueError(`bernoulli(): expected every probability to be in [0, 1], but found ${p} at flat index ${logical}`);
    }
    ordered[k] = p;
  }
  const generator = resolveGenerator(options.generator, "bernoulli");
  const result = reserve(probs.shape, probs.dtype, { device: probs.device }, "bernoulli");
  return drawInto(result, () => {
    const drawn = sampleBernoulliTensor(generator, ordered);
    if (order === undefined) return drawn;
    const out = probs.dtype === "float32" ? new Float32Array(n) : new Float64Array(n);
    for (let k = 0; k < n; k++) out[order[k]!] = drawn[k]!;
    return out;
  });
}

/** Storage position of each element, in row-major logical order. */
function logicalPositions(shape: readonly number[], strides: readonly number[], offset: number): Float64Array {
  let n = 1;
  for (const size of shape) n *= size;
  const positions = new Float64Array(n);
  const index = new Array<number>(shape.length).fill(0);
  let position = offset;
  for (let i = 0; i < n; i++) {
    positions[i] = position;
    for (let d = shape.length - 1; d >= 0; d--) {
      position += strides[d]!;
      if (++index[d]! < shape[d]!) break;
      position -= strides[d]! * shape[d]!;
      index[d] = 0;
    }
  }
  return positions;
}

/**
 * The logical indices in the order PyTorch's output iterator visits them, or undefined for
 * row-major order. PyTorch fills an output made by empty_like(probs), which keeps the layout of
 * a dense permuted tensor (a transpose) and is contiguous otherwise; a dense layout is visited
 * in storage order.
 */
function visitOrder(t: Tensor, positions: Float64Array): Float64Array | undefined {
  if (t.isContiguous()) return undefined;
  const dims = t.shape.map((size, d) => ({ size, stride: t.strides[d]! })).filter((x) => x.size !== 1);
  dims.sort((a, b) => a.stride - b.stride);
  let expected = 1;
  for (const { size, stride } of dims) {
    if (stride !== expected) return undefined;
    expected *= size;
  }
  // dense: positions are offset + 0 … n−1, each once
  const order = new Float64Array(positions.length);
  for (let logical = 0; logical < positions.length; logical++) order[positions[logical]! - t.offset] = logical;
  return order;
}

/** Options of `dropoutMask`. */
export interface DropoutMaskOptions {
  /** Draw from this generator instead of the default one (PyTorch 1.13's dropout always uses the default). */
  generator?: Generator;
  /** Element type of the mask, the dtype of the input it multiplies (float32 by default). */
  dtype?: DType;
  /** Device of the mask ("cpu" by default). */
  device?: string;
}

/**
 * The mask `m` with `x · m` equal to PyTorch's `dropout(x, p, training=True)`: each element is
 * kept with probability 1 − p (a 53-bit uniform below 1 − p, two draws per element, as
 * `bernoulli_(1 − p)`) and then holds 1/(1 − p) computed in the dtype — for float32 that is
 * `1.0f / fl32(1 − p)`, which differs from fl32(1/(1 − p)) for some p — and dropped ones hold 0.
 * `p = 0` gives ones and `p = 1` zeros, both without drawing, as PyTorch takes no draws there.
 */
export function dropoutMask(shape: readonly number[], p: number, options: DropoutMaskOptions = {}): Tensor {
  checkOptions(options, ["generator", "dtype", "device"], "dropoutMask");
  const n = checkShape(shape, "dropoutMask");
  if (typeof p !== "number" || !(p >= 0 && p <= 1)) {
    throw new ValueError(`dropout probability has to be between 0 and 1, but got ${String(p)}`);
  }
  const dtype = options.dtype ?? "float32";
  if (dtype !== "float32" && dtype !== "float64") {
    throw new DTypeError(`dropoutMask(): dtype must be float32 or float64, got ${String(dtype)}`);
  }
  const generator = resolveGenerator(options.generator, "dropoutMask");
  const out = reserve(shape, dtype, { device: options.device }, "dropoutMask");
  return drawInto(out, () => {
    if (p === 0 || p === 1 || n === 0) {
      const values = dtype === "float32" ? new Float32Array(n) : new Float64Array(n);
      return values.fill(p === 0 ? 1 : 0);
    }
    return sampleDropoutMask(generator, n, dtype as FloatDType, p);
  });
}
