// SGD with momentum, dampening, Nesterov and weight decay — PyTorch's single-tensor update.
import { ValueError, sgdUpdate_, zerosLike, type Tensor } from "@lockstep/core";
import { Optimizer, canFuse, checkBoolean, checkNonNegative, checkOptionKeys, describeValue, stateTensor, type ParamsArgument } from "./optimizer.js";

const SGD_KEYS = ["lr", "momentum", "dampening", "nesterov", "weightDecay", "maximize"] as const;

/** Hyperparameters of `SGD`, as torch.optim.SGD names them (camelCased). */
export interface SGDOptions {
  /** Learning rate (required). */
  lr: number;
  /** Momentum factor; default 0 (plain SGD). */
  momentum: number;
  /** Dampening of the momentum; default 0. */
  dampening: number;
  /** Use Nesterov momentum (needs momentum > 0 and zero dampening); default false. */
  nesterov: boolean;
  /** L2 penalty added to the gradient; default 0. */
  weightDecay: number;
  /** Maximise the objective instead of minimising it. */
  maximize: boolean;
}

/**
 * Like torch.optim.SGD: stochastic gradient descent with optional momentum, dampening, Nesterov
 * momentum and weight decay, with PyTorch's update order.
 */
export class SGD extends Optimizer<SGDOptions> {
  /**
   * Like torch.optim.SGD(params, lr, momentum=0, dampening=0, weight_decay=0, nesterov=False,
   * maximize=False). Throws ValueError for a negative lr, momentum or weight decay, or for Nesterov
   * without momentum.
   */
  constructor(params: ParamsArgument<SGDOptions>, options: Partial<SGDOptions> & { lr: number }) {
    checkOptionKeys("SGD", options, SGD_KEYS);
    if (options === undefined || options.lr === undefined) throw new ValueError("SGD: the learning rate option lr is required");
    super(params, { momentum: 0, dampening: 0, nesterov: false, weightDecay: 0, maximize: false, ...options });
  }

  protected validate(g: SGDOptions): void {
    checkNonNegative("learning rate", g.lr);
    checkNonNegative("momentum value", g.momentum);
    checkNonNegative("weight_decay value", g.weightDecay);
    if (typeof g.dampening !== "number" || Number.isNaN(g.dampening)) {
      throw new ValueError(`Invalid dampening value: ${describeValue(g.dampening)}`);
    }
    checkBoolean("nesterov", g.nesterov);
    checkBoolean("maximize", g.maximize);
    if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0)) {
      throw new ValueError("Nesterov momentum requires a momentum and zero dampening");
    }
  }

  protected update(p: Tensor, grad: Tensor, g: SGDOptions, state: Record<string, Tensor | number>): void {
    if (canFuse("sgdUpdate", p, [state.momentumBuffer as Tensor | undefined])) {
      // One pass over the parameter; the same bits as the ops below.
      const firstStep = state.momentumBuffer === undefined;
      const buffer = g.momentum !== 0 ? stateTensor(state, "momentumBuffer", () => zerosLike(p)) : undefined;
      const { lr, momentum, dampening, weightDecay, nesterov, maximize } = g;
      sgdUpdate_(p, grad, buffer, { lr, momentum, dampening, weightDecay, nesterov, maximize, firstStep });
      return;
    }
    let d = g.maximize ? grad.neg() : grad;
    if (g.weightDecay !== 0) d = d.add(p, { alpha: g.weightDecay });
    if (g.momentum !== 0) {
      const first = state.momentumBuffer === undefined;
      const buffer = stateTensor(state, "momentumBuffer", () => d.clone());
      if (!first) buffer.copy_(buffer.mul(g.momentum).add(d, { alpha: 1 - g.dampening }));
      d = g.nesterov ? d.add(buffer, { alpha: g.momentum }) : buffer;
    }
    p.copy_(p.add(d, { alpha: -g.lr }));
  }
}
