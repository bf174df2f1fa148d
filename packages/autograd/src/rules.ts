// Every primitive's derivative, in one table you can audit at a glance. The table is typed as a
// mapped type over the primitive and view names, so adding a primitive to core without adding a
// line here is a compile error; ops without a derivative (comparisons, logical ops) say so with
// NO_GRADIENT instead of being left out.
//
// Rules are written with core ops only, so they run on every device, and the engine runs them with
// grad mode off. Elementwise rules never sum over broadcast dims: core hands elementwise kernels
// inputs already expanded by a recorded `expand` view, and that view's rule sums the gradient back
// to the shape the user passed in.
import {
  add,
  cast,
  crossEntropyBackward,
  div,
  eq,
  erf,
  exp,
  expand,
  gather,
  ge,
  gt,
  logicalAnd,
  log,
  lt,
  matmul,
  mul,
  narrow,
  neg,
  permute,
  pow,
  reluBackward,
  reshape,
  runPrimitive,
  scatter,
  sign,
  sub,
  sum,
  tanh,
  transpose,
  where,
  zeros,
  zerosLike,
  type PrimitiveAttrs,
  type Tensor,
  type ViewAttrs,
} from "@lockstep/core";
import type { InputInfo } from "./graph.js";
import { embedSlice, foldWindows, indexAdd, padEnd, scatterAdd } from "./placement.js";

/** Attributes of every op autograd records: the primitives and the view ops. */
export type OpAttrs = PrimitiveAttrs & ViewAttrs;
export type Op = keyof OpAttrs;

/** What a rule can see of the forward op when its backward runs. */
export interface RuleContext<A> {
  readonly attrs: A;
  /** Shape, dtype and device of every input; available whatever the rule saved. */
  readonly inputs: readonly InputInfo[];
  /** True when input `i` needs a gradient; rules may skip the others. */
  needs(i: number): boolean;
  /** An input listed in `saveInputs`. */
  savedInput(i: number): Tensor;
  /** An output listed in `saveOutputs`. */
  savedOutput(i: number): Tensor;
}

export interface GradientRule<A> {
  /** PyTorch's name for the backward node (`MulBackward0`); a function when it depends on the inputs. */
  readonly name: string | ((inputs: readonly Tensor[]) => string);
  /** Inputs and outputs the backward reads: kept (and version-checked) until the graph is freed. */
  readonly saveInputs?: readonly number[];
  readonly saveOutputs?: readonly number[];
  /**
   * Inputs of `saveInputs` kept as a private copy taken when the op runs, so that changing the
   * input in place before the backward is allowed. For a fused op whose unfused chain saved only
   * tensors of its own (PyTorch's log_softmax saves its output, never the logits): the fusion
   * then accepts every program the chain accepted.
   */
  readonly copyInputs?: readonly number[];
  /**
   * Gradients for each input, given the gradient of output 0 (every primitive has at most one
   * floating output: maxDim/minDim's second output is int32 indices). Undefined means none.
   */
  backward(grad: Tensor, context: RuleContext<A>): readonly (Tensor | undefined)[];
}

/** The table entry of an op that has no derivative: its outputs never require grad. */
export const NO_GRADIENT = Object.freeze({ differentiable: false as const });
export type NoGradient = typeof NO_GRADIENT;

export type GradientTable = { readonly [P in Op]: GradientRule<OpAttrs[P]> | NoGradient };

/** True for table entries that have a rule; erases the attrs type, which the engine does not know. */
export function isDifferentiable(rule: GradientTable[Op]): rule is Exclude<GradientTable[Op], NoGradient> {
  return !("differentiable" in rule);
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const GELU_TANH_CUBIC = 0.044715;

/** Computes an input's gradient only when that input needs one. */
function when(needed: boolean, compute: () => Tensor): Tensor | undefined {
  return needed ? compute() : undefined;
}

/** True when a matrix (batch) is laid out column-major: its transpose is the dense one. */
function storedTransposed(t: Tensor): boolean {
  const n = t.ndim;
  if (t.shape[n - 1]! <= 1 || t.shape[n - 2]! <= 1) return false;
  return t.strides[n - 2] === 1 && t.strides[n - 1] === t.shape[n - 2];
}

/** Sums `grad` over the dims `expand` broadcast, back to the input's shape. */
function unexpand(grad: Tensor, inputShape: readonly number[]): Tensor {
  const lead = grad.ndim - inputShape.length;
  const dims: number[] = [];
  for (let k = 0; k < grad.ndim; k++) {
    if (k < lead || (inputShape[k - lead] === 1 && grad.shape[k] !== 1)) dims.push(k);
  }
  return dims.length === 0 ? grad : reshape(sum(grad, dims, true), inputShape);
}

function inversePermutation(dims: readonly number[]): number[] {
  const inverse = new Array<number>(dims.length);
  dims.forEach((d, i) => (inverse[d] = i));
  return inverse;
}

/** Like PyTorch's `reduce(amax)` backward: the gradient is shared evenly among tied maxima. */
const extremumReduction = (name: string): GradientRule<{ dims: number[] }> => ({
  name,
  saveInputs: [0],
  saveOutputs: [0],
  backward: (g, c) => {
    const x = c.savedInput(0);
    const hit = eq(x, c.savedOutput(0));
    const count = sum(hit, c.attrs.dims, true);
    return [where(hit, div(g, count), 0)];
  },
});

/** max/min along a dim: the gradient goes to the position the indices output names. */
const extremumAlongDim = (name: string): GradientRule<{ dim: number }> => ({
  name,
  saveOutputs: [1],
  backward: (g, c) => {
    const input = c.inputs[0]!;
    if (input.shape.length === 0) return [g];
    const base = zeros(input.shape, { dtype: g.dtype, device: g.device });
    return [scatter(base, c.attrs.dim, c.savedOutput(1), g)];
  },
});

/** Gradients of matmul's two operands (inputs 0 and 1 of the context), for matmul and linear. */
function matmulGradients(g: Tensor, c: RuleContext<unknown>): [Tensor | undefined, Tensor | undefined] {
  const [a, b] = [c.savedInput(0), c.savedInput(1)];
  return [
    when(c.needs(0), () =>
      storedTransposed(a) ? transpose(matmul(b, transpose(g, -1, -2)), -1, -2) : matmul(g, transpose(b, -1, -2)),
    ),
    when(c.needs(1), () =>
      storedTransposed(b) ? transpose(matmul(transpose(g, -1, -2), a), -1, -2) : matmul(transpose(a, -1, -2), g),
    ),
  ];
}

/** The derivative of every primitive and view op, keyed by op name; read by the engine for each node. */
export const GRADIENT_RULES: GradientTable = {
  // ---- unary ------------------------------------------------------------------------------
  neg: { name: "NegBackward0", backward: (g) => [neg(g)] },
  // d/dx eˣ = eˣ, the output itself.
  exp: { name: "ExpBackward0", saveOutputs: [0], backward: (g, c) => [mul(g, c.savedOutput(0))] },
  // d/dx ln x = 1/x.
  log: { name: "LogBackward0", saveInputs: [0], backward: (g, c) => [div(g, c.savedInput(0))] },
  // d/dx √x = 1/(2√x) = 1/(2·out).
  sqrt: { name: "SqrtBackward0", saveOutputs: [0], backward: (g, c) => [div(g, mul(c.savedOutput(0), 2))] },
  // d/dx x^(-1/2) = -½·x^(-3/2) = -½·out³.
  rsqrt: {
    name: "RsqrtBackward0",
    saveOutputs: [0],
    backward: (g, c) => [mul(g, mul(pow(c.savedOutput(0), 3), -0.5))],
  },
  // d/dx |x| = sign(x); 0 at 0 as in PyTorch.
  abs: { name: "AbsBackward0", saveInputs: [0], backward: (g, c) => [mul(g, sign(c.savedInput(0)))] },
  // Piecewise constant: zero wherever it is differentiable, and zero by convention at 0.
  sign: { name: "SignBackward0", backward: (g) => [zerosLike(g)] },
  // 1 where the output is positive; 0 at x = 0 as in PyTorch's threshold_backward.
  relu: { name: "ReluBackward0", saveOutputs: [0], backward: (g, c) => [reluBackward(g, c.savedOutput(0))] },
  // Linear in grad (its gradient is the same mask); the mask itself is piecewise constant.
  reluBackward: { name: "ThresholdBackwardBackward0", saveInputs: [1], backward: (g, c) => [reluBackward(g, c.savedInput(1)), undefined] },
  // σ' = σ(1 − σ).
  sigmoid: {
    name: "SigmoidBackward0",
    saveOutputs: [0],
    backward: (g, c) => {
      const y = c.savedOutput(0);
      return [mul(g, mul(y, sub(1, y)))];
    },
  },
  // tanh' = 1 − tanh².
  tanh: {
    name: "TanhBackward0",
    saveOutputs: [0],
    backward: (g, c) => {
      const y = c.savedOutput(0);
      return [mul(g, sub(1, mul(y, y)))];
    },
  },
  // erf'(x) = 2/√π · e^(−x²).
  erf: {
    name: "ErfBackward0",
    saveInputs: [0],
    backward: (g, c) => {
      const x = c.savedInput(0);
      return [mul(g, mul(exp(neg(mul(x, x))), TWO_OVER_SQRT_PI))];
    },
  },
  // gelu(x) = x·Φ(x), so gelu' = Φ(x) + x·φ(x) with Φ(x) = ½(1 + erf(x/√2)), φ(x) = e^(−x²/2)/√(2π).
  gelu: {
    name: "GeluBackward0",
    saveInputs: [0],
    backward: (g, c) => {
      const x = c.savedInput(0);
      const cdf = mul(add(erf(mul(x, Math.SQRT1_2)), 1), 0.5);
      const pdf = mul(exp(mul(mul(x, x), -0.5)), INV_SQRT_2PI);
      return [mul(g, add(cdf, mul(x, pdf)))];
    },
  },
  // y = ½x(1 + tanh u), u = √(2/π)(x + 0.044715x³):
  // y' = ½(1 + tanh u) + ½x(1 − tanh²u)·√(2/π)(1 + 3·0.044715x²).
  geluTanh: {
    name: "GeluBackward0",
    saveInputs: [0],
    backward: (g, c) => {
      const x = c.savedInput(0);
      const x2 = mul(x, x);
      const t = tanh(mul(add(x, mul(mul(x2, x), GELU_TANH_CUBIC)), SQRT_2_OVER_PI));
      const du = mul(add(mul(x2, 3 * GELU_TANH_CUBIC), 1), SQRT_2_OVER_PI);
      const left = mul(add(t, 1), 0.5);
      const right = mul(mul(mul(x, sub(1, mul(t, t))), du), 0.5);
      return [mul(g, add(left, right))];
    },
  },
  logicalNot: NO_GRADIENT,

  // ---- binary (inputs arrive broadcast; see the header) -------------------------------------
  add: { name: "AddBackward0", backward: (g) => [g, g] },
  sub: { name: "SubBackward0", backward: (g, c) => [g, when(c.needs(1), () => neg(g))] },
  mul: {
    name: "MulBackward0",
    saveInputs: [0, 1],
    backward: (g, c) => [
      when(c.needs(0), () => mul(g, c.savedInput(1))),
      when(c.needs(1), () => mul(g, c.savedInput(0))),
    ],
  },
  // ∂(a/b)/∂a = 1/b; ∂(a/b)/∂b = −a/b², computed as PyTorch does: −g·((a/b)/b).
  div: {
    name: "DivBackward0",
    saveInputs: [0, 1],
    backward: (g, c) => {
      const b = c.savedInput(1);
      return [
        when(c.needs(0), () => div(g, b)),
        when(c.needs(1), () => mul(neg(g), div(div(c.savedInput(0), b), b))),
      ];
    },
  },
  // ∂aᵇ/∂a = b·a^(b−1) (0 where b = 0, so 0⁰ has no NaN gradient); ∂aᵇ/∂b = aᵇ·ln a, taken as 0
  // where a = 0 and b ≥ 0 (the limit from inside the domain). Both as in PyTorch.
  pow: {
    // PyTorch says PowBackward0 for a scalar exponent, which never requires grad.
    name: (inputs) => (inputs[1]!.requiresGrad ? "PowBackward1" : "PowBackward0"),
    saveInputs: [0, 1],
    saveOutputs: [0],
    backward: (g, c) => {
      const a = c.savedInput(0);
      const b = c.savedInput(1);
      return [
        when(c.needs(0), () => where(eq(b, 0), 0, mul(g, mul(b, pow(a, sub(b, 1)))))),
        when(c.needs(1), () => mul(g, where(logicalAnd(eq(a, 0), ge(b, 0)), 0, mul(c.savedOutput(0), log(a))))),
      ];
    },
  },
  // Where the inputs tie, each gets half the gradient (PyTorch's convention).
  maximum: {
    name: "MaximumBackward0",
    saveInputs: [0, 1],
    backward: (g, c) => tieSplit(g, c.savedInput(0), c.savedInput(1), c, "max"),
  },
  minimum: {
    name: "MinimumBackward0",
    saveInputs: [0, 1],
    backward: (g, c) => tieSplit(g, c.savedInput(0), c.savedInput(1), c, "min"),
  },
  eq: NO_GRADIENT,
  ne: NO_GRADIENT,
  lt: NO_GRADIENT,
  le: NO_GRADIENT,
  gt: NO_GRADIENT,
  ge: NO_GRADIENT,
  logicalAnd: NO_GRADIENT,
  logicalOr: NO_GRADIENT,

  // ---- reductions (outputs keepdim-shaped, so the gradient broadcasts back as it is) ---------
  sum: {
    name: "SumBackward1",
    backward: (g, c) => [expand(g, [...c.inputs[0]!.shape])],
  },
  // ∂(∏x)/∂xᵢ = ∏_{j≠i} xⱼ: out/xᵢ in a group with no zero; with one zero, the product of the
  // others at the zero and 0 elsewhere; with two or more zeros, 0 everywhere.
  prod: {
    name: "ProdBackward1",
    saveInputs: [0],
    saveOutputs: [0],
    backward: (g, c) => {
      const x = c.savedInput(0);
      const dims = c.attrs.dims;
      const isZero = eq(x, 0);
      const zeroCount = sum(isZero, dims, true);
      const safe = where(isZero, 1, x);
      // core's prod() takes one dim; the primitive's own multi-dim form keeps one product order.
      const kept = c.inputs[0]!.shape.map((s, k) => (dims.includes(k) ? 1 : s));
      const othersAtZero = runPrimitive("prod", [safe], [{ shape: kept, dtype: x.dtype }], { dims })[0]!;
      const atOneZero = where(logicalAnd(eq(zeroCount, 1), isZero), othersAtZero, 0);
      return [mul(g, where(eq(zeroCount, 0), div(c.savedOutput(0), safe), atOneZero))];
    },
  },
  amax: extremumReduction("AmaxBackward0"),
  amin: extremumReduction("AminBackward0"),
  maxDim: extremumAlongDim("MaxBackward0"),
  minDim: extremumAlongDim("MinBackward0"),

  // ---- the rest -----------------------------------------------------------------------------
  where: {
    name: "WhereBackward0",
    saveInputs: [0],
    backward: (g, c) => {
      const condition = c.savedInput(0);
      return [undefined, when(c.needs(1), () => where(condition, g, 0)), when(c.needs(2), () => where(condition, 0, g))];
    },
  },
  // Only float → float casts reach here (integer outputs never require grad): cast back.
  cast: { name: "ToCopyBackward0", backward: (g, c) => [cast(g, c.inputs[0]!.dtype)] },
  copy: { name: "CloneBackward0", backward: (g) => [g] },
  // C = A·B: ∂L/∂A = G·Bᵀ, ∂L/∂B = Aᵀ·G (per batch; broadcast batches are summed by `expand`).
  // An input stored transposed (x·Wᵀ's weight) gets its gradient as the transpose of (Gᵀ·A), so
  // the gradient already has the weight's own layout and `.grad` needs no copy. Same bits: each
  // element is the same products (a·b = b·a exactly) summed over the same k in the same order.
  matmul: {
    name: (inputs) => (inputs[0]!.shape.length === 2 ? "MmBackward0" : "BmmBackward0"),
    saveInputs: [0, 1],
    backward: (g, c) => matmulGradients(g, c),
  },
  // matmul then add, fused: the matmul's gradients, and the bias (a broadcast view) gets g, which
  // the broadcast's own rule sums, as after an add.
  linear: {
    // PyTorch's names: addmm for a 2-D input; a batched input is flattened to 2-D, multiplied and
    // viewed back, so its output's node is the view's.
    name: (inputs) => (inputs[0]!.shape.length === 2 ? "AddmmBackward0" : "ViewBackward0"),
    saveInputs: [0, 1],
    backward: (g, c) => [...matmulGradients(g, c), when(c.needs(2), () => g)],
  },
  cat: {
    name: "CatBackward0",
    backward: (g, c) => {
      let offset = 0;
      return c.inputs.map((input, i) => {
        const size = input.shape[c.attrs.dim]!;
        const part = when(c.needs(i), () => narrow(g, c.attrs.dim, offset, size));
        offset += size;
        return part;
      });
    },
  },
  // Repeated indices add up: index_add of the gradient into zeros.
  indexSelect: {
    name: "IndexSelectBackward0",
    saveInputs: [1],
    backward: (g, c) => [indexAdd(c.inputs[0]!.shape, c.attrs.dim, c.savedInput(1), g, g.dtype), undefined],
  },
  // Repeated indices add up: scatter_add of the gradient into zeros.
  gather: {
    name: "GatherBackward0",
    saveInputs: [1],
    backward: (g, c) => [scatterAdd(c.inputs[0]!.shape, c.attrs.dim, c.savedInput(1), g), undefined],
  },
  // Positions written by src get no gradient from x; src gets the gradient read back from where
  // it was written (zero for any part of src beyond the index's extent).
  scatter: {
    name: "ScatterBackward0",
    saveInputs: [1],
    backward: (g, c) => {
      const index = c.savedInput(1);
      return [
        when(c.needs(0), () => scatter(g, c.attrs.dim, index, 0)),
        undefined,
        when(c.needs(2), () => padEnd(gather(g, c.attrs.dim, index), c.inputs[2]!.shape)),
      ];
    },
  },

  // Optimizer updates run with grad mode off and write their operands in place (core's ops/optim.ts).
  sgdUpdate: NO_GRADIENT,
  adamUpdate: NO_GRADIENT,

  // Fused log-softmax + NLL (core's ops/losses.ts): one kernel gives the logits' gradient with the
  // bits of the unfused chain's rules (sub, log, sum, exp, gather, neg, where, div).
  crossEntropy: {
    name: "NllLossBackward0",
    saveInputs: [0, 1],
    copyInputs: [0],
    saveOutputs: [1],
    backward: (g, c) => {
      const count = c.attrs.reduction === "mean" ? c.savedOutput(1) : undefined;
      return [crossEntropyBackward(c.savedInput(0), c.savedInput(1), g, count, c.attrs), undefined];
    },
  },
  // Runs with grad mode off inside crossEntropy's rule: no double backward through the fusion.
  crossEntropyBackward: NO_GRADIENT,

  // ---- views ------------------------------------------------------------------------------
  reshape: { name: "ViewBackward0", backward: (g, c) => [reshape(g, c.inputs[0]!.shape)] },
  permute: { name: "PermuteBackward0", backward: (g, c) => [permute(g, inversePermutation(c.attrs.dims))] },
  expand: { name: "ExpandBackward0", backward: (g, c) => [unexpand(g, c.inputs[0]!.shape)] },
  slice: {
    name: "SliceBackward0",
    backward: (g, c) => [embedSlice(g, c.inputs[0]!.shape, c.attrs.dim, c.attrs.start, c.attrs.step)],
  },
  alias: { name: "AliasBackward0", backward: (g) => [g] },
  unfold: {
    name: "UnfoldBackward0",
    backward: (g, c) => [foldWindows(g, c.inputs[0]!.shape, c.attrs.dim, c.attrs.size, c.attrs.step)],
  },
};

/** maximum/minimum backward: the winner takes the gradient, ties split it in half. */
function tieSplit(g: Tensor, a: Tensor, b: Tensor, c: RuleContext<unknown>, kind: "max" | "min"): (Tensor | undefined)[] {
  const half = where(eq(a, b), div(g, 2), g);
  const aLoses = () => (kind === "max" ? lt(a, b) : gt(a, b));
  const bLoses = () => (kind === "max" ? gt(a, b) : lt(a, b));
  return [when(c.needs(0), () => where(aLoses(), 0, half)), when(c.needs(1), () => where(bLoses(), 0, half))];
}
