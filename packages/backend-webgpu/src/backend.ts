// The Backend contract for device "webgpu": storages are pooled GPU buffers of 32-bit elements
// (float32 as f32, int32 as i32, bool as one u32 per element), uploads go through the queue,
// reads through a staging buffer. There is no readSync: GPU memory is read asynchronously only.
import {
  DTypeError,
  DeviceError,
  ValueError,
  type Backend,
  type DType,
  type DataArray,
  type MemoryInfo,
  type Storage,
  type View,
} from "@lockstep/core";
import { pooledSize, readBuffer } from "./buffers.js";
import { INDEX_ERROR_BYTES, context, peekContext, type GpuContext } from "./device.js";
import { indexErrorOf } from "./indexing.js";

export interface WebGPUStorage extends Storage {
  readonly device: "webgpu";
  readonly dtype: "float32" | "int32" | "bool";
  /** Holds `length` 32-bit elements (the buffer may be larger: pooled sizes round up). */
  readonly buffer: GPUBuffer;
  /** The context that made the buffer; a storage outlives its device only as an error. */
  readonly generation: number;
  /** Set by `release()`: the buffer went back to the pool and this storage may not be used again. */
  released: boolean;
}

/** A strided view of a webgpu storage: what webgpu kernels read and write. */
export type WebGPUView = View<WebGPUStorage>;

/** Every dtype is stored as 4 bytes per element on the GPU. */
export const BYTES_PER_ELEMENT = 4;

export function checkDType(dtype: DType): asserts dtype is WebGPUStorage["dtype"] {
  if (dtype === "float64") {
    throw new DTypeError(
      "float64 is not supported on webgpu (WGSL has no 64-bit floats); cast first, e.g. `t.float().to('webgpu')`",
    );
  }
}

/** The live context, checked against the storage's: a clear error for memory of a lost device. */
export function contextOf(storage: WebGPUStorage): GpuContext {
  const ctx = context();
  if (storage.released) {
    throw new DeviceError("this webgpu storage was released and cannot be used");
  }
  if (storage.generation !== ctx.generation) {
    throw new DeviceError(
      "this tensor's memory belongs to a WebGPU device that was lost or replaced by a later init(); recreate the tensor",
    );
  }
  return ctx;
}

function checkSize(ctx: GpuContext, dtype: DType, length: number): void {
  const bytes = length * BYTES_PER_ELEMENT;
  const limit = ctx.limits.maxStorageBufferBindingSize;
  if (bytes > limit) {
    throw new ValueError(
      `a ${dtype} tensor of ${length} elements (${bytes} bytes) is larger than this WebGPU adapter's ` +
        `maxStorageBufferBindingSize of ${limit} bytes; split it into smaller tensors or keep it on the CPU`,
    );
  }
}

/** The bytes the GPU stores for `data`: bools widen from one byte to one u32. */
function gpuWords(data: DataArray, dtype: WebGPUStorage["dtype"]): Float32Array | Int32Array | Uint32Array {
  switch (dtype) {
    case "float32":
      return data instanceof Float32Array ? data : Float32Array.from(data);
    case "int32":
      return data instanceof Int32Array ? data : Int32Array.from(data);
    case "bool": {
      const words = new Uint32Array(data.length);
      for (let i = 0; i < data.length; i++) words[i] = data[i] ? 1 : 0;
      return words;
    }
  }
}

function writeWords(ctx: GpuContext, storage: WebGPUStorage, data: DataArray): void {
  if (data.length !== storage.length) {
    throw new ValueError(`cannot write ${data.length} elements into a webgpu storage of ${storage.length} elements`);
  }
  if (data.length === 0) return;
  const words = gpuWords(data, storage.dtype);
  ctx.device.queue.writeBuffer(storage.buffer, 0, words.buffer, words.byteOffset, words.byteLength);
}

function fromWords(bytes: ArrayBuffer, dtype: WebGPUStorage["dtype"], length: number): DataArray {
  switch (dtype) {
    case "float32":
      return new Float32Array(bytes, 0, length);
    case "int32":
      return new Int32Array(bytes, 0, length);
    case "bool": {
      const words = new Uint32Array(bytes, 0, length);
      const out = new Uint8Array(length);
      for (let i = 0; i < length; i++) out[i] = words[i] !== 0 ? 1 : 0;
      return out;
    }
  }
}

/**
 * A safety net, not the memory model: a storage that becomes unreachable without `release()`
 * (a tensor dropped without dispose() outside any scope) gives its buffer back to the pool when
 * the garbage collector finalizes it. Explicit dispose()/scope() remain the way to keep GPU
 * memory flat, because the collector does not see GPU memory pressure.
 */
const finalizer = new FinalizationRegistry<{ buffer: GPUBuffer; generation: number }>(({ buffer, generation }) => {
  const ctx = liveContext(generation);
  if (ctx === undefined) return;
  ctx.bytesInUse -= buffer.size;
  ctx.liveStorages--;
  ctx.pool.release(buffer);
});

/** The Backend contract for device "webgpu" (registered by `init()`). */
export const webgpuBackend: Backend<WebGPUStorage> = {
  device: "webgpu",

  allocate(dtype: DType, length: number): WebGPUStorage {
    checkDType(dtype);
    const ctx = context();
    checkSize(ctx, dtype, length);
    const size = pooledSize(length * BYTES_PER_ELEMENT, ctx.limits.maxStorageBufferBindingSize);
    const buffer = ctx.pool.acquire(size, () => ctx.batch.submit());
    ctx.bytesInUse += buffer.size;
    ctx.liveStorages++;
    const storage: WebGPUStorage = { device: "webgpu", dtype, length, buffer, generation: ctx.generation, released: false };
    finalizer.register(storage, { buffer, generation: ctx.generation }, storage);
    return storage;
  },

  upload(data: DataArray, dtype: DType): WebGPUStorage {
    const storage = webgpuBackend.allocate(dtype, data.length);
    // A fresh or recycled buffer is not used by any recorded command: the queue may write it now.
    writeWords(context(), storage, data);
    return storage;
  },

  write(storage: WebGPUStorage, data: DataArray): void {
    const ctx = contextOf(storage);
    // Recorded commands may read the old contents: submit them first so the write lands after.
    ctx.batch.submit();
    writeWords(ctx, storage, data);
  },

  async read(storage: WebGPUStorage): Promise<DataArray> {
    const ctx = contextOf(storage);
    const size = storage.length * BYTES_PER_ELEMENT;
    // The index-error flag travels with the data when an index-checking kernel ran since the last look.
    const recorded = ctx.indexChecksRecorded;
    const checkIndices = recorded > ctx.indexChecksRead;
    const clears = ctx.indexErrorClears;
    let bytes: ArrayBuffer;
    let flag: ArrayBuffer | undefined;
    if (size === 0 && !checkIndices) {
      ctx.batch.submit();
      bytes = new ArrayBuffer(0);
    } else {
      const extra = checkIndices ? { buffer: ctx.indexErrorBuffer(), size: INDEX_ERROR_BYTES } : undefined;
      ({ bytes, extraBytes: flag } = await readBuffer(ctx.pool, ctx.batch, storage.buffer, size, (error) => {
        ctx.assertUsable();
        return new DeviceError(`reading a webgpu tensor failed: ${error instanceof Error ? error.message : String(error)}`);
      }, extra));
    }
    ctx.assertUsable();
    ctx.throwReportedErrors();
    if (flag !== undefined) {
      ctx.indexChecksRead = Math.max(ctx.indexChecksRead, recorded);
      const error = indexErrorOf(new Uint32Array(flag));
      // A concurrent read that saw the same flag first has raised it and cleared it already.
      if (error !== undefined && clears === ctx.indexErrorClears) {
        ctx.clearIndexError();
        throw error;
      }
    }
    return fromWords(bytes, storage.dtype, storage.length);
  },

  release(storage: WebGPUStorage): void {
    if (storage.released) return;
    storage.released = true;
    finalizer.unregister(storage);
    const ctx = liveContext(storage.generation);
    if (ctx === undefined) return;
    ctx.bytesInUse -= storage.buffer.size;
    ctx.liveStorages--;
    ctx.pool.release(storage.buffer);
  },

  memory(): MemoryInfo {
    const ctx = peekContext();
    if (ctx === undefined) return { bytesInUse: 0, bytesPooled: 0, tensors: 0 };
    return { bytesInUse: ctx.bytesInUse, bytesPooled: ctx.pool.pooledBytes, tensors: ctx.liveStorages };
  },
};

/** The context of `generation` if it is still the live, usable one; release() must never throw. */
function liveContext(generation: number): GpuContext | undefined {
  const ctx = peekContext();
  return ctx !== undefined && ctx.lost === undefined && ctx.generation === generation ? ctx : undefined;
}
