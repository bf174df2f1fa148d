// Replays a fixture case through the public API and compares every value and every generator state
// with what PyTorch produced, bit for bit.
import { fromData, type DType, type Tensor } from "@lockstep/core";
import {
  Generator,
  bernoulli,
  bernoulli_,
  constant_,
  defaultGenerator,
  dropoutMask,
  kaimingNormal_,
  kaimingUniform_,
  manualSeed,
  normal_,
  ones_,
  rand,
  randint,
  randn,
  randperm,
  uniform_,
  xavierNormal_,
  xavierUniform_,
  zeros_,
} from "../../src/index.js";
import { bitsOf, expectedBits, sha256, ulpDistance, type Case, type EncodedValues, type StateRecord, type Step } from "./fixtures.js";
import { storageOf } from "./host-backend.js";

/** Outcome of comparing one array of values. */
export interface Comparison {
  values: number;
  identical: number;
  maxUlp: bigint;
  /**
   * Mismatches larger than a 2-ulp difference in the unit normal z can explain: with mean ≠ 0 a
   * 1-ulp difference in z is several ulp of a result near 0 (cancellation, RNG.md §11), so the
   * bound is |ours − torch| ≤ 2·ulp(z)·std + ulp(torch), z = (torch − mean)/std.
   */
  beyondTolerance: number;
  /** float64 normal outputs, where glibc's log/sin/cos may differ from correct rounding. */
  libmDependent: boolean;
}

export interface CaseOutcome {
  comparisons: Comparison[];
  stateMismatches: string[];
  errors: string[];
}

type Values = Float32Array | Float64Array | Int32Array | Uint8Array;

function seedOf(value: unknown): number | bigint {
  return typeof value === "string" ? BigInt(value) : (value as number);
}

function zerosTensor(shape: number[], dtype: DType): Tensor {
  let n = 1;
  for (const s of shape) n *= s;
  const data = dtype === "float32" ? new Float32Array(n) : dtype === "float64" ? new Float64Array(n) : dtype === "int32" ? new Int32Array(n) : new Uint8Array(n);
  return fromData(data, dtype, shape, "cpu");
}

/** For float64 normal outputs, the mean and std they were drawn with; undefined for other steps. */
function normalParameters(step: Step): { mean: number; std: number } | undefined {
  const dtype = (step.dtype as string | undefined) ?? "float32";
  if (dtype !== "float64") return undefined;
  if (step.op === "randn") return { mean: 0, std: 1 };
  if (step.op === "normal_") return { mean: step.mean as number, std: step.std as number };
  const args = (step.args ?? {}) as { mean?: number; std?: number };
  if (step.op === "init" && step.fn === "normal_") return { mean: args.mean ?? 0, std: args.std ?? 1 };
  if (step.op === "init" && (step.fn === "kaiming_normal_" || step.fn === "xavier_normal_")) return { mean: 0, std: 1 };
  return undefined;
}

const scratch = new DataView(new ArrayBuffer(8));
function doubleOf(bits: bigint): number {
  scratch.setBigUint64(0, bits);
  return scratch.getFloat64(0);
}
/** The spacing of doubles at |x| (normal range). */
function ulpOf(x: number): number {
  scratch.setFloat64(0, Math.abs(x));
  const biased = scratch.getUint16(0) >>> 4;
  return 2 ** (Math.max(biased, 1) - 1075);
}

function compare(
  actual: Values,
  expected: EncodedValues,
  normal: { mean: number; std: number } | undefined,
  errors: string[],
  label: string,
): Comparison {
  const width = actual.BYTES_PER_ELEMENT;
  const libmDependent = normal !== undefined;
  if (expected.sha256 !== undefined) {
    const ok = sha256(actual) === expected.sha256 && actual.length === expected.numel;
    const head = bitsOf(actual.subarray(0, expected.head!.length));
    const headOk = head.every((b, i) => b === BigInt(`0x${expected.head![i]}`));
    if (!ok || !headOk) errors.push(`${label}: SHA-256 of ${expected.numel} values differs`);
    return { values: expected.numel!, identical: ok ? expected.numel! : 0, maxUlp: 0n, beyondTolerance: 0, libmDependent };
  }
  const want = expectedBits(expected);
  const got = bitsOf(actual);
  if (want.length !== got.length) {
    errors.push(`${label}: ${got.length} values, PyTorch has ${want.length}`);
    return { values: want.length, identical: 0, maxUlp: 0n, beyondTolerance: 0, libmDependent };
  }
  let identical = 0;
  let maxUlp = 0n;
  let beyondTolerance = 0;
  let first = -1;
  for (let i = 0; i < want.length; i++) {
    if (want[i] === got[i]) identical++;
    else {
      if (first < 0) first = i;
      const ulp = ulpDistance(want[i]!, got[i]!, width);
      if (ulp > maxUlp) maxUlp = ulp;
      if (normal !== undefined) {
        const theirs = doubleOf(want[i]!);
        const z = (theirs - normal.mean) / normal.std;
        const bound = 2 * ulpOf(z) * normal.std + ulpOf(theirs);
        if (!(Math.abs(doubleOf(got[i]!) - theirs) <= bound)) beyondTolerance++;
      } else {
        beyondTolerance++;
      }
    }
  }
  if (identical !== want.length && !libmDependent) {
    errors.push(`${label}: ${want.length - identical} of ${want.length} values differ, first at ${first}`);
  }
  return { values: want.length, identical, maxUlp, beyondTolerance, libmDependent };
}

function stateRecordOf(generator: Generator): StateRecord {
  const blob = generator.getState();
  const view = new DataView(blob.buffer);
  const valid = view.getInt32(5040, true) !== 0;
  return {
    left: view.getInt32(8, true),
    next: Number(view.getBigUint64(16, true)),
    cache: valid ? view.getBigUint64(5024, true).toString(16).padStart(16, "0") : null,
    sha256: sha256(blob),
  };
}

/** Runs one case from a fresh set of generators (the default one is reseeded by the case). */
export function replay(testCase: Case): CaseOutcome {
  const generators = new Map<string, Generator>();
  const outcome: CaseOutcome = { comparisons: [], stateMismatches: [], errors: [] };
  testCase.steps.forEach((step, index) => {
    const result = testCase.results[index]!;
    const label = `${testCase.name} step ${index} (${step.op})`;
    const generator = step.gen === undefined ? undefined : generators.get(step.gen as string);
    const options = { generator };
    const dtype = ((step.dtype as string | undefined) ?? "float32") as DType;
    const shape = step.shape as number[] | undefined;
    const check = (actual: Values, expected: EncodedValues | undefined, what = "values") => {
      if (expected === undefined) throw new Error(`${label}: fixture has no ${what}`);
      outcome.comparisons.push(compare(actual, expected, normalParameters(step), outcome.errors, `${label} ${what}`));
    };
    switch (step.op) {
      case "manual_seed": {
        const g = generator ?? defaultGenerator();
        if (generator === undefined) manualSeed(seedOf(step.seed));
        else generator.manualSeed(seedOf(step.seed));
        if (g.initialSeed().toString() !== result.initial_seed) {
          outcome.errors.push(`${label}: initialSeed ${g.initialSeed()} vs PyTorch ${result.initial_seed}`);
        }
        break;
      }
      case "new_generator": {
        const g = new Generator();
        if (step.seed !== undefined) g.manualSeed(seedOf(step.seed));
        generators.set(step.name as string, g);
        break;
      }
      case "rand":
        check(rand(shape!, { ...options, dtype }).dataSync(), result.out);
        break;
      case "randn":
        check(randn(shape!, { ...options, dtype }).dataSync(), result.out);
        break;
      case "uniform_":
      case "normal_":
      case "bernoulli_": {
        const view = step.view as { storage: number; strides: number[]; offset?: number } | undefined;
        const base = zerosTensor(view === undefined ? shape! : [view.storage], dtype);
        const target = view === undefined ? base : base.aliasWith(shape!, view.strides, view.offset ?? 0);
        if (step.op === "uniform_") uniform_(target, step.from as number, step.to as number, options);
        else if (step.op === "normal_") normal_(target, step.mean as number, step.std as number, options);
        else bernoulli_(target, step.p as number, options);
        check(storageOf(base), result.out);
        break;
      }
      case "bernoulli": {
        const probsBits = expectedBits(result.probs!);
        const probs = dtype === "float32" ? new Float32Array(new Uint32Array(probsBits.map(Number)).buffer) : new Float64Array(new BigUint64Array(probsBits).buffer);
        check(bernoulli(fromData(probs, dtype, shape!, "cpu"), options).dataSync(), result.out);
        break;
      }
      case "randint":
        check(randint(step.low as number, step.high as number, shape!, { ...options, dtype }).dataSync(), result.out);
        break;
      case "randperm":
        check(randperm(step.n as number, { ...options, dtype }).dataSync(), result.out);
        break;
      case "raw64": {
        const g = generator ?? defaultGenerator();
        const words = new BigUint64Array(step.n as number);
        for (let i = 0; i < words.length; i++) words[i] = g.random64();
        const want = result.out!.hex!.map((h) => BigInt(`0x${h}`));
        const identical = want.filter((w, i) => w === words[i]).length;
        if (identical !== want.length) outcome.errors.push(`${label}: raw 64-bit draws differ`);
        outcome.comparisons.push({ values: want.length, identical, maxUlp: 0n, beyondTolerance: 0, libmDependent: false });
        break;
      }
      case "dropout":
        check(dropoutMask(shape!, step.p as number, { ...options, dtype }).dataSync(), result.out);
        break;
      case "linear": {
        // nn.Linear.reset_parameters: kaiming_uniform_(a=√5) on the weight, then U(±1/√in) on the bias
        const inFeatures = step.in as number;
        const weight = zerosTensor([step.out as number, inFeatures], "float32");
        kaimingUniform_(weight, { a: Math.sqrt(5) });
        check(weight.dataSync(), result.weight, "weight");
        if (step.bias === true) {
          const bias = zerosTensor([step.out as number], "float32");
          const bound = inFeatures > 0 ? 1 / Math.sqrt(inFeatures) : 0;
          uniform_(bias, -bound, bound);
          check(bias.dataSync(), result.bias, "bias");
        }
        break;
      }
      case "init": {
        const t = zerosTensor(shape!, dtype);
        const args = (step.args ?? {}) as Record<string, unknown>;
        switch (step.fn) {
          case "kaiming_uniform_":
            kaimingUniform_(t, args as never);
            break;
          case "kaiming_normal_":
            kaimingNormal_(t, args as never);
            break;
          case "xavier_uniform_":
            xavierUniform_(t, args as never);
            break;
          case "xavier_normal_":
            xavierNormal_(t, args as never);
            break;
          case "normal_":
            normal_(t, args.mean as number, args.std as number);
            break;
          case "uniform_":
            uniform_(t, args.a as number, args.b as number);
            break;
          case "zeros_":
            zeros_(t);
            break;
          case "ones_":
            ones_(t);
            break;
          case "constant_":
            constant_(t, args.val as number);
            break;
          default:
            throw new Error(`unknown init ${String(step.fn)}`);
        }
        check(t.dataSync(), result.out);
        break;
      }
      case "get_state": {
        const blob = (generator ?? defaultGenerator()).getState();
        const want = Buffer.from(result.blob!, "base64");
        const same = Buffer.compare(Buffer.from(blob), want) === 0;
        if (!same) outcome.errors.push(`${label}: state blob differs from torch.get_rng_state()`);
        outcome.comparisons.push({ values: 1, identical: same ? 1 : 0, maxUlp: 0n, beyondTolerance: 0, libmDependent: false });
        break;
      }
      default:
        throw new Error(`unknown op ${step.op}`);
    }
    // A new generator's step records the default generator, which a case need not have seeded.
    if (step.op === "new_generator") return;
    const ours = stateRecordOf(generator ?? defaultGenerator());
    const want = result.state;
    if (ours.left !== want.left || ours.next !== want.next || ours.cache !== want.cache || ours.sha256 !== want.sha256) {
      outcome.stateMismatches.push(
        `${label}: state left/next/cache ${ours.left}/${ours.next}/${ours.cache} vs PyTorch ${want.left}/${want.next}/${want.cache}` +
          (ours.sha256 !== want.sha256 ? " (blob differs)" : ""),
      );
    }
  });
  return outcome;
}
