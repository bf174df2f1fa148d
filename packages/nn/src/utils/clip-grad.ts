// Gradient clipping, like torch.nn.utils.clip_grad_norm_ / clip_grad_value_: composed from core
// ops, so the norm is the same on every backend and batch size in deterministic mode.
import { noGrad } from "@lockstep/autograd";
import { LockstepError, Tensor, ValueError, onesLike, stack, tensor } from "@lockstep/core";
import { describeValue } from "../optim/optimizer.js";

/** Options of `clipGradNorm_`. */
export interface ClipGradNormOptions {
  /** The p of the p-norm: a positive number or Infinity; default 2. */
  normType?: number;
  /**
   * Throw if the total norm is NaN or infinite (before changing any gradient); default false. The
   * check reads the norm synchronously, so it needs gradients the CPU can read (as PyTorch's check
   * synchronises with the GPU).
   */
  errorIfNonfinite?: boolean;
}

function gradsOf(owner: string, parameters: Tensor | Iterable<Tensor>): Tensor[] {
  if (parameters instanceof Tensor) parameters = [parameters];
  if (parameters === null || typeof parameters !== "object" || typeof (parameters as Iterable<Tensor>)[Symbol.iterator] !== "function") {
    throw new ValueError(`${owner}: parameters must be a Tensor or an iterable of Tensors, got ${describeValue(parameters)}`);
  }
  const list = [...parameters];
  list.forEach((p, i) => {
    if (!(p instanceof Tensor)) throw new ValueError(`${owner}: parameter ${i} is ${describeValue(p)}, not a Tensor`);
  });
  const grads = list.flatMap((p) => (p.grad === undefined || p.grad === null ? [] : [p.grad]));
  for (const g of grads) g.assertLive();
  return grads;
}

/** The p-norm of a whole tensor, as torch.norm(g, p) (|g| summed in powers, then the root). */
function norm(g: Tensor, p: number): Tensor {
  if (p === Infinity) return g.abs().amax();
  if (p === 2) return g.mul(g).sum().sqrt();
  if (p === 1) return g.abs().sum();
  return g.abs().pow(p).sum().pow(1 / p);
}

/**
 * Like torch.nn.utils.clip_grad_norm_(parameters, max_norm, norm_type=2, error_if_nonfinite=False):
 * scales every `.grad` in place by min(1, maxNorm / (totalNorm + 1e-6)), where totalNorm is the
 * norm of all gradients together. Returns the total norm (a 0-d tensor; 0 when no parameter has a
 * gradient). Parameters without a gradient are skipped.
 */
export function clipGradNorm_(parameters: Tensor | Iterable<Tensor>, maxNorm: number, options: ClipGradNormOptions = {}): Tensor {
  const owner = "clipGradNorm_";
  if (typeof maxNorm !== "number" || Number.isNaN(maxNorm)) throw new ValueError(`${owner}: maxNorm must be a number, got ${describeValue(maxNorm)}`);
  const normType = options.normType ?? 2;
  if (typeof normType !== "number" || !(normType > 0)) {
    throw new ValueError(`${owner}: normType must be a positive number or Infinity, got ${describeValue(normType)}`);
  }
  const grads = gradsOf(owner, parameters);
  if (grads.length === 0) return tensor(0);
  return noGrad(() => {
    const norms = grads.map((g) => norm(g, normType));
    const total = normType === Infinity ? (norms.length === 1 ? norms[0]! : stack(norms).amax()) : norm(stack(norms), normType);
    if (options.errorIfNonfinite === true && !Number.isFinite(Number(total.itemSync()))) {
      throw new LockstepError(
        `The total norm of order ${normType} for gradients from \`parameters\` is non-finite, so it cannot be clipped. ` +
          "To disable this error and scale the gradients by the non-finite norm anyway, set `errorIfNonfinite: false`",
      );
    }
    // PyTorch's `max_norm / (total + 1e-6)` is `(total + 1e-6).reciprocal() * max_norm`.
    const shifted = total.add(1e-6);
    const coef = onesLike(shifted).div(shifted).mul(maxNorm).clamp(undefined, 1);
    for (const g of grads) g.copy_(g.mul(coef));
    return total;
  });
}

/**
 * Like torch.nn.utils.clip_grad_value_(parameters, clip_value): clamps every `.grad` in place to
 * [−clipValue, clipValue].
 */
export function clipGradValue_(parameters: Tensor | Iterable<Tensor>, clipValue: number): void {
  if (typeof clipValue !== "number" || Number.isNaN(clipValue)) {
    throw new ValueError(`clipGradValue_: clipValue must be a number, got ${describeValue(clipValue)}`);
  }
  const grads = gradsOf("clipGradValue_", parameters);
  noGrad(() => {
    for (const g of grads) g.copy_(g.clamp(-clipValue, clipValue));
  });
}
