// gradcheck: compares the gradients autograd computes with central finite differences, in
// float64, the way PyTorch's torch.autograd.gradcheck does (its "slow mode": whole Jacobians).
// It is a testing tool for rules and for user-written functions, not something to run in training:
// it calls the function twice per input element and runs one backward per output element.
import { DTypeError, Tensor, ValueError, isFloating, reshape, scope, tensor } from "@lockstep/core";
import { AutogradError } from "./graph.js";
import { grad } from "./engine.js";
import { enableGrad, noGrad } from "./modes.js";

/** Tolerances of `gradcheck`; the defaults are PyTorch's. */
export interface GradcheckOptions {
  /** Perturbation of each input element for the central difference (default 1e-6). */
  eps?: number;
  /** Absolute tolerance (default 1e-5). */
  atol?: number;
  /** Relative tolerance, relative to the numerical value (default 1e-3). */
  rtol?: number;
}

/** The analytical and numerical Jacobians differ; the message shows both. */
export class GradcheckError extends AutogradError {
  override name = "GradcheckError";
}

type Fn = (...inputs: Tensor[]) => Tensor | readonly Tensor[];

function outputsOf(result: Tensor | readonly Tensor[]): Tensor[] {
  const list = result instanceof Tensor ? [result] : [...result];
  list.forEach((t, i) => {
    if (!(t instanceof Tensor)) throw new ValueError(`gradcheck: the function's output ${i} is not a Tensor`);
  });
  return list;
}

function valuesOf(t: Tensor): Float64Array {
  return Float64Array.from(t.dataSync());
}

/** Row j, column k: ∂output[k] / ∂input[j] (PyTorch's layout), flattened row-major. */
interface Jacobian {
  rows: number;
  cols: number;
  values: Float64Array;
}

function jacobianText(j: Jacobian): string {
  return tensor(j.values, { dtype: "float64" }).reshape([j.rows, j.cols]).toString();
}

/**
 * Checks the gradients of `fn` at `inputs` against central differences (f(x+eps) − f(x−eps)) / 2eps.
 * Inputs that require grad must be float64 CPU tensors; the others (indices, masks) are passed as
 * they are. Every floating output is checked against every such input, element by element, with
 * |analytical − numerical| ≤ atol + rtol·|numerical|. Returns true, or throws a GradcheckError
 * that names the output and input and prints both Jacobians.
 */
export function gradcheck(fn: Fn, inputs: readonly Tensor[], options: GradcheckOptions = {}): true {
  const eps = options.eps ?? 1e-6;
  const atol = options.atol ?? 1e-5;
  const rtol = options.rtol ?? 1e-3;
  if (typeof fn !== "function") throw new ValueError("gradcheck expects a function as its first argument");
  if (!Array.isArray(inputs)) throw new ValueError("gradcheck expects an array of input tensors");
  inputs.forEach((t, i) => {
    if (!(t instanceof Tensor)) throw new ValueError(`gradcheck: input ${i} is not a Tensor`);
  });
  const checked = inputs.map((_, i) => i).filter((i) => inputs[i]!.requiresGrad);
  if (checked.length === 0) {
    throw new ValueError(
      "gradcheck expects at least one input tensor to require gradient, but none of them have requiresGrad=true.",
    );
  }
  for (const i of checked) {
    const t = inputs[i]!;
    if (t.dtype !== "float64") {
      throw new DTypeError(
        `gradcheck: input ${i} requires gradient but is ${t.dtype}; finite differences need float64 inputs`,
      );
    }
  }

  const outputs = enableGrad(() => outputsOf(fn(...inputs))).filter((o) => isFloating(o.dtype));
  const numerical = numericalJacobians(fn, inputs, checked, outputs, eps);
  const analytical = analyticalJacobians(inputs, checked, outputs);

  outputs.forEach((_, o) => {
    checked.forEach((input, c) => {
      const n = numerical[o]![c]!;
      const a = analytical[o]![c]!;
      const bad = firstMismatch(a.values, n.values, atol, rtol);
      if (bad === undefined) return;
      const row = Math.floor(bad / n.cols);
      const col = bad % n.cols;
      throw new GradcheckError(
        `Jacobian mismatch for output ${o} with respect to input ${input},\n` +
          `numerical:${jacobianText(n)}\nanalytical:${jacobianText(a)}\n` +
          `first mismatch at input element ${row}, output element ${col}: numerical ${n.values[bad]} vs ` +
          `analytical ${a.values[bad]} (atol=${atol}, rtol=${rtol}, eps=${eps})`,
      );
    });
  });
  return true;
}

function firstMismatch(analytical: Float64Array, numerical: Float64Array, atol: number, rtol: number): number | undefined {
  for (let k = 0; k < numerical.length; k++) {
    const a = analytical[k]!;
    const n = numerical[k]!;
    if (Number.isNaN(a) && Number.isNaN(n)) continue;
    if (!(Math.abs(a - n) <= atol + rtol * Math.abs(n))) return k;
  }
  return undefined;
}

/** Evaluates `fn` without recording and returns every output's values. */
function evaluate(fn: Fn, inputs: Tensor[], count: number): Float64Array[] {
  return noGrad(() =>
    scope(() => {
      const outs = outputsOf(fn(...inputs)).filter((o) => isFloating(o.dtype));
      if (outs.length !== count) throw new ValueError("gradcheck: the function returned a different number of outputs");
      return outs.map(valuesOf);
    }),
  );
}

function numericalJacobians(fn: Fn, inputs: readonly Tensor[], checked: number[], outputs: Tensor[], eps: number): Jacobian[][] {
  const perOutput = outputs.map(() => [] as Jacobian[]);
  for (const i of checked) {
    const base = valuesOf(inputs[i]!);
    const shape = [...inputs[i]!.shape];
    const columns = outputs.map((o) => ({ rows: base.length, cols: o.numel(), values: new Float64Array(base.length * o.numel()) }));
    const at = (values: Float64Array) => {
      const args = [...inputs];
      args[i] = reshape(tensor(values, { dtype: "float64" }), shape);
      return evaluate(fn, args, outputs.length);
    };
    for (let j = 0; j < base.length; j++) {
      const plus = base.slice();
      plus[j] = base[j]! + eps;
      const minus = base.slice();
      minus[j] = base[j]! - eps;
      const up = at(plus);
      const down = at(minus);
      columns.forEach((jac, o) => {
        for (let k = 0; k < jac.cols; k++) jac.values[j * jac.cols + k] = (up[o]![k]! - down[o]![k]!) / (2 * eps);
      });
    }
    columns.forEach((jac, o) => perOutput[o]!.push(jac));
  }
  return perOutput;
}

function analyticalJacobians(inputs: readonly Tensor[], checked: number[], outputs: Tensor[]): Jacobian[][] {
  const wrt = checked.map((i) => inputs[i]!);
  return outputs.map((output) => {
    const m = output.numel();
    const jacobians = wrt.map((t) => ({ rows: t.numel(), cols: m, values: new Float64Array(t.numel() * m) }));
    if (!output.requiresGrad) return jacobians;
    for (let k = 0; k < m; k++) {
      scope(() => {
        const unit = new Float64Array(m);
        unit[k] = 1;
        const gradOutput = reshape(tensor(unit, { dtype: "float64" }), [...output.shape]);
        const grads = grad(output, wrt, { gradOutputs: gradOutput, retainGraph: true, allowUnused: true });
        grads.forEach((g, c) => {
          if (g === undefined) return;
          const values = valuesOf(g);
          for (let j = 0; j < values.length; j++) jacobians[c]!.values[j * m + k] = values[j]!;
        });
      });
    }
    return jacobians;
  });
}
