// lockstep: the one import most users want. Re-exports the tensor core and autograd, and registers
// the CPU backend, so `import { tensor } from "lockstep"` is ready to compute and differentiate.
import "@lockstep/backend-cpu";

export * from "@lockstep/core";
export {
  AutogradError,
  GradcheckError,
  enableGrad,
  grad,
  gradcheck,
  isGradEnabled,
  noGrad,
  setGradEnabled,
  type GradcheckOptions,
  type GradOptions,
} from "@lockstep/autograd";
