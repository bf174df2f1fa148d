// @lockstep/backend-webgpu: Lockstep's WGSL kernels for device "webgpu". Importing this module
// registers nothing (a GPU device can only be had asynchronously); `await init()` finds an
// adapter (navigator.gpu in browsers, the `webgpu` package — Dawn — in Node), requests a
// device, registers the backend and every kernel, and runs the CPU ≡ GPU self-test.
//
//   import * as webgpu from "@lockstep/backend-webgpu";
//   await webgpu.init();
//   const y = tensor([1, 2, 3]).to("webgpu").exp();
//   console.log(await y.data());
// Declares the GPU* names the public types use, without @webgpu/types (see gpu-globals.ts).
import "./gpu-globals.js";
import {
  BINARY_OPS,
  DeviceError,
  REDUCE_OPS,
  UNARY_OPS,
  registerBackend,
  registerKernel,
  type KernelFn,
  type MemoryInfo,
  type Primitive,
} from "@lockstep/core";
import { webgpuBackend, type WebGPUStorage } from "./backend.js";
import {
  findAdapter,
  peekContext,
  requestDevice,
  setContext,
  type AdapterInfo,
  type InitOptions,
} from "./device.js";
import { DETERMINISTIC_BINARY_OPS, DETERMINISTIC_UNARY_OPS } from "./detmath.js";
import { binaryKernel, castKernel, copyKernel, unaryKernel, whereKernel } from "./elementwise.js";
import { catKernel, gatherKernel, indexSelectKernel, scatterKernel } from "./indexing.js";
import { crossEntropyBackwardKernel, crossEntropyKernel } from "./losses.js";
import { linearKernel, matmulKernel } from "./matmul.js";
import { adamUpdateKernel, sgdUpdateKernel } from "./optimizers.js";
import { extremumKernel, reduceKernel } from "./reduce.js";
import { runSelfTest } from "./selftest.js";

export { webgpuBackend, type WebGPUStorage, type WebGPUView } from "./backend.js";
export type { AdapterInfo, InitOptions, SelfTestResult } from "./device.js";

/** GPU memory as the pool sees it: `bytesInUse`, `bytesPooled`, `tensors` (core's `memory("webgpu")`). */
export type { MemoryInfo } from "@lockstep/core";

/** What the initialised device supports, from `capabilities()`. */
export interface Capabilities {
  /** Always "webgpu". */
  device: "webgpu";
  /** dtypes a webgpu tensor may have (float64 is CPU-only). */
  dtypes: readonly ("float32" | "int32" | "bool")[];
  /** Largest tensor in elements: maxStorageBufferBindingSize / 4. */
  maxElements: number;
  /** The adapter's limit on one bound buffer, in bytes (the largest tensor). */
  maxStorageBufferBindingSize: number;
  /** The adapter's limit on one buffer, in bytes. */
  maxBufferSize: number;
  /** Workgroups per dispatch dimension; larger launches use a 2-D grid. */
  maxComputeWorkgroupsPerDimension: number;
  /** With useDeterministicAlgorithms(true) every kernel is deterministic and batch invariant. */
  deterministic: true;
  /**
   * Whether the start-up self-test found this adapter's deterministic kernels bitwise equal to the
   * CPU backend's (CPU ≡ GPU): matmul, sum, subnormals, every deterministic math function, and a
   * tiny MLP's forward and backward.
   */
  bitwiseMatchesCpu: boolean;
  /** What differed, one line per check; empty when `bitwiseMatchesCpu`. */
  differences: readonly string[];
  /** The whole self-test report. */
  selfTest: AdapterInfo["selfTest"];
}

const DEFAULT_MAX_POOLED_BYTES = 256 * 1024 * 1024;

/**
 * A kernel that gives the CPU's deterministic bits: one fixed order per output element and, for
 * float32 transcendentals and division, the shared + − × library (detmath.ts).
 */
function invariant<P extends Primitive>(op: P, run: KernelFn<P, WebGPUStorage>): void {
  registerKernel({ op, device: "webgpu", deterministic: true, batchInvariant: true, run });
}

/**
 * A builtin-based kernel: batch invariant and reproducible on one adapter, but its bits depend on
 * the adapter's builtins. The flag off prefers it; the flag on uses the twin registered beside it.
 */
function fastOnly<P extends Primitive>(op: P, run: KernelFn<P, WebGPUStorage>): void {
  registerKernel({ op, device: "webgpu", deterministic: false, batchInvariant: true, run });
}

function registerKernels(): void {
  registerBackend(webgpuBackend);
  for (const op of UNARY_OPS) {
    invariant(op, unaryKernel(op, true));
    if (DETERMINISTIC_UNARY_OPS.includes(op)) fastOnly(op, unaryKernel(op, false));
  }
  for (const op of BINARY_OPS) {
    invariant(op, binaryKernel(op, true));
    if (DETERMINISTIC_BINARY_OPS.includes(op)) fastOnly(op, binaryKernel(op, false));
  }
  for (const op of REDUCE_OPS) invariant(op, reduceKernel(op));
  invariant("maxDim", extremumKernel("maxDim"));
  invariant("minDim", extremumKernel("minDim"));
  invariant("where", whereKernel);
  invariant("cast", castKernel);
  invariant("copy", copyKernel);
  invariant("matmul", matmulKernel);
  invariant("linear", linearKernel);
  invariant("cat", catKernel);
  invariant("indexSelect", indexSelectKernel);
  invariant("gather", gatherKernel);
  invariant("scatter", scatterKernel);
  // The unfused sequence's bits in either mode: the mode is an attribute (see core's ops/optim.ts).
  invariant("sgdUpdate", sgdUpdateKernel);
  invariant("adamUpdate", adamUpdateKernel);
  // The unfused sequence's bits in either mode, like the optimizers: the mode is an attribute.
  invariant("crossEntropy", crossEntropyKernel);
  invariant("crossEntropyBackward", crossEntropyBackwardKernel);
}

let adapterInfo: AdapterInfo | undefined;
let starting: Promise<AdapterInfo> | undefined;

/** True when `init()` would find an adapter (it is not started by this call). */
export async function isAvailable(options: InitOptions = {}): Promise<boolean> {
  const ctx = peekContext();
  if (ctx !== undefined && ctx.lost === undefined) return true;
  return "adapter" in (await findAdapter(options));
}

/**
 * Requests an adapter and device, registers the "webgpu" backend and its kernels, and runs the
 * self-test. Resolves with the adapter's description; calling it again returns the same one
 * unless the device was lost or destroyed, in which case it starts a new device.
 * Throws a DeviceError saying how to get an adapter when there is none.
 */
export function init(options: InitOptions = {}): Promise<AdapterInfo> {
  const ctx = peekContext();
  if (ctx !== undefined && ctx.lost === undefined && adapterInfo !== undefined) return Promise.resolve(adapterInfo);
  starting ??= start(options).finally(() => {
    starting = undefined;
  });
  return starting;
}

function text(value: unknown): string {
  return typeof value === "string" ? value : "";
}

async function start(options: InitOptions): Promise<AdapterInfo> {
  adapterInfo = undefined;
  let device: GPUDevice;
  let info: GPUAdapterInfo | undefined;
  let source: AdapterInfo["source"];
  if (options.device !== undefined) {
    device = options.device;
    info = (device as { adapterInfo?: GPUAdapterInfo }).adapterInfo;
    source = "provided device";
  } else {
    const found = await findAdapter(options);
    if ("reason" in found) throw new DeviceError(found.reason);
    try {
      device = await requestDevice(found.adapter);
    } catch (error) {
      throw new DeviceError(`the WebGPU adapter refused a device: ${error instanceof Error ? error.message : String(error)}`);
    }
    info = found.adapter.info;
    source = found.source;
  }
  const description = {
    vendor: text(info?.vendor),
    architecture: text(info?.architecture),
    device: text(info?.device),
    description: text(info?.description),
    source,
  };
  setContext(device, description, options.maxPooledBytes ?? DEFAULT_MAX_POOLED_BYTES);
  registerKernels();
  const selfTest = await runSelfTest();
  if (!selfTest.bitwiseMatchesCpu) {
    console.warn(
      `lockstep: on this WebGPU adapter (${description.vendor} ${description.architecture} ${description.description}) ` +
        "the deterministic kernels do not match the CPU backend bit for bit (the driver may fuse, reorder or flush " +
        "arithmetic); results stay deterministic on this device, but CPU and WebGPU will differ:\n  " +
        selfTest.differences.join("\n  "),
    );
  }
  adapterInfo = { ...description, selfTest };
  return adapterInfo;
}

/** Bytes in use and pooled; zeros before `init()`. The same as core's `memory("webgpu")`. */
export function memory(): MemoryInfo {
  return webgpuBackend.memory!();
}

/** What the initialised device supports. */
export function capabilities(): Capabilities {
  const ctx = peekContext();
  if (ctx === undefined || adapterInfo === undefined) {
    throw new DeviceError("the WebGPU backend is not initialised: call `await init()` first");
  }
  ctx.assertUsable();
  const limits = ctx.limits;
  return {
    device: "webgpu",
    dtypes: ["float32", "int32", "bool"],
    maxElements: Math.floor(limits.maxStorageBufferBindingSize / 4),
    maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
    maxBufferSize: limits.maxBufferSize,
    maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
    deterministic: true,
    bitwiseMatchesCpu: adapterInfo.selfTest.bitwiseMatchesCpu,
    differences: adapterInfo.selfTest.differences,
    selfTest: adapterInfo.selfTest,
  };
}

/** Submits recorded work and destroys the pooled (free) buffers. Live tensors are untouched. */
export function emptyCache(): void {
  const ctx = peekContext();
  if (ctx === undefined || ctx.lost !== undefined) return;
  ctx.batch.submit();
  ctx.pool.emptyFree();
}

/**
 * Destroys the device (also one passed to `init({ device })`): every webgpu tensor becomes
 * unusable, and the next `init()` starts a new device.
 */
export function destroy(): void {
  const ctx = peekContext();
  if (ctx === undefined || ctx.lost !== undefined) return;
  ctx.batch.submit();
  ctx.lost = "it was destroyed by destroy()";
  ctx.pool.emptyFree();
  ctx.device.destroy();
}

/** The GPUDevice kernels run on, for interop (sharing buffers with other WebGPU code). */
export function getDevice(): GPUDevice {
  const ctx = peekContext();
  if (ctx === undefined) throw new DeviceError("the WebGPU backend is not initialised: call `await init()` first");
  ctx.assertUsable();
  return ctx.device;
}

/** The API as one object, for `import { webgpu } from "@lockstep/backend-webgpu"`. */
export const webgpu = { isAvailable, init, memory, capabilities, emptyCache, destroy, getDevice } as const;
