// A CPU pool worker: runs its share of a kernel on shared memory and counts itself done (also
// when the share throws, so the main thread never waits for a dead task; it then reports the
// failure).
import { disableArena } from "./arena.js";
import { DONE, FAILED, READY, TICKET, decodeTask, runTask, type WireMessage } from "./pool.js";

// A worker allocates no storages, and its kernels copy shares into their own memory.
disableArena();

const threads = (globalThis as { process?: { getBuiltinModule?: (name: string) => unknown } }).process?.getBuiltinModule?.(
  "node:worker_threads",
) as { parentPort: { on(event: "message", fn: (message: WireMessage) => void): void }; workerData: { control: Int32Array; index: number } };

const { control, index } = threads.workerData;
/** The newest arena buffer the main thread sent (operands on the arena come as offsets into it). */
let arena: SharedArrayBuffer | undefined;

threads.parentPort.on("message", (message: WireMessage) => {
  if (message.arena !== undefined) arena = message.arena;
  // Start the task only if the main thread has not taken it back (see WorkerPool.run).
  const ticket = message.ticket;
  if (Atomics.compareExchange(control, TICKET + index, ticket, -ticket) !== ticket) return;
  try {
    runTask(decodeTask(message.task, arena));
  } catch (error) {
    Atomics.store(control, FAILED, 1);
    console.error(error);
  } finally {
    Atomics.add(control, DONE, 1);
    Atomics.notify(control, DONE);
  }
});

Atomics.store(control, READY + index, 1);
Atomics.notify(control, READY + index);
