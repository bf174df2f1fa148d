// The primitive ops: the only ops a backend implements. Everything else in Lockstep (broadcasting,
// type promotion, softmax, var, linear, losses…) is built from these in core, so a new backend is
// this list and nothing more, and autograd needs one rule per entry.
//
// Conventions every kernel can rely on (core guarantees them before calling):
// - inputs are views of the op's dtype(s), already broadcast to the output shape where the op is
//   elementwise (broadcast dims have stride 0);
// - outputs are fresh contiguous views, offset 0;
// - reductions write keepdim-shaped outputs (reduced dims have size 1).

/** Elementwise ops of one input. */
export const UNARY_OPS = [
  "neg", "exp", "log", "sqrt", "rsqrt", "abs", "sign", "relu", "sigmoid", "tanh", "erf", "gelu", "geluTanh",
  "logicalNot",
] as const;
/** Name of an elementwise primitive of one input (one of UNARY_OPS). */
export type UnaryOp = (typeof UNARY_OPS)[number];

/**
 * Elementwise ops of two inputs of one dtype; comparisons and logical ops write bool.
 * reluBackward(grad, output) is relu's gradient, `output > 0 ? grad : 0`: one kernel instead of
 * gt then where (each elementwise dispatch costs ~0.1 ms on a CPU "GPU"), with their bits.
 */
export const BINARY_OPS = [
  "add", "sub", "mul", "div", "pow", "maximum", "minimum",
  "eq", "ne", "lt", "le", "gt", "ge", "logicalAnd", "logicalOr", "reluBackward",
] as const;
/** Name of an elementwise primitive of two inputs (one of BINARY_OPS). */
export type BinaryOp = (typeof BINARY_OPS)[number];

/** The binary ops whose output is bool, whatever their input dtype. */
export const COMPARISON_OPS: readonly BinaryOp[] = ["eq", "ne", "lt", "le", "gt", "ge", "logicalAnd", "logicalOr"];

/** Reductions over a set of dims, written keepdim-shaped. */
export const REDUCE_OPS = ["sum", "prod", "amax", "amin"] as const;
/** Name of a reduction primitive (one of REDUCE_OPS). */
export type ReduceOp = (typeof REDUCE_OPS)[number];

type NoAttrs = Record<string, never>;

/** Attributes of each primitive; the key set is the list of primitives. */
export type PrimitiveAttrs = { [K in UnaryOp | BinaryOp]: NoAttrs } & { [K in ReduceOp]: { dims: number[] } } & {
  /** inputs [condition (bool), a, b] → a where condition else b */
  where: NoAttrs;
  /** input → output of another dtype (float → int truncates toward zero, like PyTorch) */
  cast: NoAttrs;
  /** input view → output view of the same shape and dtype (any strides) */
  copy: NoAttrs;
  /** outputs [values, indices (int32)] along one dim; ties give the first index */
  maxDim: { dim: number };
  minDim: { dim: number };
  /** inputs [a (B,M,K), b (B,K,N)] → (B,M,N) */
  matmul: NoAttrs;
  /**
   * inputs [a (B,M,K), b (B,K,N), bias (B,M,N), broadcast] → matmul(a, b) + bias, each output the
   * matmul's rounded sum plus the bias: the bits of matmul then add, in one kernel. See ops/linalg.ts.
   */
  linear: NoAttrs;
  /** inputs concatenated along dim */
  cat: { dim: number };
  /** inputs [x, index (int32, 1-D)] */
  indexSelect: { dim: number };
  /** inputs [x, index (int32, same rank)] */
  gather: { dim: number };
  /** inputs [x, index, src] → copy of x with src written at index along dim */
  scatter: { dim: number };
  /**
   * Optimizer updates, in place: the outputs are the live tensors (not fresh ones) they read and
   * write — [param, momentumBuffer?] from inputs [grad]. See ops/optim.ts.
   */
  sgdUpdate: SgdUpdateAttrs;
  /** In place: outputs [param, expAvg, expAvgSq, maxExpAvgSq?] from inputs [grad]. See ops/optim.ts. */
  adamUpdate: AdamUpdateAttrs;
  /**
   * Cross-entropy of logits [N, C] against int32 class indices [N] (log-softmax and NLL fused):
   * outputs [loss ([] for "mean"/"sum", [N] for "none"), kept-target count (int32 [1], "mean"
   * only)]. See ops/losses.ts.
   */
  crossEntropy: CrossEntropyAttrs;
  /** The logits' gradient of crossEntropy: inputs [logits, target, grad, count ("mean")] → [N, C]. */
  crossEntropyBackward: CrossEntropyAttrs;
};

/**
 * Options of the fused cross-entropy; `deterministic` picks the deterministic exp, log, division
 * and float32 sums (what the unfused kernels select with the flag on).
 */
export interface CrossEntropyAttrs {
  ignoreIndex: number;
  reduction: "mean" | "sum" | "none";
  deterministic: boolean;
}

/**
 * Hyperparameters of one SGD step as torch.optim.SGD names them; `firstStep` when the momentum
 * buffer is new (it takes the gradient as it is, PyTorch's clone).
 */
export interface SgdUpdateAttrs {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  maximize: boolean;
  firstStep: boolean;
}

/**
 * Hyperparameters of one Adam/AdamW step; `step` counts from 1, `decoupled` is AdamW's weight
 * decay, `deterministic` picks the deterministic division and square root (what the div and sqrt
 * kernels select with the flag on).
 */
export interface AdamUpdateAttrs {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  decoupled: boolean;
  amsgrad: boolean;
  maximize: boolean;
  step: number;
  deterministic: boolean;
}

/** Name of any primitive op: what kernels are registered for and autograd has rules for. */
export type Primitive = keyof PrimitiveAttrs;
