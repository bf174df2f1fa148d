// Reading the PyTorch fixtures written by fixtures/random/generate.py: bit patterns as hex words
// (short arrays) or base64 little-endian bytes (long ones), or a SHA-256 digest for huge ones.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";

export interface EncodedValues {
  dtype: string;
  hex?: string[];
  b64?: string;
  sha256?: string;
  numel?: number;
  head?: string[];
}

export interface StateRecord {
  left: number;
  next: number;
  cache: string | null;
  sha256: string;
}

export interface Step {
  op: string;
  [key: string]: unknown;
}

export interface StepResult {
  out?: EncodedValues;
  probs?: EncodedValues;
  weight?: EncodedValues;
  bias?: EncodedValues;
  blob?: string;
  initial_seed?: string;
  state: StateRecord;
}

export interface Case {
  name: string;
  group: string;
  steps: Step[];
  results: StepResult[];
}

export interface FixtureFile {
  torch: string;
  cases: Case[];
}

let cached: FixtureFile | undefined;

/** All golden cases. */
export function loadStreams(): FixtureFile {
  cached ??= JSON.parse(readFileSync(new URL("../fixtures/streams.json", import.meta.url), "utf8")) as FixtureFile;
  return cached;
}

const WIDTH: Record<string, number> = { float32: 4, float64: 8, int32: 4, bool: 1, uint64: 8, int64: 8 };

/** The element bit patterns of an encoded array as BigInts (unsigned). */
export function expectedBits(encoded: EncodedValues): bigint[] {
  if (encoded.hex !== undefined) return encoded.hex.map((h) => BigInt(`0x${h}`));
  const bytes = Buffer.from(encoded.b64!, "base64");
  return bitsOfBytes(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), WIDTH[encoded.dtype]!);
}

/** Element bit patterns of little-endian bytes. */
export function bitsOfBytes(bytes: Uint8Array, width: number): bigint[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: bigint[] = [];
  for (let i = 0; i < bytes.byteLength; i += width) {
    out.push(
      width === 8 ? view.getBigUint64(i, true) : width === 4 ? BigInt(view.getUint32(i, true)) : BigInt(view.getUint8(i)),
    );
  }
  return out;
}

/** Bit patterns of a typed array's elements. */
export function bitsOf(values: Float32Array | Float64Array | Int32Array | Uint8Array): bigint[] {
  return bitsOfBytes(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), values.BYTES_PER_ELEMENT);
}

export function sha256(bytes: Uint8Array | ArrayBufferView): string {
  const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return createHash("sha256").update(view).digest("hex");
}

/** Distance in units in the last place between two finite floats of the same width (bits given). */
export function ulpDistance(a: bigint, b: bigint, width: number): bigint {
  const bits = BigInt(width * 8);
  const sign = 1n << (bits - 1n);
  // map sign-magnitude bit patterns onto a monotonic integer line
  const ordered = (x: bigint) => (x & sign ? -(x & (sign - 1n)) : x);
  const d = ordered(a) - ordered(b);
  return d < 0n ? -d : d;
}
