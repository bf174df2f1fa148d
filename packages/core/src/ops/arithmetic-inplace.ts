// In-place arithmetic (add_, sub_, mul_, div_, clamp_, pow_) and the helper indexPut_ shares.
// Each computes the out-of-place result with the existing op (so the bits are those of `add`,
// `mul`, …), then writes it into the target's storage with the copy kernel and bumps the version
// counter once, as PyTorch does.
//
// Autograd follows PyTorch's rules where Lockstep can: a leaf that requires grad (or a view of one)
// is refused while grad mode is on; a non-leaf, or a tensor that takes part with grad-requiring
// operands, gets the op's node as its new `gradFn` (its history is "rebased" onto the op). The op
// reads a clone of the target, so nothing it saved for backward is changed by the write, while
// tensors saved earlier by other ops are, and their backward then fails with the version error.
// What Lockstep does not do is PyTorch's view rebasing (CopySlices): an in-place op on a view
// that would need it — the view or the written values take part in autograd — is refused with
// NotImplementedError. Views taken before such a write are not regenerated either: using one in
// autograd afterwards is refused (dispatch.ts checks each view's history against its storage's).
import { isFloating, type DType } from "../dtype.js";
import { DTypeError, NotImplementedError, ShapeError } from "../errors.js";
import { selectKernel } from "../registry.js";
import { formatShape, shapesEqual } from "../shape.js";
import { state } from "../state.js";
import { Tensor, type TensorLike } from "../tensor.js";
import { add, cast, clamp, div, mul, pow, sub } from "./elementwise.js";
import { checkInPlaceAllowed } from "./inplace.js";
import { clone } from "./views.js";
import { checkOptionalTensorLike, checkTensorLike } from "../validate.js";

const TYPE_NAMES: Record<DType, string> = { float32: "Float", float64: "Double", int32: "Int", bool: "Bool" };

/** PyTorch's can_cast: no float to int/bool, no int to bool. */
function canCast(from: DType, to: DType): boolean {
  if (isFloating(from) && !isFloating(to)) return false;
  if (from === "int32" && to === "bool") return false;
  return true;
}

/**
 * Runs `compute` out of place and writes its result into `target` (same shape, castable dtype),
 * linking autograd as described at the top of this file. `operands` are the other tensors the op
 * reads, used to decide whether autograd takes part. Every check runs before the write.
 */
export function applyInPlace(fn: string, target: Tensor, operands: readonly TensorLike[], compute: (self: Tensor) => Tensor): Tensor {
  checkInPlaceAllowed(target);
  const tracking =
    state.gradEnabled &&
    state.autograd !== undefined &&
    (target.requiresGrad || operands.some((o) => o instanceof Tensor && o.requiresGrad));
  if (tracking && target.viewBase !== undefined) {
    throw new NotImplementedError(
      `${fn}(): an in-place operation on a view (shape ${formatShape(target.shape)}) that takes part in autograd is not ` +
        "supported by Lockstep (PyTorch would rebase the view's history onto its base). Use the out-of-place op, " +
        "or clone() the view first.",
    );
  }
  const result = compute(tracking ? clone(target) : target);
  if (!shapesEqual(result.shape, target.shape)) {
    throw new ShapeError(
      `output with shape ${formatShape(target.shape)} doesn't match the broadcast shape ${formatShape(result.shape)}`,
    );
  }
  if (!canCast(result.dtype, target.dtype)) {
    throw new DTypeError(`result type ${TYPE_NAMES[result.dtype]} can't be cast to the desired output type ${TYPE_NAMES[target.dtype]}`);
  }
  const value = cast(result, target.dtype);
  selectKernel("copy", target.device).run([value.storageView], [target.storageView], {});
  target.bumpVersion();
  if (tracking && value.requiresGrad) {
    target.gradFn = value.gradFn;
    target.setRequiresGradUnchecked(true);
    target.markHistoryRebased();
  } else if (!tracking) {
    if (value !== target) value.dispose();
    if (result !== target && result !== value) result.dispose();
  }
  return target;
}

/** Like torch.Tensor.add_: `target += alpha * other`, in place. */
export function add_(target: Tensor, other: TensorLike, options: { alpha?: number } = {}): Tensor {
  checkTensorLike("add_", "other", other);
  return applyInPlace("add_", target, [other], (self) => add(self, other, options));
}

/** Like torch.Tensor.sub_: `target -= alpha * other`, in place. */
export function sub_(target: Tensor, other: TensorLike, options: { alpha?: number } = {}): Tensor {
  checkTensorLike("sub_", "other", other);
  return applyInPlace("sub_", target, [other], (self) => sub(self, other, options));
}

/** Like torch.Tensor.mul_: `target *= other`, in place. */
export function mul_(target: Tensor, other: TensorLike): Tensor {
  checkTensorLike("mul_", "other", other);
  return applyInPlace("mul_", target, [other], (self) => mul(self, other));
}

/** Like torch.Tensor.div_: `target /= other` (true division; an int32 target is refused), in place. */
export function div_(target: Tensor, other: TensorLike): Tensor {
  checkTensorLike("div_", "other", other);
  return applyInPlace("div_", target, [other], (self) => div(self, other));
}

/** Like torch.Tensor.pow_: `target **= exponent`, in place. */
export function pow_(target: Tensor, exponent: TensorLike): Tensor {
  checkTensorLike("pow_", "exponent", exponent);
  return applyInPlace("pow_", target, [exponent], (self) => pow(self, exponent));
}

/** Like torch.Tensor.clamp_: each element limited to [min, max], in place. */
export function clamp_(target: Tensor, min?: number | Tensor, max?: number | Tensor): Tensor {
  checkOptionalTensorLike("clamp_", "min", min);
  checkOptionalTensorLike("clamp_", "max", max);
  const operands = [min, max].filter((v): v is number | Tensor => v !== undefined);
  return applyInPlace("clamp_", target, operands, (self) => clamp(self, min, max));
}
