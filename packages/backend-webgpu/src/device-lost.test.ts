// What happens when the device goes away: the next use is a clear DeviceError, init() starts a
// new device, and tensors of the old one stay errors. In its own file (own process) because it
// destroys the device the other suites use.
import { DeviceError, tensor } from "@lockstep/core";
import { describe, expect, it } from "vitest";
import { destroy, getDevice, init, memory } from "./index.js";
import { available } from "./test-support/gpu.js";

describe.runIf(available)("a lost WebGPU device", () => {
  it("makes the next use a DeviceError, and init() starts a new device", async () => {
    const old = tensor([1, 2, 3]).to("webgpu");
    const device = getDevice();
    device.destroy(); // what a driver reset looks like to the page
    await device.lost;
    expect(() => old.exp()).toThrow(DeviceError);
    expect(() => old.exp()).toThrow(/device was lost.*init\(\)/);
    expect(() => tensor([1]).to("webgpu")).toThrow(/device was lost/);
    await expect(old.data()).rejects.toThrow(/device was lost/);

    await init();
    expect(getDevice()).not.toBe(device);
    const fresh = tensor([1, 2, 3]).to("webgpu");
    expect(Array.from(await fresh.add(1).data())).toEqual([2, 3, 4]);
    expect(() => old.exp()).toThrow(/lost or replaced/);
    await expect(old.data()).rejects.toThrow(/lost or replaced/);
    old.dispose(); // never throws
  });

  it("destroy() ends the device on purpose; init() recovers", async () => {
    const x = tensor([1]).to("webgpu");
    destroy();
    expect(() => x.neg()).toThrow(/destroyed by destroy\(\)/);
    expect(memory().tensors).toBeGreaterThanOrEqual(0);
    await init();
    expect(await tensor([4]).to("webgpu").sqrt().item()).toBe(2);
  });
});
