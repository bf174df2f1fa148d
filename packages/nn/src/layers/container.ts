// Layers that arrange other layers or reshape between them: Sequential, Flatten, Dropout.
import { ValueError, type Tensor, formatValue } from "@lockstep/core";
import * as F from "../functional.js";
import { Module, type AnyModule } from "../module.js";
import { pyFloat } from "../repr.js";
import { tensorArg } from "../functional/check.js";

/** Zeroes elements with probability p in training mode (PyTorch's CPU mask); identity in eval mode. */
export class Dropout extends Module {
  /** Like torch.nn.Dropout(p=0.5). Throws ValueError unless 0 <= p <= 1. */
  constructor(
    /** Probability of zeroing an element. */
    readonly p = 0.5
  ) {
    super();
    if (typeof p !== "number" || !(p >= 0 && p <= 1)) {
      throw new ValueError(`dropout probability has to be between 0 and 1, but got ${formatValue(p)}`);
    }
  }

  forward(x: Tensor): Tensor {
    return F.dropout(x, this.p, this.training);
  }

  /** `p=0.5, inplace=False`, as PyTorch prints it. */
  override extraRepr(): string {
    return `p=${pyFloat(this.p)}, inplace=False`;
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
    return tensorArg("Flatten", "input", x).flatten(this.startDim, this.endDim);
  }

  /** `start_dim=1, end_dim=-1`, as PyTorch prints it. */
  override extraRepr(): string {
    return `start_dim=${this.startDim}, end_dim=${this.endDim}`;
  }
}

/** Modules applied in order; children are named "0", "1", … as in PyTorch. */
export class Sequential extends Module {
  /** Number of child modules. */
  readonly length: number;

  /** Like torch.nn.Sequential(*modules). Throws ValueError when an argument is not a Module. */
  constructor(...modules: AnyModule[]) {
    super();
    modules.forEach((m, i) => {
      if (!(m instanceof Module)) throw new ValueError(`Sequential: argument ${i} is not a Module`);
      (this as unknown as Record<string, AnyModule>)[String(i)] = m;
    });
    this.length = modules.length;
  }

  /**
   * The child at `index` (negative counts from the end), like `seq[i]` in PyTorch. Throws
   * ValueError when out of range.
   */
  at(index: number): AnyModule {
    const m = (this as unknown as Record<string, AnyModule>)[String(index < 0 ? index + this.length : index)];
    if (m === undefined) throw new ValueError(`index ${index} is out of range for a Sequential of length ${this.length}`);
    return m;
  }

  protected override entries(): [string, unknown][] {
    return super.entries().filter(([key]) => key !== "length");
  }

  /** Feeds `x` through each child in order. */
  forward(x: Tensor): Tensor {
    let out = x;
    for (let i = 0; i < this.length; i++) out = this.at(i).forward(out) as Tensor;
    return out;
  }
}
