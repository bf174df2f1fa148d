// The tensor API of issue 15 against PyTorch 1.13 (fixtures/core/tensor_api.py): indexing
// (basic and advanced), indexPut_, maskedSelect, sort/argsort/topk, cumsum, flip, roll, repeat,
// tile, oneHot, where with scalars, in-place arithmetic and multinomial — on every device the
// suite has (WebGPU through ./devices.js; float64 cases on CPU only). Expected values come only
// from the fixture.
import { describe, expect, it } from "vitest";
import * as L from "lockstep";
import { type Tensor } from "lockstep";
import { devices } from "./devices.js";
import { buildBase, buildTensor, decode, loadFixture, type TensorSpec } from "./fixtures.js";

type Item = { int: number } | { bool: boolean } | { slice: (number | null)[] } | { none: true } | { ellipsis: true } | { index: TensorSpec } | { mask: TensorSpec };
interface IndexCase { id: string; input: TensorSpec; items: Item[]; expected: TensorSpec }
interface IndexPutCase { id: string; input: TensorSpec; indices: TensorSpec[]; values: TensorSpec; accumulate: boolean; expected: TensorSpec }
interface MaskedCase { id: string; input: TensorSpec; mask: TensorSpec; expected: TensorSpec }
interface OpCase {
  id: string;
  op: string;
  inputs: TensorSpec[];
  params: Record<string, unknown>;
  expected: TensorSpec | { values: TensorSpec; indices: TensorSpec };
  compare: "exact" | "close";
  /** An absolute tolerance replacing the default one (scans near cancellation). */
  atol?: number;
}
interface MultinomialCase {
  id: string;
  probs: TensorSpec;
  seed: number;
  numSamples: number;
  replacement: boolean;
  expected: TensorSpec;
  randAfter: TensorSpec;
  /** When present, the samples come from a fresh Generator seeded with it. */
  generatorSeed?: number;
}
const fixture = loadFixture<never>("tensor-api.json") as unknown as {
  indexing: IndexCase[];
  indexPut: IndexPutCase[];
  maskedSelect: MaskedCase[];
  ops: OpCase[];
  multinomial: MultinomialCase[];
};

const usesFloat64 = (c: unknown) => JSON.stringify(c).includes('"float64"');

/** Bit-exact (any NaN matches any NaN) or within the fixture tolerance, with dtype and shape. */
async function expectMatches(got: Tensor, spec: TensorSpec, compare: "exact" | "close", label: string, atol?: number): Promise<void> {
  expect(got.dtype, `${label}: dtype`).toBe(spec.dtype);
  expect([...got.shape], `${label}: shape`).toEqual(spec.shape);
  const data = Array.from(await got.data());
  const want = spec.data.map(decode).map(Number);
  const tol = spec.dtype === "float64" ? { rtol: 1e-10, atol: 1e-12 } : { rtol: 1e-5, atol: 1e-6 };
  if (atol !== undefined) tol.atol = atol;
  for (let i = 0; i < want.length; i++) {
    const g = data[i]!;
    const w = want[i]!;
    if (Number.isNaN(w) && Number.isNaN(g)) continue;
    if (compare === "exact" || !Number.isFinite(w)) {
      if (!Object.is(g, w)) expect.fail(`${label}: element ${i} is ${g}, PyTorch ${w}`);
    } else if (!(Math.abs(g - w) <= tol.atol + tol.rtol * Math.abs(w))) {
      expect.fail(`${label}: element ${i} is ${g}, PyTorch ${w} (beyond tolerance)`);
    }
  }
}

function buildItem(item: Item, device: string): L.IndexItem {
  if ("int" in item) return item.int;
  if ("bool" in item) return item.bool;
  if ("none" in item) return null;
  if ("ellipsis" in item) return "...";
  if ("slice" in item) {
    const [start, stop, step] = item.slice;
    return { start: start ?? undefined, stop: stop ?? undefined, step: step ?? undefined };
  }
  // Masks are read on the host, so they stay on the CPU (PyTorch also takes CPU indices).
  if ("mask" in item) return buildBase(item.mask, "cpu");
  return buildBase(item.index, device);
}

describe.each(devices)("tensor API on %s", (device) => {
  const cases = <T>(list: T[]) => (device === "cpu" ? list : list.filter((c) => !usesFloat64(c)));

  it.each(cases(fixture.indexing).map((c) => [c.id, c] as const))("index: %s", async (_id, c) => {
    const x = buildBase(c.input, device);
    const before = Array.from(await x.data());
    await expectMatches(x.index(...c.items.map((i) => buildItem(i, device))), c.expected, "exact", c.id);
    expect(Array.from(await x.data())).toEqual(before);
  });

  it.each(cases(fixture.indexPut).map((c) => [c.id, c] as const))("indexPut_: %s", async (c_id, c) => {
    const x = buildBase(c.input, device);
    const version = x.version;
    const out = x.indexPut_(c.indices.map((i) => buildBase(i, "cpu")), buildBase(c.values, device), c.accumulate);
    expect(out).toBe(x);
    expect(x.version).toBe(version + 1);
    await expectMatches(x, c.expected, "exact", c_id);
  });

  it.each(cases(fixture.maskedSelect).map((c) => [c.id, c] as const))("maskedSelect: %s", async (id, c) => {
    await expectMatches(buildBase(c.input, device).maskedSelect(buildBase(c.mask, "cpu")), c.expected, "exact", id);
  });

  it.each(cases(fixture.ops).map((c) => [c.id, c] as const))("%s", async (id, c) => {
    const inputs = c.inputs.map((s) => buildBase(s, device));
    const x = inputs[0]!;
    const p = c.params as Record<string, never>;
    let got: Tensor | L.ValuesIndices;
    switch (c.op) {
      case "sort": got = x.sort({ dim: p.dim, descending: p.descending }); break;
      case "argsort": got = x.argsort({ dim: p.dim, descending: p.descending }); break;
      case "topk": got = x.topk(p.k, { dim: p.dim, largest: p.largest }); break;
      case "cumsum": got = x.cumsum(p.dim); break;
      case "flip": got = x.flip(p.dims); break;
      case "roll": got = x.roll(p.shifts, p.dims ?? undefined); break;
      case "repeat": got = x.repeat(p.sizes); break;
      case "tile": got = x.tile(p.dims); break;
      case "oneHot":
        if (device !== "cpu" && p.numClasses === -1) {
          // Inferring the class count needs a synchronous read: refused off the CPU, by design.
          expect(() => L.oneHot(x, -1)).toThrow(/num_classes must be given for a tensor on 'webgpu'/);
          return;
        }
        got = L.oneHot(x, p.numClasses);
        break;
      case "where": got = inputs.length === 2 ? L.where(x, inputs[1]!, p.b) : L.where(x, p.a, p.b); break;
      case "clamp_": got = x.clamp_(p.min, p.max); break;
      default: {
        const arg = inputs[1] ?? (p.scalar as number);
        const v = x.version;
        const method = (x as unknown as Record<string, (a: unknown, o?: unknown) => Tensor>)[c.op]!;
        got = method.call(x, arg, p.alpha === undefined ? undefined : { alpha: p.alpha });
        expect(got).toBe(x);
        expect(x.version).toBe(v + 1);
      }
    }
    if (got instanceof L.Tensor) {
      await expectMatches(got, c.expected as TensorSpec, c.compare, id, c.atol);
    } else {
      const e = c.expected as { values: TensorSpec; indices: TensorSpec };
      await expectMatches(got.values, e.values, c.compare, `${id} values`);
      await expectMatches(got.indices, e.indices, "exact", `${id} indices`);
    }
  });
});

describe.each(devices.filter((d) => d !== "cpu"))("sorting on %s equals the CPU's", (device) => {
  it("2100 values with ties and NaN (the comparison path in two blocks) give the CPU's order", async () => {
    L.manualSeed(11);
    const values = L.randint(-50, 50, [2100]).float().maskedFill(L.rand([2100]).lt(0.01), Number.NaN);
    for (const descending of [false, true]) {
      const cpu = values.sort({ descending });
      const gpu = values.to(device).sort({ descending });
      expect(Array.from(await gpu.indices.data())).toEqual(Array.from(cpu.indices.dataSync()));
      expect(Array.from(await gpu.values.data())).toEqual(Array.from(cpu.values.dataSync()));
    }
    const top = (await values.to(device).topk(7).indices.data()).join();
    expect(top).toBe(values.topk(7).indices.dataSync().join());
  });

  it("cumsum is bitwise the CPU's and batch-invariant", async () => {
    L.manualSeed(12);
    const x = L.randn([5, 300]);
    const bits = (a: ArrayLike<number>) => Array.from(new Uint32Array(Float32Array.from(a).buffer));
    const cpu = x.cumsum(1).dataSync();
    expect(bits(await x.to(device).cumsum(1).data())).toEqual(bits(cpu));
    const alone = await x.narrow(0, 3, 1).to(device).cumsum(1).data();
    expect(bits(alone)).toEqual(bits(cpu.subarray(3 * 300, 4 * 300)));
  });

  it("an out-of-range index tensor living on the device is reported, never read as another element", async () => {
    const x = L.arange(12).float().reshape(3, 4).to(device);
    const rows = L.tensor([0, 1], { dtype: "int32" }).to(device);
    const cols = L.tensor([1, 4], { dtype: "int32" }).to(device); // 4 would alias row 1's element 0
    const out = x.index(rows, cols);
    await expect(out.data()).rejects.toThrow(L.IndexError);
    // In range, including negative indices, it reads the right elements.
    const ok = x.index(rows, L.tensor([1, -1], { dtype: "int32" }).to(device));
    expect(Array.from(await ok.data())).toEqual([1, 7]);
  });

  it("host-only inputs are refused clearly off the CPU", async () => {
    const x = L.arange(6).float().to(device);
    expect(() => x.index(x.gt(2))).toThrow(/a bool mask on 'webgpu' cannot be read synchronously/);
    expect(() => L.multinomial(x.add(1), 2)).toThrow(/multinomial\(\) needs probabilities the CPU can read/);
    expect(() => x.toJSON()).toThrow(/toJSON\(\) cannot read a tensor on 'webgpu' synchronously/);
    // The same mask as a CPU tensor works, as in PyTorch.
    expect(Array.from(await x.index(L.arange(6).gt(2)).data())).toEqual([3, 4, 5]);
  });
});

describe("multinomial reproduces PyTorch's CPU stream", () => {
  it.each(fixture.multinomial.map((c) => [c.id, c] as const))("%s", async (id, c) => {
    L.manualSeed(c.seed);
    const generator = c.generatorSeed === undefined ? undefined : new L.Generator().manualSeed(c.generatorSeed);
    const got = L.multinomial(buildTensor(c.probs, "cpu"), c.numSamples, { replacement: c.replacement, generator });
    await expectMatches(got, c.expected, "exact", id);
    // The generator advanced by exactly as many draws as PyTorch's.
    await expectMatches(L.rand([3]), c.randAfter, "exact", `${id}: rand after`);
    // The Tensor method draws the same.
    L.manualSeed(c.seed);
    const again = new L.Generator().manualSeed(c.generatorSeed ?? 0);
    const method = buildTensor(c.probs, "cpu").multinomial(c.numSamples, {
      replacement: c.replacement,
      generator: c.generatorSeed === undefined ? undefined : again,
    });
    await expectMatches(method, c.expected, "exact", `${id}: Tensor.multinomial`);
  });
});
