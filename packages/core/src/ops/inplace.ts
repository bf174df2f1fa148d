// In-place writes: the few places where Lockstep mutates a tensor's storage (optimizer steps,
// initialisers, `copy_`). Each bumps the storage's version counter so autograd can detect a saved
// tensor that was changed behind its back.
import { LockstepError, ValueError } from "../errors.js";
import { commonDevice } from "../dispatch.js";
import { selectKernel } from "../registry.js";
import { state } from "../state.js";
import { Tensor, type Scalar, type TensorLike } from "../tensor.js";
import { broadcastTo, cast, scalarTensor } from "./elementwise.js";

/** PyTorch refuses in-place changes to leaves that require grad while grad mode is on. */
export function checkInPlaceAllowed(target: Tensor): void {
  target.assertLive();
  if (state.gradEnabled && target.requiresGrad && target.isLeaf) {
    throw new LockstepError("a leaf Variable that requires grad is being used in an in-place operation.");
  }
}

/** Writes `source` (broadcast and cast to the target's shape and dtype) into `target`'s elements. */
export function copy_(target: Tensor, source: TensorLike): Tensor {
  checkInPlaceAllowed(target);
  const src = source instanceof Tensor ? source : scalarTensor(source, target.dtype, target.device);
  commonDevice([target, src]);
  const value = broadcastTo(cast(src, target.dtype), target.shape);
  selectKernel("copy", target.device).run([value.storageView], [target.storageView], {});
  target.bumpVersion();
  return target;
}

/**
 * Like Tensor.fill_: sets every element of `target` to `value` (cast to its dtype), in place, and
 * returns `target`.
 */
export function fill_(target: Tensor, value: Scalar): Tensor {
  if (typeof value !== "number" && typeof value !== "boolean") {
    throw new ValueError(`fill_() expects a number or boolean, got ${String(value)}`);
  }
  return copy_(target, value);
}

/** Like Tensor.zero_: sets every element of `target` to 0, in place, and returns `target`. */
export function zero_(target: Tensor): Tensor {
  return copy_(target, 0);
}
