// jax-js cases on its wasm and webgpu devices. jax-js is lazy (ops are recorded and dispatched on
// demand), so every call ends with `await data()` on the result, and the training step also waits
// for the updated parameters (`blockUntilReady`), not only for the loss.
//
// jax-js counts references: passing an array to a function consumes it, `.ref` keeps it. The
// cases below hold their inputs and pass `.ref`s; the training step consumes the old parameters
// and keeps the new ones. In Node jax-js's wasm device runs single-threaded (it spreads work over
// Web Workers, which Node does not have as a global).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import type { BenchCase, PeerContext, PeerSetup, Skip } from "../runner.js";
import { wantedWorkloads } from "../runner.js";
import {
  MLP_CLASSES,
  MLP_LEARNING_RATE,
  matmulInputs,
  mlpBatch,
  mlpWeights,
  transpose,
  type MatmulWorkload,
  type MlpWorkload,
  type Workload,
} from "../workloads.js";
import { LENET_CLASSES, LENET_LEARNING_RATE, convInputs, lenetBatch, lenetWeights, type CnnWorkload, type ConvWorkload } from "../workloads.js";
import { TRANSFORMER_LEARNING_RATE, transformerBatch, transformerWeights, type TransformerWorkload } from "../workloads.js";
import { installDawn } from "./dawn.js";

type Jax = typeof import("@jax-js/jax");
type JaxArray = import("@jax-js/jax").Array;
type Device = "wasm" | "webgpu";

const LIBRARY = "jax-js";
const DEVICES: readonly Device[] = ["wasm", "webgpu"];

function threadsOf(device: Device): number | null {
  return device === "webgpu" ? null : 1;
}

/** The fields that name a case in the report; jit compiles on the first call, hence two warm-ups. */
function identity(w: Workload, device: Device) {
  return { library: LIBRARY, backend: device, workload: w, mode: "default" as const, threads: threadsOf(device), warmups: 2 };
}

function matmulCase(jax: Jax, w: MatmulWorkload, device: Device): BenchCase {
  const np = jax.numpy;
  let a: JaxArray | undefined;
  let b: JaxArray | undefined;
  let product: ((x: JaxArray, y: JaxArray) => JaxArray) & { dispose(): void };
  return {
    ...identity(w, device),
    setup() {
      jax.defaultDevice(device);
      const inputs = matmulInputs(w);
      a = np.array(inputs.a, { shape: [w.m, w.k], device });
      b = np.array(inputs.b, { shape: [w.k, w.n], device });
      // jit, as jax-js recommends: eager np.matmul pays ~0.5-1 ms of tracing per call here.
      product = jax.jit((x: JaxArray, y: JaxArray) => np.matmul(x, y)) as typeof product;
    },
    prepare() {
      jax.defaultDevice(device);
    },
    async run() {
      // data() realises the lazy product, reads it back and releases it.
      await product(a!.ref, b!.ref).data();
    },
    teardown() {
      a?.dispose();
      b?.dispose();
      product?.dispose();
    },
  };
}

/** x·W + b with ReLU between layers; `params` is [W1, b1, W2, b2, W3, b3], each used once. */
function forward(jax: Jax, params: JaxArray[], x: JaxArray): JaxArray {
  const np = jax.numpy;
  let h = x;
  const layers = params.length / 2;
  for (let i = 0; i < layers; i++) {
    h = np.matmul(h, params[2 * i]!).add(params[2 * i + 1]!);
    if (i < layers - 1) h = jax.nn.relu(h);
  }
  return h;
}

/** Mean cross-entropy against one-hot labels. */
function loss(jax: Jax, params: JaxArray[], x: JaxArray, oneHot: JaxArray, batch: number): JaxArray {
  const np = jax.numpy;
  const logProbs = jax.nn.logSoftmax(forward(jax, params, x), -1);
  return np.negative(np.sum(np.multiply(logProbs, oneHot))).div(batch);
}

type Loss = (params: JaxArray[], x: JaxArray, y: JaxArray) => JaxArray;
type SgdStep = ((params: JaxArray[], x: JaxArray, y: JaxArray) => [JaxArray, JaxArray[]]) & { dispose(): void };

/** One compiled SGD step of `lossOf`: value, gradient and update together. */
function sgdStep(jax: Jax, lossOf: Loss, lr: number): SgdStep {
  return jax.jit((ps: JaxArray[], xs: JaxArray, ys: JaxArray): [JaxArray, JaxArray[]] => {
    const [value, grads] = jax.valueAndGrad(lossOf)(jax.tree.ref(ps), xs, ys);
    return [value, ps.map((p, i) => p.sub(grads[i]!.mul(lr)))];
  }) as SgdStep;
}

/** What a training case builds in its setup: starting parameters, one batch and its loss. */
interface TrainingSetup {
  params: JaxArray[];
  x: JaxArray;
  y: JaxArray;
  lossOf: Loss;
  lr: number;
}

/** A case timing one jitted SGD step (finished: parameters and loss read back) per call. */
function trainingCase(jax: Jax, w: Workload, device: Device, build: () => TrainingSetup): BenchCase {
  let setup: TrainingSetup | undefined;
  let step: SgdStep | undefined;
  return {
    ...identity(w, device),
    setup() {
      jax.defaultDevice(device);
      setup = build();
      step = sgdStep(jax, setup.lossOf, setup.lr);
    },
    prepare() {
      jax.defaultDevice(device);
    },
    async run() {
      const [value, next] = step!(setup!.params, setup!.x.ref, setup!.y.ref);
      setup!.params = next;
      await jax.blockUntilReady(setup!.params);
      await value.data();
    },
    teardown() {
      for (const p of setup?.params ?? []) p.dispose();
      setup?.x.dispose();
      setup?.y.dispose();
      step?.dispose();
    },
  };
}

function mlpCase(jax: Jax, w: MlpWorkload, device: Device): BenchCase {
  const np = jax.numpy;
  let params: JaxArray[] = [];
  let x: JaxArray | undefined;
  let labels: JaxArray | undefined;
  let step: SgdStep;
  let infer: ((params: JaxArray[], x: JaxArray) => JaxArray) & { dispose(): void };
  return {
    ...identity(w, device),
    setup() {
      jax.defaultDevice(device);
      params = mlpWeights().flatMap((l) => [
        np.array(transpose(l.weight, l.outFeatures, l.inFeatures), { shape: [l.inFeatures, l.outFeatures], device }),
        np.array(l.bias, { shape: [l.outFeatures], device }),
      ]);
      const batch = mlpBatch(w.batch);
      x = np.array(batch.x, { shape: [w.batch, batch.x.length / w.batch], device });
      labels = np.array(batch.oneHot, { shape: [w.batch, MLP_CLASSES], device });
      // One compiled function per case: the whole SGD step (value, gradient, update) or the forward pass.
      step = sgdStep(jax, (p, a, b) => loss(jax, p, a, b, w.batch), MLP_LEARNING_RATE);
      infer = jax.jit((ps: JaxArray[], xs: JaxArray) => forward(jax, ps, xs)) as typeof infer;
    },
    prepare() {
      jax.defaultDevice(device);
    },
    async run() {
      if (w.kind === "mlp-train") {
        const [value, next] = step(params, x!.ref, labels!.ref);
        params = next;
        await jax.blockUntilReady(params);
        await value.data();
        return;
      }
      await infer(jax.tree.ref(params), x!.ref).data();
    },
    teardown() {
      for (const p of params) p.dispose();
      x?.dispose();
      labels?.dispose();
      step?.dispose();
      infer?.dispose();
    },
  };
}

/**
 * The LeNet forward pass, NCHW as PyTorch: `lax.convGeneralDilated` (OIHW kernels) plus bias, ReLU,
 * 2×2 max pooling as `lax.reduceWindow` with `np.max`, flatten (c, h, w), then the MLP head.
 * `params` is [K1, b1, K2, b2, W1, b1, W2, b2, W3, b3], each used once.
 */
export function lenetForward(jax: Jax, params: JaxArray[], x: JaxArray, batch: number): JaxArray {
  const np = jax.numpy;
  let h = x;
  for (let i = 0; i < 2; i++) {
    const kernel = params[2 * i]!;
    const channels = kernel.shape[0]!;
    h = jax.lax.convGeneralDilated(h, kernel, [1, 1], "VALID").add(params[2 * i + 1]!.reshape([channels, 1, 1]));
    h = jax.lax.reduceWindow(jax.nn.relu(h), (window: JaxArray) => np.max(window), [2, 2], [2, 2]);
  }
  return forward(jax, params.slice(4), h.reshape([batch, -1]));
}

function cnnCase(jax: Jax, w: CnnWorkload, device: Device): BenchCase {
  const np = jax.numpy;
  return trainingCase(jax, w, device, () => {
    const params = lenetWeights().flatMap((l) => {
      const [out, inFeatures] = l.shape as [number, number];
      const weight =
        l.kind === "conv" ? np.array(l.weight, { shape: l.shape, device }) : np.array(transpose(l.weight, out, inFeatures), { shape: [inFeatures, out], device });
      return [weight, np.array(l.bias, { shape: [out], device })];
    });
    const batch = lenetBatch(w.batch);
    const x = np.array(batch.x, { shape: [w.batch, 1, 28, 28], device });
    const labels = np.array(batch.oneHot, { shape: [w.batch, LENET_CLASSES], device });
    const lossOf = (p: JaxArray[], a: JaxArray, b: JaxArray) => {
      const logProbs = jax.nn.logSoftmax(lenetForward(jax, p, a, w.batch), -1);
      return np.negative(np.sum(np.multiply(logProbs, b))).div(w.batch);
    };
    return { params, x, y: labels, lossOf, lr: LENET_LEARNING_RATE };
  });
}

function convCase(jax: Jax, w: ConvWorkload, device: Device): BenchCase {
  const np = jax.numpy;
  let x: JaxArray | undefined;
  let kernel: JaxArray | undefined;
  let conv: ((x: JaxArray, k: JaxArray) => JaxArray) & { dispose(): void };
  return {
    ...identity(w, device),
    setup() {
      jax.defaultDevice(device);
      const inputs = convInputs(w);
      x = np.array(inputs.x, { shape: [w.batch, w.inChannels, w.size, w.size], device });
      kernel = np.array(inputs.weight, { shape: [w.outChannels, w.inChannels, w.kernel, w.kernel], device });
      const pad: [number, number][] = [
        [w.padding, w.padding],
        [w.padding, w.padding],
      ];
      conv = jax.jit((a: JaxArray, k: JaxArray) => jax.lax.convGeneralDilated(a, k, [1, 1], pad)) as typeof conv;
    },
    prepare() {
      jax.defaultDevice(device);
    },
    async run() {
      await conv(x!.ref, kernel!.ref).data();
    },
    teardown() {
      x?.dispose();
      kernel?.dispose();
      conv?.dispose();
    },
  };
}

/**
 * Mean squared error of the transformer block of workloads.ts: post-norm, ReLU, no mask, attention
 * as softmax(q·kᵀ/√headDim)·v with batched np.matmul over [B, heads, T, headDim] (jax-js's
 * nn.dotProductAttention needs Iterator helpers that Node 20 lacks), LayerNorm through
 * jax.nn.standardize. `params` holds the weights as [in, out] (x·W) in the order of
 * transformerWeights, then the two LayerNorms' scale and shift. Arrays used twice take a `.ref`.
 */
function transformerLoss(jax: Jax, params: JaxArray[], x: JaxArray, target: JaxArray, w: TransformerWorkload): JaxArray {
  const np = jax.numpy;
  const [inW, inB, outW, outB, l1W, l1B, l2W, l2B, n1W, n1B, n2W, n2B] = params as [JaxArray, JaxArray, JaxArray, JaxArray, JaxArray, JaxArray, JaxArray, JaxArray, JaxArray, JaxArray, JaxArray, JaxArray];
  const { batch, seq, dModel, heads } = w;
  const headDim = dModel / heads;
  const splitHeads = (t: JaxArray) => t.reshape([batch, seq, heads, headDim]).transpose([0, 2, 1, 3]);
  const layerNorm = (a: JaxArray, g: JaxArray, b: JaxArray) => jax.nn.standardize(a, -1, { epsilon: 1e-5 }).mul(g).add(b);
  const [q, k, v] = np.split(np.matmul(x.ref, inW).add(inB), 3, 1) as [JaxArray, JaxArray, JaxArray];
  const scores = np.matmul(splitHeads(q), splitHeads(k).transpose([0, 1, 3, 2])).mul(1 / Math.sqrt(headDim));
  const attention = np.matmul(jax.nn.softmax(scores, -1), splitHeads(v)).transpose([0, 2, 1, 3]).reshape([batch * seq, dModel]);
  const h = layerNorm(x.add(np.matmul(attention, outW).add(outB)), n1W, n1B);
  const ff = np.matmul(jax.nn.relu(np.matmul(h.ref, l1W).add(l1B)), l2W).add(l2B);
  const diff = layerNorm(h.add(ff), n2W, n2B).sub(target);
  return np.mean(diff.ref.mul(diff));
}

function transformerCase(jax: Jax, w: TransformerWorkload, device: Device): BenchCase {
  const np = jax.numpy;
  return trainingCase(jax, w, device, () => {
    const d = w.dModel;
    const weights = transformerWeights(w);
    const matrix = (data: Float32Array, out: number, inFeatures: number) => np.array(transpose(data, out, inFeatures), { shape: [inFeatures, out], device });
    const vector = (data: Float32Array) => np.array(data, { shape: [data.length], device });
    const params = [
      matrix(weights.inProjWeight, 3 * d, d),
      vector(weights.inProjBias),
      matrix(weights.outProjWeight, d, d),
      vector(weights.outProjBias),
      matrix(weights.linear1Weight, w.ff, d),
      vector(weights.linear1Bias),
      matrix(weights.linear2Weight, d, w.ff),
      vector(weights.linear2Bias),
      vector(new Float32Array(d).fill(1)),
      vector(new Float32Array(d)),
      vector(new Float32Array(d).fill(1)),
      vector(new Float32Array(d)),
    ];
    const data = transformerBatch(w);
    const x = np.array(data.x, { shape: [w.batch * w.seq, d], device });
    const target = np.array(data.target, { shape: [w.batch * w.seq, d], device });
    return { params, x, y: target, lossOf: (p, a, b) => transformerLoss(jax, p, a, b, w), lr: TRANSFORMER_LEARNING_RATE };
  });
}

function caseFor(jax: Jax, w: Workload, device: Device): BenchCase {
  if (w.kind === "transformer-train") return transformerCase(jax, w, device);
  if (w.kind === "cnn-train") return cnnCase(jax, w, device);
  if (w.kind === "conv2d") return convCase(jax, w, device);
  return w.kind === "matmul" ? matmulCase(jax, w, device) : mlpCase(jax, w, device);
}

/** The installed version (the package's exports map hides its package.json from require). */
function jaxVersion(): string {
  try {
    let dir = path.dirname(createRequire(import.meta.url).resolve("@jax-js/jax"));
    while (!dir.endsWith(`${path.sep}jax`) && path.dirname(dir) !== dir) dir = path.dirname(dir);
    return (JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "(version unknown)";
  }
}

async function startDevice(jax: Jax, device: Device): Promise<void> {
  if (device === "webgpu") await installDawn();
  const available = await jax.init(device);
  if (!available.includes(device)) {
    throw new Error(device === "webgpu" ? "jax-js found no WebGPU adapter through navigator.gpu (Dawn)" : "jax-js could not start its wasm device");
  }
}

export async function jaxPeer(ctx: PeerContext): Promise<PeerSetup> {
  const cases: BenchCase[] = [];
  const skipped: Skip[] = [];
  const notes: string[] = [];
  const wanted = DEVICES.map((device) => ({ device, workloads: wantedWorkloads(ctx, LIBRARY, device) })).filter((d) => d.workloads.length > 0);
  if (wanted.length === 0) return { cases, skipped, notes };
  let jax: Jax;
  try {
    jax = (await import("@jax-js/jax")) as Jax;
  } catch (error) {
    for (const { device } of wanted) skipped.push({ library: LIBRARY, backend: device, reason: `cannot load @jax-js/jax: ${String(error)}` });
    return { cases, skipped, notes };
  }
  for (const { device, workloads } of wanted) {
    if (device === "webgpu" && !ctx.webgpu) {
      skipped.push({ library: LIBRARY, backend: device, reason: "--no-webgpu" });
      continue;
    }
    try {
      await startDevice(jax, device);
      notes.push(`jax-js ${jaxVersion()} ${device}${device === "wasm" ? " (single-threaded in Node: no Web Workers)" : " (Dawn)"}, jit for every workload`);
      for (const w of workloads) cases.push(caseFor(jax, w, device));
    } catch (error) {
      skipped.push({ library: LIBRARY, backend: device, reason: error instanceof Error ? error.message : String(error) });
    }
  }
  return { cases, skipped, notes };
}
