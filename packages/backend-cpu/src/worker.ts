// A CPU pool worker: runs its share of a kernel on shared memory and counts itself done (also
// when the share throws, so the main thread never waits for a dead task; it then reports the
// failure).
import { disableArena } from "./arena.js";
import { DONE, FAILED, READY, TICKET, WORKER_SPIN_MS, decodeTask, runTask, type WireMessage } from "./pool.js";

// A worker allocates no storages, and its kernels copy shares into their own memory.
disableArena();

type Port = { on(event: "message", fn: (message: WireMessage) => void): void };

const threads = (globalThis as { process?: { getBuiltinModule?: (name: string) => unknown } }).process?.getBuiltinModule?.(
  "node:worker_threads",
) as {
  parentPort: Port;
  workerData: { control: Int32Array; index: number };
  receiveMessageOnPort(port: Port): { message: WireMessage } | undefined;
};

const { control, index } = threads.workerData;
/** The newest arena buffer the main thread sent (operands on the arena come as offsets into it). */
let arena: SharedArrayBuffer | undefined;

function take(message: WireMessage): void {
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
}

// After a task, poll for the next one for WORKER_SPIN_MS before sleeping in the event loop (see
// WORKER_SPIN_MS). A new ticket in this worker's slot means a task is posted or about to be: it
// is taken straight off the port, in order, as the event loop would.
threads.parentPort.on("message", (message: WireMessage) => {
  take(message);
  for (let until = performance.now() + WORKER_SPIN_MS; performance.now() < until; ) {
    if (Atomics.load(control, TICKET + index) <= 0) continue;
    const next = threads.receiveMessageOnPort(threads.parentPort);
    if (next === undefined) continue;
    take(next.message);
    until = performance.now() + WORKER_SPIN_MS;
  }
});

Atomics.store(control, READY + index, 1);
Atomics.notify(control, READY + index);
