// Modules across devices: a model built on the CPU goes to WebGPU and comes back with
// `await model.toAsync("cpu")` (plain `to("cpu")` cannot read a GPU buffer synchronously), its
// values bit for bit, its parameters still Parameters with their requiresGrad, its buffers moved,
// including modules held in ModuleList / ModuleDict / plain arrays.
import { describe, expect, it } from "vitest";
import { manualSeed, nn, randn } from "lockstep";
import { devices } from "./devices.js";

const gpu = devices.includes("webgpu");

class Net extends nn.Module {
  blocks = new nn.ModuleList([new nn.Linear(4, 8), new nn.BatchNorm1d(8)]);
  heads = new nn.ModuleDict({ out: new nn.Linear(8, 2) });
  extra = [new nn.Linear(2, 2)];
  forward(x: Parameters<nn.Linear["forward"]>[0]) {
    let h = this.blocks.at(0).forward(x);
    h = (this.blocks.at(1) as nn.BatchNorm1d).forward(h).relu();
    return this.extra[0]!.forward(this.heads.get("out").forward(h));
  }
}

const bits = async (t: { data(): Promise<unknown> }) => Array.from(new Uint32Array(((await t.data()) as Float32Array).buffer.slice(0)));

describe.skipIf(!gpu)("Module.toAsync across devices (webgpu)", () => {
  it("webgpu -> cpu round trip keeps every parameter and buffer bit for bit", async () => {
    manualSeed(3);
    const model = new Net();
    model.extra[0]!.weight.requiresGrad_(false);
    const x = randn([5, 4]);
    model.forward(x); // update the BatchNorm running statistics once
    const before = Object.fromEntries(await Promise.all(Object.entries(model.stateDict()).map(async ([k, v]) => [k, await v.toArray()] as const)));
    const keys = Object.keys(before);

    expect(() => model.to("webgpu")).not.toThrow();
    expect(model.parameters().every((p) => p.device === "webgpu")).toBe(true);
    expect(model.buffers().every((b) => b.device === "webgpu")).toBe(true);
    // The synchronous move back is refused and changes nothing.
    expect(() => model.to("cpu")).toThrow(/toAsync/);
    expect(model.parameters().every((p) => p.device === "webgpu")).toBe(true);

    expect(await model.toAsync("cpu")).toBe(model);
    expect(Object.keys(model.stateDict())).toEqual(keys);
    for (const [k, v] of Object.entries(model.stateDict())) {
      expect(v.device, k).toBe("cpu");
      expect(await v.toArray(), k).toEqual(before[k]);
    }
    expect(model.parameters().every((p) => p instanceof nn.Parameter)).toBe(true);
    expect(model.extra[0]!.weight.requiresGrad).toBe(false);
    expect(model.blocks.at(0).parameters().every((p) => p.requiresGrad)).toBe(true);
    expect((model.blocks.at(1) as nn.BatchNorm1d).num_batches_tracked!.dtype).toBe("int32");
  });

  it("a forward pass on WebGPU brought back gives the CPU's bits (deterministic mode)", async () => {
    const { useDeterministicAlgorithms } = await import("lockstep");
    useDeterministicAlgorithms(true);
    try {
      manualSeed(5);
      const model = new Net().eval();
      const x = randn([3, 4]);
      const cpuOut = await bits(model.forward(x));
      await model.toAsync("webgpu");
      const gpuOut = model.forward(await x.toAsync("webgpu"));
      expect(await bits(gpuOut)).toEqual(cpuOut);
      await model.toAsync("cpu");
      expect(await bits(model.forward(x))).toEqual(cpuOut);
    } finally {
      useDeterministicAlgorithms(false);
    }
  });
});
