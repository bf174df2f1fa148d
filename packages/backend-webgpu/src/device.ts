// Finding a WebGPU adapter and device, in browsers (navigator.gpu) and in Node (the `webgpu`
// package, Dawn), and the one live context kernels run on: device, limits, buffer pool, command
// batch, pipeline cache, and what happened to the device (lost, validation errors).
// Not here: the Backend contract (backend.ts) and shader code (program.ts and the kernel files).
import { DeviceError } from "@lockstep/core";
import { BufferPool, CommandBatch, InfoArena, Usage } from "./buffers.js";

/** Size of the index-error record: count, op, index, size, dim (u32 each), padded. */
export const INDEX_ERROR_BYTES = 32;

/** Metadata one command batch may hold (64 dispatches of up to 1 KiB each). */
const INFO_ARENA_BYTES = 64 * 1024;
/** The most metadata one dispatch may have: 1024 u32 (shapes and strides of rank ~200). */
export const INFO_WINDOW_BYTES = 4096;

/** Options of `init()` and `isAvailable()`. */
export interface InitOptions {
  /** Passed to `requestAdapter`. */
  powerPreference?: "low-power" | "high-performance";
  /** Passed to `requestAdapter`: ask for a software adapter. */
  forceFallbackAdapter?: boolean;
  /** Node only: options for Dawn's `create()`, e.g. `["backend=vulkan"]`. */
  dawnOptions?: string[];
  /** Use this device (one the application already made) instead of requesting one. */
  device?: GPUDevice;
  /** Free pooled buffers above this many bytes are destroyed rather than kept (default 256 MiB). */
  maxPooledBytes?: number;
}

/** What `init()` reports about the adapter it found. */
export interface AdapterInfo {
  /** The adapter's vendor, e.g. "mesa" or "nvidia" (empty when the browser hides it). */
  vendor: string;
  /** The GPU family, e.g. "software" for lavapipe. */
  architecture: string;
  /** The adapter's device name, when known. */
  device: string;
  /** A readable description, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)". */
  description: string;
  /** Where the adapter came from: the browser's `navigator.gpu` or Dawn through the `webgpu` package. */
  source: "navigator.gpu" | "webgpu (Dawn)" | "provided device";
  /** Results of the start-up check that GPU arithmetic matches the CPU backend bit for bit. */
  selfTest: SelfTestResult;
}

/**
 * The start-up self-test's report (`capabilities().selfTest`): whether this adapter gives the CPU
 * backend's bits with the flag on, check by check.
 */
export interface SelfTestResult {
  /**
   * With useDeterministicAlgorithms(true), this adapter gave the CPU backend's bits on every check:
   * matmul, sum, subnormals, each deterministic math function, a tiny MLP's loss and gradients.
   */
  bitwiseMatchesCpu: boolean;
  /** One line per check that differed, naming the values; empty when `bitwiseMatchesCpu`. */
  differences: string[];
  /** The checks that ran ("matmul", "exp", …, "MLP forward/backward"). */
  checks: string[];
  /** Checks that could not run, and why (no CPU backend registered, no autograd). */
  skipped: string[];
  /** A float32 matmul equals the CPU's sequential `fround(acc + fround(a*b))` sum bit for bit. */
  matmul: boolean;
  /** A float32 sum equals the CPU's sequential `fround(acc + v)` sum bit for bit. */
  sum: boolean;
  /** Subnormal float32 values survive arithmetic (some drivers flush them to zero). */
  subnormals: boolean;
  /** How long the self-test took, in milliseconds (most of it compiling the kernels it uses). */
  milliseconds: number;
}

const DAWN_MODULE = "webgpu";

const LINUX_HINT =
  "On Linux without a GPU, install Mesa's software Vulkan driver (lavapipe) from Debian bookworm-backports: " +
  "`echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/bookworm-backports.list && " +
  "apt-get update && apt-get install -y -t bookworm-backports mesa-vulkan-drivers libvulkan1` " +
  "(Mesa 22 from bookworm main is too old for Dawn).";

function isNode(): boolean {
  const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof proc?.versions?.node === "string";
}

/**
 * Dawn's GPU object. It must stay referenced for as long as any device lives: when it is garbage
 * collected Dawn's instance dies and the next mapAsync segfaults. Module scope keeps it forever.
 */
let dawnGpu: GPU | undefined;
let dawnLoadError: string | undefined;

async function findGpu(options: InitOptions): Promise<{ gpu: GPU; source: AdapterInfo["source"] } | undefined> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu !== undefined) return { gpu: nav.gpu, source: "navigator.gpu" };
  if (!isNode()) return undefined;
  if (dawnGpu === undefined && dawnLoadError === undefined) {
    try {
      const dawn = (await import(/* @vite-ignore */ DAWN_MODULE)) as { create(options: string[]): GPU };
      dawnGpu = dawn.create(options.dawnOptions ?? []);
    } catch (error) {
      dawnLoadError = error instanceof Error ? error.message : String(error);
    }
  }
  return dawnGpu === undefined ? undefined : { gpu: dawnGpu, source: "webgpu (Dawn)" };
}

/** An adapter, or undefined with the reason. */
export async function findAdapter(
  options: InitOptions,
): Promise<{ adapter: GPUAdapter; source: AdapterInfo["source"] } | { reason: string }> {
  const found = await findGpu(options);
  if (found === undefined) {
    if (isNode()) {
      return {
        reason:
          `WebGPU is not available in this Node process: the optional dependency 'webgpu' (Dawn) could not be loaded` +
          `${dawnLoadError === undefined ? "" : ` (${dawnLoadError})`}. Install it with \`npm install webgpu\`. ${LINUX_HINT}`,
      };
    }
    return {
      reason:
        "WebGPU is not available in this browser (navigator.gpu is undefined). Use a browser with WebGPU enabled " +
        "(Chrome or Edge 113+, Safari 26+, Firefox 141+ on Windows), served over https or localhost.",
    };
  }
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await found.gpu.requestAdapter({
      powerPreference: options.powerPreference,
      forceFallbackAdapter: options.forceFallbackAdapter,
    });
  } catch (error) {
    return { reason: `requestAdapter() failed: ${error instanceof Error ? error.message : String(error)}. ${LINUX_HINT}` };
  }
  if (adapter === null) {
    return {
      reason:
        found.source === "navigator.gpu"
          ? "navigator.gpu.requestAdapter() found no adapter: WebGPU may be disabled or blocklisted for this GPU " +
            "(in Chromium, try --enable-unsafe-webgpu)."
          : `No WebGPU adapter found: Dawn needs a Vulkan (Linux), Metal (macOS) or D3D12 (Windows) driver. ${LINUX_HINT}`,
    };
  }
  return { adapter, source: found.source };
}

/** The adapter's limits we raise above WebGPU's defaults, so big tensors fit when the hardware allows. */
function requiredLimits(adapter: GPUAdapter): Record<string, number> {
  const l = adapter.limits;
  return {
    maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
    maxBufferSize: l.maxBufferSize,
  };
}

export async function requestDevice(adapter: GPUAdapter): Promise<GPUDevice> {
  return adapter.requestDevice({ requiredLimits: requiredLimits(adapter) });
}

/** The device kernels run on, with everything that belongs to it. */
export class GpuContext {
  readonly device: GPUDevice;
  readonly pool: BufferPool;
  readonly batch: CommandBatch;
  /** Every dispatch's metadata, written once per batch. */
  readonly metadata: InfoArena;
  readonly pipelines = new Map<string, GPUComputePipeline>();
  /** Bind groups by layout and buffers (program.ts); emptied whenever a pooled buffer is destroyed. */
  readonly bindGroups = new Map<string, GPUBindGroup>();
  readonly layouts = new Map<string, GPUBindGroupLayout>();
  /** Bumped by every new context: storages remember theirs, so a storage from a lost device is caught. */
  readonly generation: number;
  readonly info: Omit<AdapterInfo, "selfTest">;
  /** Why the device is gone, once it is. */
  lost: string | undefined;
  /** Validation or out-of-memory errors the device reported, thrown by the next read. */
  readonly errors: string[] = [];
  /** Bytes and count of live storages. */
  bytesInUse = 0;
  liveStorages = 0;
  /**
   * Device-side index checks, CUDA's device-side-assert model: indexing kernels write the first
   * out-of-range index into this small buffer instead of reading outside a tensor, and the next
   * read of any tensor copies it back together with the data (no readback per op) and throws.
   */
  #indexErrors: GPUBuffer | undefined;
  /** Index-checking dispatches recorded so far; a read checks the flag only if some ran since the last check. */
  indexChecksRecorded = 0;
  /** `indexChecksRecorded` as of the last read that looked at the flag. */
  indexChecksRead = 0;
  /** Bumped when a flagged error is raised and the flag cleared: reads copied before that do not raise it again. */
  indexErrorClears = 0;

  constructor(device: GPUDevice, info: Omit<AdapterInfo, "selfTest">, generation: number, maxPooledBytes: number) {
    this.device = device;
    this.info = info;
    this.generation = generation;
    this.pool = new BufferPool(device, maxPooledBytes);
    this.pool.onDestroy = () => this.bindGroups.clear();
    this.metadata = new InfoArena(device, INFO_ARENA_BYTES, INFO_WINDOW_BYTES, device.limits.minStorageBufferOffsetAlignment);
    this.batch = new CommandBatch(
      device,
      () => this.metadata.flush(device.queue),
      () => this.pool.recycle(),
    );
    device.lost.then((lost) => {
      this.lost ??= `${lost.reason === "destroyed" ? "it was destroyed" : "the driver lost it"}${lost.message ? ` (${lost.message})` : ""}`;
    });
    device.onuncapturederror = (event: GPUUncapturedErrorEvent) => {
      if (this.errors.length < 10) this.errors.push(event.error.message);
    };
  }

  /** The index-error buffer (zeroed on creation, as WebGPU zeroes every new buffer). */
  indexErrorBuffer(): GPUBuffer {
    return (this.#indexErrors ??= this.device.createBuffer({
      label: "lockstep index errors",
      size: INDEX_ERROR_BYTES,
      usage: Usage.STORAGE | Usage.COPY_SRC | Usage.COPY_DST,
    }));
  }

  /** Clears the index-error flag once its error was raised (after the queued work, as every queue write). */
  clearIndexError(): void {
    if (this.#indexErrors === undefined) return;
    this.batch.submit();
    this.device.queue.writeBuffer(this.#indexErrors, 0, new Uint32Array(INDEX_ERROR_BYTES / 4));
    this.indexErrorClears++;
  }

  get limits(): GPUSupportedLimits {
    return this.device.limits;
  }

  /** Throws when the device can no longer be used. */
  assertUsable(): void {
    if (this.lost !== undefined) {
      throw new DeviceError(
        `the WebGPU device was lost: ${this.lost}. Tensors on 'webgpu' are gone; call \`await init()\` again ` +
          "and recreate them.",
      );
    }
  }

  /** Throws (once) the first error the device reported since the last call. */
  throwReportedErrors(): void {
    if (this.errors.length === 0) return;
    const messages = this.errors.splice(0);
    throw new DeviceError(`WebGPU reported an error while running Lockstep kernels: ${messages.join("; ")}`);
  }
}

let current: GpuContext | undefined;
let generations = 0;

export function setContext(device: GPUDevice, info: Omit<AdapterInfo, "selfTest">, maxPooledBytes: number): GpuContext {
  current = new GpuContext(device, info, ++generations, maxPooledBytes);
  return current;
}

export function peekContext(): GpuContext | undefined {
  return current;
}

/** The live context; a clear error before `init()` or after the device was lost. */
export function context(): GpuContext {
  if (current === undefined) {
    throw new DeviceError("the WebGPU backend is not initialised: call `await init()` from '@lockstep/backend-webgpu' first");
  }
  current.assertUsable();
  return current;
}
