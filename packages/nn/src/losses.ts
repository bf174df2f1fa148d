// Losses as modules, thin wrappers over nn.functional that keep their options.
import type { Tensor } from "@lockstep/core";
import * as F from "./functional.js";
import { Module } from "./module.js";

/** Like torch.nn.MSELoss: mean (or sum) of squared differences; see `functional.mseLoss`. */
export class MSELoss extends Module {
  /** Like torch.nn.MSELoss(reduction="mean"). */
  constructor(
    /** `reduction`: "mean" (default), "sum" or "none". */
    readonly options: { reduction?: F.Reduction } = {}
  ) {
    super();
  }

  forward(input: Tensor, target: Tensor): Tensor {
    return F.mseLoss(input, target, this.options);
  }
}

/**
 * Like torch.nn.CrossEntropyLoss: log-softmax of logits, then negative log-likelihood of int32
 * class indices; see `functional.crossEntropy`.
 */
export class CrossEntropyLoss extends Module {
  /** Like torch.nn.CrossEntropyLoss(ignore_index=-100, reduction="mean", label_smoothing=0). */
  constructor(
    /** Reduction, ignored target index and label smoothing. */
    readonly options: F.CrossEntropyOptions = {}
  ) {
    super();
  }

  forward(logits: Tensor, target: Tensor): Tensor {
    return F.crossEntropy(logits, target, this.options);
  }
}

/**
 * Like torch.nn.NLLLoss: negative log-likelihood of int32 class indices given log-probabilities;
 * see `functional.nllLoss`.
 */
export class NLLLoss extends Module {
  /** Like torch.nn.NLLLoss(ignore_index=-100, reduction="mean"). */
  constructor(
    /** Reduction and ignored target index. */
    readonly options: F.NllOptions = {}
  ) {
    super();
  }

  forward(logProbs: Tensor, target: Tensor): Tensor {
    return F.nllLoss(logProbs, target, this.options);
  }
}

/**
 * Like torch.nn.BCEWithLogitsLoss: sigmoid and binary cross-entropy in one numerically stable
 * expression; see `functional.binaryCrossEntropyWithLogits`.
 */
export class BCEWithLogitsLoss extends Module {
  /** Like torch.nn.BCEWithLogitsLoss(reduction="mean", pos_weight=None). */
  constructor(
    /** `reduction`, and `posWeight`: weight of positive examples, broadcast over the classes. */
    readonly options: { reduction?: F.Reduction; posWeight?: Tensor } = {}
  ) {
    super();
  }

  forward(input: Tensor, target: Tensor): Tensor {
    return F.binaryCrossEntropyWithLogits(input, target, this.options);
  }
}

/** Like torch.nn.L1Loss: mean (or sum) of absolute differences; see `functional.l1Loss`. */
export class L1Loss extends Module {
  /** Like torch.nn.L1Loss(reduction="mean"). */
  constructor(
    /** `reduction`: "mean" (default), "sum" or "none". */
    readonly options: { reduction?: F.Reduction } = {}
  ) {
    super();
  }

  forward(input: Tensor, target: Tensor): Tensor {
    return F.l1Loss(input, target, this.options);
  }
}

/** Like torch.nn.SmoothL1Loss: quadratic below `beta`, linear above; see `functional.smoothL1Loss`. */
export class SmoothL1Loss extends Module {
  /** Like torch.nn.SmoothL1Loss(reduction="mean", beta=1.0). */
  constructor(
    /** `reduction` and `beta` (default 1). */
    readonly options: { reduction?: F.Reduction; beta?: number } = {}
  ) {
    super();
  }

  forward(input: Tensor, target: Tensor): Tensor {
    return F.smoothL1Loss(input, target, this.options);
  }
}

/** Like torch.nn.HuberLoss: quadratic below `delta`, delta-scaled linear above; see `functional.huberLoss`. */
export class HuberLoss extends Module {
  /** Like torch.nn.HuberLoss(reduction="mean", delta=1.0). */
  constructor(
    /** `reduction` and `delta` (default 1). */
    readonly options: { reduction?: F.Reduction; delta?: number } = {}
  ) {
    super();
  }

  forward(input: Tensor, target: Tensor): Tensor {
    return F.huberLoss(input, target, this.options);
  }
}

/**
 * Like torch.nn.BCELoss: binary cross-entropy of probabilities in [0, 1], logs clamped at −100;
 * see `functional.binaryCrossEntropy`.
 */
export class BCELoss extends Module {
  /** Like torch.nn.BCELoss(weight=None, reduction="mean"). */
  constructor(
    /** `reduction`, and `weight`: a rescaling weight broadcast over the elements. */
    readonly options: { reduction?: F.Reduction; weight?: Tensor } = {}
  ) {
    super();
  }

  forward(input: Tensor, target: Tensor): Tensor {
    return F.binaryCrossEntropy(input, target, this.options);
  }
}

/** Like torch.nn.KLDivLoss: KL divergence of log-probability inputs from a target; see `functional.klDiv`. */
export class KLDivLoss extends Module {
  /** Like torch.nn.KLDivLoss(reduction="mean", log_target=False). */
  constructor(
    /** `reduction` ("mean", "batchmean", "sum", "none") and `logTarget`. */
    readonly options: F.KLDivOptions = {}
  ) {
    super();
  }

  forward(input: Tensor, target: Tensor): Tensor {
    return F.klDiv(input, target, this.options);
  }
}
