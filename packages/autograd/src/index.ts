// @lockstep/autograd: reverse-mode automatic differentiation for Lockstep tensors. Importing it
// installs the autograd layer into core's dispatcher: from then on, ops on tensors that require
// grad are recorded, and `t.backward()` computes gradients.
export { noGrad, enableGrad, isGradEnabled, setGradEnabled } from "./modes.js";
export { grad, retainGrad, registerHook, type BackwardOptions, type GradOptions } from "./engine.js";
export { gradcheck, GradcheckError, type GradcheckOptions } from "./gradcheck.js";
export { AutogradError, AccumulateGrad, Node, OpNode, RemovableHandle, type InputInfo, type TensorHook } from "./graph.js";
export {
  GRADIENT_RULES,
  NO_GRADIENT,
  isDifferentiable,
  type GradientRule,
  type GradientTable,
  type NoGradient,
  type Op,
  type OpAttrs,
  type RuleContext,
} from "./rules.js";
