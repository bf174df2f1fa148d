// Training, evaluation and sampling. Every random draw of a run comes from the default generator in
// a fixed order — initial weights (on the CPU, right after manualSeed), then for each step the
// batch's window starts (randint) and the dropout masks — so a run is one seeded stream, the same
// on every device. With useDeterministicAlgorithms(true) every kernel's rounding is fixed too, so
// the losses, and the SHA-256 of their float32 bits, are the same on CPU and WebGPU.
import { createHash } from "node:crypto";
import { SingleBar } from "cli-progress";
import { Generator, cat, manualSeed, nn, optim, rand, randint, scope, tensor, type Tensor } from "lockstep";
import { decode, encode, windows, type Corpus } from "./data.js";
import { TinyGpt, type GptConfig } from "./model.js";

export const MODEL = { blockSize: 32, dModel: 64, nHead: 4, nLayer: 2, dimFeedforward: 256, dropout: 0.1 } as const;
export const LEARNING_RATE = 1e-2;
export const WEIGHT_DECAY = 0.01;
export const PROMPT = "And God said";
/** Held-out windows evaluated at batch N and one at a time to check batch invariance. */
export const EVAL_WINDOWS = 8;

export interface RunOptions {
  device: string;
  steps: number;
  batch: number;
  seed: number;
  sampleLength: number;
  progress: boolean;
}

export interface RunResult {
  device: string;
  config: GptConfig;
  parameters: number;
  /** Training loss (mean cross-entropy per character, nats) of every step, in order. */
  losses: number[];
  /** SHA-256 of the float32 bit patterns of `losses`, little-endian, in step order. */
  lossCurveSha256: string;
  /** Mean held-out loss over EVAL_WINDOWS windows, in eval mode. */
  heldOutLoss: number;
  /** Whether the held-out logits of each window equal, bit for bit, those computed in one batch. */
  heldOutBatchInvariant: boolean;
  sample: string;
  trainSeconds: number;
  stepsPerSecond: number;
}

export function lossCurveSha256(losses: readonly number[]): string {
  return createHash("sha256").update(new Uint8Array(Float32Array.from(losses).buffer)).digest("hex");
}

function makeBar(label: string, total: number): SingleBar {
  const bar = new SingleBar({
    format: `${label.padEnd(7)} |{bar}| {value}/{total} steps | loss {loss} | {speed} steps/s | ETA {eta}s`,
    barsize: 24,
    barCompleteChar: "\u2588",
    barIncompleteChar: "\u2591",
    hideCursor: true,
    clearOnComplete: false,
    etaBuffer: 20,
    // The bar is chrome: stdout stays clean for --json.
    stream: process.stderr,
  });
  bar.start(total, 0, { loss: "  -   ", speed: "  -" });
  return bar;
}

async function bitsEqual(a: Tensor, b: Tensor): Promise<boolean> {
  const [x, y] = await Promise.all([a.data(), b.data()]);
  const u = new Uint32Array(Float32Array.from(x).buffer);
  const v = new Uint32Array(Float32Array.from(y).buffer);
  return u.length === v.length && u.every((w, i) => w === v[i]);
}

/** Mean loss over held-out windows, and whether each window alone gives the batch's logits bit for bit. */
async function evaluate(model: TinyGpt, corpus: Corpus, device: string): Promise<{ loss: number; batchInvariant: boolean }> {
  const block = model.config.blockSize;
  const span = corpus.tokens.length - corpus.trainEnd - block - 1;
  const starts = Array.from({ length: EVAL_WINDOWS }, (_, i) => corpus.trainEnd + Math.floor((i * span) / EVAL_WINDOWS));
  const { x, y } = windows(corpus.tokens, starts, block);
  return scope(async () => {
    const ids = tensor(x, { device }).reshape([EVAL_WINDOWS, block]);
    const logits = model.forward(ids);
    const loss = nn.functional.crossEntropy(logits.reshape([-1, model.config.vocabSize]), tensor(y, { device }));
    const alone = cat(Array.from({ length: EVAL_WINDOWS }, (_, i) => model.forward(ids.narrow(0, i, 1))), 0);
    return { loss: Number(await loss.item()), batchInvariant: await bitsEqual(logits, alone) };
  });
}

/**
 * Samples `length` characters after PROMPT: softmax of the last position's logits, one uniform draw
 * from a generator seeded with `seed` per character, and the first index whose running sum (in
 * float64, in index order) passes it.
 */
async function sample(model: TinyGpt, corpus: Corpus, device: string, seed: number, length: number): Promise<string> {
  const generator = new Generator().manualSeed(seed);
  const ids = Array.from(encode(corpus, PROMPT));
  for (let n = 0; n < length; n++) {
    const context = Int32Array.from(ids.slice(-model.config.blockSize));
    const probs = await scope(async () => {
      const logits = model.forward(tensor(context, { device }).reshape([1, context.length]));
      return Float32Array.from(await logits.narrow(1, context.length - 1, 1).reshape([-1]).softmax(0).data());
    });
    const u = Number(rand([1], { generator }).dataSync()[0]);
    let total = 0;
    let pick = probs.length - 1;
    for (let i = 0; i < probs.length; i++) {
      total += probs[i]!;
      if (u < total) {
        pick = i;
        break;
      }
    }
    ids.push(pick);
  }
  return decode(corpus, ids);
}

/** Trains a fresh model for `steps` AdamW steps on random windows of the training text. */
export async function run(corpus: Corpus, options: RunOptions): Promise<RunResult> {
  manualSeed(options.seed);
  const config: GptConfig = { vocabSize: corpus.vocab.length, ...MODEL };
  // Built on the CPU so the initial weights are PyTorch's for this seed, then moved.
  const model = new TinyGpt(config).to(options.device);
  model.train();
  const optimizer = new optim.AdamW(model.parameters(), { lr: LEARNING_RATE, weightDecay: WEIGHT_DECAY });
  const block = config.blockSize;
  const bar = options.progress ? makeBar(options.device, options.steps) : undefined;
  const losses: number[] = [];
  const started = performance.now();
  try {
    for (let step = 0; step < options.steps; step++) {
      const starts = randint(0, corpus.trainEnd - block - 1, [options.batch], { dtype: "int32" }).dataSync() as Int32Array;
      const { x, y } = windows(corpus.tokens, starts, block);
      const loss = scope(() => {
        const logits = model.forward(tensor(x, { device: options.device }).reshape([options.batch, block]));
        const value = nn.functional.crossEntropy(logits.reshape([-1, config.vocabSize]), tensor(y, { device: options.device }));
        value.backward();
        optimizer.step();
        optimizer.zeroGrad();
        return value.detach();
      });
      const value = Number(await loss.item());
      loss.dispose();
      losses.push(value);
      const elapsed = (performance.now() - started) / 1000;
      bar?.update(step + 1, { loss: value.toFixed(4), speed: ((step + 1) / Math.max(elapsed, 1e-9)).toFixed(2) });
    }
  } finally {
    bar?.stop();
  }
  const trainSeconds = (performance.now() - started) / 1000;
  model.eval();
  const held = await evaluate(model, corpus, options.device);
  const text = await sample(model, corpus, options.device, options.seed, options.sampleLength);
  return {
    device: options.device,
    config,
    parameters: model.numParameters(),
    losses,
    lossCurveSha256: lossCurveSha256(losses),
    heldOutLoss: held.loss,
    heldOutBatchInvariant: held.batchInvariant,
    sample: text,
    trainSeconds,
    stepsPerSecond: options.steps / trainSeconds,
  };
}
