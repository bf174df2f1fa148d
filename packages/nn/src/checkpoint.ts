// Checkpoints: nested objects of tensors, numbers, strings, booleans (model and optimizer state
// dicts, scheduler and DataLoader state, generator states) in one safetensors file. Tensors are
// the file's tensors ("0", "1", … in the order met); the object tree, with each tensor replaced by
// a reference, is JSON in the header's __metadata__ under "lockstep.checkpoint". PyTorch's
// safetensors loader reads the tensors of such a file too.
import { LockstepError, Tensor } from "@lockstep/core";
import { loadSafetensors, saveSafetensors } from "./safetensors.js";

/** What a checkpoint holds: tensors, numbers, strings, booleans, null, bigints, byte arrays, and arrays and plain objects of these. */
export type CheckpointValue =
  | Tensor
  | number
  | string
  | boolean
  | null
  | undefined
  | bigint
  | Uint8Array
  | Int32Array
  | Float32Array
  | Float64Array
  | readonly CheckpointValue[]
  | { readonly [key: string]: CheckpointValue };

/** Thrown by `save`/`load` for a value a checkpoint cannot hold or a file that is not a Lockstep checkpoint. */
export class CheckpointError extends LockstepError {
  override name = "CheckpointError";
}

const KEY = "lockstep.checkpoint";
const NODE_FS = "node:fs/promises";
const TYPED = { Uint8Array, Int32Array, Float32Array, Float64Array } as const;

function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromBase64(text: string): Uint8Array {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** Replaces tensors by references and encodes what JSON cannot hold; throws naming the path of anything else. */
function encodeTree(value: unknown, path: string, tensors: Tensor[], seen: Set<object>): unknown {
  if (value instanceof Tensor) {
    value.assertLive();
    tensors.push(value);
    return { $tensor: String(tensors.length - 1) };
  }
  if (typeof value === "number") {
    return Number.isFinite(value) && !Object.is(value, -0) ? value : { $number: Object.is(value, -0) ? "-0" : String(value) };
  }
  if (typeof value === "string" || typeof value === "boolean" || value === null) return value;
  if (value === undefined) return { $undefined: true };
  if (typeof value === "bigint") return { $bigint: value.toString() };
  for (const [name, ctor] of Object.entries(TYPED)) {
    if (value instanceof ctor) {
      return { $typed: name, base64: toBase64(new Uint8Array(value.buffer, value.byteOffset, value.byteLength)) };
    }
  }
  if (typeof value === "object") {
    if (seen.has(value)) throw new CheckpointError(`save: ${path} refers back to an enclosing object (a cycle)`);
    const proto = Object.getPrototypeOf(value);
    if (!Array.isArray(value) && proto !== Object.prototype && proto !== null) {
      throw new CheckpointError(`save: ${path} is a ${proto?.constructor?.name ?? "object"}; only tensors, numbers, strings, booleans, arrays and plain objects can be saved (save its stateDict())`);
    }
    seen.add(value);
    let out: unknown;
    if (Array.isArray(value)) {
      out = value.map((v, i) => encodeTree(v, `${path}[${i}]`, tensors, seen));
    } else {
      const entries = Object.keys(value).map((k) => [k, encodeTree((value as Record<string, unknown>)[k], `${path}.${k}`, tensors, seen)] as const);
      const obj: Record<string, unknown> = {};
      for (const [k, v] of entries) Object.defineProperty(obj, k, { value: v, enumerable: true, writable: true, configurable: true });
      // Keys starting with "$" would read as markers: wrap such objects.
      out = entries.some(([k]) => k.startsWith("$")) ? { $object: obj } : obj;
    }
    seen.delete(value);
    return out;
  }
  throw new CheckpointError(`save: ${path} is a ${typeof value}, which a checkpoint cannot hold`);
}

function decodeTree(value: unknown, tensors: Record<string, Tensor>): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => decodeTree(v, tensors));
  const v = value as Record<string, unknown>;
  if (typeof v.$tensor === "string") {
    const t = tensors[v.$tensor];
    if (t === undefined) throw new CheckpointError(`load: the checkpoint refers to tensor "${v.$tensor}", which the file does not hold`);
    return t;
  }
  if (typeof v.$number === "string") return v.$number === "-0" ? -0 : Number(v.$number);
  if (v.$undefined === true) return undefined;
  if (typeof v.$bigint === "string") return BigInt(v.$bigint);
  if (typeof v.$typed === "string" && typeof v.base64 === "string") {
    const ctor = TYPED[v.$typed as keyof typeof TYPED];
    if (ctor === undefined) throw new CheckpointError(`load: unknown typed array ${v.$typed}`);
    const bytes = fromBase64(v.base64);
    return new ctor(bytes.buffer as ArrayBuffer, 0, bytes.byteLength / ctor.BYTES_PER_ELEMENT);
  }
  const inner = (v.$object ?? v) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(inner)) Object.defineProperty(out, k, { value: decodeTree(inner[k], tensors), enumerable: true, writable: true, configurable: true });
  return out;
}

/**
 * Serialises `obj` — a CheckpointValue: state dicts and plain values, nested in arrays and plain
 * objects — (tensors on any device are read back first) into safetensors bytes, for
 * browsers (store them in IndexedDB, download them) or anywhere. Throws CheckpointError naming the
 * path of a value it cannot hold (a Module or Optimizer itself: save its stateDict()), before
 * reading any tensor.
 */
export async function saveBytes(obj: unknown): Promise<Uint8Array> {
  const tensors: Tensor[] = [];
  const tree = encodeTree(obj, "checkpoint", tensors, new Set());
  const named: Record<string, Tensor> = {};
  tensors.forEach((t, i) => {
    named[String(i)] = t;
  });
  return saveSafetensors(named, undefined, { format: "lockstep", [KEY]: JSON.stringify(tree) });
}

/**
 * Parses bytes from `saveBytes` (or `save`) back into the object, tensors on `options.device` (the
 * CPU by default). Throws CheckpointError for safetensors without Lockstep's checkpoint metadata.
 * Typed `any` by default, as torch.load returns Any — the file decides what comes back; name the
 * type you saved (`loadBytes<typeof checkpoint>(bytes)`) for checked access. It is not verified.
 */
export async function loadBytes<T = any>(bytes: Uint8Array, options: { device?: string } = {}): Promise<T> {
  const metadata = readMetadata(bytes);
  const text = metadata?.[KEY];
  if (text === undefined) throw new CheckpointError(`load: the file has no "${KEY}" metadata; use loadSafetensors for a plain state dict`);
  let tree: unknown;
  try {
    tree = JSON.parse(text);
  } catch (error) {
    throw new CheckpointError(`load: the checkpoint metadata is not valid JSON: ${(error as Error).message}`);
  }
  const tensors = await loadSafetensors(bytes, options);
  return decodeTree(tree, tensors) as T;
}

/** Like torch.save: writes `obj` to the file `path` (Node only); returns the bytes written. */
export async function save(obj: unknown, path: string): Promise<Uint8Array> {
  if (typeof path !== "string") throw new CheckpointError(`save: path must be a string, got ${typeof path}`);
  const bytes = await saveBytes(obj);
  const { writeFile } = (await import(/* @vite-ignore */ NODE_FS)) as typeof import("node:fs/promises");
  await writeFile(path, bytes);
  return bytes;
}

/** Like torch.load: reads a checkpoint written by `save` (Node only); `T` as in `loadBytes`. */
export async function load<T = any>(path: string, options: { device?: string } = {}): Promise<T> {
  if (typeof path !== "string") throw new CheckpointError(`load: path must be a string, got ${typeof path}`);
  const { readFile } = (await import(/* @vite-ignore */ NODE_FS)) as typeof import("node:fs/promises");
  return loadBytes<T>(new Uint8Array(await readFile(path)), options);
}

/** The header's `__metadata__`, if any (loadSafetensors checks the rest of the file). */
function readMetadata(bytes: Uint8Array): Record<string, string> | undefined {
  if (!(bytes instanceof Uint8Array) || bytes.length < 8) throw new CheckpointError("load: not a safetensors file (fewer than 8 bytes)");
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true);
  if (length > BigInt(bytes.length - 8)) throw new CheckpointError(`load: header length ${length} runs past the end of the file`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + Number(length))));
  } catch {
    throw new CheckpointError("load: the safetensors header is not valid JSON");
  }
  const meta = (header as Record<string, unknown> | null)?.__metadata__;
  return meta !== null && typeof meta === "object" ? (meta as Record<string, string>) : undefined;
}
