// @lockstep/nn: modules, losses, optimizers, schedulers and safetensors state dicts.
export { Module, Parameter, StateDictError, type StateDict } from "./module.js";
export { ModuleDict, ModuleList, ParameterList } from "./layers/index.js";
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
} from "./layers/index.js";
export { GRU, LSTM, RNN, RNNBase, type LSTMOptions, type RNNBaseOptions, type RNNMode, type RNNOptions } from "./layers/index.js";
export { Identity, LeakyReLU, RMSNorm, SiLU, Softplus, type RMSNormOptions } from "./layers/index.js";
export {
  AdaptiveAvgPool1d,
  AdaptiveAvgPool2d,
  AvgPool1d,
  AvgPool2d,
  BatchNorm1d,
  BatchNorm2d,
  Conv1d,
  Conv2d,
  GroupNorm,
  MaxPool1d,
  MaxPool2d,
  type BatchNormLayerOptions,
  type ConvLayerOptions,
  type GroupNormLayerOptions,
  type MaxPoolLayerOptions,
  type MaxPoolOutput,
} from "./layers/index.js";
export {
  MultiheadAttention,
  TransformerDecoderLayer,
  TransformerEncoder,
  TransformerEncoderLayer,
  TransformerLayerList,
  type MultiheadAttentionForwardOptions,
  type MultiheadAttentionOptions,
  type TransformerActivation,
  type TransformerDecoderLayerForwardOptions,
  type TransformerEncoderLayerForwardOptions,
  type TransformerEncoderOptions,
  type TransformerLayerOptions,
} from "./layers/index.js";
export { BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, NLLLoss } from "./losses.js";
export { BCELoss, HuberLoss, KLDivLoss, L1Loss, SmoothL1Loss } from "./losses.js";
/**
 * Stateless functions behind the layers and losses, like torch.nn.functional
 * (`nn.functional.relu(x)`).
 */
export * as functional from "./functional.js";
/**
 * Parameter initialisers that fill a tensor in place, like torch.nn.init
 * (`nn.init.kaimingUniform_(w)`).
 */
export * as init from "./init.js";
export { saveSafetensors, loadSafetensors, SafetensorsError } from "./safetensors.js";
/** Optimizers (SGD, Adam, AdamW) and learning-rate schedulers, like torch.optim. */
export * as optim from "./optim/index.js";
/**
 * Model utilities, like torch.nn.utils: `nn.utils.explainDiscrepancy(model, input, options)`
 * measures where a train/eval gap comes from.
 */
export * as utils from "./utils/index.js";
/**
 * Datasets and the DataLoader, like torch.utils.data (`new nn.data.DataLoader(dataset, { batchSize,
 * shuffle })`); shuffled orders equal PyTorch's after the same seed.
 */
export * as data from "./data/index.js";
export { save, load, saveBytes, loadBytes, CheckpointError, type CheckpointValue } from "./checkpoint.js";
