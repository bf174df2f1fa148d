// Transformer encoder and decoder layers and the encoder stack, with PyTorch's field names and
// registration order (so state-dict keys and init draws match torch.nn.Transformer*), built from
// MultiheadAttention, Linear, LayerNorm and Dropout. Not here: nn.Transformer and
// nn.TransformerDecoder (the stack), nested tensors and PyTorch's inference fast path.
import { ValueError, type Tensor, formatValue } from "@lockstep/core";
import { forkRng } from "@lockstep/random";
import * as F from "../functional.js";
import { Module, checkPositiveInt, type AnyModule } from "../module.js";
import { MultiheadAttention, canonicalMask } from "./attention.js";
import { Dropout } from "./container.js";
import { ModuleList } from "./containers.js";
import type { FactoryOptions } from "./factory.js";
import { Linear } from "./linear.js";
import { LayerNorm } from "./norm.js";
import { tensorArg } from "../functional/check.js";

/**
 * The feed-forward activation: PyTorch's "relu" or "gelu", an elementwise function, or a
 * parameter-free activation module (e.g. `new nn.SiLU()`), which is called but not registered.
 */
export type TransformerActivation = "relu" | "gelu" | ((x: Tensor) => Tensor) | Module<[Tensor], Tensor>;

/** Options of `TransformerEncoderLayer` and `TransformerDecoderLayer`. */
export interface TransformerLayerOptions extends FactoryOptions {
  /** Hidden size of the feed-forward block; default 2048. */
  dimFeedforward?: number;
  /** Dropout probability everywhere (attention weights and the residual branches); default 0.1. */
  dropout?: number;
  /** Feed-forward activation; default "relu". */
  activation?: TransformerActivation;
  /** LayerNorm eps; default 1e-5. */
  layerNormEps?: number;
  /** Inputs as [batch, seq, feature] instead of [seq, batch, feature]; default false. */
  batchFirst?: boolean;
  /** LayerNorm before attention and feed-forward (pre-norm) instead of after; default false. */
  normFirst?: boolean;
  /**
   * Whether Linear layers, attention projections and LayerNorms have biases; default true (false
   * drops the LayerNorm biases too, as PyTorch 2.1+ does).
   */
  bias?: boolean;
}

/** Options of `TransformerEncoderLayer.forward`. */
export interface TransformerEncoderLayerForwardOptions {
  /** Attention mask, as MultiheadAttention's `attnMask` ([L, L] or [N·nhead, L, L]). */
  srcMask?: Tensor;
  /** [N, L] (or [L] unbatched): true marks padding keys to ignore. */
  srcKeyPaddingMask?: Tensor;
  /** A hint that `srcMask` is causal; as in PyTorch, it needs `srcMask`. */
  isCausal?: boolean;
}

/** Options of `TransformerDecoderLayer.forward`. */
export interface TransformerDecoderLayerForwardOptions {
  /** Self-attention mask over the target ([T, T] or [N·nhead, T, T]). */
  tgtMask?: Tensor;
  /** Cross-attention mask ([T, S] or [N·nhead, T, S]). */
  memoryMask?: Tensor;
  /** [N, T]: true marks padding target positions to ignore as keys. */
  tgtKeyPaddingMask?: Tensor;
  /** [N, S]: true marks padding memory positions to ignore. */
  memoryKeyPaddingMask?: Tensor;
  /** A hint that `tgtMask` is causal (needs `tgtMask`). */
  tgtIsCausal?: boolean;
  /** A hint that `memoryMask` is causal (needs `memoryMask`). */
  memoryIsCausal?: boolean;
}

interface Resolved {
  dModel: number;
  nhead: number;
  dimFeedforward: number;
  dropout: number;
  activation: (x: Tensor) => Tensor;
  layerNormEps: number;
  batchFirst: boolean;
  normFirst: boolean;
  bias: boolean;
  factory: FactoryOptions;
}

function resolve(dModel: number, nhead: number, options: TransformerLayerOptions): Resolved {
  checkPositiveInt("d_model", dModel, false);
  checkPositiveInt("nhead", nhead, false);
  const dimFeedforward = options.dimFeedforward ?? 2048;
  checkPositiveInt("dim_feedforward", dimFeedforward, false);
  const dropout = options.dropout ?? 0.1;
  if (typeof dropout !== "number" || !(dropout >= 0 && dropout <= 1)) {
    throw new ValueError(`dropout probability has to be between 0 and 1, but got ${formatValue(dropout)}`);
  }
  if (dModel % nhead !== 0) throw new ValueError(`embed_dim must be divisible by num_heads (embed_dim=${dModel}, num_heads=${nhead})`);
  const act = options.activation ?? "relu";
  let activation: (x: Tensor) => Tensor;
  if (act === "relu") activation = F.relu;
  else if (act === "gelu") activation = (x) => F.gelu(x);
  else if (act instanceof Module) {
    if (act.parameters().length > 0) throw new ValueError("TransformerLayer: an activation module must have no parameters");
    activation = (x) => act.forward(x);
  } else if (typeof act === "function") activation = act;
  else throw new ValueError(`activation should be relu/gelu, not ${String(act)}`);
  return {
    dModel,
    nhead,
    dimFeedforward,
    dropout,
    activation,
    layerNormEps: options.layerNormEps ?? 1e-5,
    batchFirst: options.batchFirst ?? false,
    normFirst: options.normFirst ?? false,
    bias: options.bias ?? true,
    factory: { dtype: options.dtype ?? "float32", device: options.device ?? "cpu" },
  };
}

/**
 * A copy of `source` with its own parameters and the same values, training flags and requiresGrad,
 * made without moving the default generator (PyTorch deep-copies; no draws happen there either).
 */
function cloneLayer<T extends AnyModule>(source: T, make: () => T): T {
  const copy = forkRng(make);
  const device = source.parameters()[0]?.device;
  if (device !== undefined && copy.parameters()[0]?.device !== device) copy.to(device);
  copy.loadStateDict(source.stateDict());
  const sourceModules = new Map(source.namedModules());
  for (const [name, m] of copy.namedModules()) m.training = sourceModules.get(name)!.training;
  const sourceParams = new Map(source.namedParameters());
  for (const [name, p] of copy.namedParameters()) p.requiresGrad_(sourceParams.get(name)!.requiresGrad);
  return copy;
}

/**
 * Like torch.nn.TransformerEncoderLayer: self-attention and a feed-forward block, each with a
 * residual connection and LayerNorm (after, or before with normFirst). Children, in PyTorch's
 * order: self_attn, linear1, dropout, linear2, norm1, norm2, dropout1, dropout2.
 */
export class TransformerEncoderLayer extends Module<[Tensor, TransformerEncoderLayerForwardOptions?]> {
  /** Self-attention over the source. */
  self_attn: MultiheadAttention;
  /** dModel → dimFeedforward. */
  linear1: Linear;
  /** Dropout inside the feed-forward block. */
  dropout: Dropout;
  /** dimFeedforward → dModel. */
  linear2: Linear;
  /** Pre-norm: before self-attention; post-norm: after its residual. */
  norm1: LayerNorm;
  /** Pre-norm: before the feed-forward block; post-norm: after its residual. */
  norm2: LayerNorm;
  /** Dropout on the self-attention branch. */
  dropout1: Dropout;
  /** Dropout on the feed-forward branch. */
  dropout2: Dropout;
  /** Whether LayerNorm comes first (pre-norm). */
  readonly normFirst: boolean;
  readonly #options: TransformerLayerOptions;
  readonly #activation: (x: Tensor) => Tensor;

  /**
   * Like torch.nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward=2048, dropout=0.1,
   * activation="relu", layer_norm_eps=1e-5, batch_first=False, norm_first=False). Draws as PyTorch:
   * self_attn's, then linear1's, then linear2's. Throws ValueError for bad sizes or options.
   */
  constructor(dModel: number, nhead: number, options: TransformerLayerOptions = {}) {
    super();
    const r = resolve(dModel, nhead, options);
    this.self_attn = new MultiheadAttention(dModel, nhead, { dropout: r.dropout, bias: r.bias, batchFirst: r.batchFirst, ...r.factory });
    this.linear1 = new Linear(dModel, r.dimFeedforward, { bias: r.bias, ...r.factory });
    this.dropout = new Dropout(r.dropout);
    this.linear2 = new Linear(r.dimFeedforward, dModel, { bias: r.bias, ...r.factory });
    this.norm1 = new LayerNorm(dModel, { eps: r.layerNormEps, ...r.factory });
    this.norm2 = new LayerNorm(dModel, { eps: r.layerNormEps, ...r.factory });
    if (!r.bias) for (const norm of [this.norm1, this.norm2]) norm.bias = undefined;
    this.dropout1 = new Dropout(r.dropout);
    this.dropout2 = new Dropout(r.dropout);
    this.normFirst = r.normFirst;
    this.#options = { ...options };
    this.#activation = r.activation;
  }

  /** A deep copy (own parameters, same values) that draws nothing, like copy.deepcopy. */
  clone(): TransformerEncoderLayer {
    return cloneLayer(this, () => new TransformerEncoderLayer(this.self_attn.embedDim, this.self_attn.numHeads, this.#options));
  }

  /** Maps src [L, N, dModel] ([N, L, dModel] with batchFirst, [L, dModel] unbatched) to the same shape. */
  forward(src: Tensor, options: TransformerEncoderLayerForwardOptions = {}): Tensor {
    tensorArg("TransformerEncoderLayer", "src", src);
    options ??= {};
    const padding = canonicalMask(options.srcKeyPaddingMask, "src_key_padding_mask", src.dtype);
    const mask = options.srcMask;
    let x = src;
    if (this.normFirst) {
      x = x.add(this.selfAttentionBlock(this.norm1.forward(x), mask, padding, options.isCausal));
      x = x.add(this.feedForwardBlock(this.norm2.forward(x)));
    } else {
      x = this.norm1.forward(x.add(this.selfAttentionBlock(x, mask, padding, options.isCausal)));
      x = this.norm2.forward(x.add(this.feedForwardBlock(x)));
    }
    return x;
  }

  private selfAttentionBlock(x: Tensor, attnMask: Tensor | undefined, keyPaddingMask: Tensor | undefined, isCausal?: boolean): Tensor {
    const [out] = this.self_attn.forward(x, x, x, { attnMask, keyPaddingMask, needWeights: false, isCausal });
    return this.dropout1.forward(out);
  }

  private feedForwardBlock(x: Tensor): Tensor {
    return this.dropout2.forward(this.linear2.forward(this.dropout.forward(this.#activation(this.linear1.forward(x)))));
  }
}

/**
 * Like torch.nn.TransformerDecoderLayer: self-attention over the target, cross-attention over the
 * memory, and a feed-forward block, each with a residual and LayerNorm. Children, in PyTorch's
 * order: self_attn, multihead_attn, linear1, dropout, linear2, norm1..3, dropout1..3.
 */
export class TransformerDecoderLayer extends Module<[Tensor, Tensor, TransformerDecoderLayerForwardOptions?]> {
  /** Self-attention over the target. */
  self_attn: MultiheadAttention;
  /** Attention of the target over the memory. */
  multihead_attn: MultiheadAttention;
  /** dModel → dimFeedforward. */
  linear1: Linear;
  /** Dropout inside the feed-forward block. */
  dropout: Dropout;
  /** dimFeedforward → dModel. */
  linear2: Linear;
  /** Norm of the self-attention block. */
  norm1: LayerNorm;
  /** Norm of the cross-attention block. */
  norm2: LayerNorm;
  /** Norm of the feed-forward block. */
  norm3: LayerNorm;
  /** Dropout on the self-attention branch. */
  dropout1: Dropout;
  /** Dropout on the cross-attention branch. */
  dropout2: Dropout;
  /** Dropout on the feed-forward branch. */
  dropout3: Dropout;
  /** Whether LayerNorm comes first (pre-norm). */
  readonly normFirst: boolean;
  readonly #options: TransformerLayerOptions;
  readonly #activation: (x: Tensor) => Tensor;

  /**
   * Like torch.nn.TransformerDecoderLayer(d_model, nhead, dim_feedforward=2048, dropout=0.1,
   * activation="relu", layer_norm_eps=1e-5, batch_first=False, norm_first=False). Draws as PyTorch:
   * self_attn, multihead_attn, linear1, linear2.
   */
  constructor(dModel: number, nhead: number, options: TransformerLayerOptions = {}) {
    super();
    const r = resolve(dModel, nhead, options);
    const attention = { dropout: r.dropout, bias: r.bias, batchFirst: r.batchFirst, ...r.factory };
    this.self_attn = new MultiheadAttention(dModel, nhead, attention);
    this.multihead_attn = new MultiheadAttention(dModel, nhead, attention);
    this.linear1 = new Linear(dModel, r.dimFeedforward, { bias: r.bias, ...r.factory });
    this.dropout = new Dropout(r.dropout);
    this.linear2 = new Linear(r.dimFeedforward, dModel, { bias: r.bias, ...r.factory });
    this.norm1 = new LayerNorm(dModel, { eps: r.layerNormEps, ...r.factory });
    this.norm2 = new LayerNorm(dModel, { eps: r.layerNormEps, ...r.factory });
    this.norm3 = new LayerNorm(dModel, { eps: r.layerNormEps, ...r.factory });
    if (!r.bias) for (const norm of [this.norm1, this.norm2, this.norm3]) norm.bias = undefined;
    this.dropout1 = new Dropout(r.dropout);
    this.dropout2 = new Dropout(r.dropout);
    this.dropout3 = new Dropout(r.dropout);
    this.normFirst = r.normFirst;
    this.#options = { ...options };
    this.#activation = r.activation;
  }

  /** A deep copy (own parameters, same values) that draws nothing, like copy.deepcopy. */
  clone(): TransformerDecoderLayer {
    return cloneLayer(this, () => new TransformerDecoderLayer(this.self_attn.embedDim, this.self_attn.numHeads, this.#options));
  }

  /** Maps tgt [T, N, dModel] attending over memory [S, N, dModel] (batchFirst: [N, ·, dModel]) to tgt's shape. */
  forward(tgt: Tensor, memory: Tensor, options: TransformerDecoderLayerForwardOptions = {}): Tensor {
    tensorArg("TransformerDecoderLayer", "tgt", tgt);
    tensorArg("TransformerDecoderLayer", "memory", memory);
    options ??= {};
    const tgtPadding = canonicalMask(options.tgtKeyPaddingMask, "tgt_key_padding_mask", tgt.dtype);
    const memoryPadding = canonicalMask(options.memoryKeyPaddingMask, "memory_key_padding_mask", tgt.dtype);
    const selfBlock = (x: Tensor) => {
      const [out] = this.self_attn.forward(x, x, x, { attnMask: options.tgtMask, keyPaddingMask: tgtPadding, needWeights: false, isCausal: options.tgtIsCausal });
      return this.dropout1.forward(out);
    };
    const crossBlock = (x: Tensor) => {
      const [out] = this.multihead_attn.forward(x, memory, memory, {
        attnMask: options.memoryMask,
        keyPaddingMask: memoryPadding,
        needWeights: false,
        isCausal: options.memoryIsCausal,
      });
      return this.dropout2.forward(out);
    };
    const feedForward = (x: Tensor) =>
      this.dropout3.forward(this.linear2.forward(this.dropout.forward(this.#activation(this.linear1.forward(x)))));
    let x = tgt;
    if (this.normFirst) {
      x = x.add(selfBlock(this.norm1.forward(x)));
      x = x.add(crossBlock(this.norm2.forward(x)));
      x = x.add(feedForward(this.norm3.forward(x)));
    } else {
      x = this.norm1.forward(x.add(selfBlock(x)));
      x = this.norm2.forward(x.add(crossBlock(x)));
      x = this.norm3.forward(x.add(feedForward(x)));
    }
    return x;
  }
}

/**
 * TransformerEncoder's `layers`: an nn.ModuleList (children "0", "1", …, state-dict keys
 * `layers.0.…`), printed as PyTorch prints it, `ModuleList(...)`.
 */
export class TransformerLayerList<T extends AnyModule> extends ModuleList<T> {
  protected override typeName(): string {
    return "ModuleList";
  }
}

/** Options of `TransformerEncoder`. */
export interface TransformerEncoderOptions {
  /** A final norm applied to the last layer's output (PyTorch's `norm=`). */
  norm?: AnyModule & { forward(x: Tensor): Tensor };
}

/**
 * Like torch.nn.TransformerEncoder: `numLayers` deep copies of `encoderLayer` applied in turn (all
 * start with the layer's weights; copying draws nothing), then the optional norm. Keys read
 * `layers.0.self_attn.in_proj_weight`, …, `norm.weight`. The layer passed in is not itself a child.
 */
export class TransformerEncoder extends Module<[Tensor, TransformerEncoderLayerForwardOptions?]> {
  /** The copies, as `layers.0`, `layers.1`, …. */
  layers: TransformerLayerList<TransformerEncoderLayer>;
  /** Number of layers. */
  readonly numLayers: number;
  /** The final norm, if any. */
  norm: (AnyModule & { forward(x: Tensor): Tensor }) | undefined;

  /** Like torch.nn.TransformerEncoder(encoder_layer, num_layers, norm=None). */
  constructor(encoderLayer: TransformerEncoderLayer, numLayers: number, options: TransformerEncoderOptions = {}) {
    super();
    if (!(encoderLayer instanceof TransformerEncoderLayer)) throw new ValueError("TransformerEncoder: encoderLayer must be a TransformerEncoderLayer");
    checkPositiveInt("num_layers", numLayers);
    this.layers = new TransformerLayerList(Array.from({ length: numLayers }, () => encoderLayer.clone()));
    this.numLayers = numLayers;
    this.norm = options.norm;
  }

  /**
   * Runs src through every layer with the same masks (PyTorch's `mask`, `src_key_padding_mask`,
   * `is_causal`), then the norm. Padding positions are computed like any other (no nested tensors).
   */
  forward(src: Tensor, options: TransformerEncoderLayerForwardOptions = {}): Tensor {
    let x = src;
    for (let i = 0; i < this.numLayers; i++) x = this.layers.at(i).forward(x, options);
    return this.norm === undefined ? x : (this.norm.forward(x) as Tensor);
  }
}
