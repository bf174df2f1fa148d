// SGD with momentum, dampening, Nesterov and weight decay — PyTorch's single-tensor update.
import { ValueError, type Tensor } from "@lockstep/core";
import { Optimizer, checkNonNegative, type ParamsArgument } from "./optimizer.js";

export interface SGDOptions {
  lr: number;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  weightDecay: number;
  /** Maximise the objective instead of minimising it. */
  maximize: boolean;
}

export class SGD extends Optimizer<SGDOptions> {
  constructor(params: ParamsArgument<SGDOptions>, options: Partial<SGDOptions> & { lr: number }) {
    super(params, { momentum: 0, dampening: 0, nesterov: false, weightDecay: 0, maximize: false, ...options });
  }

  protected validate(g: SGDOptions): void {
    checkNonNegative("learning rate", g.lr);
    checkNonNegative("momentum value", g.momentum);
    checkNonNegative("weight_decay value", g.weightDecay);
    if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0)) {
      throw new ValueError("Nesterov momentum requires a momentum and zero dampening");
    }
  }

  protected update(p: Tensor, grad: Tensor, g: SGDOptions, state: Record<string, Tensor | number>): void {
    let d = g.maximize ? grad.neg() : grad;
    if (g.weightDecay !== 0) d = d.add(p, { alpha: g.weightDecay });
    if (g.momentum !== 0) {
      const previous = state.momentumBuffer as Tensor | undefined;
      const buffer = previous === undefined ? d.clone() : previous.mul(g.momentum).add(d, { alpha: 1 - g.dampening });
      state.momentumBuffer = buffer;
      d = g.nesterov ? d.add(buffer, { alpha: g.momentum }) : buffer;
    }
    p.copy_(p.add(d, { alpha: -g.lr }));
  }
}
