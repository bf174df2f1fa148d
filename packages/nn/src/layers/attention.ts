// MultiheadAttention: PyTorch's parameter layout, names, init draws and forward semantics (2.x),
// composed from core ops so that deterministic mode, autograd and every backend apply unchanged.
// The transformer layers built on it are in transformer.ts.
import { DTypeError, ShapeError, Tensor, ValueError, cat, empty, isFloating, zeros, type DType, formatValue } from "@lockstep/core";
import { constant_, xavierNormal_, xavierUniform_, type Generator } from "@lockstep/random";
import * as F from "../functional.js";
import { Module, Parameter, checkPositiveInt } from "../module.js";
import type { FactoryOptions } from "./factory.js";
import { Linear } from "./linear.js";

/**
 * The class PyTorch gives MultiheadAttention's out_proj: a plain Linear under another name, kept so
 * that `String(mha)` prints `(out_proj): NonDynamicallyQuantizableLinear(...)` as PyTorch does.
 */
class NonDynamicallyQuantizableLinear extends Linear {}

/** Options of `MultiheadAttention`, like the keyword arguments of torch.nn.MultiheadAttention. */
export interface MultiheadAttentionOptions extends FactoryOptions {
  /** Dropout probability on the attention weights (training mode only); default 0. */
  dropout?: number;
  /** Whether the input and output projections have biases; default true. */
  bias?: boolean;
  /** Learned bias rows `bias_k`, `bias_v` appended to the keys and values; default false. */
  addBiasKv?: boolean;
  /** Inputs and output as [batch, seq, feature] instead of [seq, batch, feature]; default false. */
  batchFirst?: boolean;
  /** Feature size of `key`; default embedDim (different sizes use separate q/k/v weights). */
  kdim?: number;
  /** Feature size of `value`; default embedDim. */
  vdim?: number;
  /** Generator for the initial weights; the default generator when omitted. */
  generator?: Generator;
}

/** Options of `MultiheadAttention.forward`, like PyTorch's keyword arguments. */
export interface MultiheadAttentionForwardOptions {
  /**
   * [batch, S] (or [S] unbatched): true, or −inf in a float mask, marks a key to IGNORE (padding).
   * Note the opposite sense of scaledDotProductAttention's bool attnMask, as in PyTorch.
   */
  keyPaddingMask?: Tensor;
  /** Whether to return the attention weights; default true. */
  needWeights?: boolean;
  /**
   * [L, S] or [batch·numHeads, L, S]: true marks a position NOT allowed to attend; a float mask is
   * added to the scores.
   */
  attnMask?: Tensor;
  /** Average the returned weights over heads ([batch, L, S]) instead of per head; default true. */
  averageAttnWeights?: boolean;
  /** A hint that `attnMask` is the causal mask; as in PyTorch it requires `attnMask`. */
  isCausal?: boolean;
}

const shapeText = (shape: readonly number[]): string => `[${shape.join(", ")}]`;

/**
 * PyTorch's `_canonical_mask`: a bool mask becomes a float mask with −inf where true; a float mask
 * of the query's dtype is used as is.
 */
export function canonicalMask(mask: Tensor | undefined, name: string, dtype: string): Tensor | undefined {
  if (mask === undefined) return undefined;
  if (!(mask instanceof Tensor)) throw new ValueError(`${name} must be a Tensor`);
  if (mask.dtype === "bool") return zeros(mask.shape, { dtype: dtype as DType, device: mask.device }).maskedFill(mask, -Infinity);
  if (!isFloating(mask.dtype)) throw new DTypeError(`only bool and floating types of ${name} are supported, got ${mask.dtype}`);
  if (mask.dtype !== dtype) throw new DTypeError(`${name} has dtype ${mask.dtype}, expected bool or the query's dtype ${dtype}`);
  return mask;
}

/**
 * Like torch.nn.MultiheadAttention: `numHeads` heads of scaled dot-product attention over
 * projections of query, key and value, then an output projection. Parameters, in PyTorch's order:
 * `in_proj_weight` [3E, E] (or `q_proj_weight`, `k_proj_weight`, `v_proj_weight` when kdim/vdim
 * differ from embedDim), `in_proj_bias` [3E], `bias_k`, `bias_v` (with addBiasKv) and the child
 * `out_proj` (a Linear). Init draws as PyTorch's: out_proj's kaiming-uniform weight and bias first,
 * then xavier-uniform on the input projection(s), zeros on both biases, xavier-normal on bias_k/v.
 */
export class MultiheadAttention extends Module<
  [Tensor, Tensor, Tensor, MultiheadAttentionForwardOptions?],
  [Tensor, Tensor | undefined]
> {
  /** Total model size E (embed_dim). */
  readonly embedDim: number;
  /** Feature size of keys. */
  readonly kdim: number;
  /** Feature size of values. */
  readonly vdim: number;
  /** Number of heads; each has embedDim / numHeads features. */
  readonly numHeads: number;
  /** Features per head. */
  readonly headDim: number;
  /** Dropout probability on the attention weights. */
  readonly dropout: number;
  /** Whether inputs are [batch, seq, feature]. */
  readonly batchFirst: boolean;
  /** Query projection [E, E] when kdim/vdim differ from E, else undefined. */
  q_proj_weight: Parameter | undefined;
  /** Key projection [E, kdim] when kdim/vdim differ from E, else undefined. */
  k_proj_weight: Parameter | undefined;
  /** Value projection [E, vdim] when kdim/vdim differ from E, else undefined. */
  v_proj_weight: Parameter | undefined;
  /** Packed q, k, v projections [3E, E] when kdim = vdim = E, else undefined. */
  in_proj_weight: Parameter | undefined;
  /** Packed q, k, v projection biases [3E]; undefined with `bias: false`. */
  in_proj_bias: Parameter | undefined;
  /** Learned key row [1, 1, E] appended to the keys (addBiasKv), else undefined. */
  bias_k: Parameter | undefined;
  /** Learned value row [1, 1, E] appended to the values (addBiasKv), else undefined. */
  bias_v: Parameter | undefined;
  /** Output projection E → E. */
  out_proj: Linear;

  /**
   * Like torch.nn.MultiheadAttention(embed_dim, num_heads, dropout=0.0, bias=True,
   * add_bias_kv=False, kdim=None, vdim=None, batch_first=False). Throws ValueError when embedDim is
   * not divisible by numHeads or a size or probability is invalid, before drawing anything.
   */
  constructor(embedDim: number, numHeads: number, options: MultiheadAttentionOptions = {}) {
    super();
    checkPositiveInt("embed_dim", embedDim, false);
    checkPositiveInt("num_heads", numHeads, false);
    const kdim = options.kdim ?? embedDim;
    const vdim = options.vdim ?? embedDim;
    checkPositiveInt("kdim", kdim, false);
    checkPositiveInt("vdim", vdim, false);
    const dropout = options.dropout ?? 0;
    if (typeof dropout !== "number" || !(dropout >= 0 && dropout <= 1)) {
      throw new ValueError(`dropout probability has to be between 0 and 1, but got ${formatValue(dropout)}`);
    }
    if (embedDim % numHeads !== 0) {
      throw new ValueError(`embed_dim must be divisible by num_heads (embed_dim=${embedDim}, num_heads=${numHeads})`);
    }
    this.embedDim = embedDim;
    this.kdim = kdim;
    this.vdim = vdim;
    this.numHeads = numHeads;
    this.headDim = embedDim / numHeads;
    this.dropout = dropout;
    this.batchFirst = options.batchFirst ?? false;
    const factory = { dtype: options.dtype ?? "float32", device: options.device ?? "cpu" };
    const packed = kdim === embedDim && vdim === embedDim;
    this.q_proj_weight = packed ? undefined : new Parameter(empty([embedDim, embedDim], factory));
    this.k_proj_weight = packed ? undefined : new Parameter(empty([embedDim, kdim], factory));
    this.v_proj_weight = packed ? undefined : new Parameter(empty([embedDim, vdim], factory));
    this.in_proj_weight = packed ? new Parameter(empty([3 * embedDim, embedDim], factory)) : undefined;
    const bias = options.bias ?? true;
    this.in_proj_bias = bias ? new Parameter(empty([3 * embedDim], factory)) : undefined;
    // PyTorch constructs out_proj here, drawing its Linear init, before _reset_parameters redraws
    // the input projections: the order of draws follows.
    this.out_proj = new NonDynamicallyQuantizableLinear(embedDim, embedDim, { ...factory, bias, generator: options.generator });
    this.bias_k = options.addBiasKv ? new Parameter(empty([1, 1, embedDim], factory)) : undefined;
    this.bias_v = options.addBiasKv ? new Parameter(empty([1, 1, embedDim], factory)) : undefined;
    this.resetParameters(options.generator);
  }

  /** PyTorch's _reset_parameters: xavier-uniform projections, zero biases, xavier-normal bias_k/v. */
  resetParameters(generator?: Generator): void {
    if (this.in_proj_weight !== undefined) {
      xavierUniform_(this.in_proj_weight, { generator });
    } else {
      xavierUniform_(this.q_proj_weight!, { generator });
      xavierUniform_(this.k_proj_weight!, { generator });
      xavierUniform_(this.v_proj_weight!, { generator });
    }
    if (this.in_proj_bias !== undefined) {
      constant_(this.in_proj_bias, 0);
      constant_(this.out_proj.bias!, 0);
    }
    if (this.bias_k !== undefined) xavierNormal_(this.bias_k, { generator });
    if (this.bias_v !== undefined) xavierNormal_(this.bias_v, { generator });
  }

  /**
   * Attention of `query` over `key`/`value`: [L, N, E] (or [N, L, E] with batchFirst, or [L, E]
   * unbatched) → `[output, weights]`, the weights [N, L, S] averaged over heads (or
   * [N, numHeads, L, S]), undefined with `needWeights: false`. Every shape, dtype and mask is
   * checked before anything is computed; errors name the values.
   */
  forward(query: Tensor, key: Tensor, value: Tensor, options: MultiheadAttentionForwardOptions = {}): [Tensor, Tensor | undefined] {
    const needWeights = options.needWeights ?? true;
    const average = options.averageAttnWeights ?? true;
    const batched = this.checkShapes(query, key, value, options);
    let [q, k, v] = [query, key, value];
    let keyPaddingMask = options.keyPaddingMask;
    let attnMask = options.attnMask;
    if (!batched) {
      [q, k, v] = [q.unsqueeze(1), k.unsqueeze(1), v.unsqueeze(1)];
      if (keyPaddingMask !== undefined) keyPaddingMask = keyPaddingMask.unsqueeze(0);
    } else if (this.batchFirst) {
      [q, k, v] = [q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1)];
    }
    const [L, N, E] = q.shape as [number, number, number];
    const H = this.numHeads;
    const hd = this.headDim;
    const dtype = query.dtype;
    let padMask = canonicalMask(keyPaddingMask, "key_padding_mask", dtype);
    let mask = canonicalMask(attnMask, "attn_mask", dtype);

    // Input projections: rows [0, E), [E, 2E), [2E, 3E) of the packed weight are q, k, v's (each
    // output column is its own dot product, so this equals PyTorch's one packed matmul).
    const biases = this.in_proj_bias === undefined ? [undefined, undefined, undefined] : this.in_proj_bias.chunk(3);
    const weights = this.in_proj_weight === undefined
      ? [this.q_proj_weight!, this.k_proj_weight!, this.v_proj_weight!]
      : this.in_proj_weight.chunk(3);
    q = F.linear(q, weights[0]!, biases[0]);
    k = F.linear(k, weights[1]!, biases[1]);
    v = F.linear(v, weights[2]!, biases[2]);

    if (mask !== undefined && mask.ndim === 2) mask = mask.unsqueeze(0);
    if (this.bias_k !== undefined && this.bias_v !== undefined) {
      k = cat([k, this.bias_k.expand([1, N, E])], 0);
      v = cat([v, this.bias_v.expand([1, N, E])], 0);
      if (mask !== undefined) mask = cat([mask, zeros([mask.shape[0]!, L, 1], { dtype: mask.dtype, device: mask.device })], 2);
      if (padMask !== undefined) padMask = cat([padMask, zeros([N, 1], { dtype: padMask.dtype, device: padMask.device })], 1);
    }
    const S = k.shape[0]!;

    // [seq, N, E] → [N·H, seq, hd]: head h of sample n is row n·H + h, as in PyTorch.
    const heads = (t: Tensor, len: number) => t.reshape([len, N * H, hd]).transpose(0, 1);
    const qh = heads(q, L);
    const kh = heads(k, S);
    const vh = heads(v, S);
    if (padMask !== undefined) {
      const perHead = padMask.reshape([N, 1, 1, S]).expand([N, H, 1, S]).reshape([N * H, 1, S]);
      mask = mask === undefined ? perHead : mask.add(perHead);
    }
    let scores = qh.mul(Math.sqrt(1 / hd)).matmul(kh.transpose(1, 2));
    if (mask !== undefined) scores = scores.add(mask);
    let attention = scores.softmax(-1);
    if (this.training && this.dropout > 0) attention = F.dropout(attention, this.dropout, true);
    const context = attention.matmul(vh).transpose(0, 1).reshape([L, N, E]);
    let output = this.out_proj.forward(context);

    let returned: Tensor | undefined;
    if (needWeights) {
      returned = attention.reshape([N, H, L, S]);
      if (average) returned = returned.mean(1);
      if (!batched) returned = returned.squeeze(0);
    }
    if (!batched) output = output.squeeze(1);
    else if (this.batchFirst) output = output.transpose(0, 1);
    return [output, returned];
  }

  /** PyTorch's _mha_shape_check plus the size checks of multi_head_attention_forward. */
  private checkShapes(query: Tensor, key: Tensor, value: Tensor, options: MultiheadAttentionForwardOptions): boolean {
    for (const [name, t] of [["query", query], ["key", key], ["value", value]] as const) {
      if (!(t instanceof Tensor)) throw new ValueError(`MultiheadAttention: ${name} must be a Tensor`);
    }
    const { keyPaddingMask, attnMask } = options;
    if (options.isCausal && attnMask === undefined) {
      throw new ValueError(
        "Need attn_mask if specifying the is_causal hint. You may use the Transformer module method " +
          "`generate_square_subsequent_mask` to create this mask.",
      );
    }
    let batched: boolean;
    if (query.ndim === 3) {
      batched = true;
      if (key.ndim !== 3 || value.ndim !== 3) {
        throw new ShapeError(`For batched (3-D) \`query\`, expected \`key\` and \`value\` to be 3-D but found ${key.ndim}-D and ${value.ndim}-D tensors respectively`);
      }
      if (keyPaddingMask !== undefined && keyPaddingMask.ndim !== 2) {
        throw new ShapeError(`For batched (3-D) \`query\`, expected \`key_padding_mask\` to be \`None\` or 2-D but found ${keyPaddingMask.ndim}-D tensor instead`);
      }
      if (attnMask !== undefined && attnMask.ndim !== 2 && attnMask.ndim !== 3) {
        throw new ShapeError(`For batched (3-D) \`query\`, expected \`attn_mask\` to be \`None\`, 2-D or 3-D but found ${attnMask.ndim}-D tensor instead`);
      }
    } else if (query.ndim === 2) {
      batched = false;
      if (key.ndim !== 2 || value.ndim !== 2) {
        throw new ShapeError(`For unbatched (2-D) \`query\`, expected \`key\` and \`value\` to be 2-D but found ${key.ndim}-D and ${value.ndim}-D tensors respectively`);
      }
      if (keyPaddingMask !== undefined && keyPaddingMask.ndim !== 1) {
        throw new ShapeError(`For unbatched (2-D) \`query\`, expected \`key_padding_mask\` to be \`None\` or 1-D but found ${keyPaddingMask.ndim}-D tensor instead`);
      }
      if (attnMask !== undefined && attnMask.ndim !== 2 && attnMask.ndim !== 3) {
        throw new ShapeError(`For unbatched (2-D) \`query\`, expected \`attn_mask\` to be \`None\`, 2-D or 3-D but found ${attnMask.ndim}-D tensor instead`);
      }
    } else {
      throw new ShapeError(`query should be unbatched 2D or batched 3D tensor but received ${query.ndim}-D query tensor`);
    }
    if (!isFloating(query.dtype) || key.dtype !== query.dtype || value.dtype !== query.dtype) {
      throw new DTypeError(`MultiheadAttention: expected query, key and value of one floating dtype, got ${query.dtype}, ${key.dtype} and ${value.dtype}`);
    }
    const seqDim = batched && this.batchFirst ? 1 : 0;
    const batchDim = 1 - seqDim;
    const L = query.shape[seqDim]!;
    const S = key.shape[seqDim]!;
    const N = batched ? query.shape[batchDim]! : 1;
    const last = (t: Tensor) => t.shape[t.ndim - 1]!;
    if (last(query) !== this.embedDim) throw new ShapeError(`was expecting embedding dimension of ${this.embedDim}, but got ${last(query)}`);
    if (last(key) !== this.kdim) throw new ShapeError(`was expecting key feature size kdim=${this.kdim}, but got key of shape ${shapeText(key.shape)}`);
    if (last(value) !== this.vdim) throw new ShapeError(`was expecting value feature size vdim=${this.vdim}, but got value of shape ${shapeText(value.shape)}`);
    if (this.in_proj_weight !== undefined) {
      if (key.shape.join(",") !== value.shape.join(",")) throw new ShapeError(`key shape ${shapeText(key.shape)} does not match value shape ${shapeText(value.shape)}`);
    } else if (key.shape.slice(0, -1).join(",") !== value.shape.slice(0, -1).join(",")) {
      throw new ShapeError(`key's sequence and batch dims ${shapeText(key.shape.slice(0, -1))} do not match value's ${shapeText(value.shape.slice(0, -1))}`);
    }
    if (batched && key.shape[batchDim] !== N) {
      throw new ShapeError(`query batch size ${N} does not match key batch size ${key.shape[batchDim]} (query ${shapeText(query.shape)}, key ${shapeText(key.shape)}, batchFirst=${this.batchFirst})`);
    }
    if (keyPaddingMask !== undefined) {
      const want = batched ? [N, S] : [S];
      if (keyPaddingMask.shape.join(",") !== want.join(",")) {
        throw new ShapeError(`expecting key_padding_mask shape of ${shapeText(want)}, but got ${shapeText(keyPaddingMask.shape)}`);
      }
      if (keyPaddingMask.dtype !== "bool" && keyPaddingMask.dtype !== query.dtype) {
        throw new DTypeError(`only bool and floating types of key_padding_mask matching the query's dtype ${query.dtype} are supported, got ${keyPaddingMask.dtype}`);
      }
    }
    if (attnMask !== undefined) {
      if (attnMask.ndim === 2 && attnMask.shape.join(",") !== `${L},${S}`) {
        throw new ShapeError(`The shape of the 2D attn_mask is ${shapeText(attnMask.shape)}, but should be ${shapeText([L, S])}.`);
      }
      if (attnMask.ndim === 3 && attnMask.shape.join(",") !== `${N * this.numHeads},${L},${S}`) {
        throw new ShapeError(`The shape of the 3D attn_mask is ${shapeText(attnMask.shape)}, but should be ${shapeText([N * this.numHeads, L, S])}.`);
      }
      if (attnMask.dtype !== "bool" && attnMask.dtype !== query.dtype) {
        throw new DTypeError(`only bool and floating types of attn_mask matching the query's dtype ${query.dtype} are supported, got ${attnMask.dtype}`);
      }
    }
    return batched;
  }
}
