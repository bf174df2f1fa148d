// In-place writes: the few places where Lockstep mutates a tensor's storage (optimizer steps,
// initialisers, `copy_`). Each bumps the storage's version counter so autograd can detect a saved
// tensor that was changed behind its back.
import { LockstepError, ShapeError } from "../errors.js";
import { commonDevice } from "../dispatch.js";
import { selectKernel } from "../registry.js";
import { state } from "../state.js";
import { Tensor, type Scalar, type TensorLike } from "../tensor.js";
import { broadcastTo, cast, scalarTensor, where } from "./elementwise.js";
import { applyInPlace } from "./arithmetic-inplace.js";
import { broadcastShapes, formatShape, shapesEqual } from "../shape.js";
import { checkScalar, checkTensor, checkTensorLike } from "../validate.js";

/**
 * PyTorch refuses in-place changes, while grad mode is on, to a leaf that requires grad and to a
 * view of one (the write would change the leaf behind autograd's back). Called by every in-place
 * op before it writes.
 */
export function checkInPlaceAllowed(target: Tensor): void {
  checkTensor("in-place operation", "self", target);
  if (!state.gradEnabled) return;
  if (target.requiresGrad && target.isLeaf) {
    throw new LockstepError("a leaf Variable that requires grad is being used in an in-place operation.");
  }
  const base = target.viewBase;
  if (base !== undefined && base.requiresGrad && base.isLeaf) {
    if (!target.requiresGrad) {
      // The view was taken with grad mode off, so autograd does not know it aliases the leaf.
      throw new LockstepError(
        "A view was created in no_grad mode and its base or another view of its base has been modified inplace " +
          "with grad mode enabled. Given that this use case is ambiguous and error-prone, it is forbidden. You can " +
          "clarify your code by moving both the view and the inplace either both inside the noGrad block (if you " +
          "don't want the inplace to be tracked) or both outside (if you want the inplace to be tracked).",
      );
    }
    throw new LockstepError("a view of a leaf Variable that requires grad is being used in an in-place operation.");
  }
}

/** Writes `source` (broadcast and cast to the target's shape and dtype) into `target`'s elements. */
export function copy_(target: Tensor, source: TensorLike): Tensor {
  checkInPlaceAllowed(target);
  checkTensorLike("copy_", "src", source);
  if (source instanceof Tensor) {
    commonDevice([target, source]);
    // The source must broadcast to the target's shape, never the other way round.
    const shape = broadcastShapes(target.shape, source.shape);
    if (!shapesEqual(shape, target.shape)) {
      throw new ShapeError(
        `output with shape ${formatShape(target.shape)} doesn't match the broadcast shape ${formatShape(shape)}`,
      );
    }
  }
  const src = source instanceof Tensor ? source : scalarTensor(source, target.dtype, target.device);
  if (state.gradEnabled && state.autograd !== undefined && (target.requiresGrad || (source instanceof Tensor && source.requiresGrad))) {
    // Tracked like PyTorch's CopyBackwards: the gradient reaches the source, none reaches the
    // overwritten values (a where that always picks the source gives exactly that, and the bits).
    const always = scalarTensor(true, "bool", target.device);
    applyInPlace("copy_", target, [source], (self) => where(always, broadcastTo(cast(src, target.dtype), target.shape), self));
    return target;
  }
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
  checkInPlaceAllowed(target);
  checkScalar("fill_", "value", value);
  return copy_(target, value);
}

/** Like Tensor.zero_: sets every element of `target` to 0, in place, and returns `target`. */
export function zero_(target: Tensor): Tensor {
  return copy_(target, 0);
}
