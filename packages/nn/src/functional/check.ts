// Tensor arguments of nn.functional, checked at the boundary with core's checker: a value that is
// not a live Tensor gets a LockstepTypeError naming the function, the argument and the value as
// written (`conv2d(): argument 'input' must be Tensor, not string "x"`), before anything runs.
import { checkTensor, type Tensor } from "@lockstep/core";

/** `value` as a Tensor, or a LockstepTypeError (DisposedError when disposed) naming `fn` and `arg`. */
export function tensorArg(fn: string, arg: string, value: unknown): Tensor {
  return checkTensor(fn, arg, value);
}

/** `value` as a Tensor or undefined (for optional weights and biases). */
export function optionalTensorArg(fn: string, arg: string, value: unknown): Tensor | undefined {
  return value === undefined ? undefined : checkTensor(fn, arg, value);
}
