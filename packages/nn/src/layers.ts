// The layers: each holds its parameters as fields (registration order = field order) and calls
// nn.functional in forward. Constructors initialise exactly as PyTorch's do, drawing from the
// default generator unless one is given.
import { empty, ones, zeros, ValueError, DTypeError, type DType, type Tensor } from "@lockstep/core";
import { kaimingUniform_, type Generator } from "@lockstep/random";
import { normal_, uniform_ } from "./init.js";
import * as F from "./functional.js";
import { Module, Parameter, checkPositiveInt } from "./module.js";

export interface FactoryOptions {
  device?: string;
  dtype?: DType;
}

export interface LinearOptions extends FactoryOptions {
  bias?: boolean;
  generator?: Generator;
}

/** y = x·Wᵀ + b, with W of shape [out, in]; PyTorch's kaiming-uniform init, weight then bias. */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  weight: Parameter;
  bias: Parameter | undefined;

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

  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias);
  }
}

/** Zeroes elements with probability p in training mode (PyTorch's CPU mask); identity in eval mode. */
export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (typeof p !== "number" || !(p >= 0 && p <= 1)) {
      throw new ValueError(`dropout probability has to be between 0 and 1, but got ${p}`);
    }
  }

  forward(x: Tensor): Tensor {
    return F.dropout(x, this.p, this.training);
  }
}

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return x.relu();
  }
}

export class GELU extends Module {
  constructor(readonly approximate: "none" | "tanh" = "none") {
    super();
  }

  forward(x: Tensor): Tensor {
    return x.gelu({ approximate: this.approximate });
  }
}

export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return x.tanh();
  }
}

export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return x.sigmoid();
  }
}

export class Softmax extends Module {
  constructor(readonly dim: number) {
    super();
  }

  forward(x: Tensor): Tensor {
    return x.softmax(this.dim);
  }
}

export class LogSoftmax extends Module {
  constructor(readonly dim: number) {
    super();
  }

  forward(x: Tensor): Tensor {
    return x.logSoftmax(this.dim);
  }
}

export class Flatten extends Module {
  constructor(readonly startDim = 1, readonly endDim = -1) {
    super();
  }

  forward(x: Tensor): Tensor {
    return x.flatten(this.startDim, this.endDim);
  }
}

/** Modules applied in order; children are named "0", "1", … as in PyTorch. */
export class Sequential extends Module {
  readonly length: number;

  constructor(...modules: Module[]) {
    super();
    modules.forEach((m, i) => {
      if (!(m instanceof Module)) throw new ValueError(`Sequential: argument ${i} is not a Module`);
      (this as unknown as Record<string, Module>)[String(i)] = m;
    });
    this.length = modules.length;
  }

  at(index: number): Module {
    const m = (this as unknown as Record<string, Module>)[String(index < 0 ? index + this.length : index)];
    if (m === undefined) throw new ValueError(`index ${index} is out of range for a Sequential of length ${this.length}`);
    return m;
  }

  protected override entries(): [string, unknown][] {
    return super.entries().filter(([key]) => key !== "length");
  }

  forward(x: Tensor): Tensor {
    let out = x;
    for (let i = 0; i < this.length; i++) out = this.at(i).forward(out);
    return out;
  }
}

export interface LayerNormOptions extends FactoryOptions {
  eps?: number;
  elementwiseAffine?: boolean;
}

/** Normalises the trailing dims; weight starts at ones and bias at zeros (no draws). */
export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number;
  weight: Parameter | undefined;
  bias: Parameter | undefined;

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

export interface EmbeddingOptions extends FactoryOptions {
  generator?: Generator;
}

/** A lookup table of `numEmbeddings` rows, initialised N(0, 1) like PyTorch. */
export class Embedding extends Module {
  weight: Parameter;

  constructor(readonly numEmbeddings: number, readonly embeddingDim: number, options: EmbeddingOptions = {}) {
    super();
    checkPositiveInt("num_embeddings", numEmbeddings);
    checkPositiveInt("embedding_dim", embeddingDim);
    const factory = { dtype: options.dtype ?? "float32", device: options.device ?? "cpu" };
    this.weight = new Parameter(empty([numEmbeddings, embeddingDim], factory));
    normal_(this.weight, 0, 1, { generator: options.generator });
  }

  forward(indices: Tensor): Tensor {
    if (indices.dtype !== "int32") {
      throw new DTypeError(`Expected tensor for argument #1 'indices' to have scalar type int32; but got ${indices.dtype} instead`);
    }
    const rows = this.weight.indexSelect(0, indices.reshape(-1));
    return rows.reshape([...indices.shape, this.embeddingDim]);
  }
}
