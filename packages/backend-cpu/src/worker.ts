// A CPU pool worker: runs its share of a fast kernel on shared memory and counts itself done.
import { gemmRows, gemvColumns, gemvPartial } from "./gemm.js";
import type { PoolTask } from "./pool.js";

const threads = (globalThis as { process?: { getBuiltinModule?: (name: string) => unknown } }).process?.getBuiltinModule?.(
  "node:worker_threads",
) as { parentPort: { on(event: "message", fn: (task: PoolTask) => void): void }; workerData: { control: Int32Array; index: number } };

const { control, index } = threads.workerData;

threads.parentPort.on("message", (task: PoolTask) => {
  if (task.kind === "gemmRows") gemmRows(task.job, task.start, task.end);
  else if (task.kind === "gemvColumns") gemvColumns(task.job, task.start, task.end);
  else gemvPartial(task.job, task.start, task.end, task.partial);
  Atomics.add(control, 0, 1);
  Atomics.notify(control, 0);
});

Atomics.store(control, 1 + index, 1);
Atomics.notify(control, 1 + index);
