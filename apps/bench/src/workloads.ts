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

export type Workload = MatmulWorkload | MlpWorkload;

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

export type SizeSet = "full" | "quick" | "small";

/** Every workload of a run, in table order. */
export function workloadsFor(sizes: SizeSet): Workload[] {
  const shapes = sizes === "small" ? SMALL_MATMUL_SHAPES : sizes === "quick" ? QUICK_MATMUL_SHAPES : FULL_MATMUL_SHAPES;
  return [...shapes.map(([m, k, n]) => matmulWorkload(m, k, n)), mlpTrainWorkload(), mlpInferenceWorkload()];
}

// ---------------------------------------------------------------------------------------------
// Input data. Every JavaScript peer gets the same numbers from this seeded generator, so no
// library is timed on friendlier values (all zeros, denormals) than another. PyTorch draws its own
// with torch.randn: only the distribution matters for speed.

/** mulberry32: a tiny seeded 32-bit generator; plenty for benchmark inputs. */
function uniformSource(seed: number): () => number {
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
