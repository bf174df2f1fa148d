// DataLoader and checkpoints on every device: a TensorDataset of device tensors gives the same
// batches (and consumes the same draws) as on the CPU, and a checkpoint of device tensors loads back
// with the same bits.
import { data, loadBytes, manualSeed, rand, randn, saveBytes, tensor, type Tensor } from "lockstep";
import { describe, expect, it } from "vitest";
import { devices } from "./devices.js";

const bits = async (t: Tensor) => Array.from(new Uint32Array(Float32Array.from(await t.data()).buffer));

describe.each(devices)("%s", (device) => {
  it("a shuffled DataLoader over device tensors gives the CPU's batches", async () => {
    manualSeed(3);
    const x = randn([10, 3]);
    const y = tensor(Int32Array.from({ length: 10 }, (_, i) => i));
    const cpu = [...new data.DataLoader(new data.TensorDataset(x, y), { batchSize: 4, shuffle: true })];
    const cpuTail = await rand([2]).data();
    manualSeed(3);
    randn([10, 3]);
    const onDevice = new data.DataLoader(new data.TensorDataset(x.to(device), y.to(device)), { batchSize: 4, shuffle: true });
    const batches: Tensor[][] = [];
    for await (const batch of onDevice) batches.push(batch);
    expect(Array.from(await rand([2]).data())).toEqual(Array.from(cpuTail));
    expect(batches.length).toBe(cpu.length);
    for (let i = 0; i < cpu.length; i++) {
      expect(batches[i]![0]!.device).toBe(device);
      expect(await bits(batches[i]![0]!)).toEqual(await bits(cpu[i]![0]!));
      expect(Array.from(await batches[i]![1]!.data())).toEqual(Array.from(await cpu[i]![1]!.data()));
    }
  });

  it("a checkpoint of device tensors loads back on the device with the same bits", async () => {
    manualSeed(4);
    const w = randn([5, 2]).to(device);
    const back = await loadBytes<{ nested: { w: Tensor }; n: number }>(await saveBytes({ nested: { w }, n: 3 }), { device });
    expect(back.nested.w.device).toBe(device);
    expect(await bits(back.nested.w)).toEqual(await bits(w));
    expect(back.n).toBe(3);
  });
});
