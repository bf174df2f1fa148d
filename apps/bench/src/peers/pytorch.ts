// PyTorch cases, run by /usr/bin/python3 (Debian's python3-torch here) in one long-lived
// subprocess: python/torch_bench.py sets cases up and times single calls on request, so PyTorch
// takes its turn in the same round-robin as the JavaScript libraries. The milliseconds come from
// time.perf_counter inside Python; the pipe round trip is not counted. Skipped with --no-python,
// or with the reason when python3 or torch is missing.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { BenchCase, PeerContext, PeerSetup, Skip } from "../runner.js";
import { wantedWorkloads } from "../runner.js";
import { MLP_LAYERS, MLP_LEARNING_RATE, type Workload } from "../workloads.js";
import { LENET_LEARNING_RATE } from "../workloads.js";
import { TRANSFORMER_LEARNING_RATE } from "../workloads.js";

export const PYTHON = "/usr/bin/python3";
const SCRIPT = fileURLToPath(new URL("../../python/torch_bench.py", import.meta.url));
const LIBRARY = "pytorch";
const BACKEND = "cpu";
const THREADS = [1, 2] as const;

interface Reply {
  ok: boolean;
  error?: string;
  ms?: number;
  torch?: string;
  python?: string;
  blas?: string;
}

/** One request at a time, answered in order, one JSON line each way. */
class PythonServer {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #waiting: { resolve(reply: Reply): void; reject(error: Error): void }[] = [];
  #stderr = "";
  #exited: Error | undefined;

  constructor() {
    this.#child = spawn(PYTHON, [SCRIPT], { stdio: ["pipe", "pipe", "pipe"] });
    this.#child.stderr.setEncoding("utf8");
    this.#child.stderr.on("data", (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-4000);
    });
    createInterface({ input: this.#child.stdout }).on("line", (line) => {
      const waiter = this.#waiting.shift();
      if (waiter === undefined) return;
      try {
        waiter.resolve(JSON.parse(line) as Reply);
      } catch {
        waiter.reject(new Error(`unexpected output from ${SCRIPT}: ${line.slice(0, 200)}`));
      }
    });
    const fail = (error: Error) => {
      this.#exited = error;
      for (const waiter of this.#waiting.splice(0)) waiter.reject(error);
    };
    this.#child.on("error", (error) => fail(error));
    this.#child.on("exit", (code, signal) => {
      const last = this.#stderr.trim().split("\n").slice(-1)[0] ?? "";
      fail(new Error(`python exited (${signal ?? code})${last === "" ? "" : `: ${last}`}`));
    });
  }

  async request(body: Record<string, unknown>): Promise<Reply> {
    if (this.#exited !== undefined) throw this.#exited;
    const reply = await new Promise<Reply>((resolve, reject) => {
      this.#waiting.push({ resolve, reject });
      this.#child.stdin.write(`${JSON.stringify(body)}\n`);
    });
    if (!reply.ok) throw new Error(reply.error ?? "python reported an error");
    return reply;
  }

  async close(): Promise<void> {
    if (this.#exited !== undefined) return;
    try {
      await this.request({ op: "quit" });
    } catch {
      // already gone
    }
    this.#child.kill();
  }
}

function specFor(w: Workload): Record<string, unknown> {
  if (w.kind === "matmul") return { kind: "matmul", m: w.m, k: w.k, n: w.n };
  if (w.kind === "cnn-train") return { kind: w.kind, batch: w.batch, lr: LENET_LEARNING_RATE };
  if (w.kind === "transformer-train") {
    return { kind: w.kind, batch: w.batch, seq: w.seq, dModel: w.dModel, heads: w.heads, ff: w.ff, lr: TRANSFORMER_LEARNING_RATE };
  }
  if (w.kind === "conv2d") {
    return { kind: w.kind, batch: w.batch, inChannels: w.inChannels, outChannels: w.outChannels, size: w.size, kernel: w.kernel, padding: w.padding };
  }
  return { kind: w.kind, batch: w.batch, layers: [...MLP_LAYERS], lr: MLP_LEARNING_RATE };
}

let nextId = 1;

function pythonCase(server: PythonServer, w: Workload, threads: number): BenchCase {
  const id = nextId++;
  return {
    library: LIBRARY,
    backend: BACKEND,
    workload: w,
    mode: "default",
    threads,
    async setup() {
      await server.request({ op: "setup", id, ...specFor(w) });
    },
    async run() {
      const reply = await server.request({ op: "run", id, threads });
      return reply.ms!;
    },
    async teardown() {
      await server.request({ op: "teardown", id });
    },
  };
}

export async function pytorchPeer(ctx: PeerContext, enabled: boolean): Promise<PeerSetup> {
  const cases: BenchCase[] = [];
  const skipped: Skip[] = [];
  const notes: string[] = [];
  const workloads = wantedWorkloads(ctx, LIBRARY, BACKEND);
  if (workloads.length === 0) return { cases, skipped, notes };
  const skipAll = (reason: string) => {
    skipped.push({ library: LIBRARY, backend: BACKEND, reason });
    return { cases, skipped, notes };
  };
  if (!enabled) return skipAll("--no-python");
  if (!existsSync(PYTHON)) return skipAll(`${PYTHON} not found`);
  const server = new PythonServer();
  let hello: Reply;
  try {
    hello = await server.request({ op: "hello" });
  } catch (error) {
    await server.close();
    const text = error instanceof Error ? error.message : String(error);
    return skipAll(text.includes("No module named 'torch'") ? `PyTorch is not installed for ${PYTHON} (import torch failed)` : text);
  }
  notes.push(
    `pytorch ${hello.torch} (python ${hello.python}, ${PYTHON}), BLAS: ${hello.blas ?? "unknown"}; timed inside Python with perf_counter, torch.set_num_threads(1) and (2)`,
  );
  for (const w of workloads) for (const threads of THREADS) cases.push(pythonCase(server, w, threads));
  return { cases, skipped, notes, close: () => server.close() };
}
