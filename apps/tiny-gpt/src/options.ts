// Command-line options: Node's util.parseArgs in strict mode, then one check per value. A mistake
// becomes a UsageError, which the CLI prints with the usage text and exit code 2.
import { parseArgs } from "node:util";

export interface Options {
  device: "cpu" | "webgpu";
  steps: number;
  batch: number;
  seed: number;
  sampleLength: number;
  deterministic: boolean;
  threads: number | undefined;
  json: boolean;
  progress: boolean;
  help: boolean;
}

export const DEFAULTS = { steps: 200, batch: 16, seed: 0, sampleLength: 300 } as const;

export const USAGE = `Usage: tiny-gpt [options]

Trains a character-level GPT on the Book of Genesis (King James Version) and prints the SHA-256 of
its loss curve (the float32 bits of every step's loss), then samples text from it. With the
deterministic flag on (the default) the hash is the same on CPU and WebGPU.

Options:
  --device <cpu|webgpu>   where to train (default: cpu)
  --steps <n>             AdamW steps (default: ${DEFAULTS.steps})
  --batch <n>             windows of 32 characters per step (default: ${DEFAULTS.batch})
  --seed <n>              seed for weights, batches, dropout and sampling (default: ${DEFAULTS.seed})
  --sample-length <n>     characters to generate after training (default: ${DEFAULTS.sampleLength})
  --no-deterministic      use the fast kernels (the hash then depends on the device)
  --threads <n>           CPU threads for Lockstep's kernels (default: Lockstep's)
  --json                  print one JSON object on stdout and nothing else
  --no-progress           no progress bar (it is drawn on stderr, only on a terminal)
  -h, --help              show this help

Exit status: 0 on success, 1 if the run fails, 2 on bad arguments.`;

export class UsageError extends Error {
  override name = "UsageError";
}

function integer(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new UsageError(`--${name} expects a whole number, got '${raw}'`);
  const value = Number(raw);
  if (value < min || value > max) throw new UsageError(`--${name} must be between ${min} and ${max}, got ${raw}`);
  return value;
}

export function parseOptions(argv: readonly string[]): Options {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        device: { type: "string" },
        steps: { type: "string" },
        batch: { type: "string" },
        seed: { type: "string" },
        "sample-length": { type: "string" },
        "no-deterministic": { type: "boolean" },
        threads: { type: "string" },
        json: { type: "boolean" },
        "no-progress": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const device = values.device ?? "cpu";
  if (device !== "cpu" && device !== "webgpu") throw new UsageError(`--device must be cpu or webgpu, got '${device}'`);
  return {
    device,
    steps: integer("steps", values.steps, DEFAULTS.steps, 1, 1_000_000),
    batch: integer("batch", values.batch, DEFAULTS.batch, 1, 4096),
    seed: integer("seed", values.seed, DEFAULTS.seed, 0, Number.MAX_SAFE_INTEGER),
    sampleLength: integer("sample-length", values["sample-length"], DEFAULTS.sampleLength, 0, 100_000),
    deterministic: !(values["no-deterministic"] ?? false),
    threads: values.threads === undefined ? undefined : integer("threads", values.threads, 1, 1, 256),
    json: values.json ?? false,
    progress: !(values["no-progress"] ?? false),
    help: values.help ?? false,
  };
}
