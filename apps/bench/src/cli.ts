#!/usr/bin/env node
// `npm run bench`: Lockstep and its peers side by side in one run. Parses the flags, asks each
// peer module for its cases, runs every workload's cases interleaved (runner.ts), and prints the
// markdown table or, with --json, the JSON document (table.ts). Progress and every library's own
// chatter go to stderr, so stdout holds only the report.
import { realpathSync } from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { runWorkload, type Measurement, type PeerContext, type PeerSetup, type RunOptions, type Skip } from "./runner.js";
import { renderJson, renderMarkdown, type Report } from "./table.js";
import { workloadsFor, type SizeSet, type Workload } from "./workloads.js";

const SOAK_WORKLOAD = "webgpu memory soak";

export const USAGE = `Usage: npm run bench -- [options]

Times Lockstep against tfjs (cpu, wasm, webgpu), jax-js (wasm, webgpu), onnxruntime-node and
PyTorch (/usr/bin/python3), interleaved in shuffled rounds, and prints medians as a markdown table.

Options:
  --json              print { results: [{ library, backend, workload, mode, threads, median_ms, gflops }] }
  --quick             fewer samples and no 1024x1024x1024 matmul (about a minute)
  --filter <text>     keep cases whose library, backend or workload contains <text> (repeatable)
  --reps <n>          at most <n> timed samples per case (default 20; slow cases take fewer, at least 3)
  --no-webgpu         skip every WebGPU backend
  --no-python         skip PyTorch
  --soak <steps>      also run "${SOAK_WORKLOAD}": <steps> Lockstep WebGPU training steps inside scope,
                      reporting memory bytesInUse along the way (e.g. --soak 10000)
  -h, --help          show this help
`;

export interface CliOptions {
  json: boolean;
  sizes: SizeSet;
  filters: string[];
  run: Omit<RunOptions, "log">;
  webgpu: boolean;
  python: boolean;
  soakSteps: number | undefined;
}

export class UsageError extends Error {
  override name = "UsageError";
}

function positiveInteger(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`${flag} expects a positive integer, got "${text}"`);
  return value;
}

/** Parses argv (without node and the script); throws UsageError for anything unknown or malformed. */
export function parseOptions(argv: string[]): CliOptions | "help" {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        json: { type: "boolean", default: false },
        quick: { type: "boolean", default: false },
        filter: { type: "string", multiple: true },
        reps: { type: "string" },
        "no-webgpu": { type: "boolean", default: false },
        "no-python": { type: "boolean", default: false },
        soak: { type: "string" },
        // Hidden: "small" shapes for the test suite; "quick"/"full" pick the other shape sets.
        sizes: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const v = parsed.values;
  if (v.help) return "help";
  const sizes = (v.sizes ?? (v.quick ? "quick" : "full")) as SizeSet;
  if (!["small", "quick", "full"].includes(sizes)) throw new UsageError(`--sizes expects small, quick or full, got "${v.sizes}"`);
  const reps = positiveInteger("--reps", v.reps);
  const filters = (v.filter ?? []).map((f) => f.toLowerCase());
  if (filters.some((f) => f === "")) throw new UsageError("--filter expects a non-empty text");
  const run = v.quick
    ? { reps: reps ?? 3, minReps: 1, caseBudgetMs: 1000, targetSampleMs: 5, warmupMs: 150 }
    : { reps: reps ?? 20, minReps: Math.min(3, reps ?? 3), caseBudgetMs: 5000, targetSampleMs: 20, warmupMs: 500 };
  return {
    json: v.json,
    sizes,
    filters,
    run,
    webgpu: !v["no-webgpu"],
    python: !v["no-python"],
    soakSteps: positiveInteger("--soak", v.soak),
  };
}

/** --filter: a case is kept when any filter text occurs in its library, backend or workload name. */
function matcher(filters: readonly string[]): PeerContext["wants"] {
  if (filters.length === 0) return () => true;
  return (library, backend, workload) => {
    const texts = [library, backend, `${library} ${backend}`, `${library}-${backend}`, workload?.name ?? ""];
    return filters.some((f) => texts.some((t) => t.toLowerCase().includes(f)));
  };
}

function machineLines(): string[] {
  const cpus = os.cpus();
  const model = cpus[0]?.model.trim() ?? "unknown CPU";
  return [
    `Machine: ${model}, ${os.availableParallelism()} logical CPUs available (${cpus.length} online), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${os.platform()} ${os.release()}`,
    `Node ${process.version}, ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC`,
  ];
}

function describeSettings(o: CliOptions): string {
  const parts = [
    `Method: per workload, every case is warmed up (quick ones for ${o.run.warmupMs} ms), then cases take samples in rounds (order shuffled each round; a case's fast and deterministic samples back to back), median reported`,
    `up to ${o.run.reps} samples per case (at least ${o.run.minReps}; a case's samples fit in ${o.run.caseBudgetMs / 1000} s)`,
    `quick ops looped so a sample lasts ~${o.run.targetSampleMs} ms`,
    `shapes: ${o.sizes}`,
  ];
  if (o.filters.length > 0) parts.push(`filter: ${o.filters.join(", ")}`);
  return parts.join("; ");
}

async function runSoak(o: CliOptions, wants: PeerContext["wants"], log: (line: string) => void): Promise<Report["soak"]> {
  if (o.soakSteps === undefined) return undefined;
  const soakWorkload = { kind: "mlp-train", name: SOAK_WORKLOAD, batch: 16, flops: 0 } as Workload;
  if (!wants("lockstep", "webgpu", soakWorkload)) return undefined;
  if (!o.webgpu) return { skipped: "--no-webgpu" };
  const { lockstepWebGPU, runWebGPUSoak } = await import("./peers/lockstep.js");
  if (lockstepWebGPU() === undefined) return { skipped: "this build of lockstep does not export webgpu (lockstep.webgpu?.init is missing)" };
  log(`${SOAK_WORKLOAD}: ${o.soakSteps} steps`);
  try {
    return await runWebGPUSoak(o.soakSteps, log);
  } catch (error) {
    return { skipped: error instanceof Error ? error.message : String(error) };
  }
}

export async function main(argv: string[]): Promise<number> {
  let options: CliOptions | "help";
  try {
    options = parseOptions(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`bench: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (options === "help") {
    process.stdout.write(USAGE);
    return 0;
  }
  const o = options;
  const started = performance.now();
  // Libraries print banners and warnings with console.log; keep stdout for the report alone.
  console.log = console.error;
  console.info = console.error;
  const log = (line: string) => process.stderr.write(`${line}\n`);

  const wants = matcher(o.filters);
  const workloads = workloadsFor(o.sizes);
  const ctx: PeerContext = { workloads, wants, webgpu: o.webgpu, log };
  const setups: PeerSetup[] = [];
  log("starting libraries…");
  // Imported only now, so that --help and usage errors work even when a library fails to load,
  // and a library that cannot load becomes a skipped row instead of a crash.
  const start = async (library: string, load: () => Promise<PeerSetup>): Promise<PeerSetup> => {
    try {
      return await load();
    } catch (error) {
      const reason = `cannot start: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`;
      return { cases: [], skipped: [{ library, backend: "*", reason }], notes: [] };
    }
  };
  setups.push(await start("lockstep", async () => (await import("./peers/lockstep.js")).lockstepPeer(ctx)));
  setups.push(await start("tfjs", async () => (await import("./peers/tfjs.js")).tfjsPeer(ctx)));
  setups.push(await start("jax-js", async () => (await import("./peers/jax.js")).jaxPeer(ctx)));
  setups.push(await start("onnxruntime", async () => (await import("./peers/onnxruntime.js")).onnxruntimePeer(ctx)));
  setups.push(await start("pytorch", async () => (await import("./peers/pytorch.js")).pytorchPeer(ctx, o.python)));
  const skipped: Skip[] = setups.flatMap((s) => s.skipped);
  for (const s of skipped) log(`  skip ${s.library} ${s.backend}: ${s.reason}`);

  const measurements: Measurement[] = [];
  const cases = setups.flatMap((s) => s.cases);
  for (const w of workloads) {
    const group = cases.filter((c) => c.workload === w);
    if (group.length === 0) continue;
    log(`${w.name}: ${group.length} cases`);
    const outcome = await runWorkload(w, group, { ...o.run, log });
    measurements.push(...outcome.measurements);
    skipped.push(...outcome.skipped);
  }

  const soak = await runSoak(o, wants, log);
  for (const s of setups) {
    try {
      await s.close?.();
    } catch {
      // closing is best effort
    }
  }

  const report: Report = {
    machine: machineLines(),
    settings: describeSettings(o),
    notes: setups.flatMap((s) => s.notes),
    workloads,
    measurements,
    skipped,
    soak,
    seconds: (performance.now() - started) / 1000,
  };
  const text = o.json ? renderJson(report) : renderMarkdown(report);
  await new Promise<void>((resolve) => process.stdout.write(text, () => resolve()));
  return 0;
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

// Exit explicitly: worker pools, Dawn and subprocess handles would otherwise keep Node alive.
if (isEntryPoint()) main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
