// Fused optimizer updates: one in-place kernel per parameter instead of a chain of elementwise ops
// (SGD's mul, add, copy_; Adam's dozen). Used by @lockstep/nn's SGD, Adam and AdamW; not a user
// API, so it checks only what the kernels rely on.
//
// Every kernel gives the bits of the unfused sequence it replaces, in both modes and on every
// backend: each intermediate is rounded to the parameter's dtype as the separate ops round it, the
// scalars are the JS numbers rounded the way core's scalar operands are (`castScalar`), and the
// division and square root are the ones the div and sqrt kernels select in the current mode. The
// coefficient functions below are that one definition; both backends' kernels call them.
import { DTypeError, LockstepError, ShapeError } from "../errors.js";
import { castScalar, type DType } from "../dtype.js";
import type { AdamUpdateAttrs, SgdUpdateAttrs } from "../primitives.js";
import { selectKernel } from "../registry.js";
import { formatShape, shapesEqual } from "../shape.js";
import { state } from "../state.js";
import type { Tensor } from "../tensor.js";
import { checkInPlaceAllowed } from "./inplace.js";
import { contiguous } from "./views.js";

export type { AdamUpdateAttrs, SgdUpdateAttrs } from "../primitives.js";

// A factor of `add(x, y, { alpha })` is applied as y · alpha, then +; with alpha exactly 1 the op
// adds y itself. The kernels always multiply: y · 1 is y exactly, so the bits are the same.

/** SGD's scalars in the parameter's dtype; `undefined` for a step the update leaves out. */
export interface SgdCoefficients {
  maximize: boolean;
  /** d + p·weightDecay (PyTorch's L2 term); undefined when weightDecay is 0. */
  weightDecay: number | undefined;
  /** buffer·momentum + d·(1 − dampening); undefined when momentum is 0. */
  momentum: number | undefined;
  /** 1 − dampening. */
  dampening: number;
  /** The buffer is new: it is d itself. */
  firstStep: boolean;
  /** d + buffer·momentum instead of the buffer. */
  nesterov: boolean;
  /** −lr: p + d·(−lr). */
  negativeLr: number;
}

/** The scalars of one SGD step as the unfused sequence (nn's SGD before fusion) rounds them. */
export function sgdCoefficients(attrs: SgdUpdateAttrs, dtype: DType): SgdCoefficients {
  const round = (v: number) => castScalar(v, dtype);
  return {
    maximize: attrs.maximize,
    weightDecay: attrs.weightDecay !== 0 ? round(attrs.weightDecay) : undefined,
    momentum: attrs.momentum !== 0 ? round(attrs.momentum) : undefined,
    dampening: round(1 - attrs.dampening),
    firstStep: attrs.firstStep,
    nesterov: attrs.nesterov,
    negativeLr: round(-attrs.lr),
  };
}

/** Adam's scalars in the parameter's dtype. */
export interface AdamCoefficients {
  maximize: boolean;
  /** Adam's L2 term d + p·weightDecay; undefined when there is none. */
  weightDecay: number | undefined;
  /** AdamW's decoupled decay p·(1 − lr·weightDecay); undefined when there is none. */
  decay: number | undefined;
  beta1: number;
  oneMinusBeta1: number;
  beta2: number;
  oneMinusBeta2: number;
  amsgrad: boolean;
  /** √(1 − β₂ᵗ), computed in double as PyTorch does, then rounded. */
  biasCorrection2Sqrt: number;
  eps: number;
  /** −lr / (1 − β₁ᵗ), computed in double, then rounded. */
  negativeStepSize: number;
  /** Use the deterministic division and square root (float32 only; float64 has one of each). */
  deterministic: boolean;
}

/** The scalars of one Adam/AdamW step as the unfused sequence rounds them. */
export function adamCoefficients(attrs: AdamUpdateAttrs, dtype: DType): AdamCoefficients {
  const round = (v: number) => castScalar(v, dtype);
  const decays = attrs.weightDecay !== 0;
  // The bias corrections and step size are Python doubles in PyTorch's single-tensor Adam.
  const biasCorrection1 = 1 - attrs.beta1 ** attrs.step;
  const biasCorrection2Sqrt = Math.sqrt(1 - attrs.beta2 ** attrs.step);
  const stepSize = attrs.lr / biasCorrection1;
  return {
    maximize: attrs.maximize,
    weightDecay: decays && !attrs.decoupled ? round(attrs.weightDecay) : undefined,
    decay: decays && attrs.decoupled ? round(1 - attrs.lr * attrs.weightDecay) : undefined,
    beta1: round(attrs.beta1),
    oneMinusBeta1: round(1 - attrs.beta1),
    beta2: round(attrs.beta2),
    oneMinusBeta2: round(1 - attrs.beta2),
    amsgrad: attrs.amsgrad,
    biasCorrection2Sqrt: round(biasCorrection2Sqrt),
    eps: round(attrs.eps),
    negativeStepSize: round(-stepSize),
    deterministic: attrs.deterministic && dtype === "float32",
  };
}

/**
 * One SGD step in place: `param` (and `momentumBuffer`, required when momentum is not 0) updated
 * from `grad`, with torch.optim.SGD's update. The targets must be contiguous.
 */
export function sgdUpdate_(param: Tensor, grad: Tensor, momentumBuffer: Tensor | undefined, attrs: SgdUpdateAttrs): void {
  const targets = momentumBuffer === undefined ? [param] : [param, momentumBuffer];
  if ((attrs.momentum !== 0) !== (momentumBuffer !== undefined)) {
    throw new LockstepError("sgdUpdate_: a momentum buffer is needed exactly when momentum is not 0");
  }
  const g = prepare("sgdUpdate_", param, grad, targets);
  selectKernel("sgdUpdate", param.device).run([g.storageView], targets.map((t) => t.storageView), attrs);
  if (g !== grad) g.dispose();
  for (const t of targets) t.bumpVersion();
}

/**
 * One Adam (or, with `decoupled`, AdamW) step in place: `param`, `expAvg`, `expAvgSq` (and
 * `maxExpAvgSq`, required with amsgrad) updated from `grad`, with PyTorch's single-tensor update.
 * `step` is the step count after this step (1 on the first). The targets must be contiguous.
 */
export function adamUpdate_(
  param: Tensor,
  grad: Tensor,
  expAvg: Tensor,
  expAvgSq: Tensor,
  maxExpAvgSq: Tensor | undefined,
  attrs: Omit<AdamUpdateAttrs, "deterministic">,
): void {
  const targets = maxExpAvgSq === undefined ? [param, expAvg, expAvgSq] : [param, expAvg, expAvgSq, maxExpAvgSq];
  if (attrs.amsgrad !== (maxExpAvgSq !== undefined)) {
    throw new LockstepError("adamUpdate_: maxExpAvgSq is needed exactly when amsgrad is set");
  }
  const g = prepare("adamUpdate_", param, grad, targets);
  const full: AdamUpdateAttrs = { ...attrs, deterministic: state.deterministic };
  selectKernel("adamUpdate", param.device).run([g.storageView], targets.map((t) => t.storageView), full);
  if (g !== grad) g.dispose();
  for (const t of targets) t.bumpVersion();
}

/**
 * Checks the operands; returns the gradient, contiguous (a copy changes no bits; the caller frees
 * it once the kernel is queued).
 */
function prepare(fn: string, param: Tensor, grad: Tensor, targets: readonly Tensor[]): Tensor {
  for (const t of targets) checkInPlaceAllowed(t);
  if (param.dtype !== "float32" && param.dtype !== "float64") {
    throw new DTypeError(`${fn}: parameters must be float32 or float64, got ${param.dtype}`);
  }
  for (const t of [grad, ...targets]) {
    t.assertLive();
    if (!shapesEqual(t.shape, param.shape) || t.dtype !== param.dtype || t.device !== param.device) {
      throw new ShapeError(
        `${fn}: every operand must be ${param.dtype} ${formatShape(param.shape)} on ${param.device} like the parameter, ` +
          `got ${t.dtype} ${formatShape(t.shape)} on ${t.device}`,
      );
    }
  }
  for (const t of targets) {
    if (!t.isContiguous()) throw new LockstepError(`${fn}: the parameter and its state must be contiguous`);
  }
  return contiguous(grad);
}
