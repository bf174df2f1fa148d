// Adagrad — PyTorch 1.13's single-tensor (dense) update: the learning rate decays with the step in
// doubles, the squared gradients accumulate in the parameter's dtype.
import { fullLike, type Tensor } from "@lockstep/core";
import { Optimizer, checkBoolean, checkNonNegative, checkOptionKeys, stateTensor, type ParamsArgument } from "./optimizer.js";

/** Hyperparameters of `Adagrad`, as torch.optim.Adagrad names them (camelCased). */
export interface AdagradOptions {
  /** Learning rate; default 1e-2. */
  lr: number;
  /** Learning-rate decay: the step uses lr / (1 + (step − 1)·lrDecay); default 0. */
  lrDecay: number;
  /** L2 penalty added to the gradient; default 0. */
  weightDecay: number;
  /** Starting value of the squared-gradient sum; default 0. */
  initialAccumulatorValue: number;
  /** Added to the denominator for stability; default 1e-10. */
  eps: number;
  /** Maximise the objective instead of minimising it; default false. */
  maximize: boolean;
}

const KEYS = ["lr", "lrDecay", "weightDecay", "initialAccumulatorValue", "eps", "maximize"] as const;

/**
 * Like torch.optim.Adagrad: divides each gradient by the root of the sum of its past squares.
 * State per parameter: `step` and `sum` (PyTorch's keys).
 */
export class Adagrad extends Optimizer<AdagradOptions> {
  /**
   * Like torch.optim.Adagrad(params, lr=1e-2, lr_decay=0, weight_decay=0,
   * initial_accumulator_value=0, eps=1e-10, maximize=False). Throws ValueError for any negative
   * value.
   */
  constructor(params: ParamsArgument<AdagradOptions>, options: Partial<AdagradOptions> = {}) {
    checkOptionKeys("Adagrad", options, KEYS);
    super(params, { lr: 1e-2, lrDecay: 0, weightDecay: 0, initialAccumulatorValue: 0, eps: 1e-10, maximize: false, ...options });
  }

  protected validate(g: AdagradOptions): void {
    checkNonNegative("learning rate", g.lr);
    checkNonNegative("lr_decay value", g.lrDecay);
    checkNonNegative("weight_decay value", g.weightDecay);
    checkNonNegative("initial_accumulator_value value", g.initialAccumulatorValue);
    checkNonNegative("epsilon value", g.eps);
    checkBoolean("maximize", g.maximize);
  }

  protected update(p: Tensor, grad: Tensor, g: AdagradOptions, state: Record<string, Tensor | number>): void {
    // PyTorch creates the sum when the optimizer is built; creating it on first use gives the same values.
    const sum = stateTensor(state, "sum", () => fullLike(p, g.initialAccumulatorValue));
    const step = ((state.step as number | undefined) ?? 0) + 1;
    state.step = step;
    let d = g.maximize ? grad.neg() : grad;
    if (g.weightDecay !== 0) d = d.add(p, { alpha: g.weightDecay });
    const clr = g.lr / (1 + (step - 1) * g.lrDecay);
    sum.copy_(sum.add(d.mul(d)));
    const std = sum.sqrt().add(g.eps);
    p.copy_(p.add(d.mul(-clr).div(std)));
  }
}
