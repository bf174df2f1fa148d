// Reading the PyTorch fixtures written by fixtures/nn/generate.py, and comparing Lockstep tensors
// with them: bit for bit (hex words of the elements, or base64 of the little-endian bytes for
// long arrays) or within a tolerance. No expected value here comes from Lockstep itself.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { tensor, type Tensor } from "@lockstep/core";
import { expect } from "vitest";

export interface Encoded {
  dtype: "float32" | "float64" | "int32" | "int64" | "bool";
  shape: number[];
  hex?: string[];
  b64?: string;
}

export interface Digest {
  dtype: string;
  shape: number[];
  sha256: string;
  picks: number[];
  values: string[];
}

export function fixtureUrl(name: string): URL {
  return new URL(`../fixtures/${name}`, import.meta.url);
}

const cache = new Map<string, unknown>();

export function readFixture<T>(name: string): T {
  if (!cache.has(name)) cache.set(name, JSON.parse(readFileSync(fixtureUrl(name), "utf8")));
  return cache.get(name) as T;
}

const WIDTH: Record<Encoded["dtype"], number> = { float32: 4, float64: 8, int32: 4, int64: 8, bool: 1 };

/** The little-endian bytes of an encoded array. */
export function encodedBytes(e: Encoded): Uint8Array {
  if (e.b64 !== undefined) return new Uint8Array(Buffer.from(e.b64, "base64"));
  const width = WIDTH[e.dtype];
  const out = new Uint8Array(e.hex!.length * width);
  e.hex!.forEach((word, i) => {
    for (let b = 0; b < width; b++) out[i * width + b] = parseInt(word.slice(2 * (width - 1 - b), 2 * (width - b)), 16);
  });
  return out;
}

/** Element values of an encoded array (int64 converted to numbers). */
export function encodedValues(e: Encoded): Float32Array | Float64Array | Int32Array | Uint8Array | number[] {
  const buffer = encodedBytes(e).slice().buffer;
  switch (e.dtype) {
    case "float32": return new Float32Array(buffer);
    case "float64": return new Float64Array(buffer);
    case "int32": return new Int32Array(buffer);
    case "bool": return new Uint8Array(buffer);
    case "int64": return Array.from(new BigInt64Array(buffer), Number);
  }
}

/** A CPU tensor with exactly the fixture's bits (int64 becomes int32). */
export function toTensor(e: Encoded): Tensor {
  const values = encodedValues(e);
  const flat =
    e.dtype === "bool" ? tensor(values as Uint8Array, { dtype: "bool" }) :
    e.dtype === "int64" ? tensor(Int32Array.from(values as number[])) :
    tensor(values as Float32Array);
  return flat.reshape(e.shape);
}

/** Hex words (big-endian, as the fixtures store them) of little-endian element bytes. */
export function hexWords(bytes: Uint8Array, width: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < bytes.length; i += width) {
    let word = "";
    for (let b = width - 1; b >= 0; b--) word += bytes[i + b]!.toString(16).padStart(2, "0");
    out.push(word);
  }
  return out;
}

export function bytesOf(t: Tensor): Uint8Array {
  const data = t.contiguous().dataSync();
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Asserts that `t` has the fixture's dtype, shape and exact bit patterns. */
export function expectBits(t: Tensor | undefined, e: Encoded, what: string): void {
  expect(t, `${what}: missing`).toBeDefined();
  expect([...t!.shape], `${what}: shape`).toEqual(e.shape);
  expect(t!.dtype, `${what}: dtype`).toBe(e.dtype === "int64" ? "int32" : e.dtype);
  const got = hexWords(bytesOf(t!), WIDTH[e.dtype === "int64" ? "int32" : e.dtype]);
  const want = e.dtype === "int64" ? Array.from(encodedValues(e) as number[], (v) => (v >>> 0).toString(16).padStart(8, "0")) : hexWords(encodedBytes(e), WIDTH[e.dtype]);
  const first = got.findIndex((w, i) => w !== want[i]);
  if (first >= 0) {
    const mismatches = got.filter((w, i) => w !== want[i]).length;
    expect.fail(`${what}: ${mismatches} of ${want.length} elements differ; first at ${first}: 0x${got[first]} vs PyTorch 0x${want[first]}`);
  }
}

/** The float32 value of a hex word. */
export function float32OfHex(word: string): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, parseInt(word, 16));
  return view.getFloat32(0);
}

/** The float64 value of a hex word. */
export function float64OfHex(word: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${word}`));
  return view.getFloat64(0);
}

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * Element-wise |actual − expected| ≤ atol + rtol·|expected| (NaN only matches NaN), with a message
 * naming the worst element.
 */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol: number, what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let worst = -1;
  let worstExcess = -Infinity;
  for (let k = 0; k < expected.length; k++) {
    const a = actual[k]!;
    const e = expected[k]!;
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (a === e) continue;
    const excess = Math.abs(a - e) - (atol + rtol * Math.abs(e));
    if (!(excess <= 0) && (Number.isNaN(excess) || excess > worstExcess)) {
      worst = k;
      worstExcess = Number.isNaN(excess) ? Infinity : excess;
    }
  }
  if (worst >= 0) {
    expect.fail(
      `${what}: element ${worst} is ${actual[worst]}, PyTorch gives ${expected[worst]} (rtol ${rtol}, atol ${atol}); ` +
        `ours [${Array.from(actual).slice(0, 12).join(", ")}${actual.length > 12 ? ", …" : ""}]`,
    );
  }
}

/** `expectClose` of a tensor against an encoded fixture array, checking the shape too. */
export function expectTensorClose(t: Tensor | undefined, e: Encoded, rtol: number, atol: number, what: string): void {
  expect(t, `${what}: missing`).toBeDefined();
  expect([...t!.shape], `${what}: shape`).toEqual(e.shape);
  expectClose(t!.contiguous().dataSync() as ArrayLike<number>, encodedValues(e) as ArrayLike<number>, rtol, atol, what);
}
