// Out-of-range indices on WebGPU, PyTorch's CUDA device-side-assert model: the kernel records the
// first bad index in a small per-device buffer, and the next read of any webgpu tensor (data(),
// item(), toArray(), toAsync()) throws the IndexError the CPU throws at once — same message text,
// with the op named — and clears the flag. The flag comes back in the same map as the data being
// read, so an op never costs a readback: counted here by wrapping GPUBuffer.mapAsync.
import { IndexError, gather, indexSelect, nn, scatter, tensor, webgpu, type Tensor } from "lockstep";
import { describe, expect, it } from "vitest";
import { devices } from "./devices.js";

const hasWebGPU = devices.includes("webgpu");
if (!hasWebGPU) console.info("webgpu-index-errors: skipped, no WebGPU adapter (set REQUIRE_WEBGPU=1 to make that an error)");

const ints = (values: number[], shape?: number[]) => {
  const t = tensor(values, { dtype: "int32" });
  return shape === undefined ? t : t.reshape(shape);
};
const x = () => tensor([[1, 2, 3], [4, 5, 6]]);

/** The CPU's error for the same call: the message the webgpu error must contain. */
function cpuMessage(call: () => unknown): string {
  try {
    call();
  } catch (error) {
    expect(error).toBeInstanceOf(IndexError);
    return (error as Error).message;
  }
  throw new Error("the CPU call did not throw");
}

async function readError(t: Tensor): Promise<Error> {
  try {
    await t.data();
  } catch (error) {
    return error as Error;
  }
  throw new Error("the read did not throw");
}

/** Counts GPUBuffer.mapAsync calls (every readback maps a staging buffer once) while `body` runs. */
async function countMaps(body: () => Promise<void>): Promise<number> {
  const probe = webgpu.getDevice().createBuffer({ size: 4, usage: 0x8 /* COPY_DST */ });
  const proto = Object.getPrototypeOf(probe) as { mapAsync: (...args: unknown[]) => Promise<void> };
  probe.destroy();
  const original = proto.mapAsync;
  let maps = 0;
  proto.mapAsync = function (this: unknown, ...args: unknown[]) {
    maps++;
    return original.apply(this, args);
  };
  try {
    await body();
  } finally {
    proto.mapAsync = original;
  }
  return maps;
}

const on = (t: Tensor) => t.to("webgpu");

describe.runIf(hasWebGPU)("out-of-range indices on webgpu raise the CPU's IndexError at the next read", () => {
  const cases: [string, string, () => Tensor, (device: (t: Tensor) => Tensor) => Tensor][] = [
    ["gather", "gather", () => gather(x(), 1, ints([0, 3, 1, 0], [2, 2])), (d) => gather(d(x()), 1, d(ints([0, 3, 1, 0], [2, 2])))],
    ["gather (negative index)", "gather", () => gather(x(), 0, ints([-1, 0, 0], [1, 3])), (d) => gather(d(x()), 0, d(ints([-1, 0, 0], [1, 3])))],
    ["indexSelect", "indexSelect", () => indexSelect(x(), 0, ints([1, 2])), (d) => indexSelect(d(x()), 0, d(ints([1, 2])))],
    ["scatter", "scatter", () => scatter(x(), 1, ints([5], [1, 1]), tensor([[9]])), (d) => scatter(d(x()), 1, d(ints([5], [1, 1])), d(tensor([[9]])))],
  ];

  it.each(cases)("%s", async (_, op, cpuCall, gpuCall) => {
    const expected = cpuMessage(cpuCall);
    // The op itself returns at once: nothing is read back to check the index.
    const y = gpuCall(on);
    const error = await readError(y);
    expect(error).toBeInstanceOf(IndexError);
    expect(error.message).toContain(expected);
    expect(error.message).toContain(`in ${op} on webgpu`);
    // Raised once: the flag was cleared, and a valid run afterwards works.
    expect(await on(tensor([1, 2])).add(1).toArray()).toEqual([2, 3]);
    expect(await gather(on(x()), 1, on(ints([2, 0, 1, 1], [2, 2]))).toArray()).toEqual([[3, 1], [5, 5]]);
  });

  it("is raised by the next read of any webgpu tensor, through item(), toArray() and toAsync() too", async () => {
    const reads: [string, (t: Tensor) => Promise<unknown>][] = [
      ["data", (t) => t.data()],
      ["item", (t) => t.sum().item()],
      ["toArray", (t) => t.toArray()],
      ["toAsync", (t) => t.toAsync("cpu")],
    ];
    for (const [name, read] of reads) {
      const other = on(tensor([7, 8, 9]));
      indexSelect(on(x()), 1, on(ints([0, 4])));
      await expect(read(other), name).rejects.toThrow(IndexError);
      expect(await other.toArray(), name).toEqual([7, 8, 9]);
    }
  });

  it("the first bad index since the last read is the one reported", async () => {
    gather(on(x()), 1, on(ints([0, 7, 1, 0], [2, 2])));
    gather(on(x()), 1, on(ints([0, 9, 1, 0], [2, 2])));
    const error = await readError(on(tensor([1])));
    expect(error.message).toContain("index 7 is out of bounds for dimension 1 with size 3");
  });

  it("two reads in flight when the flag is set: exactly one raises it", async () => {
    const a = on(tensor([1, 2]));
    const b = on(tensor([3, 4]));
    indexSelect(on(x()), 0, on(ints([2])));
    const results = await Promise.allSettled([a.data(), b.data()]);
    expect(results.filter((r) => r.status === "rejected").length).toBe(1);
    expect(await b.toArray()).toEqual([3, 4]);
  });

  it("Embedding with an id past the table raises at the next read", async () => {
    const embedding = new nn.Embedding(4, 2).to("webgpu");
    const out = embedding.forward(on(ints([1, 4])));
    const error = await readError(out);
    expect(error).toBeInstanceOf(IndexError);
    expect(error.message).toContain("index out of range in self");
    expect(error.message).toContain("indexSelect");
  });

  it("crossEntropy and nllLoss with a target past the classes raise at the next read", async () => {
    const logits = on(tensor([[0.5, 1, -1], [2, 0, 1]]));
    for (const loss of [
      () => nn.functional.crossEntropy(logits, on(ints([0, 3]))),
      () => nn.functional.nllLoss(logits.logSoftmax(1), on(ints([5, 1]))),
    ]) {
      const error = await readError(loss());
      expect(error).toBeInstanceOf(IndexError);
      expect(error.message).toMatch(/index \d is out of bounds for dimension 1 with size 3/);
      expect(error.message).toContain("gather");
    }
    // An ignored target is not an index: no error.
    expect(Number.isFinite(await nn.functional.crossEntropy(logits, on(ints([0, -100]))).item())).toBe(true);
  });

  it("costs no readback per op: the flag comes back in the map of the data being read", async () => {
    const table = on(tensor([[1, 2], [3, 4], [5, 6]]));
    const good = on(ints([2, 0, 1]));
    const bad = on(ints([2, 3, 1]));
    const maps = await countMaps(async () => {
      let acc = indexSelect(table, 0, good);
      for (let i = 0; i < 20; i++) acc = acc.add(gather(indexSelect(table, 0, i === 10 ? bad : good), 1, on(ints([1, 0, 1, 0, 1, 0], [3, 2]))));
      await expect(acc.data()).rejects.toThrow(IndexError);
    });
    expect(maps).toBe(1);
    // And with no index op since the last read, nothing extra is copied: still one map per read.
    const plain = await countMaps(async () => {
      await table.data();
      await table.data();
    });
    expect(plain).toBe(2);
  });
});
