// The WebAssembly SIMD kernels of gemm.wat: feature detection, compilation and one instance per
// thread (the main thread and each pool worker has its own instance and its own memory; shares
// of a matmul are copied in from the shared operands, see gemm-wasm.ts). Not here: what the
// kernels compute (gemm.wat) and how a matmul is cut into calls (gemm-wasm.ts, matmul.ts).
import { PackCache } from "../pack-cache.js";
import { GEMM_WASM_BASE64 } from "./kernels.generated.js";

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
 * One thread's instance and a float32 view of its memory that follows `reserve`. The memory
 * holds this thread's cache of packed operands (see pack-cache.ts), then scratch space.
 */
export class GemmInstance {
  readonly exports: GemmExports;
  readonly cache = new PackCache();
  #floats: Float32Array;

  constructor(module: WebAssembly.Module) {
    this.exports = new WebAssembly.Instance(module).exports as unknown as GemmExports;
    this.#floats = new Float32Array(this.exports.memory.buffer);
  }

  /**
   * Scratch space of `bytes` above the cache; returns its byte offset (64-aligned). Memory grows
   * as needed and never shrinks: the next matmul reuses it. Adding to the cache moves the
   * scratch space, so reserve after any `cache.add` of the same call.
   */
  reserve(bytes: number): number {
    const base = this.cache.end;
    this.#grow(base + bytes);
    return base;
  }

  #grow(bytes: number): void {
    const memory = this.exports.memory;
    const missing = bytes - memory.buffer.byteLength;
    if (missing > 0) {
      try {
        memory.grow(Math.ceil(missing / 65536));
      } catch (error) {
        throw new Error(`lockstep: the matmul kernels' WebAssembly memory cannot grow to ${Math.ceil(bytes / 2 ** 20)} MiB`, { cause: error });
      }
    }
    // Growing detaches the old buffer.
    if (this.#floats.buffer !== memory.buffer) this.#floats = new Float32Array(memory.buffer);
  }

  /** The memory as floats; call again after `reserve`. */
  get floats(): Float32Array {
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
  const bytes = decodeBase64(GEMM_WASM_BASE64);
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
  instance = new GemmInstance(compiled);
  return instance;
}

/** True when the WebAssembly kernels can run on this thread (compiles them on first call). */
export function wasmAvailable(): boolean {
  return gemmInstance() !== undefined;
}
