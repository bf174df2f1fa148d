// Every differentiable primitive and view passes gradcheck (float64 central differences against the
// analytical Jacobian), with broadcast operands and with inputs that are views. A last test walks
// the graphs these cases build and fails if some rule in the table was never exercised.
import { describe, expect, it } from "vitest";
import {
  cat,
  crossEntropyIndices,
  fusedLinear,
  makeView,
  maximum,
  minimum,
  pow,
  reluBackward,
  stack,
  tensor,
  where,
  type Tensor,
} from "@lockstep/core";
import { GRADIENT_RULES, OpNode, gradcheck, isDifferentiable, noGrad, type Node, type Op } from "../src/index.js";
import { awayFromZero, seeded, uniform } from "./helpers.js";

interface Case {
  name: string;
  inputs: (next: () => number) => Tensor[];
  fn: (...inputs: Tensor[]) => Tensor | Tensor[];
  options?: { eps?: number; atol?: number; rtol?: number };
}

const u = uniform;
const int = (values: number[] | number[][]) => tensor(values, { dtype: "int32" });
/** A leaf that is a non-contiguous view (transposed storage) but requires grad itself. */
const transposedLeaf = (next: () => number, rows: number, cols: number) =>
  noGrad(() => u(next, [cols, rows]).detach().t()).requiresGrad_();

const CASES: Case[] = [
  // unary
  { name: "neg", inputs: (n) => [u(n, [2, 3])], fn: (a) => a.neg() },
  { name: "exp", inputs: (n) => [u(n, [2, 3])], fn: (a) => a.exp() },
  { name: "log", inputs: (n) => [u(n, [2, 3], 0.5, 3)], fn: (a) => a.log() },
  { name: "sqrt", inputs: (n) => [u(n, [2, 3], 0.5, 3)], fn: (a) => a.sqrt() },
  { name: "rsqrt", inputs: (n) => [u(n, [2, 3], 0.5, 3)], fn: (a) => a.rsqrt() },
  { name: "abs", inputs: (n) => [awayFromZero(n, [2, 3])], fn: (a) => a.abs() },
  { name: "sign", inputs: (n) => [awayFromZero(n, [2, 3])], fn: (a) => a.sign() },
  { name: "relu", inputs: (n) => [awayFromZero(n, [2, 3])], fn: (a) => a.relu() },
  // relu's gradient op, through its grad operand (the output operand only picks the mask).
  { name: "reluBackward", inputs: (n) => [u(n, [2, 3]), awayFromZero(n, [2, 3])], fn: (g, y) => reluBackward(g, y.detach()) },
  { name: "sigmoid", inputs: (n) => [u(n, [2, 3])], fn: (a) => a.sigmoid() },
  { name: "tanh", inputs: (n) => [u(n, [2, 3])], fn: (a) => a.tanh() },
  { name: "erf", inputs: (n) => [u(n, [2, 3])], fn: (a) => a.erf() },
  { name: "gelu", inputs: (n) => [u(n, [2, 3], -3, 3)], fn: (a) => a.gelu() },
  { name: "geluTanh", inputs: (n) => [u(n, [2, 3], -3, 3)], fn: (a) => a.gelu({ approximate: "tanh" }) },

  // binary, broadcasting both ways
  { name: "add broadcast", inputs: (n) => [u(n, [2, 3]), u(n, [3])], fn: (a, b) => a.add(b) },
  { name: "add scalar", inputs: (n) => [u(n, [2, 3])], fn: (a) => a.add(1.5) },
  { name: "sub broadcast", inputs: (n) => [u(n, [2, 1]), u(n, [1, 3])], fn: (a, b) => a.sub(b) },
  { name: "mul broadcast", inputs: (n) => [u(n, [2, 3, 4]), u(n, [3, 1])], fn: (a, b) => a.mul(b) },
  { name: "div broadcast", inputs: (n) => [u(n, [2, 3]), u(n, [3], 0.5, 2)], fn: (a, b) => a.div(b) },
  { name: "pow both", inputs: (n) => [u(n, [2, 3], 0.5, 2), u(n, [2, 3])], fn: (a, b) => a.pow(b) },
  { name: "pow scalar exponent", inputs: (n) => [u(n, [4])], fn: (a) => a.pow(3) },
  { name: "pow scalar base", inputs: (n) => [u(n, [4])], fn: (a) => pow(2, a) },
  { name: "maximum broadcast", inputs: (n) => [u(n, [3, 4]), u(n, [4])], fn: (a, b) => maximum(a, b) },
  { name: "minimum", inputs: (n) => [u(n, [3, 4]), u(n, [3, 4])], fn: (a, b) => minimum(a, b) },

  // reductions
  { name: "sum dims", inputs: (n) => [u(n, [2, 3, 4])], fn: (a) => a.sum([0, 2]) },
  { name: "sum all", inputs: (n) => [u(n, [2, 3])], fn: (a) => a.sum() },
  { name: "prod dim", inputs: (n) => [u(n, [3, 4], 0.5, 2)], fn: (a) => a.prod(1) },
  {
    name: "prod with zeros",
    inputs: () => [tensor([[1.5, 0, 2, 3], [0, 2, 0, 4], [1, 2, 3, 4]], { dtype: "float64" }).requiresGrad_()],
    fn: (a) => a.prod(1),
  },
  { name: "amax dims", inputs: (n) => [u(n, [2, 3, 4])], fn: (a) => a.amax([0, 2]) },
  { name: "amin dim", inputs: (n) => [u(n, [3, 4])], fn: (a) => a.amin(1, true) },
  { name: "max along dim", inputs: (n) => [u(n, [3, 4])], fn: (a) => a.max(1).values },
  { name: "min along dim", inputs: (n) => [u(n, [3, 4])], fn: (a) => a.min(0, true).values },
  { name: "mean, var, std", inputs: (n) => [u(n, [3, 5])], fn: (a) => [a.mean(1), a.var(0), a.std()] },
  { name: "softmax", inputs: (n) => [u(n, [3, 4])], fn: (a) => a.softmax(1) },
  { name: "logSoftmax", inputs: (n) => [u(n, [3, 4])], fn: (a) => a.logSoftmax(0) },
  { name: "logsumexp", inputs: (n) => [u(n, [3, 4])], fn: (a) => a.logsumexp(1) },

  // selection, dtype, copies
  {
    name: "where broadcast",
    inputs: (n) => [tensor([[true], [false]]), u(n, [2, 3]), u(n, [3])],
    fn: (c, a, b) => where(c, a, b),
  },
  { name: "maskedFill", inputs: (n) => [u(n, [2, 3]), tensor([true, false, true])], fn: (a, m) => a.maskedFill(m, 0.5) },
  { name: "clamp", inputs: () => [tensor([-2, -0.3, 0.1, 0.7, 3], { dtype: "float64" }).requiresGrad_()], fn: (a) => a.clamp(-0.5, 0.5) },
  // Through float32 and back: the perturbation must survive float32 rounding.
  { name: "cast", inputs: (n) => [u(n, [2, 3])], fn: (a) => a.float().double().mul(3), options: { eps: 1e-2, atol: 1e-4 } },
  { name: "copy of a transpose", inputs: (n) => [u(n, [2, 3])], fn: (a) => a.t().contiguous() },
  { name: "clone", inputs: (n) => [u(n, [2, 3])], fn: (a) => a.clone() },

  // matmul
  { name: "matmul 2d", inputs: (n) => [u(n, [3, 4]), u(n, [4, 2])], fn: (a, b) => a.matmul(b) },
  { name: "matmul batched broadcast", inputs: (n) => [u(n, [2, 1, 3, 4]), u(n, [3, 4, 2])], fn: (a, b) => a.matmul(b) },
  { name: "matmul vector", inputs: (n) => [u(n, [4]), u(n, [4, 3])], fn: (a, b) => a.matmul(b) },
  { name: "matmul dot", inputs: (n) => [u(n, [4]), u(n, [4])], fn: (a, b) => a.matmul(b) },

  // joining
  { name: "cat", inputs: (n) => [u(n, [2, 1]), u(n, [2, 3])], fn: (a, b) => cat([a, b], 1) },
  { name: "stack", inputs: (n) => [u(n, [2, 3]), u(n, [2, 3])], fn: (a, b) => stack([a, b], 2) },
  { name: "split", inputs: (n) => [u(n, [5, 2])], fn: (a) => a.split(2, 0) },

  // indexing, with repeated indices
  { name: "indexSelect repeats", inputs: (n) => [u(n, [4, 3]), int([0, 2, 0, 3, 0])], fn: (a, i) => a.indexSelect(0, i) },
  { name: "indexSelect dim 1", inputs: (n) => [u(n, [2, 4]), int([3, 1, 3])], fn: (a, i) => a.indexSelect(1, i) },
  { name: "gather repeats", inputs: (n) => [u(n, [3, 4]), int([[0, 0], [3, 1], [2, 2]])], fn: (a, i) => a.gather(1, i) },
  { name: "gather smaller index", inputs: (n) => [u(n, [3, 4]), int([[2, 0, 2], [1, 1, 0]])], fn: (a, i) => a.gather(0, i) },
  {
    name: "scatter x and src",
    inputs: (n) => [u(n, [3, 4]), int([[0, 1], [2, 3], [1, 0]]), u(n, [3, 2])],
    fn: (a, i, s) => a.scatter(1, i, s),
  },
  {
    name: "scatter src larger than index",
    inputs: (n) => [u(n, [3, 4]), int([[0, 1], [2, 3]]), u(n, [3, 3])],
    fn: (a, i, s) => a.scatter(1, i, s),
  },

  // views
  { name: "permute", inputs: (n) => [u(n, [2, 3, 4])], fn: (a) => a.permute(2, 0, 1).mul(a.permute(2, 0, 1)) },
  { name: "expand", inputs: (n) => [u(n, [3, 1])], fn: (a) => a.expand(2, 3, 4) },
  { name: "slice with step", inputs: (n) => [u(n, [3, 7])], fn: (a) => a.slice(1, 1, 6, 2) },
  { name: "slice step past the end", inputs: (n) => [u(n, [3, 6])], fn: (a) => a.slice(1, 1, undefined, 4) },
  { name: "narrow", inputs: (n) => [u(n, [4, 3])], fn: (a) => a.narrow(0, 1, 2) },
  { name: "reshape of a non-contiguous view", inputs: (n) => [u(n, [3, 4])], fn: (a) => a.t().reshape(2, 6) },
  { name: "squeeze and unsqueeze", inputs: (n) => [u(n, [3, 1, 2])], fn: (a) => a.squeeze(1).unsqueeze(0) },
  {
    name: "view chain",
    inputs: (n) => [u(n, [3, 4, 5])],
    fn: (a) => a.permute(2, 0, 1).slice(0, 1).slice(2, 0, undefined, 2).reshape(-1),
  },
  { name: "slice of expand", inputs: (n) => [u(n, [1, 3])], fn: (a) => a.expand(4, 3).slice(0, 1, 3) },
  { name: "unfold, overlapping windows", inputs: (n) => [u(n, [3, 8])], fn: (a) => a.unfold(1, 3, 2).mul(a.unfold(1, 3, 2)) },
  { name: "unfold, gaps between windows", inputs: (n) => [u(n, [7, 2])], fn: (a) => a.unfold(0, 2, 3) },
  { name: "unfold twice (2-D windows)", inputs: (n) => [u(n, [5, 6])], fn: (a) => a.unfold(0, 3, 1).unfold(1, 2, 2) },
  { name: "alias", inputs: (n) => [u(n, [2, 3])], fn: (a) => makeView(a, "alias", {}, a.shape, a.strides, a.offset) },

  // inputs that are themselves views
  { name: "non-contiguous leaf input", inputs: (n) => [transposedLeaf(n, 3, 4), u(n, [4])], fn: (a, b) => a.mul(b).exp() },
  {
    name: "input that is a view of another tensor",
    inputs: (n) => [u(n, [4, 3]).slice(0, 1, 4).t(), u(n, [3, 2])],
    fn: (a, b) => a.matmul(b).tanh(),
  },
  {
    name: "expanded input",
    inputs: (n) => [u(n, [3]).expand(2, 3), u(n, [2, 3])],
    fn: (a, b) => a.mul(b).sum(1),
  },

  // graphs
  {
    name: "shared subgraph",
    inputs: (n) => [u(n, [2, 3])],
    fn: (a) => {
      const y = a.mul(a);
      return y.add(y.mul(y)).sigmoid();
    },
  },
  {
    name: "two-layer MLP with cross-entropy",
    inputs: (n) => [u(n, [4, 3]), u(n, [3, 5]), u(n, [5]), u(n, [5, 3]), u(n, [3]), int([0, 2, 1, 2])],
    fn: (x, w1, b1, w2, b2, target) => {
      const hidden = x.matmul(w1).add(b1).gelu();
      const logits = hidden.matmul(w2).add(b2);
      return logits.logSoftmax(1).gather(1, target.unsqueeze(1)).neg().mean();
    },
  },
  // matmul + bias fused (nn.Linear): x [2, 2, 3] · weightᵀ [3, 4] + bias [4], a transposed weight.
  {
    name: "fused linear",
    inputs: (n) => [u(n, [2, 2, 3]), transposedLeaf(n, 4, 3), u(n, [4])],
    fn: (x, w, b) => fusedLinear(x, w, b)!,
  },
  // The fused log-softmax + NLL (nn's crossEntropy on class indices), with an ignored target.
  {
    name: "fused cross-entropy, mean over kept targets",
    inputs: (n) => [u(n, [4, 3], -3, 3), int([0, 2, -100, 1])],
    fn: (x, target) => crossEntropyIndices(x, target, { reduction: "mean", ignoreIndex: -100 }),
  },
  {
    name: "fused cross-entropy, sum, 1-d logits",
    inputs: (n) => [u(n, [5], -3, 3), tensor(3, { dtype: "int32" })],
    fn: (x, target) => crossEntropyIndices(x, target, { reduction: "sum", ignoreIndex: -100 }),
  },
  {
    name: "fused cross-entropy, none, transposed logits",
    inputs: (n) => [transposedLeaf(n, 3, 4), int([3, 1, 1])],
    fn: (x, target) => crossEntropyIndices(x, target, { reduction: "none", ignoreIndex: 1 }),
  },
];

describe("gradcheck passes for every differentiable op", () => {
  CASES.forEach((c, k) => {
    it(c.name, () => {
      const inputs = c.inputs(seeded(1000 + k));
      expect(gradcheck(c.fn, inputs, c.options)).toBe(true);
    });
  });

  it("exercises every differentiable entry of the rule table", () => {
    const seen = new Set<string>();
    const visit = (node: Node | undefined) => {
      if (node === undefined || !(node instanceof OpNode) || seen.has(`#${node.sequence}`)) return;
      seen.add(`#${node.sequence}`);
      seen.add(node.op);
      node.next.forEach(visit);
    };
    CASES.forEach((c, k) => {
      const result = c.fn(...c.inputs(seeded(1000 + k)));
      for (const out of Array.isArray(result) ? result : [result]) visit(out.gradFn as Node | undefined);
    });
    const differentiable = (Object.keys(GRADIENT_RULES) as Op[]).filter((op) => isDifferentiable(GRADIENT_RULES[op]));
    expect(differentiable.filter((op) => !seen.has(op))).toEqual([]);
  });
});
