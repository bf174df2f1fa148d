// The discrepancy doctor's device row: CPU against WebGPU, for a model that lives on the CPU and for
// one that lives on WebGPU (whose copies come back to the CPU asynchronously). With the flag on and
// an adapter whose start-up self-test passed, the device row is exactly zero; the model's tensors
// are the same objects on the same device with the same bits afterwards. A model and an input on
// different devices are refused with both devices named.
import { DeviceError, manualSeed, nn, randn, useDeterministicAlgorithms, webgpu, type Tensor } from "lockstep";
import { afterAll, describe, expect, it } from "vitest";
import { devices } from "./devices.js";

const hasWebGPU = devices.includes("webgpu");
if (!hasWebGPU) console.info("discrepancy-devices: skipped, no WebGPU adapter (set REQUIRE_WEBGPU=1 to make that an error)");

function mlp(): nn.Sequential {
  return new nn.Sequential(new nn.Linear(20, 32), new nn.ReLU(), new nn.Dropout(0.25), new nn.Linear(32, 4));
}

async function snapshot(model: nn.Module): Promise<{ objects: Tensor[]; bits: number[][]; devices: string[] }> {
  const objects = [...model.parameters(), ...model.buffers()];
  const bits = await Promise.all(objects.map(async (t) => Array.from(new Uint32Array(Float32Array.from((await t.data()) as Float32Array).buffer))));
  return { objects, bits, devices: objects.map((t) => t.device) };
}

async function expectUnchanged(model: nn.Module, before: Awaited<ReturnType<typeof snapshot>>): Promise<void> {
  const after = await snapshot(model);
  expect(after.devices).toEqual(before.devices);
  expect(after.bits).toEqual(before.bits);
  after.objects.forEach((t, i) => expect(t).toBe(before.objects[i]));
}

describe.runIf(hasWebGPU)("explainDiscrepancy across devices", () => {
  afterAll(() => useDeterministicAlgorithms(false));

  it("a CPU model against WebGPU: the device row is zero with the flag on, and the model stays on the CPU", async () => {
    const selfTestPassed = webgpu.capabilities().bitwiseMatchesCpu;
    manualSeed(0);
    const model = mlp();
    const x = randn([8, 20]);
    const before = await snapshot(model);
    const report = await nn.utils.explainDiscrepancy(model, x, { trainBatch: 8, evalBatch: 1, devices: ["cpu", "webgpu"] });
    const device = report.sources.find((r) => r.source === "device")!;
    expect(device.effect).toBe("measured");
    expect(device.compares).toBe("cpu vs webgpu, batch 1, eval()");
    expect(device.flagOff).not.toBeNull();
    if (selfTestPassed) expect(device.flagOn!.differingElements).toBe(0);
    else console.info("discrepancy-devices: the adapter failed Lockstep's self-test; the flag-on device row is not checked");
    expect(report.settings.devices).toEqual(["cpu", "webgpu"]);
    // The mode row is measured on the input's device; dropout makes it non-zero.
    expect(report.sources.find((r) => r.source === "mode")!.flagOn!.differingElements).toBeGreaterThan(0);
    await expectUnchanged(model, before);
  });

  it("the device alone (tanh: V8's Math.tanh against the GPU's builtin with the flag off) shows in the device row only", async () => {
    manualSeed(2);
    const model = new nn.Sequential(new nn.Tanh(), new nn.Tanh());
    const report = await nn.utils.explainDiscrepancy(model, randn([8, 6]).mul(2), { trainBatch: 8, devices: ["cpu", "webgpu"] });
    const byName = Object.fromEntries(report.sources.map((r) => [r.source, r]));
    expect(byName.device!.flagOff!.differingElements).toBeGreaterThan(0);
    if (webgpu.capabilities().bitwiseMatchesCpu) expect(byName.device!.flagOn!.differingElements).toBe(0);
    for (const source of ["mode", "batchStats", "kernels", "threads"]) {
      expect(byName[source]!.flagOff!.differingElements, source).toBe(0);
      expect(byName[source]!.flagOn!.differingElements, source).toBe(0);
    }
  });

  it("a WebGPU model against the CPU: the threads row does not apply, the device row is zero with the flag on", async () => {
    manualSeed(1);
    const model = mlp().to("webgpu");
    const x = randn([4, 20]).to("webgpu");
    const before = await snapshot(model);
    const report = await nn.utils.explainDiscrepancy(model, x, { trainBatch: 4, devices: ["webgpu", "cpu"], flags: [true] });
    const byName = Object.fromEntries(report.sources.map((r) => [r.source, r]));
    expect(byName.threads!.effect).toBe("absent");
    expect(byName.threads!.note).toMatch(/only affects CPU kernels; the input is on webgpu/);
    if (webgpu.capabilities().bitwiseMatchesCpu) expect(byName.device!.flagOn!.differingElements).toBe(0);
    expect(byName.kernels!.flagOn!.differingElements).toBe(0);
    await expectUnchanged(model, before);
  });

  it("a model on the CPU and an input on WebGPU are refused, naming both devices", async () => {
    const model = mlp();
    const x = randn([2, 20]).to("webgpu");
    await expect(nn.utils.explainDiscrepancy(model, x)).rejects.toThrow(DeviceError);
    await expect(nn.utils.explainDiscrepancy(model, x)).rejects.toThrow("the model is on cpu ('0.weight') but the input is on webgpu");
  });
});
