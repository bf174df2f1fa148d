// The package API and the Backend contract on a real adapter: init, memory, capabilities,
// reading, and errors that name what went wrong. (Memory has its own file: memory.test.ts.)
import {
  DTypeError,
  DeviceError,
  DisposedError,
  getBackend,
  listKernels,
  tensor,
  useDeterministicAlgorithms,
  zeros,
} from "@lockstep/core";
import { afterEach, describe, expect, it } from "vitest";
import { DETERMINISTIC_BINARY_OPS, DETERMINISTIC_UNARY_OPS } from "./detmath.js";
import { capabilities, init, isAvailable, webgpuBackend } from "./index.js";
import { adapterInfo, available, cpu } from "./test-support/gpu.js";

afterEach(() => useDeterministicAlgorithms(false));

describe.runIf(available)("starting the webgpu backend", () => {
  it("init() describes the adapter and returns the same answer when called again", async () => {
    expect(adapterInfo!.source).toMatch(/navigator.gpu|Dawn/);
    expect(typeof adapterInfo!.description).toBe("string");
    expect(await init()).toBe(adapterInfo);
    expect(await isAvailable()).toBe(true);
  });

  it("registers a deterministic, batch-invariant kernel for every primitive, and fast twins where the CPU has them", () => {
    const cpu = listKernels().filter((k) => k.device === "cpu");
    const gpu = listKernels().filter((k) => k.device === "webgpu");
    const invariant = (k: { deterministic: boolean; batchInvariant: boolean }) => k.deterministic && k.batchInvariant;
    expect(new Set(gpu.filter(invariant).map((k) => k.op))).toEqual(new Set(cpu.map((k) => k.op)));
    expect(gpu.every((k) => k.batchInvariant)).toBe(true);
    // Builtin-based math for the flag off: the ops whose deterministic kernels use detmath.
    const fast = gpu.filter((k) => !k.deterministic).map((k) => k.op).sort();
    expect(fast).toEqual([...DETERMINISTIC_UNARY_OPS, ...DETERMINISTIC_BINARY_OPS].sort());
    expect(fast).toEqual(expect.arrayContaining(["exp", "log", "tanh", "erf", "sigmoid", "gelu", "rsqrt", "div"]));
  });

  it("the self-test finds CPU ≡ GPU on this adapter and says what it checked", () => {
    const caps = capabilities();
    expect(caps.differences).toEqual([]);
    expect(caps.bitwiseMatchesCpu).toBe(true);
    expect(caps.selfTest.checks).toEqual(
      expect.arrayContaining(["matmul", "sum", "subnormals", "exp", "log", "sqrt", "rsqrt", "sigmoid", "tanh", "erf", "gelu", "geluTanh", "div", "pow"]),
    );
    // This package's tests load no autograd: the MLP runs forward only, and the report says so.
    expect(caps.selfTest.checks).toContain("MLP forward");
    expect(caps.selfTest.skipped.join(" ")).toMatch(/autograd/);
    console.info(`webgpu self-test: ${JSON.stringify(caps.selfTest)}`);
  });

  it("capabilities() names the dtypes and the size limits", () => {
    const caps = capabilities();
    expect(caps.dtypes).toEqual(["float32", "int32", "bool"]);
    expect(caps.maxElements).toBe(Math.floor(caps.maxStorageBufferBindingSize / 4));
    expect(caps.maxComputeWorkgroupsPerDimension).toBeGreaterThanOrEqual(65535);
  });

  it("runs with useDeterministicAlgorithms(true)", async () => {
    useDeterministicAlgorithms(true);
    const x = tensor([[1, 2], [3, 4]], { device: "webgpu" });
    expect(Array.from(await x.matmul(x).exp().sum(1).log().data())).toHaveLength(2);
  });
});

describe.runIf(available)("moving and reading webgpu tensors", () => {
  it("t.to('webgpu') and await t.toAsync('cpu') round trip every dtype", async () => {
    for (const t of [cpu([1.5, -0, NaN, 3e38], [2, 2]), cpu([-7, 2147483647], [2], "int32"), cpu([1, 0, 1], [3], "bool")]) {
      const gpu = t.to("webgpu");
      expect(gpu.device).toBe("webgpu");
      expect(gpu.dtype).toBe(t.dtype);
      const back = await gpu.toAsync("cpu");
      expect(back.device).toBe("cpu");
      expect(back.shape).toEqual(t.shape);
      expect(Array.from(back.dataSync())).toEqual(Array.from(t.dataSync()));
    }
    expect(await tensor([true, false]).to("webgpu").toArray()).toEqual([true, false]);
    expect(await tensor([[1, 2]], { device: "webgpu" }).toArray()).toEqual([[1, 2]]);
  });

  it("reads views: a transposed slice reads back in logical order", async () => {
    const x = tensor([[1, 2, 3], [4, 5, 6]]).to("webgpu");
    expect(Array.from(await x.t().narrow(0, 1, 2).data())).toEqual([2, 5, 3, 6]);
    expect(await x.sum().item()).toBe(21);
  });

  it("dataSync() throws a clear error; t.to('cpu') points to toAsync", () => {
    const x = tensor([1, 2]).to("webgpu");
    expect(() => x.dataSync()).toThrow(DeviceError);
    expect(() => x.dataSync()).toThrow(/dataSync\(\) is not available for tensors on 'webgpu'.*await t\.data\(\)/);
    expect(() => x.to("cpu")).toThrow(/toAsync/);
    expect(webgpuBackend.readSync).toBeUndefined();
  });

  it("a disposed tensor cannot be read", async () => {
    const x = tensor([1, 2]).to("webgpu");
    x.dispose();
    await expect(x.data()).rejects.toThrow(DisposedError);
    expect(() => x.exp()).toThrow(DisposedError);
  });

  it("mixing devices is an error naming both", () => {
    const a = tensor([1, 2]);
    const b = tensor([1, 2]).to("webgpu");
    expect(() => a.add(b)).toThrow(DeviceError);
    expect(() => a.add(b)).toThrow(/cpu and webgpu/);
    expect(() => b.matmul(a)).toThrow(/webgpu and cpu/);
  });

  it("float64 is refused with the dtype and the device named", () => {
    const x = tensor([1, 2], { dtype: "float64" });
    expect(() => x.to("webgpu")).toThrow(DTypeError);
    expect(() => x.to("webgpu")).toThrow(/float64 is not supported on webgpu/);
    expect(() => tensor([1], { device: "webgpu" }).to("float64")).toThrow(/float64 is not supported on webgpu/);
  });

  it("a tensor larger than maxStorageBufferBindingSize is a clear error", () => {
    const elements = capabilities().maxElements + 1;
    expect(() => webgpuBackend.allocate("float32", elements)).toThrow(/maxStorageBufferBindingSize/);
  });

  it("a dispatch wider than maxComputeWorkgroupsPerDimension uses a 2-D grid", async () => {
    const n = 65535 * 64 + 1000;
    const x = zeros([n], { device: "webgpu" }).add(1);
    const y = x.add(x).mul(x);
    const data = await y.data();
    expect(data.length).toBe(n);
    expect(data[0]).toBe(2);
    expect(data[n - 1]).toBe(2);
    expect(data.every((v) => v === 2)).toBe(true);
    for (const t of [x, y]) t.dispose();
  });

  it("write() after recorded kernels lands after them", async () => {
    const x = tensor([1, 2, 3]).to("webgpu");
    const doubled = x.mul(2); // recorded, not yet submitted
    getBackend("webgpu").write(x.storageView.storage, new Float32Array([10, 20, 30]));
    expect(Array.from(await doubled.data())).toEqual([2, 4, 6]);
    expect(Array.from(await x.data())).toEqual([10, 20, 30]);
  });
});
