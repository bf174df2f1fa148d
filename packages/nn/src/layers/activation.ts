// Elementwise activations and the softmax family as modules; each calls the matching tensor op.
import { ValueError, type Tensor, formatValue } from "@lockstep/core";
import { leakyRelu, silu, softplus, type SoftplusOptions } from "../functional/activation.js";
import { Module } from "../module.js";
import { pyFloat, pyNumber, pyRepr, pyValue } from "../repr.js";
import { tensorArg } from "../functional/check.js";

/** Like torch.nn.ReLU: `max(x, 0)` elementwise. */
export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return tensorArg("ReLU", "input", x).relu();
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
    return tensorArg("GELU", "input", x).gelu({ approximate: this.approximate });
  }

  /** `approximate='none'`, as PyTorch prints it. */
  override extraRepr(): string {
    return `approximate=${pyRepr(this.approximate)}`;
  }
}

/** Like torch.nn.Tanh: hyperbolic tangent elementwise. */
export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return tensorArg("Tanh", "input", x).tanh();
  }
}

/** Like torch.nn.Sigmoid: `1 / (1 + exp(-x))` elementwise. */
export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return tensorArg("Sigmoid", "input", x).sigmoid();
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
    return tensorArg("Softmax", "input", x).softmax(this.dim);
  }

  /** `dim=-1`, as PyTorch prints it. */
  override extraRepr(): string {
    return `dim=${pyValue(this.dim)}`;
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
    return tensorArg("LogSoftmax", "input", x).logSoftmax(this.dim);
  }

  /** `dim=1`, as PyTorch prints it. */
  override extraRepr(): string {
    return `dim=${pyValue(this.dim)}`;
  }
}

/** Like torch.nn.SiLU (swish): `x · sigmoid(x)` elementwise. */
export class SiLU extends Module {
  forward(x: Tensor): Tensor {
    return silu(x);
  }
}

/** Like torch.nn.LeakyReLU: x where x > 0, else `negativeSlope · x`. */
export class LeakyReLU extends Module {
  /** Like torch.nn.LeakyReLU(negative_slope=0.01). Throws ValueError for a non-finite slope. */
  constructor(
    /** Slope for x ≤ 0. */
    readonly negativeSlope = 0.01
  ) {
    super();
    if (typeof negativeSlope !== "number" || !Number.isFinite(negativeSlope)) {
      throw new ValueError(`negative_slope must be a finite number, got ${formatValue(negativeSlope)}`);
    }
  }

  forward(x: Tensor): Tensor {
    return leakyRelu(x, this.negativeSlope);
  }

  /** `negative_slope=0.01`, as PyTorch prints it. */
  override extraRepr(): string {
    return `negative_slope=${pyFloat(this.negativeSlope)}`;
  }
}

/** Like torch.nn.Softplus: `log(1 + exp(β·x)) / β`, linear above β·x > threshold. */
export class Softplus extends Module {
  /** Sharpness β. */
  readonly beta: number;
  /** Where the linear region starts (in β·x). */
  readonly threshold: number;

  /** Like torch.nn.Softplus(beta=1, threshold=20). Throws ValueError for a zero or non-finite beta. */
  constructor(options: SoftplusOptions = {}) {
    super();
    this.beta = options.beta ?? 1;
    this.threshold = options.threshold ?? 20;
    if (!Number.isFinite(this.beta) || this.beta === 0) throw new ValueError(`softplus: beta must be a finite non-zero number, got ${formatValue(this.beta)}`);
  }

  forward(x: Tensor): Tensor {
    return softplus(x, { beta: this.beta, threshold: this.threshold });
  }

  /** `beta=1, threshold=20`, as PyTorch prints it. */
  override extraRepr(): string {
    return `beta=${pyNumber(this.beta)}, threshold=${pyNumber(this.threshold)}`;
  }
}

/** Like torch.nn.Identity: returns its input unchanged (a placeholder layer). */
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}
