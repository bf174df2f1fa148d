// Layers that hold a weight matrix or table: Linear and Embedding. Constructors initialise exactly
// as PyTorch's do, drawing from the default generator unless one is given.
import { empty, DTypeError, type Tensor } from "@lockstep/core";
import { kaimingUniform_, type Generator } from "@lockstep/random";
import { normal_, uniform_ } from "../init.js";
import * as F from "../functional.js";
import { Module, Parameter, checkPositiveInt } from "../module.js";
import type { FactoryOptions } from "./factory.js";
import { pyValue } from "../repr.js";
import { tensorArg } from "../functional/check.js";

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

  /** `in_features=4, out_features=16, bias=True`, as PyTorch prints it. */
  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${pyValue(this.bias !== undefined)}`;
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
    tensorArg("embedding", "indices", indices);
    if (indices.dtype !== "int32") {
      throw new DTypeError(`Expected tensor for argument #1 'indices' to have scalar type int32; but got ${indices.dtype} instead`);
    }
    const rows = this.weight.indexSelect(0, indices.reshape(-1));
    return rows.reshape([...indices.shape, this.embeddingDim]);
  }

  /** `10, 3` (rows, size), as PyTorch prints it. */
  override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}`;
  }
}
