// Adam and AdamW (decoupled weight decay), with optional AMSGrad — PyTorch's single-tensor
// update, including where it computes in Python doubles (bias corrections, step size).
import type { Tensor } from "@lockstep/core";
import { adamUpdate_, zerosLike, maximum } from "@lockstep/core";
import { Optimizer, canFuse, checkBoolean, checkNonNegative, checkOptionKeys, describeValue, stateTensor, type ParamsArgument } from "./optimizer.js";
import { ValueError } from "@lockstep/core";

/** Hyperparameters of `Adam` and `AdamW`, as torch.optim.Adam names them (camelCased). */
export interface AdamOptions {
  /** Learning rate; default 1e-3. */
  lr: number;
  /** Decay rates of the first and second moment estimates, each in [0, 1); default [0.9, 0.999]. */
  betas: [number, number];
  /** Added to the denominator for stability; default 1e-8. */
  eps: number;
  /**
   * Weight decay: an L2 term in the gradient for Adam (default 0), decoupled for AdamW (default
   * 0.01).
   */
  weightDecay: number;
  /** Use the AMSGrad variant (the maximum of past second moments); default false. */
  amsgrad: boolean;
  /** Maximise the objective instead of minimising it; default false. */
  maximize: boolean;
}

const ADAM_KEYS = ["lr", "betas", "eps", "weightDecay", "amsgrad", "maximize"] as const;

abstract class AdamBase extends Optimizer<AdamOptions> {
  protected abstract readonly decoupled: boolean;

  protected validate(g: AdamOptions): void {
    checkNonNegative("learning rate", g.lr);
    checkNonNegative("epsilon value", g.eps);
    checkNonNegative("weight_decay value", g.weightDecay);
    // A one-element betas would leave beta2 undefined and every weight NaN after the first step.
    if (!Array.isArray(g.betas) || g.betas.length !== 2) {
      throw new ValueError(`betas must be a pair of numbers [beta1, beta2], got ${describeValue(g.betas)}`);
    }
    g.betas.forEach((b, i) => {
      if (typeof b !== "number" || !(b >= 0 && b < 1)) throw new ValueError(`Invalid beta parameter at index ${i}: ${describeValue(b)}`);
    });
    checkBoolean("amsgrad", g.amsgrad);
    checkBoolean("maximize", g.maximize);
  }

  protected update(p: Tensor, grad: Tensor, g: AdamOptions, state: Record<string, Tensor | number>): void {
    const [beta1, beta2] = g.betas;
    state.step ??= 0;
    const expAvg = stateTensor(state, "expAvg", () => zerosLike(p));
    const expAvgSq = stateTensor(state, "expAvgSq", () => zerosLike(p));
    const step = (state.step as number) + 1;
    state.step = step;
    if (canFuse("adamUpdate", p, [expAvg, expAvgSq, state.maxExpAvgSq as Tensor | undefined])) {
      // One pass over the parameter; the same bits as the ops below.
      const maxExpAvgSq = g.amsgrad ? stateTensor(state, "maxExpAvgSq", () => zerosLike(p)) : undefined;
      const { lr, eps, weightDecay, amsgrad, maximize } = g;
      adamUpdate_(p, grad, expAvg, expAvgSq, maxExpAvgSq, {
        lr, beta1, beta2, eps, weightDecay, decoupled: this.decoupled, amsgrad, maximize, step,
      });
      return;
    }
    let d = g.maximize ? grad.neg() : grad;
    if (g.weightDecay !== 0) {
      if (this.decoupled) p.copy_(p.mul(1 - g.lr * g.weightDecay));
      else d = d.add(p, { alpha: g.weightDecay });
    }
    expAvg.copy_(expAvg.mul(beta1).add(d, { alpha: 1 - beta1 }));
    expAvgSq.copy_(expAvgSq.mul(beta2).add(d.mul(1 - beta2).mul(d)));
    const biasCorrection1 = 1 - beta1 ** step;
    const biasCorrection2Sqrt = Math.sqrt(1 - beta2 ** step);
    const stepSize = g.lr / biasCorrection1;
    let second = expAvgSq;
    if (g.amsgrad) {
      second = stateTensor(state, "maxExpAvgSq", () => zerosLike(p));
      second.copy_(maximum(second, expAvgSq));
    }
    const denom = second.sqrt().div(biasCorrection2Sqrt).add(g.eps);
    p.copy_(p.add(expAvg.div(denom), { alpha: -stepSize }));
  }
}

/**
 * Like torch.optim.Adam: adaptive moment estimation, with PyTorch's single-tensor update (bias
 * corrections in double precision).
 */
export class Adam extends AdamBase {
  protected readonly decoupled = false;

  /**
   * Like torch.optim.Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
   * amsgrad=False, maximize=False). Throws ValueError for a negative lr, eps or weight decay, or a
   * beta outside [0, 1).
   */
  constructor(params: ParamsArgument<AdamOptions>, options: Partial<AdamOptions> = {}) {
    checkOptionKeys("Adam", options, ADAM_KEYS);
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false, ...options });
  }
}

/** Adam with weight decay applied to the parameter directly (default 0.01), not through the gradient. */
export class AdamW extends AdamBase {
  protected readonly decoupled = true;

  /**
   * Like torch.optim.AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01,
   * amsgrad=False, maximize=False). Throws ValueError for a negative lr, eps or weight decay, or a
   * beta outside [0, 1).
   */
  constructor(params: ParamsArgument<AdamOptions>, options: Partial<AdamOptions> = {}) {
    checkOptionKeys("AdamW", options, ADAM_KEYS);
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, amsgrad: false, maximize: false, ...options });
  }
}
