// Bad input to the attention and transformer layers: the error class, a message naming the values
// (PyTorch's wording where PyTorch has one), and nothing changed — no parameter, no generator draw.
import "@lockstep/backend-cpu";
import { DTypeError, ShapeError, ValueError, ones, zeros, type Tensor } from "@lockstep/core";
import { getRngState, manualSeed, randn } from "@lockstep/random";
import { describe, expect, it } from "vitest";
import {
  MultiheadAttention,
  RMSNorm,
  Softplus,
  LeakyReLU,
  TransformerDecoderLayer,
  TransformerEncoder,
  TransformerEncoderLayer,
  functional as F,
} from "../src/index.js";

function snapshot(params: Tensor[]): Float32Array[] {
  return params.map((p) => Float32Array.from(p.dataSync() as Float32Array));
}

describe("constructors refuse bad sizes before drawing anything", () => {
  it.each([
    ["MultiheadAttention(10, 3)", () => new MultiheadAttention(10, 3), ValueError, /embed_dim must be divisible by num_heads \(embed_dim=10, num_heads=3\)/],
    ["MultiheadAttention(8, 0)", () => new MultiheadAttention(8, 0), ValueError, /num_heads must be a positive integer, got 0/],
    ["MultiheadAttention dropout 1.5", () => new MultiheadAttention(8, 2, { dropout: 1.5 }), ValueError, /between 0 and 1, but got 1.5/],
    ["TransformerEncoderLayer(6, 4)", () => new TransformerEncoderLayer(6, 4), ValueError, /embed_dim must be divisible by num_heads \(embed_dim=6, num_heads=4\)/],
    ["TransformerDecoderLayer activation", () => new TransformerDecoderLayer(8, 2, { activation: "tanh" as "relu" }), ValueError, /activation should be relu\/gelu, not tanh/],
    ["TransformerEncoderLayer dimFeedforward 2.5", () => new TransformerEncoderLayer(8, 2, { dimFeedforward: 2.5 }), ValueError, /dim_feedforward must be a positive integer, got 2.5/],
    ["RMSNorm(-1)", () => new RMSNorm(-1), ValueError, /normalized_shape must be a non-negative integer, got -1/],
    ["Softplus beta 0", () => new Softplus({ beta: 0 }), ValueError, /beta must be a finite non-zero number, got 0/],
    ["LeakyReLU NaN", () => new LeakyReLU(Number.NaN), ValueError, /negative_slope must be a finite number, got NaN/],
  ] as const)("%s", (_, make, errorClass, message) => {
    manualSeed(5);
    const before = getRngState();
    expect(make).toThrow(errorClass);
    expect(make).toThrow(message);
    expect(getRngState()).toEqual(before);
  });

  it("TransformerEncoder needs a TransformerEncoderLayer and a valid count", () => {
    const layer = new TransformerEncoderLayer(8, 2, { dimFeedforward: 8 });
    expect(() => new TransformerEncoder(layer, -1)).toThrow(/num_layers must be a non-negative integer, got -1/);
    expect(() => new TransformerEncoder({} as TransformerEncoderLayer, 2)).toThrow(ValueError);
  });
});

describe("MultiheadAttention.forward names the mismatched values and changes nothing", () => {
  manualSeed(0);
  const mha = new MultiheadAttention(8, 2);
  const sep = new MultiheadAttention(8, 2, { kdim: 6, vdim: 4 });
  const x = randn([5, 3, 8]);
  const cases: [string, () => unknown, new (...args: never[]) => Error, RegExp][] = [
    ["query of 4 dims", () => mha.forward(randn([1, 5, 3, 8]), x, x), ShapeError, /query should be unbatched 2D or batched 3D tensor but received 4-D query tensor/],
    ["2-D key with 3-D query", () => mha.forward(x, randn([5, 8]), x), ShapeError, /expected `key` and `value` to be 3-D but found 2-D and 3-D/],
    ["wrong embedding size", () => mha.forward(randn([5, 3, 6]), x, x), ShapeError, /was expecting embedding dimension of 8, but got 6/],
    ["key and value differ", () => mha.forward(x, x, randn([4, 3, 8])), ShapeError, /key shape \[5, 3, 8\] does not match value shape \[4, 3, 8\]/],
    ["batch mismatch", () => mha.forward(x, randn([5, 2, 8]), randn([5, 2, 8])), ShapeError, /query batch size 3 does not match key batch size 2/],
    ["padding mask shape", () => mha.forward(x, x, x, { keyPaddingMask: zeros([3, 4], { dtype: "bool" }) }), ShapeError, /expecting key_padding_mask shape of \[3, 5\], but got \[3, 4\]/],
    ["2-D attn_mask shape", () => mha.forward(x, x, x, { attnMask: zeros([5, 4]) }), ShapeError, /The shape of the 2D attn_mask is \[5, 4\], but should be \[5, 5\]/],
    ["3-D attn_mask shape", () => mha.forward(x, x, x, { attnMask: zeros([3, 5, 5]) }), ShapeError, /The shape of the 3D attn_mask is \[3, 5, 5\], but should be \[6, 5, 5\]/],
    ["int attn_mask", () => mha.forward(x, x, x, { attnMask: zeros([5, 5], { dtype: "int32" }) }), DTypeError, /attn_mask/],
    ["isCausal without a mask", () => mha.forward(x, x, x, { isCausal: true }), ValueError, /Need attn_mask if specifying the is_causal hint/],
    ["kdim mismatch", () => sep.forward(x, randn([5, 3, 5]), randn([5, 3, 4])), ShapeError, /kdim=6/],
    ["separate projections, key/value lengths", () => sep.forward(x, randn([5, 3, 6]), randn([4, 3, 4])), ShapeError, /key's sequence and batch dims \[5, 3\] do not match value's \[4, 3\]/],
  ];
  it.each(cases)("%s", (_, call, errorClass, message) => {
    const before = snapshot([...mha.parameters(), ...sep.parameters()]);
    expect(call).toThrow(errorClass);
    expect(call).toThrow(message);
    expect(snapshot([...mha.parameters(), ...sep.parameters()])).toEqual(before);
    for (const p of [...mha.parameters(), ...sep.parameters()]) expect(p.grad).toBeUndefined();
  });
});

describe("scaledDotProductAttention names the mismatched values", () => {
  const q = randn([2, 4, 8]);
  const k = randn([2, 5, 8]);
  it.each([
    ["mask and isCausal", () => F.scaledDotProductAttention(q, k, k, { attnMask: ones([4, 5], { dtype: "bool" }), isCausal: true }), ValueError, /Explicit attn_mask should not be set when is_causal=True/],
    ["head dims differ", () => F.scaledDotProductAttention(q, randn([2, 5, 6]), k), ShapeError, /query's last dim 8 must equal key's last dim 6/],
    ["key/value lengths differ", () => F.scaledDotProductAttention(q, k, randn([2, 6, 8])), ShapeError, /same sequence length, got key \[2, 5, 8\] and value \[2, 6, 8\]/],
    ["mask shape", () => F.scaledDotProductAttention(q, k, k, { attnMask: zeros([4, 3]) }), ShapeError, /attn_mask of shape \[4, 3\] does not broadcast to the scores' \[\.\.\., 4, 5\]/],
    ["mask batch", () => F.scaledDotProductAttention(q, k, k, { attnMask: zeros([3, 4, 5]) }), ShapeError, /attn_mask of shape \[3, 4, 5\] does not broadcast with query \[2, 4, 8\]/],
    ["batch dims", () => F.scaledDotProductAttention(q, randn([3, 5, 8]), randn([3, 5, 8])), ShapeError, /do not broadcast/],
    ["dtype", () => F.scaledDotProductAttention(q, k, k.double()), DTypeError, /value.dtype: float64/],
    ["dropoutP", () => F.scaledDotProductAttention(q, k, k, { dropoutP: -0.1 }), ValueError, /between 0 and 1, but got -0.1/],
  ] as const)("%s", (_, call, errorClass, message) => {
    expect(call).toThrow(errorClass);
    expect(call).toThrow(message);
  });
});

describe("RMSNorm", () => {
  it("checks the trailing shape like LayerNorm", () => {
    expect(() => new RMSNorm([4]).forward(randn([2, 5]))).toThrow(/Given normalized_shape=\[4\], expected input with shape \[\*, 4\], but got input of size\[2, 5\]/);
  });
});
