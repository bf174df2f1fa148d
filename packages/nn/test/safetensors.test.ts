// safetensors round trips with files written by PyTorch (fixtures/nn/generate.py writes the format
// with torch alone, laid out as the reference writer lays it out). Loading is checked against the
// tensors' bits stored separately in safetensors.json; saving is checked byte for byte against the
// PyTorch-written file and with a small independent reader defined here, not our loader.
import "@lockstep/backend-cpu";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { tensor, type Tensor } from "@lockstep/core";
import { manualSeed } from "@lockstep/random";
import { afterAll, describe, expect, it } from "vitest";
import { Linear, ReLU, Sequential, SafetensorsError, loadSafetensors, saveSafetensors } from "../src/index.js";
import { bytesOf, encodedValues, expectBits, fixtureUrl, hexWords, readFixture, sha256, type Encoded } from "./support/fixtures.js";

interface FileFixture {
  sha256: string;
  metadata: Record<string, string> | null;
  tensors: Record<string, Encoded>;
}

const { files } = readFixture<{ files: Record<string, FileFixture> }>("safetensors.json");
const pathOf = (name: string): string => fileURLToPath(fixtureUrl(name));
const bytesOfFile = (name: string): Uint8Array => new Uint8Array(readFileSync(pathOf(name)));

const scratch = mkdtempSync(join(tmpdir(), "lockstep-safetensors-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A minimal safetensors reader, independent of src/safetensors.ts: name → {dtype, shape, bytes}. */
function parseIndependently(file: Uint8Array): { metadata?: Record<string, string>; tensors: Map<string, { dtype: string; shape: number[]; bytes: Uint8Array }> } {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const n = Number(view.getBigUint64(0, true));
  const header = JSON.parse(Buffer.from(file.subarray(8, 8 + n)).toString("utf8")) as Record<string, unknown>;
  const tensors = new Map<string, { dtype: string; shape: number[]; bytes: Uint8Array }>();
  let expectedBegin = 0;
  const entries = Object.entries(header).filter(([k]) => k !== "__metadata__") as [string, { dtype: string; shape: number[]; data_offsets: [number, number] }][];
  for (const [name, e] of [...entries].sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0])) {
    // The format requires the data to be packed: each tensor starts where the previous one ended.
    expect(e.data_offsets[0], `${name} begins where the previous tensor ended`).toBe(expectedBegin);
    expectedBegin = e.data_offsets[1];
    tensors.set(name, { dtype: e.dtype, shape: e.shape, bytes: file.subarray(8 + n + e.data_offsets[0], 8 + n + e.data_offsets[1]) });
  }
  expect(8 + n + expectedBegin, "the data ends at the end of the file").toBe(file.length);
  return { metadata: header.__metadata__ as Record<string, string> | undefined, tensors };
}

function torchModelShape(seed: number): Sequential {
  manualSeed(seed);
  return new Sequential(new Linear(4, 3), new ReLU(), new Linear(3, 2));
}

describe("loading safetensors files written by PyTorch", () => {
  it("the committed files are the ones the fixture script wrote", () => {
    for (const [name, f] of Object.entries(files)) expect(sha256(bytesOfFile(name)), name).toBe(f.sha256);
  });

  it.each(Object.keys(files))("%s from a path: every tensor with PyTorch's dtype, shape and bits", async (name) => {
    const loaded = await loadSafetensors(pathOf(name));
    expect(Object.keys(loaded).sort()).toEqual(Object.keys(files[name]!.tensors).sort());
    for (const [key, e] of Object.entries(files[name]!.tensors)) expectBits(loaded[key], e, `${name}: ${key}`);
  });

  it("loads from bytes, also from a view at an odd offset into a larger buffer", async () => {
    const file = bytesOfFile("dtypes.safetensors");
    const padded = new Uint8Array(file.length + 8);
    padded.set(file, 3);
    for (const bytes of [file, padded.subarray(3, 3 + file.length)]) {
      const loaded = await loadSafetensors(bytes);
      for (const [key, e] of Object.entries(files["dtypes.safetensors"]!.tensors)) expectBits(loaded[key], e, key);
    }
  });

  it("maps the file dtypes onto Lockstep's: F64 → float64, I64 and I32 → int32, BOOL → bool; 0-d and empty shapes survive", async () => {
    const loaded = await loadSafetensors(pathOf("dtypes.safetensors"));
    expect(loaded["weights.f64"]!.dtype).toBe("float64");
    expect(loaded["counts.i64"]!.dtype).toBe("int32");
    expect(Array.from(loaded["counts.i64"]!.dataSync())).toEqual([0, -1, 2147483647, -2147483648]);
    expect(loaded["ids.i32"]!.dtype).toBe("int32");
    expect(loaded["mask.bool"]!.dtype).toBe("bool");
    expect(loaded["scalar.f32"]!.shape).toEqual([]);
    expect(loaded["scalar.f32"]!.itemSync()).toBe(1.25);
    expect(loaded["empty.f32"]!.shape).toEqual([0, 3]);
  });

  it("a PyTorch state dict loads into a Lockstep model of the same architecture, replacing every value", async () => {
    const model = torchModelShape(999);
    const result = model.loadStateDict(await loadSafetensors(pathOf("model.safetensors")));
    expect(result).toEqual({ missingKeys: [], unexpectedKeys: [] });
    const state = model.stateDict();
    for (const [key, e] of Object.entries(files["model.safetensors"]!.tensors)) expectBits(state[key], e, key);
  });
});

describe("saving safetensors", () => {
  it("a Lockstep model's state dict is written with the same bytes as PyTorch's file (seeded init, then loaded)", async () => {
    const reference = bytesOfFile("model.safetensors");
    const seeded = torchModelShape(3);
    expect(sha256(await saveSafetensors(seeded.stateDict()))).toBe(sha256(reference));
    const loaded = torchModelShape(999);
    loaded.loadStateDict(await loadSafetensors(reference));
    expect(Buffer.from(await saveSafetensors(loaded.stateDict())).equals(Buffer.from(reference))).toBe(true);
  });

  it("metadata goes first in the header, as in the reference writer", async () => {
    const model = torchModelShape(3);
    const meta = files["model-with-metadata.safetensors"]!.metadata!;
    const bytes = await saveSafetensors(model.stateDict(), undefined, meta);
    expect(Buffer.from(bytes).equals(Buffer.from(bytesOfFile("model-with-metadata.safetensors")))).toBe(true);
    expect(parseIndependently(bytes).metadata).toEqual(meta);
  });

  it("writes the file when given a path, with the bytes it returns", async () => {
    const path = join(scratch, "model.safetensors");
    const bytes = await saveSafetensors(torchModelShape(3).stateDict(), path);
    expect(Buffer.from(readFileSync(path)).equals(Buffer.from(bytes))).toBe(true);
  });

  it("every dtype round-trips through an independent reader: float32, float64, int32 and bool bits unchanged", async () => {
    const loaded = await loadSafetensors(pathOf("dtypes.safetensors"));
    const extra: Record<string, Tensor> = { "negzero.f32": tensor(new Float32Array([-0, Number.NaN, Infinity, 1e-45])) };
    const bytes = await saveSafetensors({ ...loaded, ...extra });
    const parsed = parseIndependently(bytes);
    expect([...parsed.tensors.keys()].sort()).toEqual(Object.keys({ ...loaded, ...extra }).sort());
    const fileDtype = { float32: "F32", float64: "F64", int32: "I32", bool: "BOOL" } as const;
    for (const [key, t] of Object.entries({ ...loaded, ...extra })) {
      const entry = parsed.tensors.get(key)!;
      expect(entry.dtype, key).toBe(fileDtype[t.dtype]);
      expect(entry.shape, key).toEqual([...t.shape]);
      expect(hexWords(entry.bytes, 1), key).toEqual(hexWords(bytesOf(t), 1));
    }
    // Values from PyTorch, read back by the independent reader (int64 is written as int32 here).
    const expected = files["dtypes.safetensors"]!.tensors;
    expect(hexWords(parsed.tensors.get("weights.f64")!.bytes, 8)).toEqual(expected["weights.f64"]!.hex);
    expect(Array.from(new Int32Array(parsed.tensors.get("counts.i64")!.bytes.slice().buffer))).toEqual(encodedValues(expected["counts.i64"]!));
  });

  it("the header is padded with spaces so the data starts 8-byte aligned", async () => {
    const bytes = await saveSafetensors({ a: tensor([1, 2, 3]) });
    const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const header = Buffer.from(bytes.subarray(8, 8 + n)).toString("utf8");
    expect(header).toMatch(/^\{"a":\{"dtype":"F32","shape":\[3\],"data_offsets":\[0,12\]\}\} *$/);
  });
});

describe("corrupt safetensors files are rejected with SafetensorsError", () => {
  const good = (): Uint8Array => bytesOfFile("model.safetensors").slice();
  const withHeader = (header: string, data = new Uint8Array(0)): Uint8Array => {
    const json = Buffer.from(header, "utf8");
    const out = new Uint8Array(8 + json.length + data.length);
    new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
    out.set(json, 8);
    out.set(data, 8 + json.length);
    return out;
  };

  it("shorter than the 8-byte length prefix", async () => {
    await expect(loadSafetensors(new Uint8Array(5))).rejects.toThrow(SafetensorsError);
    await expect(loadSafetensors(new Uint8Array(5))).rejects.toThrow("not a safetensors file: 5 bytes is shorter than the 8-byte header length");
  });

  it("a header length running past the end of the file", async () => {
    const bytes = good();
    new DataView(bytes.buffer).setBigUint64(0, BigInt(bytes.length), true);
    await expect(loadSafetensors(bytes)).rejects.toThrow(SafetensorsError);
    await expect(loadSafetensors(bytes)).rejects.toThrow(`header length ${bytes.length} runs past the end of the ${bytes.length}-byte file`);
  });

  it("a header that is not JSON", async () => {
    const bytes = good();
    bytes[8] = "x".charCodeAt(0); // the header's opening brace
    await expect(loadSafetensors(bytes)).rejects.toThrow(SafetensorsError);
    await expect(loadSafetensors(bytes)).rejects.toThrow(/^invalid safetensors header: /);
    await expect(loadSafetensors(withHeader('{"w":{"dtype":"F32",'))).rejects.toThrow(/^invalid safetensors header: /);
  });

  it.each([
    ["null", "null"],
    ["an array", "[1,2]"],
    ["an entry without a shape", '{"w":{"dtype":"F32","data_offsets":[0,0]}}'],
    ["an entry without data_offsets", '{"w":{"dtype":"F32","shape":[0]}}'],
    ["a negative dimension", '{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}'],
    ["offsets in the wrong order", '{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}'],
    ["an entry that is a number", '{"w":3}'],
  ])("a JSON header with %s", async (_, header) => {
    const bytes = withHeader(header, new Uint8Array(8));
    await expect(loadSafetensors(bytes)).rejects.toThrow(SafetensorsError);
    await expect(loadSafetensors(bytes)).rejects.toThrow(/^invalid safetensors header: /);
  });

  it("data offsets that do not match the shape", async () => {
    const bytes = withHeader('{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}}', new Uint8Array(16));
    await expect(loadSafetensors(bytes)).rejects.toThrow(SafetensorsError);
    await expect(loadSafetensors(bytes)).rejects.toThrow('tensor "w": data_offsets [0, 12] do not match shape [2, 2] of F32');
  });

  it("data offsets past the end of the file", async () => {
    const bytes = withHeader('{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}', new Uint8Array(8));
    await expect(loadSafetensors(bytes)).rejects.toThrow(SafetensorsError);
  });

  it("a dtype Lockstep cannot hold", async () => {
    const bytes = withHeader('{"h":{"dtype":"F8_E5M2","shape":[4],"data_offsets":[0,4]}}', new Uint8Array(4));
    await expect(loadSafetensors(bytes)).rejects.toThrow(SafetensorsError);
    await expect(loadSafetensors(bytes)).rejects.toThrow('tensor "h" has dtype F8_E5M2, which Lockstep cannot load');
  });

  it("an int64 value outside int32", async () => {
    const data = new Uint8Array(16);
    new DataView(data.buffer).setBigInt64(8, 2n ** 31n, true);
    const bytes = withHeader('{"n":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}}', data);
    await expect(loadSafetensors(bytes)).rejects.toThrow(SafetensorsError);
    await expect(loadSafetensors(bytes)).rejects.toThrow('tensor "n": int64 value 2147483648 does not fit in int32');
  });

  it("a value that is not a tensor cannot be saved", async () => {
    await expect(saveSafetensors({ w: [1, 2] as unknown as Tensor })).rejects.toThrow(SafetensorsError);
    await expect(saveSafetensors({ w: [1, 2] as unknown as Tensor })).rejects.toThrow('saveSafetensors: "w" is not a tensor');
  });
});
