import { afterEach, describe, expect, it, vi } from "vitest";
import type { Backend, Storage } from "./backend.js";
import { allocateArray, type DataArray, type DType } from "./dtype.js";
import { DeterminismError, DeviceError, DisposedError, NotImplementedError } from "./errors.js";
import { useDeterministicAlgorithms, areDeterministicAlgorithmsEnabled, isDeterministicAlgorithmsWarnOnlyEnabled, setNumThreads, getNumThreads } from "./flags.js";
import { registerBackend, registerKernel, selectKernel, getBackend } from "./registry.js";
import { state } from "./state.js";
import { tensor } from "./creation.js";
import { scope } from "./scope.js";

// A tiny in-memory device whose kernels record which variant ran, to test kernel selection
// without a real backend.
interface FakeStorage extends Storage {
  data: DataArray;
}
const released: FakeStorage[] = [];
const fake: Backend<FakeStorage> = {
  device: "fake",
  allocate: (dtype: DType, length: number) => ({ device: "fake", dtype, length, data: allocateArray(dtype, length) }),
  upload: (data: DataArray, dtype: DType) => ({ device: "fake", dtype, length: data.length, data: data.slice() }),
  write: (s, data) => s.data.set(data),
  read: async (s) => s.data.slice(),
  release: (s) => void released.push(s),
};
registerBackend(fake);

let ran: string[] = [];
registerKernel<"neg", FakeStorage>({
  op: "neg", device: "fake", deterministic: true, batchInvariant: true,
  run: ([x], [out]) => { ran.push("invariant"); out!.storage.data.set(x!.storage.data.map((v: number) => -v)); },
});
registerKernel<"neg", FakeStorage>({
  op: "neg", device: "fake", deterministic: true, batchInvariant: false,
  run: ([x], [out]) => { ran.push("fast"); out!.storage.data.set(x!.storage.data.map((v: number) => -v)); },
});
registerKernel<"exp", FakeStorage>({
  op: "exp", device: "fake", deterministic: false, batchInvariant: false,
  run: ([x], [out]) => { ran.push("fast-only"); out!.storage.data.set(x!.storage.data.map(Math.exp)); },
});

afterEach(() => {
  useDeterministicAlgorithms(false);
  state.warned.clear();
  ran = [];
});

describe("kernel selection follows the deterministic flag", () => {
  it("uses the fast kernel with the flag off and the invariant one with it on", () => {
    const x = tensor([1, 2], { device: "fake" });
    x.neg();
    useDeterministicAlgorithms(true);
    x.neg();
    expect(ran).toEqual(["fast", "invariant"]);
  });

  it("throws a DeterminismError naming op, device and warnOnly when no invariant kernel exists", () => {
    const x = tensor([1, 2], { device: "fake" });
    useDeterministicAlgorithms(true);
    expect(() => x.exp()).toThrow(DeterminismError);
    expect(() => x.exp()).toThrow(/exp on device 'fake' does not have a deterministic implementation.*warnOnly/);
    expect(ran).toEqual([]);
  });

  it("with warnOnly warns once per op and runs the fast kernel", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const x = tensor([1, 2], { device: "fake" });
    useDeterministicAlgorithms(true, { warnOnly: true });
    expect(isDeterministicAlgorithmsWarnOnlyEnabled()).toBe(true);
    x.exp();
    x.exp();
    expect(ran).toEqual(["fast-only", "fast-only"]);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toMatch(/exp on device 'fake'/);
    warn.mockRestore();
  });

  it("reports a missing kernel and a missing backend by name", () => {
    const x = tensor([1, 2], { device: "fake" });
    expect(() => x.log()).toThrow(NotImplementedError);
    expect(() => x.log()).toThrow("'log' has no kernel on device 'fake'");
    expect(() => getBackend("tpu")).toThrow(DeviceError);
    expect(() => getBackend("tpu")).toThrow(/no backend is registered for device 'tpu'/);
    expect(() => selectKernel("sqrt", "fake")).toThrow(NotImplementedError);
  });

  it("flag getters reflect the setter", () => {
    expect(areDeterministicAlgorithmsEnabled()).toBe(false);
    useDeterministicAlgorithms(true);
    expect(areDeterministicAlgorithmsEnabled()).toBe(true);
    expect(isDeterministicAlgorithmsWarnOnlyEnabled()).toBe(false);
    const before = getNumThreads();
    setNumThreads(3);
    expect(getNumThreads()).toBe(3);
    expect(() => setNumThreads(0)).toThrow("setNumThreads expects a positive integer, got 0");
    expect(getNumThreads()).toBe(3);
    setNumThreads(before);
  });
});

describe("tensor lifetime", () => {
  it("releases storage once every view is disposed, and refuses to read a disposed tensor", async () => {
    released.length = 0;
    const x = tensor([1, 2, 3, 4], { device: "fake" });
    const v = x.reshape(2, 2);
    x.dispose();
    expect(released).toHaveLength(0);
    expect(await v.toArray()).toEqual([[1, 2], [3, 4]]);
    v.dispose();
    expect(released).toHaveLength(1);
    await expect(x.data()).rejects.toThrow(DisposedError);
    expect(() => x.neg()).toThrow(/was disposed/);
  });

  it("scope disposes what was created inside except what it returns, also across await", async () => {
    const outside = tensor([1], { device: "fake" });
    let inner: ReturnType<typeof tensor> | undefined;
    const kept = await scope(async () => {
      inner = outside.neg();
      await Promise.resolve();
      return { result: inner.neg() };
    });
    expect(inner!.isDisposed).toBe(true);
    expect(kept.result.isDisposed).toBe(false);
    expect(outside.isDisposed).toBe(false);
  });

  it("dataSync on a device without synchronous reads names the device", () => {
    const x = tensor([1], { device: "fake" });
    expect(() => x.dataSync()).toThrow(DeviceError);
    expect(() => x.dataSync()).toThrow(/dataSync\(\) is not available for tensors on 'fake'/);
  });
});
