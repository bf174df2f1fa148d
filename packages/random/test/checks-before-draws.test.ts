// Random creation ops allocate their output before the first draw, so the device, the dtype on
// that device, the size, requiresGrad and the options are all checked while the generator is
// untouched: a rejected call leaves getRngState() (and a given generator's state) as it was.
import { describe, expect, it } from "vitest";
import { DTypeError, DeviceError, LockstepTypeError, ValueError, registerBackend, state, type Backend, type DType, type DataArray, type Storage } from "@lockstep/core";
import { Generator, bernoulli, dropoutMask, getRngState, manualSeed, rand, randint, randn, randperm } from "../src/index.js";
import { useHostBackend } from "./support/host-backend.js";

useHostBackend();

// A device without float64, as webgpu: its allocate() refuses the dtype.
if (!state.backends.has("nof64")) {
  const backend: Backend<Storage & { data: DataArray }> = {
    device: "nof64",
    allocate(dtype: DType, length: number) {
      if (dtype === "float64") throw new DTypeError("float64 is not supported on nof64");
      return { device: "nof64", dtype, length, data: new Float32Array(length) };
    },
    upload(data: DataArray, dtype: DType) {
      return backend.allocate(dtype, data.length);
    },
    write() {},
    async read(storage) {
      return storage.data.slice();
    },
    release() {},
  };
  registerBackend(backend);
}

function expectNoDraw(call: () => unknown, type: new (...args: never[]) => Error, message: RegExp): void {
  manualSeed(5);
  rand([3]);
  const before = getRngState();
  expect(call).toThrow(type);
  expect(call).toThrow(message);
  expect(getRngState()).toEqual(before);
}

describe("random creation ops check everything before the first draw", () => {
  it.each([
    ["rand on an unregistered device", () => rand([2], { device: "tpu" }), DeviceError, /no backend is registered for device 'tpu'/],
    ["randn of float64 on a device without it", () => randn([20], { dtype: "float64", device: "nof64" }), DTypeError, /float64 is not supported on nof64/],
    ["randperm on an unregistered device", () => randperm(4, { device: "tpu" }), DeviceError, /'tpu'/],
    ["randint with requiresGrad", () => randint(0, 3, [2], { requiresGrad: true }), DTypeError, /only Tensors of floating point dtype can require gradients \(got int32\)/],
    ["rand with requiresGrad 1", () => rand([2], { requiresGrad: 1 as never }), LockstepTypeError, /argument 'requiresGrad' must be bool, not int 1/],
    ["randn with device 0", () => randn([2], { device: 0 as never }), LockstepTypeError, /argument 'device' must be str .*not int 0/],
    ["rand with an unknown option", () => rand([2], { dtpye: "float64" } as never), LockstepTypeError, /rand\(\) got an unexpected keyword argument 'dtpye'/],
    ["rand with options null", () => rand([2], null as never), LockstepTypeError, /options must be a plain object.*null/],
    ["randn with a string size", () => randn([2, "3"] as never), ValueError, /got \[2, "3"\]/],
    ["randint with a string bound", () => randint(0, "3" as never, [2]), ValueError, /high must be an integer .*got "3"/],
    ["randperm of 2.5", () => randperm(2.5), ValueError, /got 2.5/],
    ["rand too large", () => rand([2 ** 16, 2 ** 16]), ValueError, /more than 2\^31 - 1/],
    ["dropoutMask on an unregistered device", () => dropoutMask([4], 0.5, { device: "tpu" }), DeviceError, /'tpu'/],
    ["bernoulli of a non-tensor", () => bernoulli([0.5] as never), ValueError, /probs must be a Tensor, got \[0.5\]/],
  ] as const)("%s", (_, call, type, message) => {
    expectNoDraw(call, type, message);
  });

  it("a given generator is left as it was too", () => {
    const generator = new Generator().manualSeed(9);
    const before = generator.getState();
    expect(() => rand([2], { generator, device: "tpu" })).toThrow(DeviceError);
    expect(() => randn([20], { generator, dtype: "float64", device: "nof64" })).toThrow(DTypeError);
    expect(generator.getState()).toEqual(before);
  });

  it("accepted calls draw as before: requiresGrad and the device do not change the stream", () => {
    manualSeed(3);
    const a = rand([4]).dataSync();
    manualSeed(3);
    const b = rand([4], { requiresGrad: true });
    expect(b.requiresGrad).toBe(true);
    expect(b.dataSync()).toEqual(a);
  });
});
