// What is measured: the workloads (matmul shapes, the MLP training step and inference), their
// names as they appear in the table and the JSON, their FLOP counts, and the input data every
// JavaScript peer receives. This file runs nothing and knows no library.

/** f32 matmul of an M×K matrix by a K×N matrix. */
export interface MatmulWorkload {
  kind: "matmul";
  name: string;
  m: number;
  k: number;
  n: number;
  /** Multiply-adds counted as two FLOPs: 2·M·K·N. */
  flops: number;
}

/** One SGD training step (forward, cross-entropy, backward, update) or one inference forward pass. */
export interface MlpWorkload {
  kind: "mlp-train" | "mlp-inference";
  name: string;
  batch: number;
  /** Matmul FLOPs only (the bias adds, ReLUs and the loss are a rounding error at these sizes). */
  flops: number;
}

/**
 * One SGD training step of the LeNet-style CNN (conv 1→6 5×5, ReLU, maxpool 2, conv 6→16 5×5, ReLU,
 * maxpool 2, flatten, Linear 256→120→84→10 with ReLUs, cross-entropy) on [batch, 1, 28, 28].
 */
export interface CnnWorkload {
  kind: "cnn-train";
  name: string;
  batch: number;
  /** Convolution and Linear multiply-adds only (forward, weight gradients, input gradients but the first layer's), ×2. */
  flops: number;
}

/** One conv2d forward pass (no bias): [batch, inChannels, size, size] with an outChannels×inChannels×kernel×kernel weight. */
export interface ConvWorkload {
  kind: "conv2d";
  name: string;
  batch: number;
  inChannels: number;
  outChannels: number;
  /** Height and width of the input. */
  size: number;
  kernel: number;
  /** Zero padding on every side. */
  padding: number;
  /** 2·N·Cout·H'·W'·Cin·k². */
  flops: number;
}

/**
 * One SGD training step of a transformer encoder block, PyTorch's TransformerEncoderLayer(dModel,
 * heads, dim_feedforward=ff, dropout=0, batch_first=True): post-norm, ReLU, no mask; the loss is
 * the mean squared error of the block's output against a fixed target.
 */
export interface TransformerWorkload {
  kind: "transformer-train";
  name: string;
  batch: number;
  seq: number;
  dModel: number;
  heads: number;
  ff: number;
  /** Matmul multiply-adds ×2: projections, feed-forward and attention, forward and backward (see transformerTrainWorkload). */
  flops: number;
}

export type Workload = MatmulWorkload | MlpWorkload | CnnWorkload | ConvWorkload | TransformerWorkload;

/** Layer widths of the benchmark MLP: 784-256-256-10 with ReLU between layers. */
export const MLP_LAYERS = [784, 256, 256, 10] as const;
export const MLP_CLASSES = MLP_LAYERS[MLP_LAYERS.length - 1]!;
export const MLP_LEARNING_RATE = 0.01;
export const TRAIN_BATCH = 16;
export const INFERENCE_BATCH = 1;

/** [M, K, N] of the default matmul shapes. */
export const FULL_MATMUL_SHAPES: readonly (readonly [number, number, number])[] = [
  [1, 768, 768],
  [16, 768, 768],
  [128, 768, 768],
  [1024, 1024, 1024],
];

/** `--quick` leaves out the 1024³ product, which takes seconds per call in the slower libraries. */
export const QUICK_MATMUL_SHAPES = FULL_MATMUL_SHAPES.slice(0, 3);

/** `--sizes small` (hidden, for tests): shapes that take milliseconds everywhere. */
export const SMALL_MATMUL_SHAPES: readonly (readonly [number, number, number])[] = [
  [1, 64, 64],
  [16, 64, 64],
];

export function matmulWorkload(m: number, k: number, n: number): MatmulWorkload {
  return { kind: "matmul", name: `matmul ${m}x${k}x${n}`, m, k, n, flops: 2 * m * k * n };
}

/** Sum over layers of in·out: the multiply-adds of one forward pass for one sample. */
function forwardMacsPerSample(): number {
  let macs = 0;
  for (let i = 0; i + 1 < MLP_LAYERS.length; i++) macs += MLP_LAYERS[i]! * MLP_LAYERS[i + 1]!;
  return macs;
}

/**
 * Training matmul FLOPs: forward (x·Wᵀ), weight gradients (gᵀ·x, same size as the forward) and
 * input gradients for every layer but the first (whose input needs no gradient).
 */
function trainFlops(batch: number): number {
  const forward = forwardMacsPerSample();
  const firstLayer = MLP_LAYERS[0] * MLP_LAYERS[1];
  return 2 * batch * (forward + forward + (forward - firstLayer));
}

export function mlpTrainWorkload(batch = TRAIN_BATCH): MlpWorkload {
  return { kind: "mlp-train", name: `mlp train step b${batch}`, batch, flops: trainFlops(batch) };
}

export function mlpInferenceWorkload(batch = INFERENCE_BATCH): MlpWorkload {
  return { kind: "mlp-inference", name: `mlp inference b${batch}`, batch, flops: 2 * batch * forwardMacsPerSample() };
}

// ---------------------------------------------------------------------------------------------
// The CNN workloads.

/** The LeNet-style CNN: its two convolutions [out, in, k] on a 28×28×1 input, then Linear widths. */
export const LENET_CONVS = [
  [6, 1, 5],
  [16, 6, 5],
] as const;
export const LENET_INPUT = 28;
/** 16 channels × 4 × 4 after the second pool, flattened channel-major as PyTorch does. */
export const LENET_LINEAR = [256, 120, 84, 10] as const;
export const LENET_CLASSES = 10;
export const LENET_LEARNING_RATE = 0.01;

/** Multiply-adds of one LeNet forward pass for one sample, per layer (convs first, then Linears). */
function lenetLayerMacs(): number[] {
  const macs: number[] = [];
  let size = LENET_INPUT;
  for (const [out, inChannels, k] of LENET_CONVS) {
    size = size - k + 1;
    macs.push(out * size * size * inChannels * k * k);
    size /= 2;
  }
  for (let i = 0; i + 1 < LENET_LINEAR.length; i++) macs.push(LENET_LINEAR[i]! * LENET_LINEAR[i + 1]!);
  return macs;
}

export function lenetTrainWorkload(batch = TRAIN_BATCH): CnnWorkload {
  const macs = lenetLayerMacs();
  const forward = macs.reduce((a, b) => a + b, 0);
  // As for the MLP: forward, weight gradients (same size) and input gradients of all but the first layer.
  const flops = 2 * batch * (forward + forward + (forward - macs[0]!));
  return { kind: "cnn-train", name: `lenet train step b${batch}`, batch, flops };
}

export function conv2dWorkload(batch: number, inChannels: number, outChannels: number, size: number, kernel = 3, padding = 1): ConvWorkload {
  const out = size + 2 * padding - kernel + 1;
  return {
    kind: "conv2d",
    name: `conv2d ${kernel}x${kernel} ${inChannels}→${outChannels} ${size}x${size} b${batch} forward`,
    batch,
    inChannels,
    outChannels,
    size,
    kernel,
    padding,
    flops: 2 * batch * outChannels * out * out * inChannels * kernel * kernel,
  };
}

// ---------------------------------------------------------------------------------------------
// The transformer-block workload.

export const TRANSFORMER_LEARNING_RATE = 0.01;

/**
 * Per token, the forward pass multiplies 4·d² (QKV and output projections) + 2·d·ff (feed-forward)
 * + 2·T·d (QKᵀ and PV); training adds the weight gradients of the Linear layers (the same 4·d² +
 * 2·d·ff), the input gradients of all of them but the QKV projection (whose input, x, needs none:
 * −3·d²), and the attention's four backward products (4·T·d).
 */
export function transformerTrainWorkload(batch = 8, seq = 64, dModel = 128, heads = 4, ff = 4 * dModel): TransformerWorkload {
  const linear = 4 * dModel * dModel + 2 * dModel * ff;
  const attention = 2 * seq * dModel;
  const macsPerToken = linear + attention + linear + (linear - 3 * dModel * dModel) + 2 * attention;
  return {
    kind: "transformer-train",
    name: `transformer block train step b${batch} s${seq} d${dModel} h${heads}`,
    batch,
    seq,
    dModel,
    heads,
    ff,
    flops: 2 * batch * seq * macsPerToken,
  };
}

/** The block's starting weights in PyTorch's layouts ([out, in]); LayerNorms start at ones and zeros. */
export interface TransformerWeights {
  /** [3·d, d], xavier-uniform as MultiheadAttention initialises it. */
  inProjWeight: Float32Array;
  /** [3·d], zeros. */
  inProjBias: Float32Array;
  /** [d, d]. */
  outProjWeight: Float32Array;
  /** [d], zeros. */
  outProjBias: Float32Array;
  /** [ff, d]. */
  linear1Weight: Float32Array;
  linear1Bias: Float32Array;
  /** [d, ff]. */
  linear2Weight: Float32Array;
  linear2Bias: Float32Array;
}

export function transformerWeights(w: TransformerWorkload): TransformerWeights {
  const d = w.dModel;
  return {
    inProjWeight: uniformData(3 * d * d, Math.sqrt(6 / (d + 3 * d)), 80),
    inProjBias: new Float32Array(3 * d),
    outProjWeight: uniformData(d * d, 1 / Math.sqrt(d), 81),
    outProjBias: new Float32Array(d),
    linear1Weight: uniformData(w.ff * d, 1 / Math.sqrt(d), 82),
    linear1Bias: uniformData(w.ff, 1 / Math.sqrt(d), 83),
    linear2Weight: uniformData(d * w.ff, 1 / Math.sqrt(w.ff), 84),
    linear2Bias: uniformData(d, 1 / Math.sqrt(w.ff), 85),
  };
}

/** Input and target, each row-major [batch, seq, dModel]. */
export function transformerBatch(w: TransformerWorkload): { x: Float32Array; target: Float32Array } {
  const count = w.batch * w.seq * w.dModel;
  return { x: normalData(count, 86), target: normalData(count, 87) };
}

/** The CNN workloads of a size set: `small` keeps the LeNet step at batch 2 and a tiny conv. */
function cnnWorkloadsFor(sizes: SizeSet): Workload[] {
  if (sizes === "small") return [lenetTrainWorkload(2), conv2dWorkload(2, 8, 8, 8)];
  return [lenetTrainWorkload(), conv2dWorkload(8, 64, 64, 32)];
}

export type SizeSet = "full" | "quick" | "small";

/** Every workload of a run, in table order. */
export function workloadsFor(sizes: SizeSet): Workload[] {
  const shapes = sizes === "small" ? SMALL_MATMUL_SHAPES : sizes === "quick" ? QUICK_MATMUL_SHAPES : FULL_MATMUL_SHAPES;
  const transformer = sizes === "small" ? transformerTrainWorkload(2, 8, 32, 4) : transformerTrainWorkload();
  return [...shapes.map(([m, k, n]) => matmulWorkload(m, k, n)), mlpTrainWorkload(), mlpInferenceWorkload(), ...cnnWorkloadsFor(sizes), transformer];
}

// ---------------------------------------------------------------------------------------------
// Input data. Every JavaScript peer gets the same numbers from this seeded generator, so no
// library is timed on friendlier values (all zeros, denormals) than another. PyTorch draws its own
// with torch.randn: only the distribution matters for speed.

/** mulberry32: a tiny seeded 32-bit generator; plenty for benchmark inputs (and the runner's round orders). */
export function uniformSource(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` standard-normal float32 values (Box–Muller), the same for the same seed. */
export function normalData(count: number, seed: number): Float32Array {
  const next = uniformSource(seed);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    const u = Math.max(next(), 1e-12);
    const v = next();
    const r = Math.sqrt(-2 * Math.log(u));
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < count) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

/** Uniform values in [-bound, bound), as PyTorch's default Linear initialisation draws them. */
function uniformData(count: number, bound: number, seed: number): Float32Array {
  const next = uniformSource(seed);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = (next() * 2 - 1) * bound;
  return out;
}

export interface MatmulInputs {
  /** Row-major M×K. */
  a: Float32Array;
  /** Row-major K×N. */
  b: Float32Array;
}

export function matmulInputs(w: MatmulWorkload): MatmulInputs {
  return { a: normalData(w.m * w.k, 1), b: normalData(w.k * w.n, 2) };
}

/** One Linear layer as PyTorch stores it: weight [out, in] row-major, bias [out]. */
export interface LayerWeights {
  inFeatures: number;
  outFeatures: number;
  weight: Float32Array;
  bias: Float32Array;
}

/** The MLP's starting weights, drawn like PyTorch's Linear default (uniform ±1/√in). */
export function mlpWeights(): LayerWeights[] {
  const layers: LayerWeights[] = [];
  for (let i = 0; i + 1 < MLP_LAYERS.length; i++) {
    const inFeatures = MLP_LAYERS[i]!;
    const outFeatures = MLP_LAYERS[i + 1]!;
    const bound = 1 / Math.sqrt(inFeatures);
    layers.push({
      inFeatures,
      outFeatures,
      weight: uniformData(inFeatures * outFeatures, bound, 10 + i),
      bias: uniformData(outFeatures, bound, 20 + i),
    });
  }
  return layers;
}

export interface MlpBatch {
  /** Row-major [batch, 784]. */
  x: Float32Array;
  /** Class indices in [0, 10). */
  labels: Int32Array;
  /** The same labels one-hot, row-major [batch, 10] (for libraries whose loss wants that). */
  oneHot: Float32Array;
}

export function mlpBatch(batch: number): MlpBatch {
  const x = normalData(batch * MLP_LAYERS[0], 3);
  const labels = new Int32Array(batch);
  const oneHot = new Float32Array(batch * MLP_CLASSES);
  for (let i = 0; i < batch; i++) {
    labels[i] = (i * 7 + 3) % MLP_CLASSES;
    oneHot[i * MLP_CLASSES + labels[i]!] = 1;
  }
  return { x, labels, oneHot };
}

/** The transpose of a row-major rows×cols matrix (weights [out,in] → [in,out] for x·W layouts). */
export function transpose(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c]!;
  return out;
}

/** One conv or Linear layer of the LeNet as PyTorch stores it: conv weight [out, in, k, k], Linear [out, in]. */
export interface CnnLayerWeights {
  kind: "conv" | "linear";
  /** PyTorch's weight shape. */
  shape: number[];
  weight: Float32Array;
  bias: Float32Array;
}

/**
 * The LeNet's starting weights, drawn like PyTorch's Conv2d and Linear defaults (uniform ±1/√fanIn:
 * kaiming-uniform with a = √5 gives that bound too). Every JavaScript peer starts from these.
 */
export function lenetWeights(): CnnLayerWeights[] {
  const layers: CnnLayerWeights[] = [];
  LENET_CONVS.forEach(([out, inChannels, k], i) => {
    const fanIn = inChannels * k * k;
    const bound = 1 / Math.sqrt(fanIn);
    layers.push({ kind: "conv", shape: [out, inChannels, k, k], weight: uniformData(out * fanIn, bound, 40 + i), bias: uniformData(out, bound, 50 + i) });
  });
  for (let i = 0; i + 1 < LENET_LINEAR.length; i++) {
    const inFeatures = LENET_LINEAR[i]!;
    const outFeatures = LENET_LINEAR[i + 1]!;
    const bound = 1 / Math.sqrt(inFeatures);
    layers.push({
      kind: "linear",
      shape: [outFeatures, inFeatures],
      weight: uniformData(inFeatures * outFeatures, bound, 60 + i),
      bias: uniformData(outFeatures, bound, 70 + i),
    });
  }
  return layers;
}

/** A LeNet batch: x row-major [batch, 1, 28, 28] (also NHWC, as there is one channel), labels and one-hot labels. */
export function lenetBatch(batch: number): MlpBatch {
  const x = normalData(batch * LENET_INPUT * LENET_INPUT, 5);
  const labels = new Int32Array(batch);
  const oneHot = new Float32Array(batch * LENET_CLASSES);
  for (let i = 0; i < batch; i++) {
    labels[i] = (i * 7 + 3) % LENET_CLASSES;
    oneHot[i * LENET_CLASSES + labels[i]!] = 1;
  }
  return { x, labels, oneHot };
}

export interface ConvInputs {
  /** Row-major [batch, inChannels, size, size] (NCHW). */
  x: Float32Array;
  /** Row-major [outChannels, inChannels, kernel, kernel] (OIHW, PyTorch's layout). */
  weight: Float32Array;
}

export function convInputs(w: ConvWorkload): ConvInputs {
  const fanIn = w.inChannels * w.kernel * w.kernel;
  return {
    x: normalData(w.batch * w.inChannels * w.size * w.size, 6),
    weight: uniformData(w.outChannels * fanIn, 1 / Math.sqrt(fanIn), 7),
  };
}

/** Moves the axes of a row-major array: `perm[i]` is the source axis of result axis i (like a transpose). */
export function permuteData(data: Float32Array, shape: readonly number[], perm: readonly number[]): Float32Array {
  const rank = shape.length;
  const strides = new Array<number>(rank);
  let stride = 1;
  for (let i = rank - 1; i >= 0; i--) {
    strides[i] = stride;
    stride *= shape[i]!;
  }
  const outShape = perm.map((p) => shape[p]!);
  const outStrides = perm.map((p) => strides[p]!);
  const out = new Float32Array(data.length);
  const index = new Array<number>(rank).fill(0);
  for (let o = 0; o < out.length; o++) {
    let source = 0;
    for (let i = 0; i < rank; i++) source += index[i]! * outStrides[i]!;
    out[o] = data[source]!;
    for (let i = rank - 1; i >= 0; i--) {
      if (++index[i]! < outShape[i]!) break;
      index[i] = 0;
    }
  }
  return out;
}
