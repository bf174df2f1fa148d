// In-place arithmetic (add_, sub_, mul_, div_, clamp_, pow_) and the helper indexPut_ shares.
// Each computes the out-of-place result with the existing op (so the bits are those of `add`,
// `mul`, …), then writes it into the target's storage with the copy kernel and bumps the version
// counter once, as PyTorch does.
//
// Autograd follows PyTorch's rules: a leaf that requires grad (or a view of one) is refused while
// grad mode is on; a non-leaf, or a tensor that takes part with grad-requiring operands, gets the
// op's node as its new `gradFn` (its history is "rebased" onto the op). The op reads a clone of
// the target, so nothing it saved for backward is changed by the write, while tensors saved
// earlier by other ops are, and their backward then fails with the version error. An in-place op
// on a view rebases like PyTorch's CopySlices: the base's history becomes "old base with the
// view's elements replaced" (a scatter) and the view's a selection from that. What Lockstep does
// not do is regenerate other views of the base taken before the write: using one in autograd
// afterwards is refused (dispatch.ts checks each view's history against its storage's).
import { isFloating, type DType } from "../dtype.js";
import { DTypeError, LockstepError, NotImplementedError, ShapeError } from "../errors.js";
import { fromData } from "../dispatch.js";
import { selectKernel } from "../registry.js";
import { formatShape, shapesEqual } from "../shape.js";
import { state } from "../state.js";
import { Tensor, type TensorLike } from "../tensor.js";
import { add, cast, clamp, div, mul, pow, sub } from "./elementwise.js";
import { checkInPlaceAllowed } from "./inplace.js";
import { indexSelect, scatter } from "./indexing.js";
import { clone, reshape } from "./views.js";
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
  const base = target.viewBase;
  if (state.gradEnabled && state.autograd !== undefined && base !== undefined && base.requiresGrad && !target.requiresGrad) {
    // PyTorch's rule: autograd cannot know such a view aliases a tensor with history.
    throw new LockstepError(
      `${fn}(): A view was created in no_grad mode and is being modified inplace with grad mode enabled. Given that ` +
        "this use case is ambiguous and error-prone, it is forbidden. You can clarify your code by moving both the " +
        "view and the inplace either both inside the noGrad block (if you don't want the inplace to be tracked) or " +
        "both outside (if you want the inplace to be tracked).",
    );
  }
  const tracking =
    state.gradEnabled &&
    state.autograd !== undefined &&
    (target.requiresGrad || operands.some((o) => o instanceof Tensor && o.requiresGrad));
  let positions: Int32Array | undefined;
  if (tracking && base !== undefined) {
    positions = positionsInBase(target, base);
    if (positions === undefined) {
      throw new NotImplementedError(
        `${fn}(): an in-place operation with autograd on a view (shape ${formatShape(target.shape)}) of a tensor whose ` +
          "elements overlap (an expanded tensor) is not supported. Use the out-of-place op, or clone() first.",
      );
    }
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
  // The rebased histories are built before the write, so a failure there changes nothing.
  let rebased: { base: Tensor; view: Tensor } | undefined;
  if (tracking && value.requiresGrad && base !== undefined) rebased = rebaseView(base, target, positions!, value);
  selectKernel("copy", target.device).run([value.storageView], [target.storageView], {});
  target.bumpVersion();
  if (rebased !== undefined) {
    // PyTorch's CopySlices: the base becomes "old base with the view's elements replaced", and
    // the view a view of that; other views taken earlier are refused from now on (dispatch.ts).
    base!.gradFn = rebased.base.gradFn;
    base!.setRequiresGradUnchecked(true);
    base!.markHistoryRebased();
    target.gradFn = rebased.view.gradFn;
    target.setRequiresGradUnchecked(true);
    target.refreshViewHistory();
  } else if (tracking && value.requiresGrad) {
    target.gradFn = value.gradFn;
    target.setRequiresGradUnchecked(true);
    target.markHistoryRebased();
  } else if (!tracking) {
    if (value !== target) value.dispose();
    if (result !== target && result !== value) result.dispose();
  }
  return target;
}

/**
 * For each element of `view` (row-major), its row-major index in `base`, found through the
 * storage offsets both address; undefined when base's elements overlap (stride-0 dims).
 */
function positionsInBase(view: Tensor, base: Tensor): Int32Array | undefined {
  const offsets = (t: Tensor): Float64Array => {
    const out = new Float64Array(t.numel());
    let k = 0;
    const walk = (d: number, at: number): void => {
      if (d === t.ndim) {
        out[k++] = at;
        return;
      }
      for (let i = 0; i < t.shape[d]!; i++) walk(d + 1, at + i * t.strides[d]!);
    };
    if (out.length > 0) walk(0, t.offset);
    return out;
  };
  if (base.isContiguous()) {
    // The common case (a freshly computed base): the row-major index is the storage distance.
    const viewOffsets = offsets(view);
    const out = new Int32Array(viewOffsets.length);
    for (let i = 0; i < viewOffsets.length; i++) out[i] = viewOffsets[i]! - base.offset;
    return out;
  }
  const byOffset = new Map<number, number>();
  const baseOffsets = offsets(base);
  for (let i = 0; i < baseOffsets.length; i++) {
    if (byOffset.has(baseOffsets[i]!)) return undefined;
    byOffset.set(baseOffsets[i]!, i);
  }
  const viewOffsets = offsets(view);
  const out = new Int32Array(viewOffsets.length);
  for (let i = 0; i < viewOffsets.length; i++) {
    const at = byOffset.get(viewOffsets[i]!);
    if (at === undefined) return undefined;
    out[i] = at;
  }
  return out;
}

/**
 * The new histories of `base` and of `view` after `view` takes `value`: the base's old value
 * with the view's elements replaced by `value` (a scatter, so gradients reach both), and the
 * view's elements picked back out of it.
 */
function rebaseView(base: Tensor, view: Tensor, positions: Int32Array, value: Tensor): { base: Tensor; view: Tensor } {
  const index = fromData(positions, "int32", [positions.length], base.device);
  const flat = reshape(base, [-1]);
  const newBase = reshape(scatter(flat, 0, index, reshape(value, [-1])), [...base.shape]);
  const newView = reshape(indexSelect(reshape(newBase, [-1]), 0, index), [...view.shape]);
  return { base: newBase, view: newView };
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
