// The models and their training loop. A model is built on the CPU right after `manualSeed(seed)`
// so its initial weights are PyTorch's for the same seed, then moved to the backend being trained.
// Every random draw of a run — initial weights, each epoch's shuffle (`randperm`), each dropout
// mask — comes from the default generator in a fixed order, so the whole run is one seeded stream
// that a PyTorch script could replay, and the same on every backend.
//
// Both models take flattened [N, 784] images, so the data, training and evaluation code is shared;
// the CNN reshapes to [N, 1, 28, 28] itself.
//
// This file does not evaluate: evaluate.ts runs the trained model in eval mode.
import { SingleBar } from "cli-progress";
import { keep, manualSeed, nn, optim, randperm, scope, tensor, type Tensor } from "lockstep";
import { CLASSES, IMAGE_SIZE, gatherBatch, type Split } from "./data.js";
import type { ModelKind } from "./options.js";

export const HIDDEN = [128, 64] as const;
export const DROPOUT = 0.2;
export const LEARNING_RATE = 0.02;
export const MOMENTUM = 0.9;
/** Channels of the CNN's two convolutions. */
export const CNN_CHANNELS = [8, 16] as const;

export type { ModelKind };

/** 784-128-64-10 with ReLU, and dropout after each hidden layer (active only in training mode). */
export class Mlp extends nn.Module {
  layers: nn.Sequential;

  constructor() {
    super();
    this.layers = new nn.Sequential(
      new nn.Linear(IMAGE_SIZE, HIDDEN[0]),
      new nn.ReLU(),
      new nn.Dropout(DROPOUT),
      new nn.Linear(HIDDEN[0], HIDDEN[1]),
      new nn.ReLU(),
      new nn.Dropout(DROPOUT),
      new nn.Linear(HIDDEN[1], CLASSES),
    );
  }

  forward(x: Tensor): Tensor {
    return this.layers.forward(x);
  }
}

/**
 * A small CNN with the two layers that behave differently in training and evaluation: two blocks
 * of 3×3 convolution, BatchNorm2d, ReLU and 2×2 max pooling (28 → 14 → 7), then dropout and a
 * linear classifier on the 16·7·7 features.
 */
export class Cnn extends nn.Module {
  layers: nn.Sequential;

  constructor() {
    super();
    const [c1, c2] = CNN_CHANNELS;
    this.layers = new nn.Sequential(
      new nn.Conv2d(1, c1, 3, { padding: 1 }),
      new nn.BatchNorm2d(c1),
      new nn.ReLU(),
      new nn.MaxPool2d(2),
      new nn.Conv2d(c1, c2, 3, { padding: 1 }),
      new nn.BatchNorm2d(c2),
      new nn.ReLU(),
      new nn.MaxPool2d(2),
      new nn.Flatten(),
      new nn.Dropout(DROPOUT),
      new nn.Linear(c2 * 7 * 7, CLASSES),
    );
  }

  forward(x: Tensor): Tensor {
    return this.layers.forward(x.reshape([x.shape[0]!, 1, 28, 28]));
  }
}

export const MODEL_DESCRIPTIONS: Record<ModelKind, string> = {
  mlp: `MLP ${IMAGE_SIZE}-${HIDDEN.join("-")}-${CLASSES}, ReLU, Dropout(${DROPOUT}) after each hidden layer, SGD(lr=${LEARNING_RATE}, momentum=${MOMENTUM})`,
  cnn:
    `CNN: 2 × [Conv2d 3×3 (${CNN_CHANNELS.join(", then ")} channels), BatchNorm2d, ReLU, MaxPool2d 2], ` +
    `Dropout(${DROPOUT}), Linear(${CNN_CHANNELS[1] * 49}, ${CLASSES}), SGD(lr=${LEARNING_RATE}, momentum=${MOMENTUM})`,
};

/** A fresh model of `kind`, drawing its initial weights from the default generator. */
export function buildModel(kind: ModelKind): nn.Module {
  return kind === "cnn" ? new Cnn() : new Mlp();
}

export interface TrainOptions {
  model: ModelKind;
  device: string;
  epochs: number;
  batchSize: number;
  seed: number | bigint;
  /** Show a cli-progress bar on stderr (it draws only when stderr is a terminal). */
  progress: boolean;
}

export interface TrainResult {
  device: string;
  model: nn.Module;
  /** Mean cross-entropy of each training step's batch, in order. */
  losses: number[];
  steps: number;
  samples: number;
  seconds: number;
  samplesPerSecond: number;
}

/** Every tensor an optimizer holds as state (moments, momentum buffers). */
function stateTensors(optimizer: optim.SGD): Set<Tensor> {
  const out = new Set<Tensor>();
  for (const entry of optimizer.state.values()) for (const value of Object.values(entry)) if (typeof value !== "number") out.add(value);
  return out;
}

function makeBar(label: string, total: number): SingleBar {
  const bar = new SingleBar({
    format: `${label.padEnd(7)} |{bar}| {percentage}% | {value}/{total} samples | loss {loss} | {speed} samples/s | ETA {eta}s`,
    barsize: 24,
    barCompleteChar: "\u2588",
    barIncompleteChar: "\u2591",
    hideCursor: true,
    clearOnComplete: false,
    etaBuffer: 50,
    // The bar is chrome: stdout stays clean for --json.
    stream: process.stderr,
  });
  bar.start(total, 0, { loss: "  -   ", speed: "   -" });
  return bar;
}

/**
 * Trains a fresh model on `split` with batch `batchSize`, dropout active, SGD with momentum. Deterministic
 * kernels or not is whatever the caller set; the app trains with the flag on (see experiment.ts).
 */
export async function train(split: Split, options: TrainOptions): Promise<TrainResult> {
  manualSeed(options.seed);
  const model = buildModel(options.model).to(options.device);
  model.train();
  // Created after the move: `to()` replaces the parameters, as in PyTorch. SGD with momentum
  // rather than Adam: Adam's square root and division are the slowest deterministic CPU
  // kernels, and the one-minute budget is better spent on training steps.
  const optimizer = new optim.SGD(model.parameters(), { lr: LEARNING_RATE, momentum: MOMENTUM });
  const total = options.epochs * split.count;
  const bar = options.progress ? makeBar(options.device, total) : undefined;
  const losses: number[] = [];
  const started = performance.now();
  let seen = 0;
  try {
    for (let epoch = 0; epoch < options.epochs; epoch++) {
      const order = randperm(split.count).dataSync() as Int32Array;
      for (let start = 0; start < split.count; start += options.batchSize) {
        // PyTorch's DataLoader default (drop_last=False): the last batch may be smaller.
        const size = Math.min(options.batchSize, split.count - start);
        const { pixels, labels } = gatherBatch(split, order, start, size);
        const loss = scope(() => {
          const x = tensor(pixels, { device: options.device }).reshape([size, IMAGE_SIZE]);
          const y = tensor(labels, { device: options.device });
          const value = nn.functional.crossEntropy(model.forward(x), y);
          value.backward();
          const before = stateTensors(optimizer);
          optimizer.step();
          optimizer.zeroGrad();
          // SGD replaces its momentum buffers every step. Keep the new ones past this scope and free
          // the old ones (made in an earlier scope), so GPU memory stays flat over the run.
          const after = stateTensors(optimizer);
          for (const t of after) keep(t);
          for (const t of before) if (!after.has(t)) t.dispose();
          return value.detach();
        });
        const lossValue = Number(await loss.item());
        loss.dispose();
        losses.push(lossValue);
        seen += size;
        const elapsed = (performance.now() - started) / 1000;
        bar?.update(seen, { loss: lossValue.toFixed(4), speed: (seen / Math.max(elapsed, 1e-9)).toFixed(0).padStart(4) });
      }
    }
  } finally {
    bar?.stop();
    // The momentum buffers die with the optimizer; free them now rather than at process exit.
    for (const t of stateTensors(optimizer)) t.dispose();
    optimizer.state.clear();
  }
  const seconds = (performance.now() - started) / 1000;
  return { device: options.device, model, losses, steps: losses.length, samples: seen, seconds, samplesPerSecond: seen / seconds };
}

/** Every parameter's values, concatenated in parameter order (host copies, for bitwise comparison). */
export async function parameterValues(model: nn.Module): Promise<Float32Array> {
  const parts: Float32Array[] = [];
  for (const p of model.parameters()) parts.push((await p.data()) as Float32Array);
  const out = new Float32Array(parts.reduce((n, part) => n + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
