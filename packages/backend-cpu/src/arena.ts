// The tensor arena: one shared WebAssembly.Memory per main thread that holds the large CPU
// storages, and that the main thread's WebAssembly kernels (gemm, elementwise) import as their
// own memory, so they read operands and write results in place instead of copying them in and
// out. Shared, because growing a shared memory never detaches the views made before (a new
// `memory.buffer` object covers the new length; old views keep theirs), so a Float32Array on the
// arena is as safe a storage as any; and pool workers can read it like the SharedArrayBuffers it
// replaces.
//
// Allocation: 64-byte blocks carved from the top of the memory, and free lists by exact block
// size (a training step asks for the same sizes again and again). A block comes back when its
// array can no longer be used: storage.ts's pool keeps released arrays reachable, and the
// FinalizationRegistry below frees the block once the pool has dropped the array or the garbage
// collector has taken it. Blocks are never coalesced, and the garbage collector does not see the
// arena's size, so storages stop coming from it at ARENA_MAX_BYTES (new storages are then plain
// SharedArrayBuffers, as without an arena). Kernel scratch space comes from here too, without
// the cap (it is bounded by the kernels).
//
// No arena where SharedArrayBuffer or shared WebAssembly memories are missing (browsers without
// cross-origin isolation) or off (pool workers turn it off: they allocate no storages, and their
// kernels keep their own memory); everything then works as before, with copies.

const PAGE = 65536;
const ALIGN = 64;
/**
 * Bytes kept mapped above the highest block: the kernels' loops read whole vectors and panels,
 * up to a few dozen bytes past an operand's last element (the values are never used).
 */
const SLACK = 1024;
/**
 * Storages come from the arena while it is below this size (see `setArenaCap`). The arena never
 * shrinks, so this is also the most it can keep mapped after its tensors are gone: a quarter of
 * a GiB holds a small model's training step many times over, and beyond it storages simply take
 * the slower copying path.
 */
export const ARENA_MAX_BYTES = 2 ** 28;
/** The memory's maximum, in pages, as the arena builds of the kernels import it. */
const MAX_PAGES = 65536;

class Arena {
  readonly memory: WebAssembly.Memory;
  /** The newest `memory.buffer` (a new object after every grow). */
  buffer: SharedArrayBuffer;
  /** First byte above every block. Offset 0 is never handed out. */
  top = ALIGN;
  readonly free = new Map<number, number[]>();
  freeBytes = 0;

  constructor(memory: WebAssembly.Memory) {
    this.memory = memory;
    this.buffer = memory.buffer as unknown as SharedArrayBuffer;
    buffers.add(this.buffer);
  }

  /** A block of at least `bytes` (64-aligned offset), or undefined when it would pass `limit`. */
  allocate(bytes: number, limit: number): number | undefined {
    const size = blockSize(bytes);
    const list = this.free.get(size);
    if (list !== undefined && list.length > 0) {
      this.freeBytes -= size;
      return list.pop()!;
    }
    const end = this.top + size;
    if (end > limit) return undefined;
    if (!this.#ensure(end + SLACK)) return undefined;
    const at = this.top;
    this.top = end;
    return at;
  }

  release(offset: number, bytes: number): void {
    const size = blockSize(bytes);
    let list = this.free.get(size);
    if (list === undefined) this.free.set(size, (list = []));
    list.push(offset);
    this.freeBytes += size;
  }

  /** Grows the memory to at least `bytes` (by at least half its size, so grows stay rare). */
  #ensure(bytes: number): boolean {
    const have = this.memory.buffer.byteLength;
    if (bytes <= have) return true;
    const pages = Math.min(MAX_PAGES - have / PAGE, Math.max(Math.ceil((bytes - have) / PAGE), Math.ceil(have / 2 / PAGE)));
    try {
      this.memory.grow(pages);
    } catch {
      return false;
    }
    this.buffer = this.memory.buffer as unknown as SharedArrayBuffer;
    buffers.add(this.buffer);
    return true;
  }
}

const blockSize = (bytes: number) => Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);

/** Every `memory.buffer` object arena views were made on: an array is in the arena iff its buffer is here. */
const buffers = new WeakSet<ArrayBufferLike>();

/** undefined: not made yet; null: no arena on this thread. */
let arena: Arena | null | undefined;
let cap = ARENA_MAX_BYTES;

/** Frees a storage's block once its array is gone (see the top). */
const registry = typeof FinalizationRegistry === "function" ? new FinalizationRegistry<{ arena: Arena; offset: number; bytes: number }>((held) => held.arena.release(held.offset, held.bytes)) : undefined;

/** LOCKSTEP_ARENA=0 in the environment turns the arena off for the process (everything copies, as without one). */
function offByEnv(): boolean {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return env?.["LOCKSTEP_ARENA"] === "0";
}

function theArena(): Arena | null {
  if (arena !== undefined) return arena;
  arena = null;
  if (offByEnv() || typeof SharedArrayBuffer === "undefined" || typeof WebAssembly !== "object" || registry === undefined) return null;
  try {
    const memory = new WebAssembly.Memory({ initial: 16, maximum: MAX_PAGES, shared: true });
    if (!(memory.buffer instanceof SharedArrayBuffer)) return null;
    arena = new Arena(memory);
  } catch {
    arena = null;
  }
  return arena;
}

/** The arena's memory, for the kernels to import; undefined when there is no arena on this thread. */
export function arenaMemory(): WebAssembly.Memory | undefined {
  return theArena()?.memory;
}

/** The arena's current buffer (views made on it cover every block handed out so far). */
export function arenaBuffer(): SharedArrayBuffer {
  return arena!.buffer;
}

/** True when the array is a view on the arena; its byte offset there is then `array.byteOffset`. */
export function inArena(array: { readonly buffer: ArrayBufferLike }): boolean {
  return buffers.has(array.buffer);
}

type ArrayType = Float32ArrayConstructor | Float64ArrayConstructor | Int32ArrayConstructor | Uint8ArrayConstructor;

/**
 * A new array of `length` elements in the arena (contents unspecified), or undefined when there
 * is no arena or it has reached its cap. Its block is freed when the array is garbage.
 */
export function arenaArray<T extends ArrayType>(type: T, length: number): InstanceType<T> | undefined {
  const a = theArena();
  if (a === null || cap === 0) return undefined;
  const bytes = length * type.BYTES_PER_ELEMENT;
  const at = a.allocate(bytes, cap);
  if (at === undefined) return undefined;
  const array = new type(a.buffer as unknown as ArrayBuffer, at, length) as InstanceType<T>;
  registry!.register(array, { arena: a, offset: at, bytes });
  return array;
}

/**
 * A kernel's scratch block of at least `bytes`: its byte offset, or undefined when there is no
 * arena or the memory cannot grow. Not capped; the caller frees it with `freeScratch`.
 */
export function scratchBlock(bytes: number): number | undefined {
  const a = theArena();
  return a === null ? undefined : a.allocate(bytes, MAX_PAGES * PAGE - SLACK);
}

export function freeScratch(offset: number, bytes: number): void {
  arena!.release(offset, bytes);
}

/** Turns the arena off on this thread before its first use (pool workers); false if it is in use. */
export function disableArena(): boolean {
  if (arena !== undefined && arena !== null) return false;
  arena = null;
  return true;
}

/**
 * Test hook: storages come from the arena only while its top stays at or below `bytes` (0: never
 * again, as where there is no arena); returns the previous cap.
 */
export function setArenaCap(bytes: number): number {
  const previous = cap;
  cap = bytes;
  return previous;
}

/** Test hook: the arena's top, bytes in free lists and memory size (undefined: no arena). */
export function arenaStats(): { top: number; freeBytes: number; memoryBytes: number } | undefined {
  const a = theArena();
  return a === null ? undefined : { top: a.top, freeBytes: a.freeBytes, memoryBytes: a.memory.buffer.byteLength };
}
