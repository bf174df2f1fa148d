// useDeterministicAlgorithms(true): every comparison here is of bit patterns.
// - batch invariance: row i of a batch of B equals that row computed alone (B = 1..17, 64, 257);
// - thread invariance: setNumThreads(1), (2), (3) give the same bits;
// - the deterministic Linear equals Debian PyTorch's (reference BLAS: sequential k, bias after);
// - with the flag off, the fast kernels really do differ between batch 1 and batch 16.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import {
  manualSeed,
  nn,
  rand,
  randint,
  randn,
  setNumThreads,
  getNumThreads,
  useDeterministicAlgorithms,
  cat,
  type Tensor,
} from "lockstep";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { devices } from "./devices.js";

const BATCHES = [...Array.from({ length: 17 }, (_, i) => i + 1), 64, 257];

async function bitsOf(t: Tensor): Promise<Uint32Array> {
  const data = await t.data();
  return new Uint32Array(Float32Array.from(data).buffer);
}

async function sha256(t: Tensor): Promise<string> {
  const data = Float32Array.from(await t.data());
  return createHash("sha256").update(new Uint8Array(data.buffer)).digest("hex");
}

/** Number of elements whose bit patterns differ. */
function differing(a: Uint32Array, b: Uint32Array): number {
  expect(a.length).toBe(b.length);
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

/**
 * Checks f(x)[i] == f(x[i:i+1]) bitwise for every row i of a batch of each size; `f` also gets the
 * index of the first row it sees, for per-row companions such as targets.
 */
async function expectBatchInvariant(f: (x: Tensor, firstRow: number) => Tensor, input: (batch: number) => Tensor): Promise<void> {
  for (const batch of BATCHES) {
    const x = input(batch);
    const full = await bitsOf(f(x, 0));
    const rows = await bitsOf(cat(Array.from({ length: batch }, (_, i) => f(x.narrow(0, i, 1), i)), 0));
    expect(differing(full, rows), `batch ${batch}: rows computed alone differ from the batched rows`).toBe(0);
  }
}

describe.each(devices)("deterministic mode on %s", (device) => {
  beforeAll(() => useDeterministicAlgorithms(true));
  afterAll(() => useDeterministicAlgorithms(false));

  // Inputs with a wide range of magnitudes make reassociation visible if it happens.
  const wide = (batch: number, features: number) => randn([batch, features]).mul(randn([batch, features]).mul(4).exp()).to(device);

  it("Linear: each row of a batch equals the row computed alone", async () => {
    manualSeed(1);
    const lin = new nn.Linear(96, 40).to(device);
    await expectBatchInvariant((x) => lin.forward(x), (b) => wide(b, 96));
  });

  it("MLP forward (Linear, GELU, LayerNorm, Softmax) is batch-invariant", async () => {
    manualSeed(2);
    const mlp = new nn.Sequential(
      new nn.Linear(48, 64),
      new nn.GELU(),
      new nn.LayerNorm(64),
      new nn.Linear(64, 10),
      new nn.Softmax(1),
    ).to(device);
    mlp.eval();
    await expectBatchInvariant((x) => mlp.forward(x), (b) => wide(b, 48));
  });

  it("logSoftmax and per-row crossEntropy are batch-invariant", async () => {
    manualSeed(3);
    await expectBatchInvariant((x) => x.logSoftmax(1), (b) => wide(b, 33));
    const targets = randint(0, 33, [257], { dtype: "int32" }).to(device);
    await expectBatchInvariant(
      (x, first) => nn.functional.crossEntropy(x, targets.narrow(0, first, x.shape[0]!), { reduction: "none" }).unsqueeze(1),
      (b) => wide(b, 33),
    );
  });
});

describe("thread invariance (cpu, flag on)", () => {
  const threadsBefore = getNumThreads();
  beforeAll(() => useDeterministicAlgorithms(true));
  afterAll(() => {
    useDeterministicAlgorithms(false);
    setNumThreads(threadsBefore);
  });

  it("setNumThreads(1), (2) and (3) give identical forward and backward bits", async () => {
    const results: string[][] = [];
    for (const threads of [1, 2, 3]) {
      setNumThreads(threads);
      manualSeed(7);
      const model = new nn.Sequential(new nn.Linear(256, 512), new nn.GELU(), new nn.Linear(512, 10));
      const x = randn([64, 256]);
      const y = randint(0, 10, [64], { dtype: "int32" });
      const loss = nn.functional.crossEntropy(model.forward(x), y);
      loss.backward();
      results.push([await sha256(loss), ...(await Promise.all(model.parameters().map((p) => sha256(p.grad!))))]);
    }
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
  });
});

interface LinearCase {
  seed: number;
  inFeatures: number;
  outFeatures: number;
  batch: number;
  fullSha256: string;
  rowsSha256: string;
  firstBits: string[];
}

describe("deterministic Linear equals Debian PyTorch bit for bit", () => {
  const fixture = JSON.parse(readFileSync(new URL("./fixtures/linear-bitwise.json", import.meta.url), "utf8")) as {
    cases: LinearCase[];
  };
  beforeAll(() => useDeterministicAlgorithms(true));
  afterAll(() => useDeterministicAlgorithms(false));

  for (const c of fixture.cases) {
    it(`seed ${c.seed}: Linear(${c.inFeatures}, ${c.outFeatures}) on rand(${c.batch}, ${c.inFeatures})`, async () => {
      manualSeed(BigInt(c.seed));
      const lin = new nn.Linear(c.inFeatures, c.outFeatures);
      const x = rand([c.batch, c.inFeatures]);
      const full = lin.forward(x);
      const first = [...(await bitsOf(full)).slice(0, 8)].map((b) => b.toString(16).padStart(8, "0"));
      expect(first).toEqual(c.firstBits);
      expect(await sha256(full)).toBe(c.fullSha256);
      const rows = cat(Array.from({ length: c.batch }, (_, i) => lin.forward(x.narrow(0, i, 1))), 0);
      expect(await sha256(rows)).toBe(c.rowsSha256);
    });
  }
});

describe("flag off: the fast kernels are not batch-invariant", () => {
  it("Linear(768, 768): rows of a batch of 16 differ from the same rows computed alone on cpu", async () => {
    useDeterministicAlgorithms(false);
    manualSeed(0);
    const lin = new nn.Linear(768, 768);
    const x = rand([16, 768]);
    const full = await bitsOf(lin.forward(x));
    const rows = await bitsOf(cat(Array.from({ length: 16 }, (_, i) => lin.forward(x.narrow(0, i, 1))), 0));
    const gap = differing(full, rows);
    expect(gap).toBeGreaterThan(0);
    // The same product with the flag on has no gap at all.
    useDeterministicAlgorithms(true);
    const fullOn = await bitsOf(lin.forward(x));
    const rowsOn = await bitsOf(cat(Array.from({ length: 16 }, (_, i) => lin.forward(x.narrow(0, i, 1))), 0));
    useDeterministicAlgorithms(false);
    expect(differing(fullOn, rowsOn)).toBe(0);
  });
});
