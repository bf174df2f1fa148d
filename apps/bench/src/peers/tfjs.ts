// TensorFlow.js cases: tfjs-core with its cpu (plain JS), wasm (XNNPACK; single-threaded in Node)
// and webgpu (on Dawn) backends. tfjs is asynchronous on WebGPU and lazy about nothing else, but
// every call still reads its result back (dataSync on cpu/wasm, await data() on webgpu).
//
// Loaded with dynamic imports so that a filtered run that leaves tfjs out never loads it, and so
// that tfjs-backend-webgpu is evaluated after Dawn's globals exist (it registers itself only when
// it sees navigator.gpu at import time).
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
import {
  LENET_CLASSES,
  LENET_LEARNING_RATE,
  convInputs,
  lenetBatch,
  lenetWeights,
  permuteData,
  type CnnWorkload,
  type ConvWorkload,
} from "../workloads.js";
import { TRANSFORMER_LEARNING_RATE, transformerBatch, transformerWeights, type TransformerWorkload } from "../workloads.js";
import { installDawn } from "./dawn.js";

type Tf = typeof import("@tensorflow/tfjs-core");
type TfTensor = import("@tensorflow/tfjs-core").Tensor;
type TfVariable = import("@tensorflow/tfjs-core").Variable;
type TfScalar = import("@tensorflow/tfjs-core").Scalar;

const LIBRARY = "tfjs";
const BACKENDS = ["cpu", "wasm", "webgpu"] as const;
type TfBackend = (typeof BACKENDS)[number];

/**
 * Node resolve hook for tfjs-core's ES-module files, whose relative imports have no extension
 * ("./gradients/Abs_grad"): try ".js", then "/index.js". Used only to load the gradient table.
 */
const EXTENSIONLESS_HOOK = `
export async function resolve(specifier, context, next) {
  if (context.parentURL && context.parentURL.includes("/@tensorflow/tfjs-core/dist/") &&
      specifier.startsWith(".") && !/\\.[cm]?js$/.test(specifier)) {
    try { return await next(specifier + ".js", context); } catch { return next(specifier + "/index.js", context); }
  }
  return next(specifier, context);
}`;

/**
 * tfjs-core's Node bundle registers no gradients: the union package @tensorflow/tfjs does, by
 * importing tfjs-core/dist/register_all_gradients. That package is not installed, so load the
 * same file here. Its registrations land in tfjs's global registry (shared by every copy of
 * tfjs-core), and training then runs exactly the gradients a @tensorflow/tfjs user gets.
 */
async function registerAllGradients(): Promise<void> {
  const { register } = await import("node:module");
  register(`data:text/javascript,${encodeURIComponent(EXTENSIONLESS_HOOK)}`);
  const file = "@tensorflow/tfjs-core/dist/register_all_gradients.js";
  await import(file);
}

async function loadCore(): Promise<Tf> {
  const tf = (await import("@tensorflow/tfjs-core")) as Tf;
  // Production mode: no per-op debug checks, and no "install tfjs-node" banner on stdout.
  tf.enableProdMode();
  return tf;
}

/** Loads and initialises one backend; throws with the reason when it cannot start. */
async function startBackend(tf: Tf, backend: TfBackend): Promise<string> {
  if (backend === "cpu") {
    await import("@tensorflow/tfjs-backend-cpu");
  } else if (backend === "wasm") {
    const wasm = (await import("@tensorflow/tfjs-backend-wasm")) as typeof import("@tensorflow/tfjs-backend-wasm");
    const require = createRequire(import.meta.url);
    const dist = path.join(path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json")), "dist") + path.sep;
    wasm.setWasmPaths(dist);
  } else {
    await installDawn();
    await import("@tensorflow/tfjs-backend-webgpu");
  }
  if (tf.findBackendFactory(backend) === null) throw new Error(`tfjs-backend-${backend} did not register (no navigator.gpu?)`);
  const ok = await tf.setBackend(backend);
  if (!ok) throw new Error(`tf.setBackend("${backend}") failed to initialise`);
  await tf.ready();
  if (backend === "wasm") {
    const simd = tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
    return `wasm (${(await simd) ? "SIMD" : "no SIMD"}, single-threaded: Node has no cross-origin isolation for the threaded build)`;
  }
  return backend === "cpu" ? "cpu (plain JavaScript kernels)" : "webgpu (Dawn)";
}

async function use(tf: Tf, backend: TfBackend): Promise<void> {
  if (tf.getBackend() !== backend) await tf.setBackend(backend);
}

async function read(t: TfTensor, backend: TfBackend): Promise<void> {
  if (backend === "webgpu") await t.data();
  else t.dataSync();
}

/** One SGD step of `lossOf` over `variables`, finished by reading the loss back. */
async function minimizeStep(
  tf: Tf,
  optimizer: import("@tensorflow/tfjs-core").Optimizer,
  lossOf: () => TfScalar,
  variables: import("@tensorflow/tfjs-core").Variable[],
  backend: TfBackend,
): Promise<void> {
  const loss = tf.tidy(() => {
    const value = optimizer.minimize(lossOf, true, variables);
    if (value === null) throw new Error("optimizer.minimize returned no loss");
    return value;
  });
  await read(loss, backend);
  loss.dispose();
}

function threadsOf(backend: TfBackend): number | null {
  return backend === "webgpu" ? null : 1;
}

/** The fields that name a case in the report; WebGPU warms up twice (shaders compile on first use). */
function identity(w: Workload, backend: TfBackend) {
  return {
    library: LIBRARY,
    backend,
    workload: w,
    mode: "default" as const,
    threads: threadsOf(backend),
    warmups: backend === "webgpu" ? 2 : undefined,
  };
}

function matmulCase(tf: Tf, w: MatmulWorkload, backend: TfBackend): BenchCase {
  let a: TfTensor | undefined;
  let b: TfTensor | undefined;
  return {
    ...identity(w, backend),
    async setup() {
      await use(tf, backend);
      const inputs = matmulInputs(w);
      a = tf.tensor2d(inputs.a, [w.m, w.k]);
      b = tf.tensor2d(inputs.b, [w.k, w.n]);
    },
    prepare: () => use(tf, backend),
    async run() {
      const c = tf.matMul(a!, b!);
      await read(c, backend);
      c.dispose();
    },
    teardown() {
      a?.dispose();
      b?.dispose();
    },
  };
}

interface TfLayer {
  weight: TfVariable;
  bias: TfVariable;
}

/** x·W + b with ReLU between layers, through tf.fused.matMul as tf.layers.dense does. */
function forward(tf: Tf, layers: TfLayer[], x: TfTensor): TfTensor {
  let h = x;
  layers.forEach((layer, i) => {
    const last = i === layers.length - 1;
    h = tf.fused.matMul({ a: h, b: layer.weight, bias: layer.bias, activation: last ? "linear" : "relu" });
  });
  return h;
}

function mlpCase(tf: Tf, w: MlpWorkload, backend: TfBackend): BenchCase {
  let layers: TfLayer[] = [];
  let x: TfTensor | undefined;
  let labels: TfTensor | undefined;
  let optimizer: import("@tensorflow/tfjs-core").Optimizer | undefined;
  return {
    ...identity(w, backend),
    async setup() {
      await use(tf, backend);
      layers = mlpWeights().map((l) => ({
        // tfjs multiplies x·W, so W is stored [in, out].
        weight: tf.variable(tf.tensor2d(transpose(l.weight, l.outFeatures, l.inFeatures), [l.inFeatures, l.outFeatures])),
        bias: tf.variable(tf.tensor1d(l.bias)),
      }));
      const batch = mlpBatch(w.batch);
      x = tf.tensor2d(batch.x, [w.batch, batch.x.length / w.batch]);
      labels = tf.tensor2d(batch.oneHot, [w.batch, MLP_CLASSES]);
      optimizer = tf.train.sgd(MLP_LEARNING_RATE);
    },
    prepare: () => use(tf, backend),
    async run() {
      if (w.kind === "mlp-train") {
        const variables = layers.flatMap((l) => [l.weight, l.bias]);
        await minimizeStep(tf, optimizer!, () => tf.losses.softmaxCrossEntropy(labels!, forward(tf, layers, x!)) as TfScalar, variables, backend);
        return;
      }
      const out = tf.tidy(() => forward(tf, layers, x!));
      await read(out, backend);
      out.dispose();
    },
    teardown() {
      for (const l of layers) {
        l.weight.dispose();
        l.bias.dispose();
      }
      x?.dispose();
      labels?.dispose();
      optimizer?.dispose();
    },
  };
}

/**
 * The LeNet's variables in tfjs layouts: conv filters [kh, kw, in, out] (from PyTorch's [out, in,
 * kh, kw]), Linear weights [in, out]. tfjs convolves NHWC, so it flattens the last pool as (h, w, c)
 * where PyTorch flattens (c, h, w): the first Linear's rows are permuted to match, which keeps the
 * network the same function of the same starting numbers.
 */
export function lenetVariables(tf: Tf): TfLayer[] {
  return lenetWeights().map((l, i) => {
    let weight: TfTensor;
    if (l.kind === "conv") {
      const [out, inChannels, k] = l.shape as [number, number, number];
      weight = tf.tensor4d(permuteData(l.weight, l.shape, [2, 3, 1, 0]), [k, k, inChannels, out]);
    } else if (i === 2) {
      const [out, inFeatures] = l.shape as [number, number];
      const side = Math.sqrt(inFeatures / 16);
      weight = tf.tensor2d(permuteData(l.weight, [out, 16, side, side], [2, 3, 1, 0]), [inFeatures, out]);
    } else {
      const [out, inFeatures] = l.shape as [number, number];
      weight = tf.tensor2d(transpose(l.weight, out, inFeatures), [inFeatures, out]);
    }
    return { weight: tf.variable(weight), bias: tf.variable(tf.tensor1d(l.bias)) };
  });
}

/** conv → ReLU → maxpool twice (tf.fused.conv2d with bias and ReLU, as tf.layers.conv2d does), flatten, then the MLP head. */
export function lenetForward(tf: Tf, layers: TfLayer[], x: TfTensor, batch: number): TfTensor {
  let h = x as import("@tensorflow/tfjs-core").Tensor4D;
  for (const layer of layers.slice(0, 2)) {
    h = tf.fused.conv2d({ x: h, filter: layer.weight as import("@tensorflow/tfjs-core").Tensor4D, strides: 1, pad: "valid", bias: layer.bias, activation: "relu" });
    h = tf.maxPool(h, 2, 2, "valid");
  }
  return forward(tf, layers.slice(2), tf.reshape(h, [batch, -1]));
}

function cnnCase(tf: Tf, w: CnnWorkload, backend: TfBackend): BenchCase {
  let layers: TfLayer[] = [];
  let x: TfTensor | undefined;
  let labels: TfTensor | undefined;
  let optimizer: import("@tensorflow/tfjs-core").Optimizer | undefined;
  return {
    ...identity(w, backend),
    async setup() {
      await use(tf, backend);
      layers = lenetVariables(tf);
      const batch = lenetBatch(w.batch);
      // One channel: the NCHW data is also NHWC.
      x = tf.tensor4d(batch.x, [w.batch, 28, 28, 1]);
      labels = tf.tensor2d(batch.oneHot, [w.batch, LENET_CLASSES]);
      optimizer = tf.train.sgd(LENET_LEARNING_RATE);
    },
    prepare: () => use(tf, backend),
    async run() {
      const variables = layers.flatMap((l) => [l.weight, l.bias]);
      await minimizeStep(tf, optimizer!, () => tf.losses.softmaxCrossEntropy(labels!, lenetForward(tf, layers, x!, w.batch)) as TfScalar, variables, backend);
    },
    teardown() {
      for (const l of layers) {
        l.weight.dispose();
        l.bias.dispose();
      }
      x?.dispose();
      labels?.dispose();
      optimizer?.dispose();
    },
  };
}

function convCase(tf: Tf, w: ConvWorkload, backend: TfBackend): BenchCase {
  let x: import("@tensorflow/tfjs-core").Tensor4D | undefined;
  let filter: import("@tensorflow/tfjs-core").Tensor4D | undefined;
  return {
    ...identity(w, backend),
    async setup() {
      await use(tf, backend);
      const inputs = convInputs(w);
      // tfjs convolves NHWC inputs with [kh, kw, in, out] filters: the same numbers, moved.
      x = tf.tensor4d(permuteData(inputs.x, [w.batch, w.inChannels, w.size, w.size], [0, 2, 3, 1]), [w.batch, w.size, w.size, w.inChannels]);
      filter = tf.tensor4d(permuteData(inputs.weight, [w.outChannels, w.inChannels, w.kernel, w.kernel], [2, 3, 1, 0]), [w.kernel, w.kernel, w.inChannels, w.outChannels]);
    },
    prepare: () => use(tf, backend),
    async run() {
      const out = tf.conv2d(x!, filter!, 1, w.padding);
      await read(out, backend);
      out.dispose();
    },
    teardown() {
      x?.dispose();
      filter?.dispose();
    },
  };
}

/**
 * The transformer block of workloads.ts in tfjs ops: post-norm, ReLU, no mask, projections through
 * tf.fused.matMul with PyTorch's [out, in] weights (transposeB), heads folded into the batch of a
 * batched matMul, LayerNorm from tf.moments.
 */
function transformerCase(tf: Tf, w: TransformerWorkload, backend: TfBackend): BenchCase {
  let vars: Record<string, TfVariable> = {};
  let x: TfTensor | undefined;
  let target: TfTensor | undefined;
  let optimizer: import("@tensorflow/tfjs-core").Optimizer | undefined;
  const { batch, seq, dModel: d, heads, ff } = w;
  const headDim = d / heads;
  const linear = (a: TfTensor, weight: string, bias: string, activation: "linear" | "relu" = "linear") =>
    tf.fused.matMul({ a, b: vars[weight]!, transposeB: true, bias: vars[bias]!, activation });
  const layerNorm = (a: TfTensor, gamma: string, beta: string) => {
    const { mean, variance } = tf.moments(a, -1, true);
    return tf.add(tf.mul(tf.mul(tf.sub(a, mean), tf.rsqrt(tf.add(variance, 1e-5))), vars[gamma]!), vars[beta]!);
  };
  const splitHeads = (t: TfTensor) => tf.reshape(tf.transpose(tf.reshape(t, [batch, seq, heads, headDim]), [0, 2, 1, 3]), [batch * heads, seq, headDim]);
  const block = (input: TfTensor): TfTensor => {
    const [q, k, v] = tf.split(linear(input, "inProjWeight", "inProjBias"), 3, 1).map(splitHeads) as [TfTensor, TfTensor, TfTensor];
    const probs = tf.softmax(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(headDim)));
    const merged = tf.reshape(tf.transpose(tf.reshape(tf.matMul(probs, v), [batch, heads, seq, headDim]), [0, 2, 1, 3]), [batch * seq, d]);
    const h = layerNorm(tf.add(input, linear(merged, "outProjWeight", "outProjBias")), "norm1Weight", "norm1Bias");
    return layerNorm(tf.add(h, linear(linear(h, "linear1Weight", "linear1Bias", "relu"), "linear2Weight", "linear2Bias")), "norm2Weight", "norm2Bias");
  };
  return {
    ...identity(w, backend),
    async setup() {
      await use(tf, backend);
      const weights = transformerWeights(w);
      const shapes: Record<string, [Float32Array, number[]]> = {
        inProjWeight: [weights.inProjWeight, [3 * d, d]],
        inProjBias: [weights.inProjBias, [3 * d]],
        outProjWeight: [weights.outProjWeight, [d, d]],
        outProjBias: [weights.outProjBias, [d]],
        linear1Weight: [weights.linear1Weight, [ff, d]],
        linear1Bias: [weights.linear1Bias, [ff]],
        linear2Weight: [weights.linear2Weight, [d, ff]],
        linear2Bias: [weights.linear2Bias, [d]],
        norm1Weight: [new Float32Array(d).fill(1), [d]],
        norm1Bias: [new Float32Array(d), [d]],
        norm2Weight: [new Float32Array(d).fill(1), [d]],
        norm2Bias: [new Float32Array(d), [d]],
      };
      vars = Object.fromEntries(Object.entries(shapes).map(([name, [data, shape]]) => [name, tf.variable(tf.tensor(data, shape))]));
      const data = transformerBatch(w);
      x = tf.tensor2d(data.x, [batch * seq, d]);
      target = tf.tensor2d(data.target, [batch * seq, d]);
      optimizer = tf.train.sgd(TRANSFORMER_LEARNING_RATE);
    },
    prepare: () => use(tf, backend),
    async run() {
      await minimizeStep(tf, optimizer!, () => tf.losses.meanSquaredError(target!, block(x!)) as TfScalar, Object.values(vars), backend);
    },
    teardown() {
      for (const v of Object.values(vars)) v.dispose();
      x?.dispose();
      target?.dispose();
      optimizer?.dispose();
    },
  };
}

/** Why a backend cannot run a workload at all (a kernel it does not register), or undefined. */
function missingKernel(tf: Tf, w: Workload, backend: TfBackend): string | undefined {
  if (w.kind !== "cnn-train") return undefined;
  for (const kernel of ["Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter", "MaxPool", "MaxPoolGrad"]) {
    if (tf.getKernel(kernel, backend) === undefined) {
      return `tfjs-backend-${backend} ${tf.version_core} registers no ${kernel} kernel, which the training step's gradient needs`;
    }
  }
  return undefined;
}

function caseFor(tf: Tf, w: Workload, backend: TfBackend): BenchCase {
  if (w.kind === "transformer-train") return transformerCase(tf, w, backend);
  if (w.kind === "cnn-train") return cnnCase(tf, w, backend);
  if (w.kind === "conv2d") return convCase(tf, w, backend);
  return w.kind === "matmul" ? matmulCase(tf, w, backend) : mlpCase(tf, w, backend);
}

export async function tfjsPeer(ctx: PeerContext): Promise<PeerSetup> {
  const cases: BenchCase[] = [];
  const skipped: Skip[] = [];
  const notes: string[] = [];
  const wanted = BACKENDS.map((backend) => ({ backend, workloads: wantedWorkloads(ctx, LIBRARY, backend) })).filter((b) => b.workloads.length > 0);
  if (wanted.length === 0) return { cases, skipped, notes };
  let tf: Tf;
  try {
    tf = await loadCore();
  } catch (error) {
    for (const { backend } of wanted) skipped.push({ library: LIBRARY, backend, reason: `cannot load @tensorflow/tfjs-core: ${String(error)}` });
    return { cases, skipped, notes };
  }
  let gradientsLoaded = false;
  for (const { backend, workloads } of wanted) {
    if (backend === "webgpu" && !ctx.webgpu) {
      skipped.push({ library: LIBRARY, backend, reason: "--no-webgpu" });
      continue;
    }
    try {
      if (!gradientsLoaded && workloads.some((w) => w.kind === "mlp-train" || w.kind === "cnn-train" || w.kind === "transformer-train")) {
        await registerAllGradients();
        gradientsLoaded = true;
      }
      const description = await startBackend(tf, backend);
      notes.push(`tfjs ${tf.version_core} ${description}`);
      for (const w of workloads) {
        const missing = missingKernel(tf, w, backend);
        if (missing === undefined) cases.push(caseFor(tf, w, backend));
        else skipped.push({ library: LIBRARY, backend, workload: w.name, reason: missing });
      }
    } catch (error) {
      skipped.push({ library: LIBRARY, backend, reason: error instanceof Error ? error.message : String(error) });
    }
  }
  return {
    cases,
    skipped,
    notes,
    close() {
      tf.disposeVariables();
    },
  };
}
