// Reading the PyTorch fixtures written by fixtures/ops/generate.py, building Lockstep tensors from
// them, and comparing Lockstep's results with PyTorch's. The encoding is described at the top of
// generate.py: flat row-major data, NaN/±Infinity as strings, int64 results stored as int32.
// This file computes no expected value itself; it only decodes and compares.
import { readFileSync } from "node:fs";
import { expect } from "vitest";
import * as L from "lockstep";
import { tensor, type DType, type Tensor } from "lockstep";

export type Encoded = number | boolean | "nan" | "inf" | "-inf";
export type ViewStep = Record<string, (number | null | number[])[]>;

export interface TensorSpec {
  dtype: DType;
  shape: number[];
  data: Encoded[];
  view?: ViewStep[];
  /** Present on results that share storage with the input in PyTorch. */
  strides?: number[];
  offset?: number;
  contiguous?: boolean;
}
export interface ScalarSpec {
  scalar: Encoded;
}
export type InputSpec = TensorSpec | ScalarSpec | null;
export type ExpectedSpec = TensorSpec | { list: TensorSpec[] } | { values: TensorSpec; indices: TensorSpec };
export type Compare = "exact" | "close";
export type Params = Record<string, unknown>;

export interface OpCase {
  id: string;
  op: string;
  inputs: InputSpec[];
  params: Params;
  compare: Compare;
  expected: ExpectedSpec;
}

export interface ErrorCase {
  id: string;
  op: string;
  inputs: InputSpec[];
  params: Params;
  /** Lockstep error classes accepted (PyTorch raises RuntimeError for most mistakes). */
  errorClasses: string[];
  /** exact: message equals PyTorch's; contains: message contains `message`; class: class only. */
  match: "exact" | "contains" | "class";
  message: string | null;
  torchType: string;
  torchMessage: string;
}

export interface CreationCase {
  id: string;
  op: string;
  args: unknown[];
  options: { dtype?: DType };
  compare: Compare;
  expected: TensorSpec;
  note?: string;
}

export interface CreationErrorCase {
  id: string;
  op: string;
  args: unknown[];
  options: { dtype?: DType };
  errorClasses: string[];
  match: "exact" | "contains" | "class";
  message: string | null;
  torchMessage: string;
}

export interface FormatCase {
  id: string;
  input: TensorSpec;
  torchString: string;
}

interface FixtureFile<T> {
  generatedBy: string;
  torch: string;
  tolerance: Record<"float32" | "float64", { rtol: number; atol: number }>;
  cases: T[];
}

export function loadFixture<T>(name: string): FixtureFile<T> {
  return JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8")) as FixtureFile<T>;
}

/** Tolerances of "close" comparisons, as stated in every fixture file's header. */
export const TOLERANCE = loadFixture<never>("ops.json").tolerance;

// ---- decoding -----------------------------------------------------------------------------------

export function decode(value: Encoded): number | boolean {
  if (value === "nan") return Number.NaN;
  if (value === "inf") return Number.POSITIVE_INFINITY;
  if (value === "-inf") return Number.NEGATIVE_INFINITY;
  return value;
}

/** Decodes strings in nested argument lists (creation args may hold "nan"). */
export function decodeDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decodeDeep);
  if (value === "nan" || value === "inf" || value === "-inf") return decode(value);
  return value;
}

function nest(flat: readonly (number | boolean)[], shape: readonly number[]): unknown {
  if (shape.length === 0) return flat[0];
  const [n, ...rest] = shape;
  const size = rest.reduce((a, b) => a * b, 1);
  return Array.from({ length: n! }, (_, i) => nest(flat.slice(i * size, (i + 1) * size), rest));
}

export function isScalarSpec(spec: InputSpec): spec is ScalarSpec {
  return spec !== null && "scalar" in spec;
}

/** The contiguous tensor a spec stores, before its view steps. */
export function buildBase(spec: TensorSpec, device: string): Tensor {
  const flat = spec.data.map(decode);
  const options = { dtype: spec.dtype, device };
  if (spec.shape.includes(0)) return tensor([], options).reshape(spec.shape);
  return tensor(nest(flat, spec.shape) as never, options);
}

/** Applies the view steps PyTorch applied, with Lockstep's methods of the same names. */
export function applyView(t: Tensor, steps: readonly ViewStep[] = []): Tensor {
  let out = t;
  for (const step of steps) {
    const [name, args] = Object.entries(step)[0]!;
    const a = args.map((v) => (v === null ? undefined : v)) as number[];
    switch (name) {
      case "transpose":
        out = out.transpose(a[0]!, a[1]!);
        break;
      case "permute":
        out = out.permute(...a);
        break;
      case "slice":
        out = out.slice(a[0]!, a[1], a[2], a[3]);
        break;
      case "narrow":
        out = out.narrow(a[0]!, a[1]!, a[2]!);
        break;
      case "expand":
        out = out.expand(...a);
        break;
      case "unsqueeze":
        out = out.unsqueeze(a[0]!);
        break;
      case "t":
        out = out.t();
        break;
      default:
        throw new Error(`fixture uses an unknown view step '${name}'`);
    }
  }
  return out;
}

export function buildTensor(spec: TensorSpec, device: string): Tensor {
  return applyView(buildBase(spec, device), spec.view);
}

export type Operand = Tensor | number | boolean | undefined;

export function buildInput(spec: InputSpec, device: string): Operand {
  if (spec === null) return undefined;
  if (isScalarSpec(spec)) return decode(spec.scalar);
  return buildTensor(spec, device);
}

// ---- comparing ----------------------------------------------------------------------------------

function bitsOf(value: number, dtype: DType): string {
  if (dtype === "float32") {
    const view = new DataView(new ArrayBuffer(4));
    view.setFloat32(0, value);
    return `0x${view.getUint32(0).toString(16).padStart(8, "0")}`;
  }
  if (dtype === "float64") {
    const view = new DataView(new ArrayBuffer(8));
    view.setFloat64(0, value);
    return `0x${view.getBigUint64(0).toString(16).padStart(16, "0")}`;
  }
  return String(value);
}

function show(value: number, dtype: DType): string {
  if (Object.is(value, -0)) return "-0";
  return dtype === "float32" || dtype === "float64" ? `${value} (${bitsOf(value, dtype)})` : String(value);
}

/** Expected values as numbers in the result dtype (bool as 0/1, float32 rounded exactly). */
function expectedNumbers(spec: TensorSpec): number[] {
  return spec.data.map((v) => {
    const d = decode(v);
    const n = typeof d === "boolean" ? (d ? 1 : 0) : d;
    return spec.dtype === "float32" ? Math.fround(n) : n;
  });
}

function sameBits(got: number, want: number, dtype: DType): boolean {
  if (Number.isNaN(want)) return Number.isNaN(got);
  if (dtype === "float32" || dtype === "float64") return Object.is(got, want);
  return got === want;
}

function closeEnough(got: number, want: number, dtype: DType): boolean {
  if (Number.isNaN(want)) return Number.isNaN(got);
  if (!Number.isFinite(want)) return got === want;
  if (!Number.isFinite(got)) return false;
  const tol = dtype === "float64" ? TOLERANCE.float64 : TOLERANCE.float32;
  return Math.abs(got - want) <= tol.atol + tol.rtol * Math.abs(want);
}

/**
 * Checks dtype, shape and values of a Lockstep tensor against a PyTorch result. "exact" compares
 * bit patterns (any NaN matches NaN, -0 differs from 0); "close" uses the fixture tolerance for
 * float results and is exact for integer and bool results.
 */
export async function expectTensor(got: Tensor, want: TensorSpec, compare: Compare, what = "result"): Promise<void> {
  expect(got.dtype, `${what}: dtype`).toBe(want.dtype);
  expect([...got.shape], `${what}: shape`).toEqual(want.shape);
  if (want.strides !== undefined && want.shape.every((n) => n > 0)) {
    // PyTorch shares storage here, so the result is a view: its layout is PyTorch's. The stride of
    // a dim of size 1 is never used to address an element, so only dims longer than 1 are compared.
    const used = (strides: readonly number[]) => strides.map((s, i) => (want.shape[i]! > 1 ? s : "any"));
    expect(used(got.strides), `${what}: strides of a view`).toEqual(used(want.strides));
    expect(got.offset, `${what}: storage offset of a view`).toBe(want.offset);
    expect(got.isContiguous(), `${what}: isContiguous()`).toBe(want.contiguous);
  }
  const data = Array.from(await got.data());
  const wantValues = expectedNumbers(want);
  expect(data.length, `${what}: number of elements`).toBe(wantValues.length);
  const isFloat = want.dtype === "float32" || want.dtype === "float64";
  const ok = compare === "close" && isFloat ? closeEnough : sameBits;
  const bad: string[] = [];
  let count = 0;
  for (let i = 0; i < wantValues.length; i++) {
    if (!ok(data[i]!, wantValues[i]!, want.dtype)) {
      count++;
      if (bad.length < 6) bad.push(`[${i}] expected ${show(wantValues[i]!, want.dtype)}, got ${show(data[i]!, want.dtype)}`);
    }
  }
  if (count > 0) {
    const how = compare === "close" && isFloat ? `within tolerance ${JSON.stringify(TOLERANCE[want.dtype as "float32"])}` : "bit for bit";
    expect.fail(`${what}: ${count} of ${wantValues.length} values differ from PyTorch (${how}):\n  ${bad.join("\n  ")}`);
  }
}

export type OpResult = Tensor | Tensor[] | { values: Tensor; indices: Tensor };

export async function expectResult(got: OpResult, want: ExpectedSpec, compare: Compare): Promise<void> {
  if ("list" in want) {
    expect(Array.isArray(got), "result is a list of tensors").toBe(true);
    const list = got as Tensor[];
    expect(list.length, "number of tensors").toBe(want.list.length);
    for (let i = 0; i < list.length; i++) await expectTensor(list[i]!, want.list[i]!, compare, `result[${i}]`);
  } else if ("values" in want) {
    const pair = got as { values: Tensor; indices: Tensor };
    expect(pair, "result has values and indices").toHaveProperty("values");
    await expectTensor(pair.values, want.values, compare, "values");
    await expectTensor(pair.indices, want.indices, "exact", "indices");
  } else {
    expect(Array.isArray(got) || !("dtype" in (got as object)), "result is one tensor").toBe(false);
    await expectTensor(got as Tensor, want, compare);
  }
}

/** Copies of every tensor operand's shape, strides, offset and values, to check they did not change. */
export async function snapshot(operands: readonly Operand[]): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const o of operands) {
    if (o === undefined || typeof o !== "object") out.push(o);
    else out.push({ shape: [...o.shape], strides: [...o.strides], offset: o.offset, dtype: o.dtype, data: Array.from(await o.data()) });
  }
  return out;
}

export function disposeAll(values: readonly unknown[]): void {
  for (const v of values) {
    if (v !== null && typeof v === "object" && "dispose" in v && typeof v.dispose === "function") v.dispose();
  }
}

// ---- errors -------------------------------------------------------------------------------------

/** Runs `call`, returning what it threw (synchronously or as a rejected promise). */
export async function thrownBy(call: () => unknown): Promise<unknown> {
  try {
    await call();
  } catch (error) {
    return error;
  }
  return undefined;
}

export function expectLockstepError(
  error: unknown,
  c: { errorClasses: string[]; match: string; message: string | null; torchMessage: string },
  label: string,
): void {
  expect(error, `${label}: throws`).toBeDefined();
  expect(error, `${label}: throws a LockstepError`).toBeInstanceOf(L.LockstepError);
  const classes = c.errorClasses.map((name) => (L as unknown as Record<string, new () => Error>)[name]!);
  expect(
    classes.some((cls) => error instanceof cls),
    `${label}: ${(error as Error).name} is one of ${c.errorClasses.join(", ")} (message: ${(error as Error).message})`,
  ).toBe(true);
  const message = (error as Error).message;
  if (c.match === "exact" && message !== c.message) {
    expect.fail(`${label}: message differs from PyTorch's\n  expected: ${JSON.stringify(c.message)}\n  got:      ${JSON.stringify(message)}`);
  }
  if (c.match === "contains" && !message.includes(c.message!)) {
    expect.fail(`${label}: message lacks PyTorch's wording\n  expected to contain: ${JSON.stringify(c.message)}\n  got: ${JSON.stringify(message)}`);
  }
}

