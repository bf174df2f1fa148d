// The CPU worker pool for the matmul kernels. Kernels are synchronous (an op returns a finished
// tensor), so the main thread hands out shares of the work, does its own share, then blocks on
// an Atomics counter until the workers are done. This needs Node's worker_threads (the browser
// main thread may not block: there the kernels run on one thread) and operands in
// SharedArrayBuffers. Workers are unref'd so they never keep the process alive.
import { gemmRows, gemvColumns, gemvPartial, type GemmJob } from "./gemm.js";
import { runWasmGemm, type WasmGemmTask } from "./gemm-wasm.js";

interface NodeWorker {
  postMessage(message: unknown): void;
  unref(): void;
  on(event: "error", listener: (error: unknown) => void): void;
}

type WorkerThreads = { Worker: new (url: URL, options?: unknown) => NodeWorker };

export type PoolTask =
  | { kind: "gemmRows"; job: GemmJob; start: number; end: number }
  | { kind: "gemvColumns"; job: GemmJob; start: number; end: number }
  | { kind: "gemvPartial"; job: GemmJob; start: number; end: number; partial: Float32Array }
  | { kind: "wasmGemm"; task: WasmGemmTask };

/** Runs one task on this thread (the main thread's share, or a worker's). */
export function runTask(task: PoolTask): void {
  if (task.kind === "gemmRows") gemmRows(task.job, task.start, task.end);
  else if (task.kind === "gemvColumns") gemvColumns(task.job, task.start, task.end);
  else if (task.kind === "gemvPartial") gemvPartial(task.job, task.start, task.end, task.partial);
  else if (!runWasmGemm(task.task)) throw new Error("lockstep: WebAssembly SIMD is not available in this CPU worker");
}

/** At most this many workers, so at most MAX_WORKERS + 1 tasks per run. */
export const MAX_WORKERS = 64;

/** Slots of the control array: tasks finished, a task failed, then one "ready" flag per worker. */
export const DONE = 0;
export const FAILED = 1;
export const READY = 2;

const WORKER_URL = new URL("./worker.js", import.meta.url);

function loadWorkerThreads(): WorkerThreads | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (name: string) => unknown } }).process;
  const threads = proc?.getBuiltinModule?.("node:worker_threads") as WorkerThreads | undefined;
  const fs = proc?.getBuiltinModule?.("node:fs") as { existsSync(path: URL): boolean } | undefined;
  // Running from TypeScript sources (tests of this package) there is no compiled worker file.
  if (threads === undefined || fs === undefined || WORKER_URL.protocol !== "file:" || !fs.existsSync(WORKER_URL)) return undefined;
  return threads;
}

class WorkerPool {
  readonly #threads: WorkerThreads;
  readonly #workers: NodeWorker[] = [];
  readonly #control = new Int32Array(new SharedArrayBuffer(4 * (READY + MAX_WORKERS)));
  #broken: unknown = undefined;

  constructor(threads: WorkerThreads) {
    this.#threads = threads;
  }

  /** Starts workers up to `count` (at most MAX_WORKERS); false when they cannot start. */
  ensure(count: number): boolean {
    if (this.#broken !== undefined) return false;
    while (this.#workers.length < Math.min(count, MAX_WORKERS)) {
      const index = this.#workers.length;
      const worker = new this.#threads.Worker(WORKER_URL, { workerData: { control: this.#control, index } });
      worker.unref();
      worker.on("error", (error) => {
        this.#broken = error;
      });
      this.#workers.push(worker);
      // Wait (bounded) for the worker to start, so a broken install falls back instead of hanging.
      if (Atomics.wait(this.#control, READY + index, 0, 5000) === "timed-out" && Atomics.load(this.#control, READY + index) === 0) {
        this.#broken = new Error("worker did not start");
        return false;
      }
    }
    return true;
  }

  /** Runs `tasks[0]` on this thread and the others on workers; returns when all are done. */
  run(tasks: PoolTask[]): void {
    Atomics.store(this.#control, DONE, 0);
    Atomics.store(this.#control, FAILED, 0);
    for (let i = 1; i < tasks.length; i++) this.#workers[i - 1]!.postMessage(tasks[i]);
    // Wait for the workers even when this thread's share throws: they write into the output.
    try {
      runTask(tasks[0]!);
    } finally {
      const expected = tasks.length - 1;
      for (let done = Atomics.load(this.#control, DONE); done < expected; done = Atomics.load(this.#control, DONE)) {
        if (Atomics.wait(this.#control, DONE, done, 60_000) === "timed-out") {
          throw new Error(`lockstep: CPU worker pool did not answer within 60 s (${String(this.#broken ?? "no error reported")})`);
        }
      }
    }
    if (Atomics.load(this.#control, FAILED) !== 0) throw new Error("lockstep: a CPU worker failed its share of a kernel (see the error printed above)");
  }
}

let pool: WorkerPool | null | undefined;

/** The pool with at least `threads − 1` workers, or undefined when workers are not available here. */
export function workerPool(threads: number): WorkerPool | undefined {
  if (threads < 2) return undefined;
  if (pool === undefined) {
    const workerThreads = loadWorkerThreads();
    pool = workerThreads === undefined || typeof SharedArrayBuffer === "undefined" ? null : new WorkerPool(workerThreads);
  }
  if (pool === null || !pool.ensure(threads - 1)) return undefined;
  return pool;
}

/** True when the array lives in shared memory, so workers can read or write it. */
export function isShared(array: { buffer: ArrayBufferLike }): boolean {
  return typeof SharedArrayBuffer !== "undefined" && array.buffer instanceof SharedArrayBuffer;
}
