// Lockstep's cases: CPU in fast and deterministic mode with 1 and 2 threads, and WebGPU (both
// modes) when `lockstep.webgpu` exists and finds an adapter. Also the WebGPU memory soak: many
// training steps, each inside `scope`, with the pool's bytesInUse sampled along the way.
import * as lockstep from "lockstep";
import { nn, noGrad, optim, scope, setNumThreads, tensor, useDeterministicAlgorithms, type Tensor } from "lockstep";
import type { BenchCase, Mode, PeerContext, PeerSetup, Skip } from "../runner.js";
import { wantedWorkloads } from "../runner.js";
import {
  MLP_LEARNING_RATE,
  matmulInputs,
  mlpBatch,
  mlpTrainWorkload,
  mlpWeights,
  type MatmulWorkload,
  type MlpWorkload,
  type Workload,
} from "../workloads.js";
import { LENET_LEARNING_RATE, convInputs, lenetBatch, lenetWeights, type CnnWorkload, type ConvWorkload } from "../workloads.js";
import { TRANSFORMER_LEARNING_RATE, transformerBatch, transformerWeights, type TransformerWorkload } from "../workloads.js";
import { installDawn } from "./dawn.js";

const LIBRARY = "lockstep";
const CPU_THREADS = [1, 2] as const;
const MODES: readonly Mode[] = ["fast", "deterministic"];

export interface WebGPUMemory {
  bytesInUse: number;
  bytesPooled?: number;
  tensors?: number;
}

/** The part of `lockstep.webgpu` the bench uses. */
interface LockstepWebGPU {
  init(): Promise<{ vendor?: string; architecture?: string; description?: string; selfTest?: { matmul: boolean; sum: boolean } }>;
  memory?(): WebGPUMemory;
  destroy?(): void;
}

/** `lockstep.webgpu` when this build of Lockstep exports it (detected, so older builds still run). */
export function lockstepWebGPU(): LockstepWebGPU | undefined {
  const candidate = (lockstep as unknown as Record<string, unknown>).webgpu as Partial<LockstepWebGPU> | undefined;
  return typeof candidate?.init === "function" ? (candidate as LockstepWebGPU) : undefined;
}

/** GPU memory as Lockstep reports it: `lockstep.memory("webgpu")` if present, else `webgpu.memory()`. */
export function webgpuMemory(): WebGPUMemory | undefined {
  const memory = (lockstep as unknown as Record<string, unknown>).memory;
  if (typeof memory === "function") return (memory as (device: string) => WebGPUMemory)("webgpu");
  return lockstepWebGPU()?.memory?.();
}

/** Starts Lockstep's WebGPU backend on the shared Dawn instance; returns the adapter line. */
export async function startLockstepWebGPU(): Promise<string> {
  const gpu = lockstepWebGPU();
  if (gpu === undefined) throw new Error("this build of lockstep does not export webgpu (lockstep.webgpu?.init is missing)");
  await installDawn();
  const info = await gpu.init();
  const adapter = [info.vendor, info.architecture, info.description].filter((s) => s !== undefined && s !== "").join(" / ");
  const selfTest = info.selfTest === undefined ? "" : info.selfTest.matmul && info.selfTest.sum ? ", self-test: bitwise equal to CPU" : ", self-test: differs from CPU";
  return `${adapter}${selfTest}`;
}

function fromArray(data: Float32Array | Int32Array, shape: number[], device: string): Tensor {
  const t = tensor(data).reshape(shape);
  return device === "cpu" ? t : t.to(device);
}

/** Reads a result back so the timed call includes finishing it. */
async function finish(t: Tensor, device: string): Promise<void> {
  if (device === "cpu") t.dataSync();
  else await t.data();
}

interface Settings {
  device: string;
  mode: Mode;
  threads: number | null;
}

function applySettings(s: Settings): void {
  useDeterministicAlgorithms(s.mode === "deterministic");
  if (s.threads !== null) setNumThreads(s.threads);
}

/** The fields that name a case in the report (WebGPU cases warm up twice: pipelines compile on first use). */
function identity(w: Workload, s: Settings) {
  return {
    library: LIBRARY,
    backend: s.device,
    workload: w,
    mode: s.mode,
    threads: s.threads,
    warmups: s.device === "cpu" ? undefined : 2,
  };
}

function matmulCase(w: MatmulWorkload, s: Settings): BenchCase {
  let a: Tensor | undefined;
  let b: Tensor | undefined;
  return {
    ...identity(w, s),
    setup() {
      const inputs = matmulInputs(w);
      a = fromArray(inputs.a, [w.m, w.k], s.device);
      b = fromArray(inputs.b, [w.k, w.n], s.device);
    },
    prepare: () => applySettings(s),
    async run() {
      const c = a!.matmul(b!);
      await finish(c, s.device);
      c.dispose();
    },
    teardown() {
      a?.dispose();
      b?.dispose();
    },
  };
}

/** The 784-256-256-10 MLP with the shared starting weights, on `device`. */
export function buildMlp(device: string): nn.Sequential {
  const weights = mlpWeights();
  const layers = weights.map((l) => new nn.Linear(l.inFeatures, l.outFeatures));
  noGrad(() => {
    layers.forEach((layer, i) => {
      const l = weights[i]!;
      layer.weight.copy_(tensor(l.weight).reshape([l.outFeatures, l.inFeatures]));
      layer.bias!.copy_(tensor(l.bias));
    });
  });
  const model = new nn.Sequential(layers[0]!, new nn.ReLU(), layers[1]!, new nn.ReLU(), layers[2]!);
  return device === "cpu" ? model : model.to(device);
}

/** One SGD step inside `scope`, finished by reading the loss; returns the loss. */
export async function trainStep(model: nn.Sequential, optimizer: optim.SGD, x: Tensor, y: Tensor, device: string): Promise<number> {
  return scope(async () => {
    optimizer.zeroGrad();
    const loss = nn.functional.crossEntropy(model.call(x), y);
    loss.backward();
    optimizer.step();
    if (device === "cpu") return loss.dataSync()[0] as number;
    return Number(await loss.item());
  });
}

function mlpCase(w: MlpWorkload, s: Settings): BenchCase {
  let model: nn.Sequential | undefined;
  let optimizer: optim.SGD | undefined;
  let x: Tensor | undefined;
  let y: Tensor | undefined;
  return {
    ...identity(w, s),
    setup() {
      model = buildMlp(s.device);
      const batch = mlpBatch(w.batch);
      x = fromArray(batch.x, [w.batch, batch.x.length / w.batch], s.device);
      y = fromArray(batch.labels, [w.batch], s.device);
      if (w.kind === "mlp-train") optimizer = new optim.SGD(model.parameters(), { lr: MLP_LEARNING_RATE });
      else model.eval();
    },
    prepare: () => applySettings(s),
    async run() {
      if (w.kind === "mlp-train") {
        await trainStep(model!, optimizer!, x!, y!, s.device);
        return;
      }
      await scope(async () => {
        const out = noGrad(() => model!.call(x!));
        await finish(out, s.device);
      });
    },
    teardown() {
      x?.dispose();
      y?.dispose();
      for (const p of model?.parameters() ?? []) p.dispose();
    },
  };
}

/** The LeNet-style CNN with the shared starting weights, on `device`. */
export function buildLenet(device: string): nn.Sequential {
  const weights = lenetWeights();
  const [c1, c2, l1, l2, l3] = weights.map((l) =>
    l.kind === "conv" ? new nn.Conv2d(l.shape[1]!, l.shape[0]!, l.shape[2]!) : new nn.Linear(l.shape[1]!, l.shape[0]!),
  );
  const layers = [c1!, c2!, l1!, l2!, l3!];
  noGrad(() => {
    layers.forEach((layer, i) => {
      const l = weights[i]!;
      layer.weight.copy_(tensor(l.weight).reshape(l.shape));
      layer.bias!.copy_(tensor(l.bias));
    });
  });
  const model = new nn.Sequential(
    c1!, new nn.ReLU(), new nn.MaxPool2d(2),
    c2!, new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Flatten(),
    l1!, new nn.ReLU(), l2!, new nn.ReLU(), l3!,
  );
  return device === "cpu" ? model : model.to(device);
}

/** What a training case builds in its setup: the model on the device, one batch, its loss and lr. */
interface TrainingSetup {
  model: nn.Module<[Tensor], Tensor>;
  x: Tensor;
  y: Tensor;
  lossOf: (output: Tensor, y: Tensor) => Tensor;
  lr: number;
}

/** A case timing one SGD step inside `scope`, finished by reading the loss. */
function trainingCase(w: Workload, s: Settings, build: () => TrainingSetup): BenchCase {
  let setup: TrainingSetup | undefined;
  let optimizer: optim.SGD | undefined;
  return {
    ...identity(w, s),
    setup() {
      setup = build();
      optimizer = new optim.SGD(setup.model.parameters(), { lr: setup.lr });
    },
    prepare: () => applySettings(s),
    async run() {
      const { model, x, y, lossOf } = setup!;
      await scope(async () => {
        optimizer!.zeroGrad();
        const loss = lossOf(model.forward(x), y);
        loss.backward();
        optimizer!.step();
        await finish(loss, s.device);
      });
    },
    teardown() {
      setup?.x.dispose();
      setup?.y.dispose();
      for (const p of setup?.model.parameters() ?? []) p.dispose();
    },
  };
}

function cnnCase(w: CnnWorkload, s: Settings): BenchCase {
  return trainingCase(w, s, () => {
    const batch = lenetBatch(w.batch);
    return {
      model: buildLenet(s.device),
      x: fromArray(batch.x, [w.batch, 1, 28, 28], s.device),
      y: fromArray(batch.labels, [w.batch], s.device),
      lossOf: (out, y) => nn.functional.crossEntropy(out, y),
      lr: LENET_LEARNING_RATE,
    };
  });
}

function convCase(w: ConvWorkload, s: Settings): BenchCase {
  let x: Tensor | undefined;
  let weight: Tensor | undefined;
  return {
    ...identity(w, s),
    setup() {
      const inputs = convInputs(w);
      x = fromArray(inputs.x, [w.batch, w.inChannels, w.size, w.size], s.device);
      weight = fromArray(inputs.weight, [w.outChannels, w.inChannels, w.kernel, w.kernel], s.device);
    },
    prepare: () => applySettings(s),
    async run() {
      await scope(async () => {
        const out = noGrad(() => nn.functional.conv2d(x!, weight!, undefined, { padding: w.padding }));
        await finish(out, s.device);
      });
    },
    teardown() {
      x?.dispose();
      weight?.dispose();
    },
  };
}

/**
 * PyTorch's TransformerEncoderLayer(d, heads, ff, dropout=0, batch_first=True) written out with
 * nn.Linear, nn.LayerNorm and core ops: post-norm, ReLU, no mask.
 */
class TransformerBlock extends nn.Module {
  in_proj_weight: nn.Parameter;
  in_proj_bias: nn.Parameter;
  out_proj: nn.Linear;
  linear1: nn.Linear;
  linear2: nn.Linear;
  norm1: nn.LayerNorm;
  norm2: nn.LayerNorm;

  constructor(readonly w: TransformerWorkload) {
    super();
    const weights = transformerWeights(w);
    const d = w.dModel;
    this.in_proj_weight = new nn.Parameter(tensor(weights.inProjWeight).reshape([3 * d, d]));
    this.in_proj_bias = new nn.Parameter(tensor(weights.inProjBias));
    this.out_proj = new nn.Linear(d, d);
    this.linear1 = new nn.Linear(d, w.ff);
    this.linear2 = new nn.Linear(w.ff, d);
    this.norm1 = new nn.LayerNorm(d);
    this.norm2 = new nn.LayerNorm(d);
    noGrad(() => {
      this.out_proj.weight.copy_(tensor(weights.outProjWeight).reshape([d, d]));
      this.out_proj.bias!.copy_(tensor(weights.outProjBias));
      this.linear1.weight.copy_(tensor(weights.linear1Weight).reshape([w.ff, d]));
      this.linear1.bias!.copy_(tensor(weights.linear1Bias));
      this.linear2.weight.copy_(tensor(weights.linear2Weight).reshape([d, w.ff]));
      this.linear2.bias!.copy_(tensor(weights.linear2Bias));
    });
  }

  forward(x: Tensor): Tensor {
    const { batch, seq, dModel, heads } = this.w;
    const headDim = dModel / heads;
    const qkv = nn.functional.linear(x, this.in_proj_weight, this.in_proj_bias);
    const [q, k, v] = qkv.chunk(3, -1).map((t) => t.reshape([batch, seq, heads, headDim]).transpose(1, 2)) as [Tensor, Tensor, Tensor];
    const attention = q.mul(1 / Math.sqrt(headDim)).matmul(k.transpose(-2, -1)).softmax(-1).matmul(v);
    const h = this.norm1.forward(x.add(this.out_proj.forward(attention.transpose(1, 2).reshape([batch, seq, dModel]))));
    return this.norm2.forward(h.add(this.linear2.forward(this.linear1.forward(h).relu())));
  }
}

function transformerCase(w: TransformerWorkload, s: Settings): BenchCase {
  return trainingCase(w, s, () => {
    const block = new TransformerBlock(w);
    const batch = transformerBatch(w);
    return {
      model: s.device === "cpu" ? block : block.to(s.device),
      x: fromArray(batch.x, [w.batch, w.seq, w.dModel], s.device),
      y: fromArray(batch.target, [w.batch, w.seq, w.dModel], s.device),
      lossOf: (out, target) => nn.functional.mseLoss(out, target),
      lr: TRANSFORMER_LEARNING_RATE,
    };
  });
}

function caseFor(w: Workload, s: Settings): BenchCase {
  if (w.kind === "transformer-train") return transformerCase(w, s);
  if (w.kind === "cnn-train") return cnnCase(w, s);
  if (w.kind === "conv2d") return convCase(w, s);
  return w.kind === "matmul" ? matmulCase(w, s) : mlpCase(w, s);
}

export async function lockstepPeer(ctx: PeerContext): Promise<PeerSetup> {
  const cases: BenchCase[] = [];
  const skipped: Skip[] = [];
  const notes: string[] = [];
  const cpuWorkloads = wantedWorkloads(ctx, LIBRARY, "cpu");
  if (cpuWorkloads.length > 0) {
    notes.push(`lockstep ${String(lockstep.VERSION)} cpu: fast and deterministic modes, setNumThreads(1) and (2)`);
    for (const w of cpuWorkloads) {
      for (const mode of MODES) for (const threads of CPU_THREADS) cases.push(caseFor(w, { device: "cpu", mode, threads }));
    }
  }
  const gpuWorkloads = wantedWorkloads(ctx, LIBRARY, "webgpu");
  if (gpuWorkloads.length > 0) {
    if (!ctx.webgpu) {
      skipped.push({ library: LIBRARY, backend: "webgpu", reason: "--no-webgpu" });
    } else {
      try {
        const adapter = await startLockstepWebGPU();
        notes.push(`lockstep webgpu: ${adapter}`);
        for (const w of gpuWorkloads) for (const mode of MODES) cases.push(caseFor(w, { device: "webgpu", mode, threads: null }));
      } catch (error) {
        skipped.push({ library: LIBRARY, backend: "webgpu", reason: error instanceof Error ? error.message : String(error) });
      }
    }
  }
  return {
    cases,
    skipped,
    notes,
    close() {
      useDeterministicAlgorithms(false);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The WebGPU memory soak.

export interface SoakReport {
  steps: number;
  seconds: number;
  /** bytesInUse (and pool size) before the first step, then after each tenth of the run. */
  checkpoints: { step: number; bytesInUse: number; bytesPooled: number | undefined; tensors: number | undefined }[];
  firstLoss: number;
  lastLoss: number;
  /** True when every checkpoint after the first step shows the same bytesInUse. */
  flat: boolean;
}

/**
 * Trains the MLP on WebGPU for `steps` SGD steps at batch 16, each inside `scope`, and records
 * `bytesInUse` as it goes: a flat line means nothing leaks per step. Reads the loss back every
 * 50 steps (and at the checkpoints) so the GPU queue cannot run far ahead of the loop.
 */
export async function runWebGPUSoak(steps: number, log: (line: string) => void): Promise<SoakReport> {
  await startLockstepWebGPU();
  useDeterministicAlgorithms(true);
  const w = mlpTrainWorkload();
  const model = buildMlp("webgpu");
  const optimizer = new optim.SGD(model.parameters(), { lr: MLP_LEARNING_RATE });
  const batch = mlpBatch(w.batch);
  const x = fromArray(batch.x, [w.batch, batch.x.length / w.batch], "webgpu");
  const y = fromArray(batch.labels, [w.batch], "webgpu");
  const checkpoints: SoakReport["checkpoints"] = [];
  const record = (step: number) => {
    const m = webgpuMemory();
    checkpoints.push({ step, bytesInUse: m?.bytesInUse ?? Number.NaN, bytesPooled: m?.bytesPooled, tensors: m?.tensors });
  };
  record(0);
  const every = Math.max(1, Math.floor(steps / 10));
  const start = performance.now();
  let firstLoss = Number.NaN;
  let lastLoss = Number.NaN;
  for (let step = 1; step <= steps; step++) {
    const checkpoint = step % every === 0 || step === steps;
    if (checkpoint || step % 50 === 0 || step === 1) {
      lastLoss = await trainStep(model, optimizer, x, y, "webgpu");
      if (step === 1) firstLoss = lastLoss;
    } else {
      scope(() => {
        optimizer.zeroGrad();
        const loss = nn.functional.crossEntropy(model.call(x), y);
        loss.backward();
        optimizer.step();
      });
    }
    if (checkpoint) {
      record(step);
      const last = checkpoints[checkpoints.length - 1]!;
      log(`  soak step ${step}/${steps}: bytesInUse ${last.bytesInUse}, loss ${lastLoss.toFixed(4)}`);
    }
  }
  const seconds = (performance.now() - start) / 1000;
  x.dispose();
  y.dispose();
  useDeterministicAlgorithms(false);
  const after = checkpoints.slice(1).map((c) => c.bytesInUse);
  const flat = after.every((b) => b === after[0]);
  return { steps, seconds, checkpoints, firstLoss, lastLoss, flat };
}
