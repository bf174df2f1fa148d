// Fused cross-entropy on class indices: one kernel for the loss and one for the logits' gradient,
// instead of the ~25 launches of logSoftmax (amax, sub, exp, sum, log, sub), the pick (ne, where,
// gather), neg, where and the mean (sum, cast, sum, div), and their backward. Used by
// @lockstep/nn's crossEntropy; not a user API, so it checks only what the kernels rely on (nn has
// validated the arguments and, on the CPU, the target values).
//
// Every kernel gives the bits of that unfused sequence, on every backend and in both modes: per
// element the same roundings in the same order, with the exp, log, division and float32 sums
// that the unfused kernels select in the current mode (the attrs carry the mode, as adamUpdate's
// do). Per row, with m = max, s = Σ exp(x − m), lp = (x − m) − log s and k = target ≠ ignore:
//   loss = k ? −lp[target] : 0, reduced by the sum kernel's order (and ÷ the kept count for mean);
//   grad[j] = G[j] + ((0 + −G[t]) ÷ s) · exp(x[j] − m), G = the gather gradient (±0 off target),
// which is what the chain of backward rules computes, signed zeros included.
import { DTypeError, LockstepError, ShapeError } from "../errors.js";
import { runPrimitive, type OutputSpec } from "../dispatch.js";
import type { CrossEntropyAttrs } from "../primitives.js";
import { formatShape } from "../shape.js";
import { state } from "../state.js";
import type { Tensor } from "../tensor.js";
import { reshape } from "./views.js";

export type { CrossEntropyAttrs } from "../primitives.js";

/**
 * Cross-entropy of `logits` ([N, C], or [C] with a 0-d target) against int32 class indices, with
 * targets equal to `ignoreIndex` contributing neither loss nor gradient, reduced like
 * torch.nn.functional.cross_entropy (mean over the kept targets, sum, or none).
 */
export function crossEntropyIndices(
  logits: Tensor,
  target: Tensor,
  options: { reduction: CrossEntropyAttrs["reduction"]; ignoreIndex: number },
): Tensor {
  logits.assertLive();
  target.assertLive();
  if (logits.dtype !== "float32" && logits.dtype !== "float64") {
    throw new DTypeError(`crossEntropyIndices: logits must be float32 or float64, got ${logits.dtype}`);
  }
  if (target.dtype !== "int32") throw new DTypeError(`crossEntropyIndices: target must be int32, got ${target.dtype}`);
  const batched = logits.ndim === 2;
  if (!(batched || logits.ndim === 1) || target.ndim !== (batched ? 1 : 0) || (batched && target.shape[0] !== logits.shape[0])) {
    throw new ShapeError(
      `crossEntropyIndices: expected logits [N, C] with target [N] (or [C] with a 0-d target), got ${formatShape(logits.shape)} and ${formatShape(target.shape)}`,
    );
  }
  const { reduction, ignoreIndex } = options;
  if (!Number.isInteger(ignoreIndex) || (ignoreIndex | 0) !== ignoreIndex) {
    throw new LockstepError(`crossEntropyIndices: ignoreIndex must be an int32, got ${ignoreIndex}`);
  }
  const x = batched ? logits : reshape(logits, [1, logits.shape[0]!]);
  const t = batched ? target : reshape(target, [1]);
  const n = x.shape[0]!;
  const outputs: OutputSpec[] = [{ shape: reduction === "none" ? [n] : [], dtype: logits.dtype }];
  if (reduction === "mean") outputs.push({ shape: [1], dtype: "int32" });
  const attrs: CrossEntropyAttrs = { ignoreIndex, reduction, deterministic: state.deterministic };
  const [loss, count] = runPrimitive("crossEntropy", [x, t], outputs, attrs);
  // The count is only read by the backward, which keeps it when one was recorded.
  if (count !== undefined && loss!.gradFn === undefined) count.dispose();
  return batched || reduction !== "none" ? loss! : reshape(loss!, []);
}

/**
 * The gradient of crossEntropyIndices' logits ([N, C]) for the gradient `grad` of its loss; run
 * by autograd's rule, in the mode current when the backward runs (as the unfused rules' kernels
 * are selected then).
 */
export function crossEntropyBackward(
  logits: Tensor,
  target: Tensor,
  grad: Tensor,
  count: Tensor | undefined,
  attrs: CrossEntropyAttrs,
): Tensor {
  const inputs = count === undefined ? [logits, target, grad] : [logits, target, grad, count];
  const full: CrossEntropyAttrs = { ...attrs, deterministic: state.deterministic };
  return runPrimitive("crossEntropyBackward", inputs, [{ shape: [...logits.shape], dtype: logits.dtype }], full)[0]!;
}
