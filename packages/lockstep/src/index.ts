// lockstep: the one import most users want. Re-exports the tensor core, autograd, random and nn,
// and registers the CPU backend, so `import { tensor, nn } from "lockstep"` is ready to train.
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
export {
  Generator,
  bernoulli,
  defaultGenerator,
  dropoutMask,
  forkRng,
  getRngState,
  initialSeed,
  manualSeed,
  multinomial,
  rand,
  randint,
  randn,
  randperm,
  seed,
  setRngState,
  type RandomTensorOptions,
  type MultinomialOptions,
  type Seed,
} from "@lockstep/random";
/**
 * Modules, layers, losses, initialisers, optimizers and safetensors state dicts, like torch.nn
 * (`new nn.Linear(4, 2)`, `nn.functional.relu`, `nn.optim.Adam`).
 */
export * as nn from "@lockstep/nn";
/** The WebGPU backend: `await webgpu.init()` registers device "webgpu" (nothing happens before). */
export * as webgpu from "@lockstep/backend-webgpu";
export { optim, saveSafetensors, loadSafetensors, SafetensorsError, StateDictError } from "@lockstep/nn";
/**
 * Datasets and the DataLoader (also `nn.data`), like torch.utils.data; a shuffled DataLoader gives
 * PyTorch's order after the same `manualSeed`.
 */
export { data } from "@lockstep/nn";
/** Checkpoints of nested objects of tensors and plain values (also `nn.save` …), like torch.save / torch.load. */
export { save, load, saveBytes, loadBytes, CheckpointError, type CheckpointValue } from "@lockstep/nn";
