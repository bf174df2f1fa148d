// Command-line options: Node's util.parseArgs in strict mode, then one check per value. Any
// mistake becomes a UsageError, which the CLI prints with the usage text and exit code 2; this
// file never exits or prints by itself, so tests can call it directly.
import { parseArgs } from "node:util";
import type { BackendChoice } from "./backends.js";
import { TEST_AVAILABLE, TRAIN_AVAILABLE } from "./data.js";

/** The models `--model` chooses from (train.ts builds them). */
export type ModelKind = "mlp" | "cnn";

export interface Options {
  model: ModelKind;
  backend: BackendChoice;
  /** The flag settings to evaluate under, in order. */
  deterministic: boolean[];
  epochs: number;
  batchSize: number;
  evalBatchSize: number;
  seed: number | bigint;
  /** Undefined: leave Lockstep's default thread count. */
  threads: number | undefined;
  trainSize: number;
  testSize: number;
  out: string;
  json: boolean;
  progress: boolean;
  report: boolean;
  help: boolean;
}

export const DEFAULTS = {
  epochs: 1,
  batchSize: 16,
  evalBatchSize: 1,
  seed: 0,
  model: "mlp",
  trainSize: 3000,
  /** The CNN costs about 10x the MLP per image on the CPU: fewer images keep the demo short. */
  cnnTrainSize: 640,
  testSize: 500,
  cnnTestSize: 200,
  out: "./train-eval-gap-report",
} as const;

export const USAGE = `Usage: train-eval-gap [options]

Trains a small MLP (or CNN) on MNIST with batch ${DEFAULTS.batchSize} (dropout on), then evaluates the test set
in eval mode with batch ${DEFAULTS.evalBatchSize} and with batch ${DEFAULTS.batchSize}, with useDeterministicAlgorithms off and on,
reports how far apart the two sets of logits are, and where a train/eval gap comes from (mode,
BatchNorm statistics, kernels, threads, device).

Options:
  --model <mlp|cnn>           mlp: 784-128-64-10 with dropout; cnn: two conv blocks with
                              BatchNorm2d, then dropout (default: ${DEFAULTS.model})
  --backend <cpu|webgpu|all>  backends to run (default: all available)
  --deterministic             evaluate with the deterministic flag on only
  --no-deterministic          evaluate with the flag off only (default: both, off then on)
  --epochs <n>                training epochs (default: ${DEFAULTS.epochs})
  --batch-size <n>            training batch size, and the large eval batch (default: ${DEFAULTS.batchSize})
  --eval-batch-size <n>       the small eval batch compared against it (default: ${DEFAULTS.evalBatchSize})
  --seed <n>                  seed for weights, data split, shuffling and dropout; the seed
                              experiments draw what torch.manual_seed(n) would (default: ${DEFAULTS.seed})
  --threads <n>               CPU threads for Lockstep's kernels (default: Lockstep's)
  --train-size <n>            training images, from MNIST's 60000 (default: ${DEFAULTS.trainSize}, cnn ${DEFAULTS.cnnTrainSize})
  --test-size <n>             test images, from MNIST's 10000 (default: ${DEFAULTS.testSize}, cnn ${DEFAULTS.cnnTestSize})
  --out <dir>                 where the HTML report goes (default: ${DEFAULTS.out})
  --json                      print one JSON object on stdout and nothing else
  --no-progress               no progress bar (it is drawn on stderr, only on a terminal)
  --no-report                 skip the HTML report
  -h, --help                  show this help

Exit status: 0 on success, 1 if a deterministic comparison is not bitwise equal or a run fails,
2 on bad arguments.`;

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

/** Seeds are PyTorch's: any integer in [0, 2^64); large ones stay exact as bigints. */
function seedValue(raw: string | undefined): number | bigint {
  if (raw === undefined) return DEFAULTS.seed;
  if (!/^\d+$/.test(raw)) throw new UsageError(`--seed expects a non-negative whole number, got '${raw}'`);
  const value = BigInt(raw);
  if (value >= 1n << 64n) throw new UsageError(`--seed must be below 2^64, got ${raw}`);
  return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

export function parseOptions(argv: readonly string[]): Options {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      tokens: true,
      // The negated flags are declared explicitly rather than through `allowNegative`, which
      // only exists from Node 20.16.
      options: {
        model: { type: "string" },
        backend: { type: "string" },
        deterministic: { type: "boolean" },
        "no-deterministic": { type: "boolean" },
        epochs: { type: "string" },
        "batch-size": { type: "string" },
        "eval-batch-size": { type: "string" },
        seed: { type: "string" },
        threads: { type: "string" },
        "train-size": { type: "string" },
        "test-size": { type: "string" },
        out: { type: "string" },
        json: { type: "boolean" },
        "no-progress": { type: "boolean" },
        "no-report": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    // parseArgs' messages already name the option ("Unknown option '--foo'").
    throw new UsageError((error as Error).message);
  }
  const { values, tokens } = parsed;

  const model = values.model ?? DEFAULTS.model;
  if (model !== "mlp" && model !== "cnn") throw new UsageError(`--model must be mlp or cnn, got '${model}'`);

  const backend = values.backend ?? "all";
  if (backend !== "cpu" && backend !== "webgpu" && backend !== "all") {
    throw new UsageError(`--backend must be cpu, webgpu or all, got '${backend}'`);
  }

  // The last of --deterministic / --no-deterministic wins, as with most CLIs.
  let deterministic = [false, true];
  for (const token of tokens ?? []) {
    if (token.kind !== "option") continue;
    if (token.name === "deterministic") deterministic = [true];
    if (token.name === "no-deterministic") deterministic = [false];
  }

  const trainSize = integer("train-size", values["train-size"], model === "cnn" ? DEFAULTS.cnnTrainSize : DEFAULTS.trainSize, 1, TRAIN_AVAILABLE);
  const batchSize = integer("batch-size", values["batch-size"], DEFAULTS.batchSize, 1, 4096);
  const out = values.out ?? DEFAULTS.out;
  if (out.trim() === "") throw new UsageError("--out must name a directory");

  return {
    model,
    backend,
    deterministic,
    epochs: integer("epochs", values.epochs, DEFAULTS.epochs, 1, 1000),
    batchSize,
    evalBatchSize: integer("eval-batch-size", values["eval-batch-size"], DEFAULTS.evalBatchSize, 1, 4096),
    seed: seedValue(values.seed),
    threads: values.threads === undefined ? undefined : integer("threads", values.threads, 1, 1, 256),
    trainSize,
    testSize: integer("test-size", values["test-size"], model === "cnn" ? DEFAULTS.cnnTestSize : DEFAULTS.testSize, 1, TEST_AVAILABLE),
    out,
    json: values.json ?? false,
    progress: !(values["no-progress"] ?? false),
    report: !(values["no-report"] ?? false),
    help: values.help ?? false,
  };
}
