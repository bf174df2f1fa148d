// The CPU worker pool for the matmul kernels. Kernels are synchronous (an op returns a finished
// tensor), so the main thread hands out shares of the work, does its own share, then blocks on
// an Atomics counter until the workers are done. This needs Node's worker_threads (the browser
// main thread may not block: there the kernels run on one thread) and operands in
// SharedArrayBuffers. Workers are unref'd so they never keep the process alive.
//
// Operands on the tensor arena (arena.ts) travel as byte offsets: each worker is sent the arena's
// buffer once (again after the arena grew) and makes its own views on it, instead of a clone of
// the shared buffer in every message (a few µs per message; the wake-up of a sleeping worker,
// ~100 µs here, is what costs, see WORKER_SPIN_MS and `run`).
import { arenaBuffer, inArena } from "./arena.js";
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

/** A float32 operand in a message: the array itself, or where it lies in the arena's buffer. */
export type WireArray = Float32Array | { at: number; length: number };

/** What a worker is sent: a task whose arena operands are offsets, and the arena's buffer when it changed. */
export interface WireMessage {
  task: Record<string, unknown>;
  /** The run's ticket (see `WorkerPool.run`). */
  ticket: number;
  arena?: SharedArrayBuffer;
}

const OPERANDS = ["a", "b", "c"] as const;

function toWire(array: Float32Array): WireArray {
  return inArena(array) ? { at: array.byteOffset, length: array.length } : array;
}

function fromWire(array: WireArray, arena: SharedArrayBuffer | undefined): Float32Array {
  return array instanceof Float32Array ? array : new Float32Array(arena!, array.at, array.length);
}

/** A shallow copy with the operands a, b, c as `map` makes them (a loop: object spread is slow on Node 20). */
function mapOperands(object: object, map: (array: never) => unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key in object) out[key] = (object as Record<string, unknown>)[key];
  for (const key of OPERANDS) out[key] = map(out[key] as never);
  return out;
}

/** The task as a worker is sent it (see the top); true in `usesArena` when an operand is an offset. */
function encodeTask(task: PoolTask): { wire: Record<string, unknown>; usesArena: boolean } {
  let usesArena = false;
  const encode = (array: Float32Array): WireArray => {
    const wire = toWire(array);
    if (wire !== array) usesArena = true;
    return wire;
  };
  const wire: Record<string, unknown> = { kind: task.kind };
  if (task.kind === "wasmGemm") wire["task"] = mapOperands(task.task, encode);
  else {
    wire["job"] = mapOperands(task.job, encode);
    wire["start"] = task.start;
    wire["end"] = task.end;
    if (task.kind === "gemvPartial") wire["partial"] = task.partial;
  }
  return { wire, usesArena };
}

/** The task a worker received, with views on `arena` (the newest arena buffer it was sent) for its offsets. */
export function decodeTask(wire: Record<string, unknown>, arena: SharedArrayBuffer | undefined): PoolTask {
  const decode = (array: WireArray) => fromWire(array, arena);
  const key = wire["kind"] === "wasmGemm" ? "task" : "job";
  return { ...wire, [key]: mapOperands(wire[key] as object, decode) } as unknown as PoolTask;
}

/** Runs one task on this thread (the main thread's share, or a worker's). */
export function runTask(task: PoolTask): void {
  if (task.kind === "gemmRows") gemmRows(task.job, task.start, task.end);
  else if (task.kind === "gemvColumns") gemvColumns(task.job, task.start, task.end);
  else if (task.kind === "gemvPartial") gemvPartial(task.job, task.start, task.end, task.partial);
  else if (!runWasmGemm(task.task)) throw new Error("lockstep: WebAssembly SIMD is not available in this CPU worker");
}

/** At most this many workers, so at most MAX_WORKERS + 1 tasks per run. */
export const MAX_WORKERS = 64;

/**
 * Slots of the control array: tasks finished, a task failed, one "ready" flag per worker, then
 * one ticket per worker (see `run`).
 */
export const DONE = 0;
export const FAILED = 1;
export const READY = 2;
export const TICKET = READY + MAX_WORKERS;

/**
 * Milliseconds a worker keeps polling for its next task after finishing one, before it sleeps in
 * its event loop, and that the main thread polls for started workers to finish before it sleeps
 * in Atomics.wait. Waking a sleeping thread took ~100 µs per round trip here (p50; p90 170 µs,
 * a 2-vCPU virtual machine), as much as a training step's shares; a step's matmuls come closer
 * together than WORKER_SPIN_MS, so its workers stay awake through it. Bounded, so an idle pool
 * stops using a core a millisecond after its last task.
 */
export const WORKER_SPIN_MS = 1;
const MAIN_SPIN_MS = 0.5;

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
  readonly #control = new Int32Array(new SharedArrayBuffer(4 * (TICKET + MAX_WORKERS)));
  /** The ticket of the last run (see `run`). */
  #ticket = 0;
  /** The arena buffer each worker was sent last (it makes its views on that one). */
  readonly #sent: (SharedArrayBuffer | undefined)[] = [];
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

  /**
   * Runs `tasks[0]` on this thread and the others on workers; returns when all are done.
   *
   * A worker that has not started its task by the time this thread is done with its own share
   * loses it: this thread runs it too (a split never changes an element's arithmetic, so neither
   * does who runs a share). On a loaded machine a sleeping worker may wait milliseconds for a
   * CPU, longer than a training step's shares take; the main thread then never waits for it.
   * Each run posts a new ticket in the worker's slot: the worker starts a task only by swapping
   * its ticket for its negation, this thread takes one back by swapping it for 0, so exactly one
   * of them runs it, and a worker that wakes late finds a stale ticket and drops the message.
   */
  run(tasks: PoolTask[]): void {
    const control = this.#control;
    this.#ticket = (this.#ticket % 0x7fffffff) + 1;
    const ticket = this.#ticket;
    Atomics.store(control, DONE, 0);
    Atomics.store(control, FAILED, 0);
    for (let i = 1; i < tasks.length; i++) {
      const { wire, usesArena } = encodeTask(tasks[i]!);
      const message: WireMessage = { task: wire, ticket };
      if (usesArena && this.#sent[i - 1] !== arenaBuffer()) message.arena = this.#sent[i - 1] = arenaBuffer();
      Atomics.store(control, TICKET + i - 1, ticket);
      this.#workers[i - 1]!.postMessage(message);
    }
    // Wait for the started workers even when a share throws here: they write into the output.
    try {
      runTask(tasks[0]!);
      for (let i = 1; i < tasks.length; i++) {
        if (Atomics.compareExchange(control, TICKET + i - 1, ticket, 0) === ticket) runTask(tasks[i]!);
      }
    } finally {
      // The workers that started (after a throw here, the shares not started are dropped).
      let started = 0;
      for (let i = 1; i < tasks.length; i++) {
        if (Atomics.compareExchange(control, TICKET + i - 1, ticket, 0) !== ticket && Atomics.load(control, TICKET + i - 1) === -ticket) started++;
      }
      const until = performance.now() + MAIN_SPIN_MS;
      while (Atomics.load(control, DONE) < started && performance.now() < until);
      for (let done = Atomics.load(control, DONE); done < started; done = Atomics.load(control, DONE)) {
        if (Atomics.wait(control, DONE, done, 60_000) === "timed-out") {
          throw new Error(`lockstep: CPU worker pool did not answer within 60 s (${String(this.#broken ?? "no error reported")})`);
        }
      }
    }
    if (Atomics.load(control, FAILED) !== 0) throw new Error("lockstep: a CPU worker failed its share of a kernel (see the error printed above)");
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
