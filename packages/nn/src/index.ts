// @lockstep/nn: modules, losses, optimizers, schedulers and safetensors state dicts.
export { Module, Parameter, StateDictError, type StateDict } from "./module.js";
export {
  Dropout,
  Embedding,
  Flatten,
  GELU,
  LayerNorm,
  Linear,
  LogSoftmax,
  ReLU,
  Sequential,
  Sigmoid,
  Softmax,
  Tanh,
  type EmbeddingOptions,
  type FactoryOptions,
  type LayerNormOptions,
  type LinearOptions,
} from "./layers.js";
export { BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, NLLLoss } from "./losses.js";
export * as functional from "./functional.js";
export * as init from "./init.js";
export { saveSafetensors, loadSafetensors, SafetensorsError } from "./safetensors.js";
export * as optim from "./optim/index.js";
