// RMSprop — PyTorch 1.13's single-tensor update, with the same operation order (addcmul and
// addcdiv compute (value·a)·b and (value·a)/b), so float32 results match element for element.
import { zerosLike, type Tensor } from "@lockstep/core";
import { Optimizer, checkBoolean, checkNonNegative, checkOptionKeys, stateTensor, type ParamsArgument } from "./optimizer.js";

/** Hyperparameters of `RMSprop`, as torch.optim.RMSprop names them (camelCased). */
export interface RMSpropOptions {
  /** Learning rate; default 1e-2. */
  lr: number;
  /** Smoothing constant of the squared-gradient average; default 0.99. */
  alpha: number;
  /** Added to the denominator for stability; default 1e-8. */
  eps: number;
  /** L2 penalty added to the gradient; default 0. */
  weightDecay: number;
  /** Momentum factor; default 0. */
  momentum: number;
  /** Normalise by the estimated variance (squared average minus squared mean); default false. */
  centered: boolean;
  /** Maximise the objective instead of minimising it; default false. */
  maximize: boolean;
}

const KEYS = ["lr", "alpha", "eps", "weightDecay", "momentum", "centered", "maximize"] as const;

/**
 * Like torch.optim.RMSprop: divides the gradient by a running root-mean-square of past gradients,
 * optionally centered and with momentum. State per parameter: `step`, `squareAvg`, and
 * `momentumBuffer` / `gradAvg` when momentum / centered are on (PyTorch's keys, camelCased).
 */
export class RMSprop extends Optimizer<RMSpropOptions> {
  /**
   * Like torch.optim.RMSprop(params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
   * centered=False, maximize=False). Throws ValueError for a negative lr, alpha, eps, momentum or
   * weight decay.
   */
  constructor(params: ParamsArgument<RMSpropOptions>, options: Partial<RMSpropOptions> = {}) {
    checkOptionKeys("RMSprop", options, KEYS);
    super(params, { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, maximize: false, ...options });
  }

  protected validate(g: RMSpropOptions): void {
    checkNonNegative("learning rate", g.lr);
    checkNonNegative("epsilon value", g.eps);
    checkNonNegative("momentum value", g.momentum);
    checkNonNegative("weight_decay value", g.weightDecay);
    checkNonNegative("alpha value", g.alpha);
    checkBoolean("centered", g.centered);
    checkBoolean("maximize", g.maximize);
  }

  protected update(p: Tensor, grad: Tensor, g: RMSpropOptions, state: Record<string, Tensor | number>): void {
    let d = g.maximize ? grad.neg() : grad;
    state.step = ((state.step as number | undefined) ?? 0) + 1;
    const squareAvg = stateTensor(state, "squareAvg", () => zerosLike(p));
    const momentumBuffer = g.momentum > 0 ? stateTensor(state, "momentumBuffer", () => zerosLike(p)) : undefined;
    const gradAvg = g.centered ? stateTensor(state, "gradAvg", () => zerosLike(p)) : undefined;
    if (g.weightDecay !== 0) d = d.add(p, { alpha: g.weightDecay });
    squareAvg.copy_(squareAvg.mul(g.alpha).add(d.mul(1 - g.alpha).mul(d)));
    let avg: Tensor;
    if (gradAvg !== undefined) {
      gradAvg.copy_(gradAvg.mul(g.alpha).add(d, { alpha: 1 - g.alpha }));
      avg = squareAvg.add(gradAvg.mul(-1).mul(gradAvg)).sqrt();
    } else {
      avg = squareAvg.sqrt();
    }
    avg = avg.add(g.eps);
    if (momentumBuffer !== undefined) {
      momentumBuffer.copy_(momentumBuffer.mul(g.momentum).add(d.div(avg)));
      p.copy_(p.add(momentumBuffer, { alpha: -g.lr }));
    } else {
      p.copy_(p.add(d.mul(-g.lr).div(avg)));
    }
  }
}

