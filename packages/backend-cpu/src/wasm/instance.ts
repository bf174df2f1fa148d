// The WebAssembly SIMD kernels of gemm.wat: feature detection, compilation and one instance per
// thread. The main thread's instance runs on the tensor arena (arena.ts) when there is one, and
// reads arena operands in place; each pool worker's instance has its own memory, and shares of a
// matmul are copied in from the shared operands (see gemm-wasm.ts). Not here: what the
// kernels compute (gemm.wat) and how a matmul is cut into calls (gemm-wasm.ts, matmul.ts).
import { arenaBuffer, arenaMemory, freeScratch, scratchBlock } from "../arena.js";
import { PackCache } from "../pack-cache.js";
import { GEMM_ARENA_WASM_BASE64, GEMM_WASM_BASE64 } from "./kernels.generated.js";

/** The functions gemm.wat exports. Pointers are byte offsets; sizes and strides are in floats. */
export interface GemmExports {
  readonly memory: WebAssembly.Memory;
  /** ab/as: A's block stride and step per k; bb/bs: B's panel stride and step per k (bytes); kc ≤ KC; load: add to C. */
  gemm(ap: number, ab: number, as: number, bp: number, bb: number, bs: number, c: number, rows: number, panels: number, kc: number, ldc: number, load: number): void;
  packA(src: number, rowStride: number, kStride: number, rows: number, k: number, dst: number): void;
  packB(src: number, kStride: number, jStride: number, k: number, n: number, dst: number): void;
  compact(c: number, rows: number, from: number, to: number): void;
  gemvColumns(a: number, b: number, c: number, k: number, n: number, ldb: number, accumulate: number): void;
}

/**
 * One thread's instance and a float32 view of its memory. The memory is either the instance's
 * own — the cache of packed operands (see pack-cache.ts) at address 0, scratch space above it —
 * or, on a main thread with a tensor arena (arena.ts), the arena itself: then storages in the
 * arena are operands in place, and the cache and the scratch space are two arena blocks.
 */
export class GemmInstance {
  readonly exports: GemmExports;
  readonly memory: WebAssembly.Memory;
  /** True when the memory is the arena (arena operands are read and written in place). */
  readonly arena: boolean;
  readonly cache = new PackCache();
  #floats: Float32Array;
  #scratch = 0;
  #scratchBytes = 0;
  #region = 0;
  #regionBytes = 0;

  constructor(module: WebAssembly.Module, arena?: WebAssembly.Memory) {
    this.exports = new WebAssembly.Instance(module, arena === undefined ? {} : { env: { memory: arena } }).exports as unknown as GemmExports;
    this.memory = arena ?? this.exports.memory;
    this.arena = arena !== undefined;
    this.#floats = new Float32Array(this.memory.buffer);
  }

  /**
   * Scratch space of `bytes`; returns its byte address (64-aligned). It is reused by the next
   * matmul. Its contents do not survive a larger `reserve` (nor, in the instance's own memory, a
   * `cache.add`, which may move it), so a call reserves all it needs at once, after its `cache.add`.
   */
  reserve(bytes: number): number {
    if (!this.arena) {
      const base = this.cache.end;
      this.#grow(base + bytes);
      return base;
    }
    if (bytes > this.#scratchBytes) {
      if (this.#scratchBytes > 0) freeScratch(this.#scratch, this.#scratchBytes);
      this.#scratchBytes = 0;
      this.#scratch = this.#block(bytes);
      this.#scratchBytes = bytes;
    }
    return this.#scratch;
  }

  /**
   * Byte address the pack cache's offsets count from, with room for all its entries: 0 in the
   * instance's own memory (grown by `reserve`, which every caller runs before writing an entry),
   * else an arena block, moved to a larger one (entries copied along) as the cache grows.
   */
  cacheBase(): number {
    if (!this.arena) {
      this.#grow(this.cache.end);
      return 0;
    }
    const needed = this.cache.end;
    if (needed > this.#regionBytes) {
      const size = Math.min(this.cache.capacity, Math.max(needed, 2 * this.#regionBytes));
      const at = this.#block(size);
      if (this.#regionBytes > 0) {
        this.floats.copyWithin(at / 4, this.#region / 4, (this.#region + this.#regionBytes) / 4);
        freeScratch(this.#region, this.#regionBytes);
      }
      this.#region = at;
      this.#regionBytes = size;
    }
    return this.#region;
  }

  #block(bytes: number): number {
    const at = scratchBlock(bytes);
    if (at === undefined) throw new Error(`lockstep: the tensor arena cannot grow by ${Math.ceil(bytes / 2 ** 20)} MiB for the matmul kernels`);
    return at;
  }

  #grow(bytes: number): void {
    const memory = this.memory;
    const missing = bytes - memory.buffer.byteLength;
    if (missing > 0) {
      try {
        memory.grow(Math.ceil(missing / 65536));
      } catch (error) {
        throw new Error(`lockstep: the matmul kernels' WebAssembly memory cannot grow to ${Math.ceil(bytes / 2 ** 20)} MiB`, { cause: error });
      }
    }
  }

  /** The memory as floats (a new view after the memory grew: growing an own memory detaches the old one). */
  get floats(): Float32Array {
    const buffer = this.arena ? arenaBuffer() : this.memory.buffer;
    if (this.#floats.buffer !== buffer) this.#floats = new Float32Array(buffer);
    return this.#floats;
  }
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(new ArrayBuffer(binary.length));
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** undefined: not tried yet; null: not available here (no WebAssembly or no SIMD); else compiled. */
let compiled: WebAssembly.Module | null | undefined;
let instance: GemmInstance | undefined;

function compile(): void {
  compiled = null;
  if (typeof WebAssembly !== "object" || typeof atob !== "function") return;
  const bytes = decodeBase64(arenaMemory() === undefined ? GEMM_WASM_BASE64 : GEMM_ARENA_WASM_BASE64);
  // An engine without SIMD rejects the module here: that is the feature detection.
  if (!WebAssembly.validate(bytes)) return;
  try {
    compiled = new WebAssembly.Module(bytes);
  } catch {
    // Browsers may refuse synchronous compilation on the main thread; kernels are synchronous,
    // so use the JS kernels until the asynchronous compilation is done.
    WebAssembly.compile(bytes).then(
      (module) => {
        compiled = module;
      },
      () => undefined,
    );
  }
}

/** This thread's instance of the kernels, or undefined when WebAssembly SIMD is not available. */
export function gemmInstance(): GemmInstance | undefined {
  if (instance !== undefined) return instance;
  if (compiled === undefined) compile();
  if (compiled === null || compiled === undefined) return undefined;
  instance = new GemmInstance(compiled, arenaMemory());
  return instance;
}

/** True when the WebAssembly kernels can run on this thread (compiles them on first call). */
export function wasmAvailable(): boolean {
  return gemmInstance() !== undefined;
}
