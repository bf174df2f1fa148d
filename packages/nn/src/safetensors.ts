// The safetensors format: an 8-byte little-endian header length, a JSON header naming each
// tensor's dtype, shape and byte range, then the raw little-endian data. Files written by PyTorch
// (through the safetensors package or by hand) load here and the other way round.
import { LockstepError, Tensor, fromData, getBackend, type DType } from "@lockstep/core";
import type { StateDict } from "./module.js";

export class SafetensorsError extends LockstepError {
  override name = "SafetensorsError";
}

/** Paths are a Node feature; a variable specifier keeps browser bundlers from trying to bundle fs. */
const NODE_FS = "node:fs/promises";

const TO_FILE: Record<DType, string> = { float32: "F32", float64: "F64", int32: "I32", bool: "BOOL" };
const BYTES: Record<string, number> = { F32: 4, F64: 8, I32: 4, BOOL: 1, I64: 8, F16: 2, BF16: 2, I16: 2, U16: 2, I8: 1, U8: 1 };
/**
 * The reference writer orders tensors by dtype, descending in its enum order (BOOL < U8 < I8 < I16 <
 * U16 < F16 < BF16 < I32 < U32 < F32 < F64 < I64 < U64), then by name.
 */
const WRITE_RANK: Record<string, number> = { BOOL: 0, I32: 7, F32: 9, F64: 10 };

interface Entry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** Serialises a state dict (async: tensors on a GPU are read back first). */
export async function saveSafetensors(stateDict: StateDict, path?: string, metadata?: Record<string, string>): Promise<Uint8Array> {
  if (stateDict === null || typeof stateDict !== "object" || stateDict instanceof Tensor) {
    throw new SafetensorsError(`saveSafetensors expects an object of tensors, got ${stateDict === null ? "null" : typeof stateDict}`);
  }
  if (path !== undefined && typeof path !== "string") throw new SafetensorsError(`saveSafetensors: path must be a string, got ${typeof path}`);
  if (metadata !== undefined) checkMetadata(metadata);
  const names = Object.keys(stateDict).sort();
  const rank = (name: string) => { const t: unknown = stateDict[name]; return t instanceof Tensor ? WRITE_RANK[TO_FILE[t.dtype]] ?? 0 : 0; };
  // Array.prototype.sort is stable: names stay sorted within a dtype.
  const ordered = [...names].sort((a, b) => rank(b) - rank(a));
  // Every entry is checked before any data is read, so a bad one fails without a partial file.
  for (const name of names) {
    const t: unknown = stateDict[name];
    if (name === "__metadata__") throw new SafetensorsError(`saveSafetensors: "__metadata__" is reserved by the format and cannot name a tensor`);
    if (!(t instanceof Tensor)) throw new SafetensorsError(`saveSafetensors: "${name}" is not a tensor`);
    t.assertLive();
  }
  const header: Record<string, Entry | Record<string, string>> = {};
  if (metadata !== undefined) header.__metadata__ = metadata;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const name of ordered) {
    const t = stateDict[name]!;
    const data = await t.data();
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
    const entry: Entry = { dtype: TO_FILE[t.dtype], shape: [...t.shape], data_offsets: [offset, offset + bytes.length] };
    // defineProperty: `header["__proto__"] = entry` would set the prototype and drop the tensor.
    Object.defineProperty(header, name, { value: entry, enumerable: true, writable: true, configurable: true });
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

/** The reference implementation's limit; a larger header is a corrupt length field, not a model. */
const MAX_HEADER_BYTES = 100_000_000;

/**
 * Parses safetensors bytes (or reads a file in Node) into a state dict of tensors on
 * `options.device` (the CPU by default). The whole file is checked, as the reference loader
 * checks it, before any tensor is made: the header is one JSON object without duplicate names,
 * every entry has a known dtype and a shape matching its byte range, and the byte ranges tile the
 * data exactly (no overlap, no gap, nothing after the last tensor). A tensor may have any name,
 * "__proto__" included: it is an own key of the result.
 */
export async function loadSafetensors(source: Uint8Array | string, options: { device?: string } = {}): Promise<StateDict> {
  if (options === null || typeof options !== "object") throw new SafetensorsError(`loadSafetensors: options must be an object, got ${String(options)}`);
  const device = options.device ?? "cpu";
  if (typeof device !== "string") throw new SafetensorsError(`loadSafetensors: device must be a string, got ${String(device)}`);
  getBackend(device);
  let bytes: Uint8Array;
  if (typeof source === "string") {
    const { readFile } = (await import(/* @vite-ignore */ NODE_FS)) as typeof import("node:fs/promises");
    bytes = new Uint8Array(await readFile(source));
  } else if (source instanceof Uint8Array) {
    bytes = source;
  } else {
    throw new SafetensorsError(`loadSafetensors expects a Uint8Array or a file path, got ${source === null ? "null" : typeof source}`);
  }
  const entries = parseHeader(bytes);
  // Decode everything to host arrays first (int64 values are range-checked here), then upload.
  const decoded = entries.map((e) => ({ ...e, data: decode(e.name, e.entry, bytes, e.dataStart) }));
  const out: StateDict = {};
  const made: Tensor[] = [];
  try {
    for (const { name, entry, data } of decoded) {
      const t = fromData(data, entry.dtype === "BOOL" ? "bool" : DTYPE_OF[entry.dtype]!, [...entry.shape], device);
      made.push(t);
      // defineProperty: `out["__proto__"] = t` would set the prototype instead of adding a key.
      Object.defineProperty(out, name, { value: t, enumerable: true, writable: true, configurable: true });
    }
  } catch (error) {
    for (const t of made) t.dispose();
    throw error;
  }
  return out;
}

// Half-precision floats widen exactly to float32; small integers to int32.
const DTYPE_OF: Record<string, DType> = {
  F32: "float32", F64: "float64", I32: "int32", BOOL: "bool", I64: "int32",
  F16: "float32", BF16: "float32", I16: "int32", U16: "int32", I8: "int32", U8: "int32",
};

interface Located {
  name: string;
  entry: Entry;
  dataStart: number;
}

/** Checks the length field, the JSON header and the byte ranges; returns the entries in file order. */
function parseHeader(bytes: Uint8Array): Located[] {
  if (bytes.length < 8) throw new SafetensorsError(`not a safetensors file: ${bytes.length} bytes is shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = view.getBigUint64(0, true);
  if (declared > BigInt(bytes.length - 8)) {
    throw new SafetensorsError(`header length ${declared} runs past the end of the ${bytes.length}-byte file`);
  }
  const headerLength = Number(declared);
  if (headerLength > MAX_HEADER_BYTES) {
    throw new SafetensorsError(`invalid safetensors header: ${headerLength} bytes is more than the limit of ${MAX_HEADER_BYTES}`);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + headerLength));
  } catch {
    throw new SafetensorsError("invalid safetensors header: it is not valid UTF-8");
  }
  if (!text.startsWith("{")) {
    throw new SafetensorsError(`invalid safetensors header: it must start with '{', got ${JSON.stringify(text.slice(0, 16))}`);
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (error) {
    throw new SafetensorsError(`invalid safetensors header: ${(error as Error).message}`);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) {
    throw new SafetensorsError(`invalid safetensors header: expected a JSON object, got ${JSON.stringify(header)}`);
  }
  const duplicate = firstDuplicateKey(text);
  if (duplicate !== undefined) {
    throw new SafetensorsError(`invalid safetensors header: the name ${JSON.stringify(duplicate)} appears more than once`);
  }
  const fields = header as Record<string, unknown>;
  const dataStart = 8 + headerLength;
  const located: Located[] = [];
  for (const name of Object.keys(fields)) {
    const entry = fields[name];
    if (name === "__metadata__") {
      checkMetadata(entry);
      continue;
    }
    checkEntry(name, entry);
    const size = BYTES[entry.dtype];
    if (size === undefined) throw new SafetensorsError(`tensor "${name}" has dtype ${entry.dtype}, which Lockstep cannot load`);
    const [begin, end] = entry.data_offsets;
    const count = entry.shape.reduce((a, b) => a * b, 1);
    if (!Number.isSafeInteger(count * size) || end - begin !== count * size) {
      throw new SafetensorsError(`tensor "${name}": data_offsets [${begin}, ${end}] do not match shape [${entry.shape.join(", ")}] of ${entry.dtype}`);
    }
    located.push({ name, entry, dataStart });
  }
  // The reference loader's rule: sorted by offset, each tensor starts where the previous one
  // ended, and the last one ends at the end of the file.
  const sorted = [...located].sort((a, b) => a.entry.data_offsets[0] - b.entry.data_offsets[0] || a.entry.data_offsets[1] - b.entry.data_offsets[1]);
  let at = 0;
  let previous: Located | undefined;
  for (const item of sorted) {
    const [begin, end] = item.entry.data_offsets;
    if (begin < at && previous !== undefined) {
      const [pb, pe] = previous.entry.data_offsets;
      throw new SafetensorsError(`invalid safetensors: tensors overlap: ${previous.name} [${pb}, ${pe}] and ${item.name} [${begin}, ${end}]`);
    }
    if (begin > at) {
      throw new SafetensorsError(
        `invalid safetensors: bytes [${at}, ${begin}) of the data belong to no tensor (a gap before ${item.name} [${begin}, ${end}]); ` +
          "the tensors' data_offsets must cover the data without holes",
      );
    }
    at = end;
    previous = item;
  }
  const dataBytes = bytes.length - dataStart;
  if (at !== dataBytes) {
    throw new SafetensorsError(
      at < dataBytes
        ? `invalid safetensors: the tensors cover ${at} bytes of data but the file has ${dataBytes} after the header`
        : `invalid safetensors: data_offsets reach byte ${at} but the file has only ${dataBytes} bytes of data`,
    );
  }
  return located;
}

/** `__metadata__` is a map of strings to strings. */
function checkMetadata(value: unknown): void {
  const valid =
    value !== null && typeof value === "object" && !Array.isArray(value) &&
    Object.values(value as Record<string, unknown>).every((v) => typeof v === "string");
  if (!valid) throw new SafetensorsError(`invalid safetensors header: __metadata__ must map strings to strings, got ${JSON.stringify(value)}`);
}

/**
 * The first name that occurs twice among the top-level keys of a JSON object text (already known
 * to parse): JSON.parse keeps the last silently, the reference loader refuses the file.
 */
function firstDuplicateKey(text: string): string | undefined {
  const seen = new Set<string>();
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      if (depth === 1 && expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (seen.has(key)) return key;
        seen.add(key);
        expectKey = false;
      }
      i = j;
    } else if (c === "{" || c === "[") {
      depth++;
      if (depth === 1) expectKey = true;
    } else if (c === "}" || c === "]") {
      depth--;
    } else if (c === "," && depth === 1) {
      expectKey = true;
    }
  }
  return undefined;
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

/** The values of one (already checked) entry, copied into an aligned typed array. */
function decode(name: string, entry: Entry, bytes: Uint8Array, dataStart: number): Float32Array | Float64Array | Int32Array | Uint8Array {
  const [begin, end] = entry.data_offsets;
  // Copy into an aligned buffer: the data in the file need not be aligned for typed arrays.
  const raw = bytes.slice(dataStart + begin, dataStart + end).buffer;
  switch (entry.dtype) {
    case "F32": return new Float32Array(raw);
    case "F64": return new Float64Array(raw);
    case "I32": return new Int32Array(raw);
    // A bool byte other than 0 is true; stored as is it would count as 2, 255, … in a sum.
    case "BOOL": return new Uint8Array(raw).map((b) => (b === 0 ? 0 : 1));
    case "F16": return Float32Array.from(new Uint16Array(raw), halfToFloat);
    // bfloat16 is the top half of a float32.
    case "BF16": return new Float32Array(Uint32Array.from(new Uint16Array(raw), (h) => h << 16).buffer);
    case "I16": return Int32Array.from(new Int16Array(raw));
    case "U16": return Int32Array.from(new Uint16Array(raw));
    case "I8": return Int32Array.from(new Int8Array(raw));
    case "U8": return Int32Array.from(new Uint8Array(raw));
    default: return int64ToInt32(name, new BigInt64Array(raw));
  }
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

/** IEEE binary16 bits to the (exactly representable) number: subnormals, infinities and NaN included. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}
