// Packed matmul operands kept in one thread's WebAssembly memory between matmuls, so a weight
// multiplied again and again (inference, a benchmark loop) is copied in and packed once instead of
// on every call. Entries are keyed by the operand's content stamp (core's `View.stamp`: renewed by
// every in-place write and never reused) plus its layout, so a stale entry can only be missed,
// never served; stale entries are simply never asked for again and age out of the LRU order.
// The cache is bounded by CAPACITY bytes per thread (WebAssembly memory never shrinks).
//
// Layout of the memory: entries live in [0, end), the thread's scratch space starts at `end`.
// Entries are placed first-fit in the gaps that evicted entries left; an entry placed above the
// others moves the scratch space up, which is free because scratch holds nothing between calls.

/** Bytes of packed operands one thread keeps at most. */
export const PACK_CACHE_BYTES = 32 << 20;

const ALIGN = 64;
const align = (bytes: number) => Math.ceil(bytes / ALIGN) * ALIGN;

interface Entry {
  offset: number;
  bytes: number;
}

export class PackCache {
  /** In least recently used order, oldest first (a Map keeps insertion order). */
  readonly #entries = new Map<string, Entry>();
  #end = 0;

  constructor(readonly capacity = PACK_CACHE_BYTES) {}

  /** Where the entry's bytes are (marking it most recently used), or undefined. */
  get(key: string): number | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry.offset;
  }

  /**
   * Room for a new entry of `bytes` (the caller fills it before anything else touches the
   * cache), evicting the least recently used entries as needed; undefined when it cannot fit.
   */
  add(key: string, bytes: number): number | undefined {
    const size = align(bytes);
    if (size > this.capacity) return undefined;
    this.delete(key);
    for (;;) {
      const at = this.#gap(size);
      if (at !== undefined) {
        this.#entries.set(key, { offset: at, bytes: size });
        this.#end = Math.max(this.#end, at + size);
        return at;
      }
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) return undefined;
      this.delete(oldest.value);
    }
  }

  delete(key: string): void {
    if (!this.#entries.delete(key)) return;
    this.#end = 0;
    for (const e of this.#entries.values()) this.#end = Math.max(this.#end, e.offset + e.bytes);
  }

  /** Bytes in [0, end) are entries (or gaps between them); scratch space may start at `end`. */
  get end(): number {
    return this.#end;
  }

  /** Number of entries (for tests). */
  get size(): number {
    return this.#entries.size;
  }

  /** The lowest offset with `size` free bytes below the capacity. */
  #gap(size: number): number | undefined {
    const taken = [...this.#entries.values()].sort((x, y) => x.offset - y.offset);
    let at = 0;
    for (const e of taken) {
      if (e.offset - at >= size) return at;
      at = e.offset + e.bytes;
    }
    return this.capacity - at >= size ? at : undefined;
  }
}
