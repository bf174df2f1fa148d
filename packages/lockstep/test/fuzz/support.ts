// Shared pieces of the property-based suite (fast-check): a fixed seed and a modest run count so
// CI is reproducible and the suite stays near a minute; arbitraries for shapes, tensor data and
// every kind of JS value a caller might pass; and the one assertion every error property makes —
// the call threw a LockstepError and changed nothing (tensor bits, shapes, versions, autograd
// fields, global flags).
import * as fc from "fast-check";
import * as L from "lockstep";
import type { DType, Tensor } from "lockstep";
import { expect } from "vitest";

/**
 * Fixed seed: a failure prints its seed/path and replays the same on every machine. To explore
 * beyond it locally, set FUZZ_SEED (another seed) and FUZZ_RUNS (a multiplier of the listed run
 * counts; default 2).
 */
export const SEED = process.env.FUZZ_SEED === undefined ? 0x5eed_18 : Number(process.env.FUZZ_SEED);
// Twice the listed run counts by default: about 20 s for the whole suite on a loaded 2-core machine.
const RUNS = process.env.FUZZ_RUNS === undefined ? 2 : Number(process.env.FUZZ_RUNS);
fc.configureGlobal({ seed: SEED, numRuns: Math.round(40 * RUNS), endOnFailure: true });

export { fc };

/** Run counts: CPU properties use `cpuRuns`; WebGPU (lavapipe is slow) a fifth of them. */
export function runsOn(device: string, cpuRuns = 40): number {
  const runs = Math.round(cpuRuns * RUNS);
  return device === "cpu" ? runs : Math.max(4, Math.floor(runs / 5));
}

// ---- arbitraries ---------------------------------------------------------------------------

/** Small shapes, 0-d to 3-d, sizes 0..4 (empty tensors included). */
export const shapeArb = (maxRank = 3, maxSize = 4): fc.Arbitrary<number[]> =>
  fc.array(fc.integer({ min: 0, max: maxSize }), { maxLength: maxRank });

/** Non-empty small shapes, 1-d to 3-d. */
export const nonEmptyShapeArb = (maxRank = 3, maxSize = 4): fc.Arbitrary<number[]> =>
  fc.array(fc.integer({ min: 1, max: maxSize }), { minLength: 1, maxLength: maxRank });

/**
 * float32 values, mostly ordinary, sometimes NaN, ±Infinity, -0, huge or subnormal. Ordinary draws
 * that round to a subnormal are flushed to 0 here, so only the listed subnormal appears.
 */
export const float32Arb: fc.Arbitrary<number> = fc.oneof(
  { weight: 8, arbitrary: fc.double({ min: -100, max: 100, noNaN: true }).map((v) => (Math.abs(Math.fround(v)) < 1.2e-38 ? 0 : Math.fround(v))) },
  { weight: 1, arbitrary: fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0, 3.4e38, -3.4e38).map(Math.fround) },
  { weight: 1, arbitrary: fc.constant(Math.fround(1e-40)) },
);

/**
 * float32 values for `device`: WebGPU adapters may flush subnormals to zero (the WGSL spec
 * allows it; the backend's self-test reports it), so its properties draw no subnormals.
 */
export function float32On(device: string): fc.Arbitrary<number> {
  return device === "cpu" ? float32Arb : float32Arb.map((v) => (v !== 0 && Math.abs(v) < 1.2e-38 ? 0 : v));
}

/** Ordinary finite float32 values (for references compared with a tolerance). */
export const finiteArb: fc.Arbitrary<number> = fc.double({ min: -8, max: 8, noNaN: true }).map(Math.fround);

/** Values of every JS kind a caller might pass where a number is expected. */
export const anyValueArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.double(),
  fc.integer({ min: -5, max: 5 }),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0.5, 2 ** 40, 1e300),
  fc.boolean(),
  fc.string({ maxLength: 3 }),
  fc.constantFrom("1", "2", "x", ""),
  fc.constant(null),
  fc.constant(undefined),
  fc.bigInt({ min: -3n, max: 3n }),
  fc.constant({}),
  fc.constant({ valueOf: () => 1 }),
  fc.array(fc.integer({ min: -2, max: 2 }), { maxLength: 2 }),
  fc.constant(Symbol("s")),
  fc.constant(() => 1),
  // Exotic values whose description must not throw or take long.
  fc.constant({
    get boom(): number {
      throw new Error("getter");
    },
    [fc.toStringMethod]: () => "{ get boom() { throw } }",
  }),
  fc.constant(new Map([[1, 2]])),
  fc.constant(new Uint8Array([1, 2])),
  // eslint-disable-next-line no-sparse-arrays
  fc.constant([1, , 2]),
);

/** Whether `v` is a scalar Lockstep accepts (number or boolean). */
export function isScalar(v: unknown): v is number | boolean {
  return typeof v === "number" || typeof v === "boolean";
}

/** A row-major array of `numel(shape)` values drawn from `values`. */
export function dataFor(shape: readonly number[], values: fc.Arbitrary<number> = float32Arb): fc.Arbitrary<number[]> {
  const n = shape.reduce((a, b) => a * b, 1);
  return fc.array(values, { minLength: n, maxLength: n });
}

/** A shape with data for it. */
export const shapedDataArb = (values: fc.Arbitrary<number> = float32Arb, maxRank = 3, maxSize = 4) =>
  shapeArb(maxRank, maxSize).chain((shape) => dataFor(shape, values).map((data) => ({ shape, data })));

/** A tensor of `shape` holding `data` (row-major) on `device`. */
export function make(data: readonly number[], shape: readonly number[], device: string, dtype: DType = "float32"): Tensor {
  const base = L.tensor(Float64Array.from(data), { dtype, device });
  return base.reshape([...shape]);
}

// ---- "nothing changed" ----------------------------------------------------------------------

interface TensorState {
  shape: number[];
  strides: number[];
  offset: number;
  dtype: string;
  version: number;
  requiresGrad: boolean;
  grad: unknown;
  disposed: boolean;
  bits: string;
}

/** Bit patterns (hex) of a tensor's values, so -0, NaN payloads and 0 are told apart. */
export async function bitsOf(t: Tensor): Promise<string> {
  const data = await t.data();
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function stateOf(t: Tensor): Promise<TensorState> {
  return {
    shape: [...t.shape],
    strides: [...t.strides],
    offset: t.offset,
    dtype: t.dtype,
    version: t.version,
    requiresGrad: t.requiresGrad,
    grad: t.grad === undefined ? undefined : { same: t.grad, disposed: t.grad.isDisposed, bits: t.grad.isDisposed ? "" : await bitsOf(t.grad) },
    disposed: t.isDisposed,
    bits: t.isDisposed ? "" : await bitsOf(t),
  };
}

/** Everything a failed call must leave as it was: the given tensors and the global flags. */
export async function snapshotAll(tensors: readonly Tensor[]): Promise<unknown> {
  return {
    tensors: await Promise.all(tensors.map(stateOf)),
    deterministic: L.areDeterministicAlgorithmsEnabled(),
    warnOnly: L.isDeterministicAlgorithmsWarnOnlyEnabled(),
    threads: L.getNumThreads(),
    gradEnabled: L.isGradEnabled(),
  };
}

/** Runs `call` (sync or async) and returns what it threw, or undefined. */
export async function thrown(call: () => unknown): Promise<unknown> {
  try {
    await call();
  } catch (error) {
    return error;
  }
  return undefined;
}

/**
 * The call must throw a LockstepError (of `cls` when given) and change nothing in `tensors` or
 * the global flags. Returns the error for further checks on its message.
 */
export async function expectRefused(
  call: () => unknown,
  tensors: readonly Tensor[],
  cls: abstract new (...args: never[]) => Error = L.LockstepError,
): Promise<Error> {
  const before = await snapshotAll(tensors);
  const error = await thrown(call);
  if (!(error instanceof L.LockstepError)) {
    throw new Error(`expected a LockstepError, got ${error === undefined ? "no error" : String((error as Error)?.stack ?? error)}`);
  }
  expect(error, `${error.name}: ${error.message}`).toBeInstanceOf(cls);
  expect(await snapshotAll(tensors), `state after: ${error.message}`).toEqual(before);
  return error;
}

/** How a JS value appears in a message "as the user wrote it". */
export function written(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "bigint") return `${v}n`;
  if (v === null) return "null";
  if (v === undefined) return "undefined";
  if (typeof v === "number" && Object.is(v, -0)) return "-0";
  if (typeof v === "symbol") return v.toString();
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return "";
}

/** float32 rounding of a double result, the reference of a correctly rounded float32 op. */
export const f32 = Math.fround;

/** Same value bit for bit (any NaN equals any NaN, -0 differs from 0). */
export function sameValue(got: number, want: number): boolean {
  if (Number.isNaN(want)) return Number.isNaN(got);
  return Object.is(got, want);
}
