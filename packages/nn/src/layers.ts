// The layers: each holds its parameters as fields (registration order = field order) and calls
// nn.functional in forward. Constructors initialise exactly as PyTorch's do, drawing from the
// default generator unless one is given.
import { empty, ones, zeros, ValueError, DTypeError, type DType, type Tensor } from "@lockstep/core";
import { kaimingUniform_, type Generator } from "@lockstep/random";
import { normal_, uniform_ } from "./init.js";
import * as F from "./functional.js";
import { Module, Parameter, checkPositiveInt } from "./module.js";

/** Where a layer creates its parameters, like PyTorch's device= and dtype= factory keywords. */
export interface FactoryOptions {
  /** Device of the parameters; default "cpu". */
  device?: string;
  /** Dtype of the parameters; default float32. */
  dtype?: DType;
}

/** Options of `Linear`. */
export interface LinearOptions extends FactoryOptions {
  /** Whether to learn an additive bias; default true. */
  bias?: boolean;
  /** Generator for the initial weights; the default generator when omitted. */
  generator?: Generator;
}

/** y = x·Wᵀ + b, with W of shape [out, in]; PyTorch's kaiming-uniform init, weight then bias. */
export class Linear extends Module {
  /** Size of each input sample (in_features). */
  readonly inFeatures: number;
  /** Size of each output sample (out_features). */
  readonly outFeatures: number;
  /** Weight of shape [outFeatures, inFeatures]. */
  weight: Parameter;
  /** Bias of shape [outFeatures]; undefined when created with `bias: false`. */
  bias: Parameter | undefined;

  /**
   * Like torch.nn.Linear(in_features, out_features, bias=True). Throws ValueError for negative or
   * non-integer sizes.
   */
  constructor(inFeatures: number, outFeatures: number, options: LinearOptions = {}) {
    super();
    checkPositiveInt("in_features", inFeatures);
    checkPositiveInt("out_features", outFeatures);
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    const factory = { dtype: options.dtype ?? "float32", device: options.device ?? "cpu" };
    this.weight = new Parameter(empty([outFeatures, inFeatures], factory));
    this.bias = options.bias === false ? undefined : new Parameter(empty([outFeatures], factory));
    this.resetParameters(options.generator);
  }

  /** kaiming_uniform_(a=√5) on the weight, then U(−1/√in, 1/√in) on the bias — PyTorch's draws, in order. */
  resetParameters(generator?: Generator): void {
    kaimingUniform_(this.weight, { a: Math.sqrt(5), generator });
    if (this.bias !== undefined) {
      const bound = this.inFeatures > 0 ? 1 / Math.sqrt(this.inFeatures) : 0;
      uniform_(this.bias, -bound, bound, { generator });
    }
  }

  /** Maps `x` of shape [..., inFeatures] to [..., outFeatures]. */
  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias);
  }
}

/** Zeroes elements with probability p in training mode (PyTorch's CPU mask); identity in eval mode. */
export class Dropout extends Module {
  /** Like torch.nn.Dropout(p=0.5). Throws ValueError unless 0 <= p <= 1. */
  constructor(
    /** Probability of zeroing an element. */
    readonly p = 0.5
  ) {
    super();
    if (typeof p !== "number" || !(p >= 0 && p <= 1)) {
      throw new ValueError(`dropout probability has to be between 0 and 1, but got ${p}`);
    }
  }

  forward(x: Tensor): Tensor {
    return F.dropout(x, this.p, this.training);
  }
}

/** Like torch.nn.ReLU: `max(x, 0)` elementwise. */
export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return x.relu();
  }
}

/** Like torch.nn.GELU: `x·Φ(x)`, exact or with the tanh approximation. */
export class GELU extends Module {
  /** Like torch.nn.GELU(approximate="none"). */
  constructor(
    /** "none" for the exact erf form, "tanh" for the tanh approximation. */
    readonly approximate: "none" | "tanh" = "none"
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return x.gelu({ approximate: this.approximate });
  }
}

/** Like torch.nn.Tanh: hyperbolic tangent elementwise. */
export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return x.tanh();
  }
}

/** Like torch.nn.Sigmoid: `1 / (1 + exp(-x))` elementwise. */
export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return x.sigmoid();
  }
}

/** Like torch.nn.Softmax: values along `dim` normalized to sum to 1. */
export class Softmax extends Module {
  /** Like torch.nn.Softmax(dim). */
  constructor(
    /** The dim along which values sum to 1. */
    readonly dim: number
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return x.softmax(this.dim);
  }
}

/** Like torch.nn.LogSoftmax: `log(softmax(x, dim))`, computed stably. */
export class LogSoftmax extends Module {
  /** Like torch.nn.LogSoftmax(dim). */
  constructor(
    /** The dim the softmax normalizes over. */
    readonly dim: number
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return x.logSoftmax(this.dim);
  }
}

/**
 * Like torch.nn.Flatten: merges dims `startDim` through `endDim` into one (by default all but the
 * batch dim).
 */
export class Flatten extends Module {
  /** Like torch.nn.Flatten(start_dim=1, end_dim=-1). */
  constructor(
    /** First dim to merge. */
    readonly startDim = 1,
    /** Last dim to merge (negative counts from the end). */
    readonly endDim = -1
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return x.flatten(this.startDim, this.endDim);
  }
}

/** Modules applied in order; children are named "0", "1", … as in PyTorch. */
export class Sequential extends Module {
  /** Number of child modules. */
  readonly length: number;

  /** Like torch.nn.Sequential(*modules). Throws ValueError when an argument is not a Module. */
  constructor(...modules: Module[]) {
    super();
    modules.forEach((m, i) => {
      if (!(m instanceof Module)) throw new ValueError(`Sequential: argument ${i} is not a Module`);
      (this as unknown as Record<string, Module>)[String(i)] = m;
    });
    this.length = modules.length;
  }

  /**
   * The child at `index` (negative counts from the end), like `seq[i]` in PyTorch. Throws
   * ValueError when out of range.
   */
  at(index: number): Module {
    const m = (this as unknown as Record<string, Module>)[String(index < 0 ? index + this.length : index)];
    if (m === undefined) throw new ValueError(`index ${index} is out of range for a Sequential of length ${this.length}`);
    return m;
  }

  protected override entries(): [string, unknown][] {
    return super.entries().filter(([key]) => key !== "length");
  }

  /** Feeds `x` through each child in order. */
  forward(x: Tensor): Tensor {
    let out = x;
    for (let i = 0; i < this.length; i++) out = this.at(i).forward(out);
    return out;
  }
}

/** Options of `LayerNorm`. */
export interface LayerNormOptions extends FactoryOptions {
  /** Added to the variance for stability; default 1e-5. */
  eps?: number;
  /** Whether to learn a per-element weight and bias; default true. */
  elementwiseAffine?: boolean;
}

/** Normalises the trailing dims; weight starts at ones and bias at zeros (no draws). */
export class LayerNorm extends Module {
  /** The trailing shape that is normalized. */
  readonly normalizedShape: number[];
  /** Added to the variance for stability. */
  readonly eps: number;
  /** Scale of shape `normalizedShape`, starting at ones; undefined without elementwise affine. */
  weight: Parameter | undefined;
  /** Shift of shape `normalizedShape`, starting at zeros; undefined without elementwise affine. */
  bias: Parameter | undefined;

  /**
   * Like torch.nn.LayerNorm(normalized_shape, eps=1e-5, elementwise_affine=True). Throws ValueError
   * for non-integer or negative sizes.
   */
  constructor(normalizedShape: number | readonly number[], options: LayerNormOptions = {}) {
    super();
    this.normalizedShape = typeof normalizedShape === "number" ? [normalizedShape] : [...normalizedShape];
    this.normalizedShape.forEach((s) => checkPositiveInt("normalized_shape", s));
    this.eps = options.eps ?? 1e-5;
    const factory = { dtype: options.dtype ?? "float32", device: options.device ?? "cpu" };
    const affine = options.elementwiseAffine ?? true;
    this.weight = affine ? new Parameter(ones(this.normalizedShape, factory)) : undefined;
    this.bias = affine ? new Parameter(zeros(this.normalizedShape, factory)) : undefined;
  }

  forward(x: Tensor): Tensor {
    return F.layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }
}

/** Options of `Embedding`. */
export interface EmbeddingOptions extends FactoryOptions {
  /** Generator for the initial weights; the default generator when omitted. */
  generator?: Generator;
}

/** A lookup table of `numEmbeddings` rows, initialised N(0, 1) like PyTorch. */
export class Embedding extends Module {
  /** The table, of shape [numEmbeddings, embeddingDim]. */
  weight: Parameter;

  /**
   * Like torch.nn.Embedding(num_embeddings, embedding_dim). Throws ValueError for negative or
   * non-integer sizes.
   */
  constructor(
    /** Number of rows (the vocabulary size). */
    readonly numEmbeddings: number,
    /** Size of each row. */
    readonly embeddingDim: number,
    options: EmbeddingOptions = {}
  ) {
    super();
    checkPositiveInt("num_embeddings", numEmbeddings);
    checkPositiveInt("embedding_dim", embeddingDim);
    const factory = { dtype: options.dtype ?? "float32", device: options.device ?? "cpu" };
    this.weight = new Parameter(empty([numEmbeddings, embeddingDim], factory));
    normal_(this.weight, 0, 1, { generator: options.generator });
  }

  /**
   * The rows at `indices` (int32, any shape), giving shape [...indices.shape, embeddingDim]. Throws
   * DTypeError for non-int32 indices.
   */
  forward(indices: Tensor): Tensor {
    if (indices.dtype !== "int32") {
      throw new DTypeError(`Expected tensor for argument #1 'indices' to have scalar type int32; but got ${indices.dtype} instead`);
    }
    const rows = this.weight.indexSelect(0, indices.reshape(-1));
    return rows.reshape([...indices.shape, this.embeddingDim]);
  }
}
