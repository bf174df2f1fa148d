// Gradients against PyTorch 1.13 (float32). fixtures/autograd/generate.py wrote every case's
// inputs, the gradient fed to backward, PyTorch's output and PyTorch's input gradients; each case
// below is the same computation written with Lockstep ops. A case on one side only fails.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { cat, div, maximum, minimum, pow, stack, sub, where, type Tensor } from "@lockstep/core";
import { decode, expectClose, type EncodedTensor } from "./helpers.js";

interface Case {
  name: string;
  inputs: (EncodedTensor & { requiresGrad: boolean })[];
  upstream: EncodedTensor;
  output: EncodedTensor;
  grads: (EncodedTensor | null)[];
  rtol?: number;
  atol?: number;
}

const fixture = JSON.parse(readFileSync(new URL("./fixtures/gradients.json", import.meta.url), "utf8")) as {
  torch: string;
  cases: Case[];
};

/** float32 results differ from PyTorch's only by summation order and libm: a few ulps. */
const RTOL = 1e-5;
const ATOL = 1e-6;

type Fn = (...inputs: Tensor[]) => Tensor;

const crossEntropy = (logits: Tensor, target: Tensor) =>
  logits.logSoftmax(1).gather(1, target.unsqueeze(1)).neg().mean();

const CASES: Record<string, Fn> = {
  add_broadcast: (a, b) => a.add(b),
  add_broadcast_both: (a, b) => a.add(b),
  add_scalar: (a) => a.add(2.5),
  sub_broadcast: (a, b) => a.sub(b),
  rsub_scalar: (a) => sub(1, a),
  mul_broadcast: (a, b) => a.mul(b),
  mul_self: (a) => a.mul(a),
  div_broadcast: (a, b) => a.div(b),
  div_scalar_numerator: (a) => div(2, a),
  pow_tensor: (a, b) => a.pow(b),
  pow_scalar_exponent: (a) => a.pow(3),
  pow_scalar_base: (a) => pow(2, a),
  pow_zero_base: (a, b) => a.pow(b),
  maximum_ties: (a, b) => maximum(a, b),
  minimum_ties: (a, b) => minimum(a, b),
  maximum_broadcast: (a, b) => maximum(a, b),

  neg: (a) => a.neg(),
  exp: (a) => a.exp(),
  log: (a) => a.log(),
  sqrt: (a) => a.sqrt(),
  rsqrt: (a) => a.rsqrt(),
  abs: (a) => a.abs(),
  abs_at_zero: (a) => a.abs(),
  sign: (a) => a.sign(),
  relu: (a) => a.relu(),
  relu_at_zero: (a) => a.relu(),
  sigmoid: (a) => a.sigmoid(),
  tanh: (a) => a.tanh(),
  erf: (a) => a.erf(),
  gelu: (a) => a.gelu(),
  gelu_tanh: (a) => a.gelu({ approximate: "tanh" }),
  clamp: (a) => a.clamp(-0.5, 0.5),
  clamp_at_bounds: (a) => a.clamp(-0.5, 0.5),

  sum_dim: (a) => a.sum(1),
  sum_dims_keepdim: (a) => a.sum([0, 2], true),
  sum_all: (a) => a.sum(),
  mean_dim: (a) => a.mean(-1),
  var_dim: (a) => a.var(1),
  std_all: (a) => a.std(),
  logsumexp: (a) => a.logsumexp(1),
  softmax: (a) => a.softmax(-1),
  log_softmax: (a) => a.logSoftmax(0),
  prod_dim: (a) => a.prod(1),
  prod_all: (a) => a.prod(),
  prod_one_zero: (a) => a.prod(1),
  prod_two_zeros: (a) => a.prod(1),
  amax_ties: (a) => a.amax(1),
  amin_ties: (a) => a.amin(1),
  amax_dims: (a) => a.amax([0, 2]),
  max_all_ties: (a) => a.max(),
  max_dim: (a) => a.max(1).values,
  min_dim_keepdim: (a) => a.min(0, true).values,

  where_broadcast: (c, a, b) => where(c, a, b),
  masked_fill: (a, m) => a.maskedFill(m, 2.0),
  cast_roundtrip: (a) => a.double().mul(3).float(),
  contiguous_of_transpose: (a) => a.t().contiguous(),
  clone: (a) => a.clone().mul(2),

  matmul_2d: (a, b) => a.matmul(b),
  matmul_batched_broadcast: (a, b) => a.matmul(b),
  matmul_batch_dims_broadcast: (a, b) => a.matmul(b),
  matmul_vector_matrix: (a, b) => a.matmul(b),
  matmul_matrix_vector: (a, b) => a.matmul(b),
  matmul_dot: (a, b) => a.matmul(b),
  matmul_transposed_input: (a, b) => a.t().matmul(b),

  cat: (a, b, c) => cat([a, b, c], 1),
  stack: (a, b) => stack([a, b], 1),
  split: (a) => {
    const [left, right] = a.split([2, 3], 1) as [Tensor, Tensor];
    return cat([right, left.mul(2)], 1);
  },
  chunk: (a) => {
    const [first, , last] = a.chunk(3, 0) as [Tensor, Tensor, Tensor];
    return last.mul(first);
  },

  index_select_repeats: (a, i) => a.indexSelect(0, i),
  index_select_dim1: (a, i) => a.indexSelect(1, i),
  gather_repeats: (a, i) => a.gather(1, i),
  gather_smaller_index: (a, i) => a.gather(0, i),
  scatter: (a, i, s) => a.scatter(1, i, s),

  permute: (a) => a.permute(2, 0, 1),
  transpose: (a) => a.transpose(0, 1),
  slice_step: (a) => a.slice(1, 1, 6, 2),
  slice_step_to_end: (a) => a.slice(1, 0, undefined, 4),
  narrow: (a) => a.narrow(0, 1, 2),
  expand: (a) => a.expand(2, 3, 4),
  reshape_non_contiguous: (a) => a.t().reshape(-1),
  unsqueeze_squeeze: (a) => a.squeeze(1).unsqueeze(0),
  flatten: (a) => a.flatten(1),
  view_chain: (a) => a.permute(2, 0, 1).slice(0, 1).slice(2, 0, undefined, 2).reshape(-1),
  slice_of_expand: (a) => a.expand(4, 3).slice(0, 1, 3).mul(2),

  shared_subgraph: (a) => {
    const y = a.mul(a);
    return y.add(y.mul(y));
  },
  reused_input: (a) => a.exp().mul(a.tanh()).add(a),

  mlp_cross_entropy: (x, w1, b1, w2, b2, target) => {
    const hidden = x.matmul(w1).add(b1).relu();
    const logits = hidden.matmul(w2).add(b2);
    return crossEntropy(logits, target);
  },
};

/**
 * Cases where Lockstep is known to differ, with the reason. They run as expected failures, so the
 * day the difference is fixed the test reports it and the entry must go.
 */
const KNOWN_DIFFERENCES: Record<string, string> = {};

describe(`gradients match PyTorch ${fixture.torch} (float32)`, () => {
  it("every fixture case has a Lockstep version and every Lockstep version a fixture", () => {
    expect(fixture.cases.map((c) => c.name).sort()).toEqual(Object.keys(CASES).sort());
  });

  for (const c of fixture.cases) {
    const known = KNOWN_DIFFERENCES[c.name];
    (known === undefined ? it : it.fails)(known === undefined ? c.name : `${c.name} (known difference: ${known})`, () => {
      const fn = CASES[c.name];
      expect(fn, `no Lockstep version of ${c.name}`).toBeDefined();
      const inputs = c.inputs.map((entry) => decode(entry, entry.requiresGrad));
      const out = fn!(...inputs);
      const rtol = c.rtol ?? RTOL;
      const atol = c.atol ?? ATOL;
      expectClose(out, c.output, rtol, atol, `${c.name} output`);
      out.backward(decode(c.upstream));
      c.grads.forEach((expected, i) => {
        if (expected === null) expect(inputs[i]!.grad).toBeUndefined();
        else expectClose(inputs[i]!.grad, expected, rtol, atol, `${c.name} grad of input ${i}`);
      });
    });
  }
});
