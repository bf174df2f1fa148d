// CPU memory: a storage is a typed array. Reads are synchronous; `read` only wraps `readSync`.
import { arenaArray } from "./arena.js";
import { allocateArray, bytesPerElement, type Backend, type DType, type DataArray, type Storage, type View } from "@lockstep/core";

export interface CpuStorage extends Storage {
  readonly device: "cpu";
  readonly data: DataArray;
}

export type CpuView = View<CpuStorage>;

const ARRAY_TYPES = { float32: Float32Array, float64: Float64Array, int32: Int32Array, bool: Uint8Array } as const;

/**
 * Large buffers live in shared memory so the worker pool can use them without copying: in the
 * tensor arena (arena.ts), where the WebAssembly kernels use them in place, or, without one or
 * when it is full, in a SharedArrayBuffer of their own.
 */
const SHARED_MIN_BYTES = 16384;
const canShare = typeof SharedArrayBuffer !== "undefined";

function newArray(dtype: DType, length: number): DataArray {
  const bytes = length * bytesPerElement(dtype);
  if (!canShare || bytes < SHARED_MIN_BYTES) return allocateArray(dtype, length);
  const inArena = arenaArray(ARRAY_TYPES[dtype], length);
  if (inArena !== undefined) return inArena;
  const buffer = new SharedArrayBuffer(bytes);
  switch (dtype) {
    case "float32": return new Float32Array(buffer);
    case "float64": return new Float64Array(buffer);
    case "int32": return new Int32Array(buffer);
    case "bool": return new Uint8Array(buffer);
  }
}

/**
 * Arrays of released storages, by dtype and length, for the next allocation of the same size. A
 * training step allocates the same sizes every step, and a fresh array costs far more than
 * popping an old one: a SharedArrayBuffer of 16 KiB took ~5 µs to create here, and its fresh
 * pages fault on first write; even a Float32Array of 160 elements took 1.2 µs (an off-heap backing
 * store and, later, the garbage collector's work to free it) against 0.06 µs for a pooled one. Only
 * what `dispose()`/`scope()` releases comes back (storages the garbage collector takes are simply
 * gone), and the pool holds at most POOL_MAX_BYTES. A reused array keeps its old contents: the
 * Backend contract leaves a new storage's contents unspecified, and kernels write every output
 * element (see `setStoragePoison` for how to check a new kernel does).
 */
const pool: Record<DType, Map<number, DataArray[]>> = { float32: new Map(), float64: new Map(), int32: new Map(), bool: new Map() };
const POOL_MAX_BYTES = 64 * 2 ** 20;
/**
 * At most this many arrays of one size wait in the pool: a step's scope releases all its
 * temporaries at once (a dozen [16, 256] activations and gradients in the bench MLP), and the
 * next step asks for them all again.
 */
const POOL_MAX_PER_SIZE = 64;
let pooledBytes = 0;

/** A pooled array of this size, old contents kept, or undefined. */
function reuse(dtype: DType, length: number): DataArray | undefined {
  const data = pool[dtype].get(length)?.pop();
  if (data !== undefined) pooledBytes -= data.byteLength;
  return data;
}

/** Test hook: empties the pool of released arrays. */
export function clearStoragePool(): void {
  for (const sizes of Object.values(pool)) sizes.clear();
  pooledBytes = 0;
}

/**
 * Debug switch: when on, every storage `allocate` returns (fresh or reused) is first filled with
 * garbage — NaN for floats, 0x5a5a5a5a for int32, 0x5a for bool — so a kernel that reads its
 * output before writing it, or leaves elements unwritten, gives visibly wrong results instead of
 * passing by the luck of a fresh zeroed array. Off by default; also turned on for a whole process
 * by the environment variable LOCKSTEP_POISON_STORAGE=1 (run a package's test suite with it).
 */
let poison = readPoisonEnv();

function readPoisonEnv(): boolean {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return env?.["LOCKSTEP_POISON_STORAGE"] === "1";
}

/** Turns the garbage fill of new storages on or off (see `poison`); returns the previous setting. */
export function setStoragePoison(enabled: boolean): boolean {
  const previous = poison;
  poison = enabled;
  return previous;
}

function poisoned(data: DataArray): DataArray {
  if (data instanceof Float32Array || data instanceof Float64Array) data.fill(NaN);
  else if (data instanceof Int32Array) data.fill(0x5a5a5a5a);
  else data.fill(0x5a);
  return data;
}

export const cpuBackend: Backend<CpuStorage> = {
  device: "cpu",
  allocate(dtype: DType, length: number): CpuStorage {
    const data = reuse(dtype, length) ?? newArray(dtype, length);
    return { device: "cpu", dtype, length, data: poison ? poisoned(data) : data };
  },
  upload(data: DataArray, dtype: DType): CpuStorage {
    const copy = reuse(dtype, data.length) ?? newArray(dtype, data.length);
    copy.set(data);
    return { device: "cpu", dtype, length: data.length, data: copy };
  },
  write(storage: CpuStorage, data: DataArray): void {
    storage.data.set(data);
  },
  async read(storage: CpuStorage): Promise<DataArray> {
    return storage.data.slice();
  },
  readSync(storage: CpuStorage): DataArray {
    return storage.data.slice();
  },
  release(storage: CpuStorage): void {
    // The caller (Tensor.dispose when the last view goes) guarantees nothing reads it again.
    const data = storage.data;
    if (pooledBytes + data.byteLength > POOL_MAX_BYTES) return;
    const sizes = pool[storage.dtype];
    let list = sizes.get(data.length);
    if (list === undefined) sizes.set(data.length, (list = []));
    if (list.length >= POOL_MAX_PER_SIZE) return;
    list.push(data);
    pooledBytes += data.byteLength;
  },
};

/**
 * Storage offset of every element of a view, in row-major order of its logical indices. Kernels
 * that accept any layout walk this list; contiguous views skip it (see `isDense`).
 */
export function elementOffsets(shape: readonly number[], strides: readonly number[], offset: number): Int32Array {
  let count = 1;
  for (const s of shape) count *= s;
  const out = new Int32Array(count);
  if (count === 0) return out;
  const ndim = shape.length;
  if (ndim === 0) {
    out[0] = offset;
    return out;
  }
  // The last dim is walked in a tight loop; the outer dims advance like an odometer once per row.
  const inner = shape[ndim - 1]!;
  const innerStride = strides[ndim - 1]!;
  const index = new Array<number>(ndim).fill(0);
  let position = offset;
  for (let i = 0; i < count; i += inner) {
    for (let j = 0; j < inner; j++) out[i + j] = position + j * innerStride;
    for (let d = ndim - 2; d >= 0; d--) {
      index[d]!++;
      position += strides[d]!;
      if (index[d]! < shape[d]!) break;
      position -= strides[d]! * shape[d]!;
      index[d] = 0;
    }
  }
  return out;
}

export function viewOffsets(view: CpuView): Int32Array {
  return elementOffsets(view.shape, view.strides, view.offset);
}

/** True when the view's elements are storage[offset .. offset + n) in order. */
export function isDense(view: CpuView): boolean {
  let expected = 1;
  for (let i = view.shape.length - 1; i >= 0; i--) {
    if (view.shape[i] === 1) continue;
    if (view.strides[i] !== expected) return false;
    expected *= view.shape[i]!;
  }
  return true;
}

/** True when every element of the view is the same storage element (a broadcast scalar). */
export function isBroadcastScalar(view: CpuView): boolean {
  // A loop, not every(): shapes are frozen arrays, which miss the builtins' fast paths.
  for (let i = 0; i < view.shape.length; i++) if (view.shape[i] !== 1 && view.strides[i] !== 0) return false;
  return true;
}

/** The view's elements in row-major order as a plain typed array (a subarray when dense). */
export function gatherElements(view: CpuView): DataArray {
  const n = view.shape.reduce((a, b) => a * b, 1);
  if (isDense(view)) return view.storage.data.subarray(view.offset, view.offset + n);
  if (isBroadcastScalar(view)) {
    const out = allocateArray(view.dtype, n);
    out.fill(view.storage.data[view.offset]!);
    return out;
  }
  // A strided walk, no offset table: merged dims make the inner run as long as the layout allows,
  // the inner run is copied in a tight loop (or with set() when it is contiguous and long), and
  // the outer dims advance like an odometer once per run.
  const out = allocateArray(view.dtype, n);
  gatherInto(view, out, 0);
  return out;
}

/** Writes the elements of `view` in row-major order into `out` from `at` on (see gatherElements). */
export function gatherInto(view: CpuView, out: DataArray, at: number): void {
  const n = view.shape.reduce((a, b) => a * b, 1);
  if (n === 0) return;
  const { shape, strides } = mergeDims(view.shape, view.strides);
  const src = view.storage.data;
  const ndim = shape.length;
  if (ndim === 2 && strides[1] !== 1 && src instanceof Float32Array && out instanceof Float32Array) {
    gatherTiles(src, view.offset, shape[0]!, shape[1]!, strides[0]!, strides[1]!, out, at);
    return;
  }
  if (ndim === 2 && strides[0] === 0) {
    // One row repeated (a bias broadcast over a batch): gather it once, then double the copied
    // run with copyWithin until every row is there.
    gatherInto({ ...view, shape: [shape[1]!], strides: [strides[1]!] }, out, at);
    for (let done = shape[1]!; done < n; done *= 2) out.copyWithin(at + done, at, at + Math.min(done, n - done));
    return;
  }
  const inner = shape[ndim - 1]!;
  const innerStride = strides[ndim - 1]!;
  const index = new Array<number>(ndim).fill(0);
  let position = view.offset;
  for (let i = at; i < at + n; i += inner) {
    if (innerStride === 1 && inner >= 64) out.set(src.subarray(position, position + inner), i);
    else for (let j = 0, p = position; j < inner; j++, p += innerStride) out[i + j] = src[p]!;
    for (let d = ndim - 2; d >= 0; d--) {
      index[d]!++;
      position += strides[d]!;
      if (index[d]! < shape[d]!) break;
      position -= strides[d]! * shape[d]!;
      index[d] = 0;
    }
  }
}

/** Rows × columns of a tile: a 32×32 float32 tile reads and writes whole cache lines. */
const TILE = 32;

/**
 * out[at + r·cols + c] = src[offset + r·rowStride + c·colStride], tile by tile: a transposed view
 * (colStride large) read row by row would touch a new cache line per element and evict it before
 * the neighbouring rows need it (measured 1.6 ns/element against 2.2 for the plain walk on a
 * [256, 784] transpose here). Its own function, only ever given Float32Arrays, so V8's element accesses stay
 * monomorphic (gatherInto's own loop sees every dtype).
 */
function gatherTiles(src: Float32Array, offset: number, rows: number, cols: number, rowStride: number, colStride: number, out: Float32Array, at: number): void {
  for (let r0 = 0; r0 < rows; r0 += TILE) {
    const r1 = Math.min(r0 + TILE, rows);
    for (let c0 = 0; c0 < cols; c0 += TILE) {
      const c1 = Math.min(c0 + TILE, cols);
      for (let r = r0; r < r1; r++) {
        const from = offset + r * rowStride;
        const to = at + r * cols;
        for (let c = c0; c < c1; c++) out[to + c] = src[from + c * colStride]!;
      }
    }
  }
}

/**
 * The same walk over fewer dims: size-1 dims dropped, and each dim merged into the next when
 * stepping it equals stepping the next one its full size (at least one dim remains).
 */
export function mergeDims(shape: readonly number[], strides: readonly number[]): { shape: number[]; strides: number[] } {
  const outShape: number[] = [];
  const outStrides: number[] = [];
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && outStrides[last] === strides[d]! * shape[d]!) {
      outShape[last]! *= shape[d]!;
      outStrides[last] = strides[d]!;
    } else {
      outShape.push(shape[d]!);
      outStrides.push(strides[d]!);
    }
  }
  if (outShape.length === 0) return { shape: [1], strides: [1] };
  return { shape: outShape, strides: outStrides };
}
