// The CPU backend hands out released arrays without clearing them (a new storage's contents are
// unspecified), so every kernel must write each output element itself. With the backend's poison
// switch on, every new storage starts as garbage (NaN for floats); these ops and a training step
// must then give the same bits as on clean memory, in both modes.
import { setStoragePoison } from "@lockstep/backend-cpu";
import { cat, manualSeed, nn, optim, randint, randn, scope, tensor, useDeterministicAlgorithms, zeros, type Tensor } from "lockstep";
import { afterAll, describe, expect, it } from "vitest";
import { bitsOf } from "./bits.js";

afterAll(() => {
  setStoragePoison(false);
  useDeterministicAlgorithms(false);
});

/** Every op result as bits, computed under `scope` so the arrays go back to the pool between runs. */
async function run(ops: () => Tensor[]): Promise<Uint32Array[]> {
  const results = scope(ops);
  const bits = await Promise.all(results.map(bitsOf));
  for (const t of results) t.dispose();
  return bits;
}

function ops(): Tensor[] {
  manualSeed(3);
  const a = randn([5, 7]);
  const b = randn([7, 6]);
  const row = randn([7]);
  const index = tensor(Int32Array.of(4, 0, 0, 2));
  const labels = randint(0, 7, [5], { dtype: "int32" });
  const empty = zeros([5, 0]);
  return [
    a.matmul(b),
    empty.matmul(zeros([0, 6])), // K = 0: every output is an empty sum
    zeros([1, 0]).matmul(zeros([0, 300])), // K = 0, one row
    a.add(row).relu(),
    a.mul(2).sub(row).div(3),
    a.sum(1),
    a.sum(0),
    empty.sum(1), // an empty sum per row
    a.mean(),
    a.amax(1),
    a.softmax(1),
    a.indexSelect(0, index),
    a.gather(1, labels.reshape([5, 1])),
    a.scatter(1, labels.reshape([5, 1]), randn([5, 1])),
    cat([a, a.mul(2)], 0),
    a.where(a.gt(0), row),
    a.t().contiguous(),
    a.int().add(1),
    a.gt(0).logicalNot(),
  ];
}

/** A few training steps of a small MLP; its parameters afterwards. */
function train(): Tensor[] {
  manualSeed(5);
  const model = new nn.Sequential(new nn.Linear(12, 16), new nn.ReLU(), new nn.Linear(16, 3));
  const x = randn([8, 12]);
  const y = randint(0, 3, [8], { dtype: "int32" });
  const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
  for (let step = 0; step < 3; step++) {
    scope(() => {
      opt.zeroGrad();
      nn.functional.crossEntropy(model.forward(x), y).backward();
      opt.step();
    });
  }
  return model.parameters().map((p) => p.detach().clone());
}

describe.each([true, false])("deterministic=%s: kernels write every output element", (deterministic) => {
  it("ops give the same bits on poisoned (NaN-filled) new storages as on clean ones", async () => {
    useDeterministicAlgorithms(deterministic);
    setStoragePoison(false);
    const clean = await run(ops);
    setStoragePoison(true);
    const dirty = await run(ops);
    setStoragePoison(false);
    expect(dirty.length).toBe(clean.length);
    for (let i = 0; i < clean.length; i++) expect(Array.from(dirty[i]!), `op ${i}`).toEqual(Array.from(clean[i]!));
    // K = 0 gives zeros, not leftovers.
    expect(Array.from(clean[1]!).every((w) => w === 0)).toBe(true);
  });

  it("a training step gives the same parameters on poisoned storages, and on reused dirty ones", async () => {
    useDeterministicAlgorithms(deterministic);
    setStoragePoison(false);
    const clean = await run(train);
    // The previous run released its arrays holding real values: this one reuses them dirty.
    const reused = await run(train);
    setStoragePoison(true);
    const dirty = await run(train);
    setStoragePoison(false);
    for (let i = 0; i < clean.length; i++) {
      expect(Array.from(reused[i]!), `parameter ${i} (reused)`).toEqual(Array.from(clean[i]!));
      expect(Array.from(dirty[i]!), `parameter ${i} (poisoned)`).toEqual(Array.from(clean[i]!));
    }
  });
});
