// The CPU worker pool for the fast kernels. Kernels are synchronous (an op returns a finished
// tensor), so the main thread hands out shares of the work, does its own share, then blocks on
// an Atomics counter until the workers are done. This needs Node's worker_threads (the browser
// main thread may not block: there the fast kernels run on one thread) and operands in
// SharedArrayBuffers. Workers are unref'd so they never keep the process alive.
import type { GemmJob } from "./gemm.js";

interface NodeWorker {
  postMessage(message: unknown): void;
  unref(): void;
  on(event: "error", listener: (error: unknown) => void): void;
}

type WorkerThreads = { Worker: new (url: URL, options?: unknown) => NodeWorker };

export type PoolTask =
  | { kind: "gemmRows"; job: GemmJob; start: number; end: number }
  | { kind: "gemvColumns"; job: GemmJob; start: number; end: number }
  | { kind: "gemvPartial"; job: GemmJob; start: number; end: number; partial: Float32Array };

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
  /** [0]: tasks finished; [1 + i]: worker i is ready. */
  readonly #control = new Int32Array(new SharedArrayBuffer(4 * 65));
  #broken: unknown = undefined;

  constructor(threads: WorkerThreads) {
    this.#threads = threads;
  }

  /** Starts workers up to `count` (at most 64); false when they cannot start. */
  ensure(count: number): boolean {
    if (this.#broken !== undefined) return false;
    while (this.#workers.length < Math.min(count, 64)) {
      const index = this.#workers.length;
      const worker = new this.#threads.Worker(WORKER_URL, { workerData: { control: this.#control, index } });
      worker.unref();
      worker.on("error", (error) => {
        this.#broken = error;
      });
      this.#workers.push(worker);
      // Wait (bounded) for the worker to start, so a broken install falls back instead of hanging.
      if (Atomics.wait(this.#control, 1 + index, 0, 5000) === "timed-out" && Atomics.load(this.#control, 1 + index) === 0) {
        this.#broken = new Error("worker did not start");
        return false;
      }
    }
    return true;
  }

  /** Runs `tasks[0]` on this thread and the others on workers; returns when all are done. */
  run(tasks: PoolTask[], runHere: (task: PoolTask) => void): void {
    Atomics.store(this.#control, 0, 0);
    for (let i = 1; i < tasks.length; i++) this.#workers[i - 1]!.postMessage(tasks[i]);
    runHere(tasks[0]!);
    const expected = tasks.length - 1;
    for (let done = Atomics.load(this.#control, 0); done < expected; done = Atomics.load(this.#control, 0)) {
      if (Atomics.wait(this.#control, 0, done, 60_000) === "timed-out") {
        throw new Error(`lockstep: CPU worker pool did not answer within 60 s (${String(this.#broken ?? "no error reported")})`);
      }
    }
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
