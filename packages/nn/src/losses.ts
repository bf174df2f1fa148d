// Losses as modules, thin wrappers over nn.functional that keep their options.
import type { Tensor } from "@lockstep/core";
import * as F from "./functional.js";
import { Module } from "./module.js";

export class MSELoss extends Module {
  constructor(readonly options: { reduction?: F.Reduction } = {}) {
    super();
  }

  forward(input: Tensor, target: Tensor): Tensor {
    return F.mseLoss(input, target, this.options);
  }
}

export class CrossEntropyLoss extends Module {
  constructor(readonly options: F.CrossEntropyOptions = {}) {
    super();
  }

  forward(logits: Tensor, target: Tensor): Tensor {
    return F.crossEntropy(logits, target, this.options);
  }
}

export class NLLLoss extends Module {
  constructor(readonly options: F.NllOptions = {}) {
    super();
  }

  forward(logProbs: Tensor, target: Tensor): Tensor {
    return F.nllLoss(logProbs, target, this.options);
  }
}

export class BCEWithLogitsLoss extends Module {
  constructor(readonly options: { reduction?: F.Reduction; posWeight?: Tensor } = {}) {
    super();
  }

  forward(input: Tensor, target: Tensor): Tensor {
    return F.binaryCrossEntropyWithLogits(input, target, this.options);
  }
}
