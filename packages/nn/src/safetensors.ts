// The safetensors format: an 8-byte little-endian header length, a JSON header naming each
// tensor's dtype, shape and byte range, then the raw little-endian data. Files written by PyTorch
// (through the safetensors package or by hand) load here and the other way round.
import { LockstepError, Tensor, tensor, type DType } from "@lockstep/core";
import type { StateDict } from "./module.js";

export class SafetensorsError extends LockstepError {
  override name = "SafetensorsError";
}

/** Paths are a Node feature; a variable specifier keeps browser bundlers from trying to bundle fs. */
const NODE_FS = "node:fs/promises";

const TO_FILE: Record<DType, string> = { float32: "F32", float64: "F64", int32: "I32", bool: "BOOL" };
const BYTES: Record<string, number> = { F32: 4, F64: 8, I32: 4, BOOL: 1, I64: 8 };

interface Entry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** Serialises a state dict (async: tensors on a GPU are read back first). */
export async function saveSafetensors(stateDict: StateDict, path?: string, metadata?: Record<string, string>): Promise<Uint8Array> {
  const names = Object.keys(stateDict).sort();
  const header: Record<string, Entry | Record<string, string>> = {};
  if (metadata !== undefined) header.__metadata__ = metadata;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const name of names) {
    const t = stateDict[name]!;
    if (!(t instanceof Tensor)) throw new SafetensorsError(`saveSafetensors: "${name}" is not a tensor`);
    const data = await t.data();
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
    header[name] = { dtype: TO_FILE[t.dtype], shape: [...t.shape], data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  // Pad the header with spaces so the data starts 8-byte aligned, as the reference writer does.
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const withSpaces = new Uint8Array(padded).fill(0x20);
    withSpaces.set(json);
    json = withSpaces;
  }
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  if (path !== undefined) {
    const { writeFile } = (await import(/* @vite-ignore */ NODE_FS)) as typeof import("node:fs/promises");
    await writeFile(path, out);
  }
  return out;
}

/** Parses safetensors bytes (or reads a file in Node) into a state dict of CPU tensors. */
export async function loadSafetensors(source: Uint8Array | string, options: { device?: string } = {}): Promise<StateDict> {
  let bytes: Uint8Array;
  if (typeof source === "string") {
    const { readFile } = (await import(/* @vite-ignore */ NODE_FS)) as typeof import("node:fs/promises");
    bytes = new Uint8Array(await readFile(source));
  } else bytes = source;
  if (bytes.length < 8) throw new SafetensorsError(`not a safetensors file: ${bytes.length} bytes is shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > bytes.length - 8) {
    throw new SafetensorsError(`header length ${headerLength} runs past the end of the ${bytes.length}-byte file`);
  }
  let header: Record<string, Entry>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  } catch (error) {
    throw new SafetensorsError(`invalid safetensors header: ${(error as Error).message}`);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) {
    throw new SafetensorsError(`invalid safetensors header: expected a JSON object, got ${JSON.stringify(header)}`);
  }
  const dataStart = 8 + headerLength;
  // Check every entry before decoding any, so a bad file fails with one clear error.
  for (const [name, entry] of Object.entries(header)) if (name !== "__metadata__") checkEntry(name, entry);
  const out: StateDict = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    out[name] = decode(name, entry, bytes, dataStart, options.device ?? "cpu");
  }
  return out;
}

const isCount = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

/** A header entry must be {dtype: string, shape: counts[], data_offsets: [begin, end]} with begin ≤ end. */
function checkEntry(name: string, entry: unknown): asserts entry is Entry {
  const e = entry as Partial<Entry> | null;
  const valid =
    e !== null && typeof e === "object" && typeof e.dtype === "string" &&
    Array.isArray(e.shape) && e.shape.every(isCount) &&
    Array.isArray(e.data_offsets) && e.data_offsets.length === 2 && e.data_offsets.every(isCount) &&
    e.data_offsets[0] <= e.data_offsets[1];
  if (!valid) {
    throw new SafetensorsError(
      `invalid safetensors header: tensor "${name}" needs a dtype, a shape of non-negative integers and ` +
        `data_offsets [begin, end] with begin <= end, got ${JSON.stringify(entry)}`,
    );
  }
}

function decode(name: string, entry: Entry, bytes: Uint8Array, dataStart: number, device: string): Tensor {
  const size = BYTES[entry.dtype];
  if (size === undefined) throw new SafetensorsError(`tensor "${name}" has dtype ${entry.dtype}, which Lockstep cannot load`);
  const [begin, end] = entry.data_offsets;
  const count = entry.shape.reduce((a, b) => a * b, 1);
  if (end - begin !== count * size || dataStart + end > bytes.length) {
    throw new SafetensorsError(`tensor "${name}": data_offsets [${begin}, ${end}] do not match shape [${entry.shape.join(", ")}] of ${entry.dtype}`);
  }
  // Copy into an aligned buffer: the data in the file need not be aligned for typed arrays.
  const raw = bytes.slice(dataStart + begin, dataStart + end).buffer;
  let t: Tensor;
  switch (entry.dtype) {
    case "F32": t = tensor(new Float32Array(raw), { device }); break;
    case "F64": t = tensor(new Float64Array(raw), { device }); break;
    case "I32": t = tensor(new Int32Array(raw), { device }); break;
    case "BOOL": t = tensor(new Uint8Array(raw), { dtype: "bool", device }); break;
    default: t = tensor(int64ToInt32(name, new BigInt64Array(raw)), { device });
  }
  return t.reshape(entry.shape);
}

/** PyTorch writes int64 for indices and counters; Lockstep has int32, so values must fit. */
function int64ToInt32(name: string, values: BigInt64Array): Int32Array {
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < -2147483648n || v > 2147483647n) throw new SafetensorsError(`tensor "${name}": int64 value ${v} does not fit in int32`);
    out[i] = Number(v);
  }
  return out;
}
