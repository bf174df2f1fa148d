// nn.init: PyTorch's initialisers, drawing PyTorch's streams (implemented in @lockstep/random).
// Like torch.nn.init they run outside autograd, so they may fill parameters that require grad.
import { noGrad } from "@lockstep/autograd";
import type { Tensor } from "@lockstep/core";
import * as random from "@lockstep/random";

export { calculateGain, constant_, kaimingNormal_, kaimingUniform_, ones_, xavierNormal_, xavierUniform_, zeros_ } from "@lockstep/random";

/** Fills `t` from U(a, b) in place. */
export function uniform_(t: Tensor, a = 0, b = 1, options: random.FillOptions = {}): Tensor {
  return noGrad(() => random.uniform_(t, a, b, options));
}

/** Fills `t` from N(mean, std²) in place. */
export function normal_(t: Tensor, mean = 0, std = 1, options: random.FillOptions = {}): Tensor {
  return noGrad(() => random.normal_(t, mean, std, options));
}
