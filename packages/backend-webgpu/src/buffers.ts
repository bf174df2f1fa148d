// GPU memory and command submission: a pool of storage buffers keyed by size, the one command
// encoder that dispatches are batched into, the arena holding their metadata, and reading
// buffers back to the CPU.
//
// The rule that keeps pooled memory safe: a released buffer goes onto a "pending" list and is
// handed out again only after the commands that used it were submitted. WebGPU runs the queue in
// order, so any later write or dispatch on a reused buffer happens after those commands finished.
// This file knows nothing of dtypes, tensors or shaders.

/** GPUBufferUsage and GPUMapMode values, written out so that no global from the `webgpu` package is needed. */
export const Usage = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, STORAGE: 0x80 } as const;
const MAP_MODE_READ = 0x1;

/** Storage buffers can be bound, written by the queue and copied from (for reading back). */
const STORAGE_USAGE = Usage.STORAGE | Usage.COPY_SRC | Usage.COPY_DST;

/**
 * Bytes actually allocated for a request: rounded up to a multiple of 256 B (at least 256), so
 * metadata buffers and tensors of similar sizes share pooled buffers. Never rounded past `limit`
 * (the largest size a shader may bind): there, the size is only aligned to 4 bytes.
 */
export function pooledSize(bytes: number, limit: number): number {
  const rounded = Math.max(256, Math.ceil(bytes / 256) * 256);
  if (rounded <= limit) return rounded;
  return Math.max(4, Math.ceil(bytes / 4) * 4);
}

/** Storage buffers by byte size, reused only once the work that last used them was submitted. */
export class BufferPool {
  readonly #device: GPUDevice;
  readonly #free = new Map<number, GPUBuffer[]>();
  #pending: GPUBuffer[] = [];
  readonly #staging = new Map<number, GPUBuffer[]>();
  /** Bytes held by the pool (free, pending and staging buffers). */
  pooledBytes = 0;
  /** Buffers created since the device was made; for tests that check reuse. */
  created = 0;
  /** Called after a storage buffer is destroyed (cached bind groups that name it must go). */
  onDestroy: () => void = () => {};

  constructor(
    device: GPUDevice,
    /** Free buffers beyond this many bytes are destroyed instead of kept. */
    public maxPooledBytes: number,
  ) {
    this.#device = device;
  }

  /** A storage buffer of exactly `size` bytes (already a pooled size), reused when one is free. */
  acquire(size: number, submit: () => void): GPUBuffer {
    let buffer = this.#takeFree(size);
    if (buffer === undefined && this.#pending.some((b) => b.size === size)) {
      // A buffer of this size waits for its last commands to be submitted: submit them now
      // rather than growing the pool.
      submit();
      buffer = this.#takeFree(size);
    }
    if (buffer !== undefined) return buffer;
    this.created++;
    return this.#device.createBuffer({ size, usage: STORAGE_USAGE });
  }

  #takeFree(size: number): GPUBuffer | undefined {
    const list = this.#free.get(size);
    const buffer = list?.pop();
    if (buffer !== undefined) this.pooledBytes -= buffer.size;
    return buffer;
  }

  /** Takes a buffer back; it may still be used by commands that are not submitted yet. */
  release(buffer: GPUBuffer): void {
    this.#pending.push(buffer);
    this.pooledBytes += buffer.size;
  }

  /** Called after every submit (and whenever no commands are being recorded): pending buffers become free. */
  recycle(): void {
    const pending = this.#pending;
    this.#pending = [];
    for (const buffer of pending) {
      if (this.pooledBytes > this.maxPooledBytes) {
        // Destroying after submit is safe: WebGPU frees the memory once the commands finished.
        this.pooledBytes -= buffer.size;
        buffer.destroy();
        this.onDestroy();
        continue;
      }
      let list = this.#free.get(buffer.size);
      if (list === undefined) this.#free.set(buffer.size, (list = []));
      list.push(buffer);
    }
  }

  /** A MAP_READ buffer for reading back `size` bytes. */
  acquireStaging(size: number): GPUBuffer {
    const buffer = this.#staging.get(size)?.pop();
    if (buffer !== undefined) {
      this.pooledBytes -= buffer.size;
      return buffer;
    }
    this.created++;
    return this.#device.createBuffer({ size, usage: Usage.MAP_READ | Usage.COPY_DST });
  }

  /** Returns an unmapped staging buffer. */
  releaseStaging(buffer: GPUBuffer): void {
    if (this.pooledBytes + buffer.size > this.maxPooledBytes) {
      buffer.destroy();
      return;
    }
    let list = this.#staging.get(buffer.size);
    if (list === undefined) this.#staging.set(buffer.size, (list = []));
    list.push(buffer);
    this.pooledBytes += buffer.size;
  }

  /** Destroys every free buffer (pending ones are freed at the next submit). */
  emptyFree(): void {
    if (this.#free.size > 0) this.onDestroy();
    for (const map of [this.#free, this.#staging]) {
      for (const list of map.values()) {
        for (const buffer of list) {
          this.pooledBytes -= buffer.size;
          buffer.destroy();
        }
      }
      map.clear();
    }
  }
}

/**
 * The metadata (shapes, strides, offsets) of every dispatch in the open command batch, packed
 * into one storage buffer that each dispatch binds at its own dynamic offset. The words collect
 * on the CPU and go to the GPU in one queue write just before the batch is submitted (a queue
 * write lands before the commands submitted after it), instead of one pooled buffer and one
 * write per dispatch: fewer calls into the driver, and no small buffers cycling through the pool.
 */
export class InfoArena {
  readonly buffer: GPUBuffer;
  readonly #words: Uint32Array;
  #used = 0;

  constructor(
    device: GPUDevice,
    /** Bytes of metadata one batch may hold before it must be submitted. */
    readonly capacity: number,
    /** Bytes each dispatch sees from its offset on: the most metadata one dispatch may have. */
    readonly window: number,
    /** The adapter's minStorageBufferOffsetAlignment. */
    readonly alignment: number,
  ) {
    this.buffer = device.createBuffer({ label: "lockstep dispatch metadata", size: capacity + window, usage: Usage.STORAGE | Usage.COPY_DST });
    this.#words = new Uint32Array((capacity + window) / 4);
  }

  /** The byte offset `info` was placed at, or undefined when this batch's arena is full. */
  place(info: Uint32Array): number | undefined {
    const at = this.#used;
    if (at > this.capacity) return undefined;
    this.#words.set(info, at / 4);
    this.#used = at + Math.max(this.alignment, Math.ceil(info.byteLength / this.alignment) * this.alignment);
    return at;
  }

  /** Writes the placed metadata to the GPU (before the submit of the commands that read it). */
  flush(queue: GPUQueue): void {
    if (this.#used === 0) return;
    queue.writeBuffer(this.buffer, 0, this.#words.buffer, this.#words.byteOffset, Math.min(this.#used, this.#words.byteLength));
    this.#used = 0;
  }
}

/**
 * The command encoder that kernels record into. Dispatches share one compute pass until a copy
 * needs the encoder; everything is submitted before a read, before a queue write to a buffer
 * that recorded commands may use, and after `maxDispatches` dispatches so the pending work and
 * the pending buffers stay bounded.
 */
export class CommandBatch {
  readonly #device: GPUDevice;
  readonly #beforeSubmit: () => void;
  readonly #afterSubmit: () => void;
  #encoder: GPUCommandEncoder | undefined;
  #pass: GPUComputePassEncoder | undefined;
  #dispatches = 0;
  /** Submits so far; for tests and diagnostics. */
  submits = 0;

  constructor(device: GPUDevice, beforeSubmit: () => void, afterSubmit: () => void, readonly maxDispatches = 64) {
    this.#device = device;
    this.#beforeSubmit = beforeSubmit;
    this.#afterSubmit = afterSubmit;
  }

  get recording(): boolean {
    return this.#encoder !== undefined;
  }

  #getEncoder(): GPUCommandEncoder {
    return (this.#encoder ??= this.#device.createCommandEncoder());
  }

  dispatch(pipeline: GPUComputePipeline, bindGroup: GPUBindGroup, infoOffset: number, x: number, y: number): void {
    if (this.#pass === undefined) this.#pass = this.#getEncoder().beginComputePass();
    this.#pass.setPipeline(pipeline);
    this.#pass.setBindGroup(0, bindGroup, [infoOffset]);
    this.#pass.dispatchWorkgroups(x, y);
    if (++this.#dispatches >= this.maxDispatches) this.submit();
  }

  copy(source: GPUBuffer, destination: GPUBuffer, size: number, destinationOffset = 0): void {
    this.#endPass();
    this.#getEncoder().copyBufferToBuffer(source, 0, destination, destinationOffset, size);
  }

  #endPass(): void {
    this.#pass?.end();
    this.#pass = undefined;
  }

  /** Submits what was recorded (if anything) and lets the pool recycle released buffers. */
  submit(): void {
    if (this.#encoder !== undefined) {
      this.#endPass();
      this.#beforeSubmit();
      const commands = this.#encoder.finish();
      this.#encoder = undefined;
      this.#dispatches = 0;
      this.#device.queue.submit([commands]);
      this.submits++;
    }
    this.#afterSubmit();
  }
}

/**
 * Copies `size` bytes of `buffer` into a staging buffer, submits, waits for the map and returns
 * a copy of the bytes. `mapFailed` turns a rejected map (device lost, …) into a clear error.
 * `extra` (a small buffer such as the index-error flag) is copied into the same staging buffer
 * after the data and comes back as `extraBytes`: one map for both.
 */
export async function readBuffer(
  pool: BufferPool,
  batch: CommandBatch,
  buffer: GPUBuffer,
  size: number,
  mapFailed: (error: unknown) => Error,
  extra?: { buffer: GPUBuffer; size: number },
): Promise<{ bytes: ArrayBuffer; extraBytes: ArrayBuffer | undefined }> {
  const at = Math.ceil(size / 4) * 4;
  const total = at + (extra?.size ?? 0);
  const staging = pool.acquireStaging(pooledSize(total, Number.POSITIVE_INFINITY));
  if (size > 0) batch.copy(buffer, staging, size);
  if (extra !== undefined) batch.copy(extra.buffer, staging, extra.size, at);
  batch.submit();
  try {
    await staging.mapAsync(MAP_MODE_READ, 0, total);
  } catch (error) {
    staging.destroy();
    throw mapFailed(error);
  }
  const mapped = staging.getMappedRange(0, total);
  const bytes = mapped.slice(0, size);
  const extraBytes = extra === undefined ? undefined : mapped.slice(at, total);
  staging.unmap();
  pool.releaseStaging(staging);
  return { bytes, extraBytes };
}
