// The backend contract: what a device must provide so that core can run ops on it.
// A backend owns memory (Storage) and kernels; core owns shapes, dtypes, views, broadcasting,
// type promotion and error checking, so a kernel never validates its arguments.
import type { DType, DataArray } from "./dtype.js";
import type { Shape } from "./shape.js";

/** A device buffer. Backends extend it with their own handle (a typed array, a GPUBuffer…). */
export interface Storage {
  /** Device this storage lives on ("cpu", "webgpu"). */
  readonly device: string;
  /** Element type of the storage. */
  readonly dtype: DType;
  /** Number of elements (not bytes). */
  readonly length: number;
}

/** A strided window onto a storage: what a kernel reads from and writes to. */
export interface View<S extends Storage = Storage> {
  /** The storage the view reads and writes. */
  readonly storage: S;
  /** Element type (the storage's). */
  readonly dtype: DType;
  /** Sizes of the view's dimensions. */
  readonly shape: Shape;
  /** Element strides; 0 for broadcast dimensions. */
  readonly strides: readonly number[];
  /** Element offset of index [0, 0, …] into the storage. */
  readonly offset: number;
  /**
   * Names the storage's current contents: unique in the process to this storage and its number
   * of in-place writes (every in-place write takes a new one), so a backend may key data derived
   * from the contents (a packed matmul weight) by it and never see it stale.
   */
  readonly stamp?: number;
}

/**
 * What a device provides to core: memory management for its Storage. Kernels are registered
 * separately with `registerKernel`; install a backend with `registerBackend`.
 */
export interface Backend<S extends Storage = Storage> {
  /** Device name as users write it: "cpu", "webgpu". */
  readonly device: string;
  /** New storage of `length` elements. Contents are unspecified; kernels overwrite them. */
  allocate(dtype: DType, length: number): S;
  /** New storage holding a copy of `data`. */
  upload(data: DataArray, dtype: DType): S;
  /** Overwrites the whole storage with `data` (same dtype and length). Used by in-place fills. */
  write(storage: S, data: DataArray): void;
  /** Copy of the whole storage, once all work queued before this call has finished. */
  read(storage: S): Promise<DataArray>;
  /** Synchronous read; only backends whose memory the CPU can see provide it. */
  readSync?(storage: S): DataArray;
  /** Gives the memory back; the storage is not used again. */
  release(storage: S): void;
  /**
   * What the device's memory holds now, for `memory(device)`. Optional: backends whose memory the
   * garbage collector manages (the CPU) need not track it.
   */
  memory?(): MemoryInfo;
}

/** Device memory as `memory(device)` reports it. */
export interface MemoryInfo {
  /** Bytes of live storages (a tensor and its views share one storage). */
  bytesInUse: number;
  /** Bytes the backend keeps for reuse (a buffer pool), not counted in `bytesInUse`. */
  bytesPooled: number;
  /** Number of live storages. */
  tensors: number;
}
