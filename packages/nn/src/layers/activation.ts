// Elementwise activations and the softmax family as modules; each calls the matching tensor op.
import type { Tensor } from "@lockstep/core";
import { Module } from "../module.js";

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
