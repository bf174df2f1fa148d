// The layers, one file per family. Each holds its parameters as fields (registration order = field
// order) and calls nn.functional in forward.
export type { FactoryOptions } from "./factory.js";
export { Embedding, Linear, type EmbeddingOptions, type LinearOptions } from "./linear.js";
export { GELU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh } from "./activation.js";
export { Dropout, Flatten, Sequential } from "./container.js";
export {
  BatchNorm1d,
  BatchNorm2d,
  GroupNorm,
  LayerNorm,
  type BatchNormLayerOptions,
  type GroupNormLayerOptions,
  type LayerNormOptions,
} from "./norm.js";
export { Conv1d, Conv2d, type ConvLayerOptions } from "./conv.js";
export {
  AdaptiveAvgPool1d,
  AdaptiveAvgPool2d,
  AvgPool1d,
  AvgPool2d,
  MaxPool1d,
  MaxPool2d,
  type MaxPoolLayerOptions,
  type MaxPoolOutput,
} from "./pool.js";
export { GRU, LSTM, RNN, RNNBase, type LSTMOptions, type RNNBaseOptions, type RNNMode, type RNNOptions } from "./recurrent.js";
export { Identity, LeakyReLU, SiLU, Softplus } from "./activation.js";
export { RMSNorm, type RMSNormOptions } from "./norm.js";
export {
  MultiheadAttention,
  type MultiheadAttentionForwardOptions,
  type MultiheadAttentionOptions,
} from "./attention.js";
export {
  TransformerDecoderLayer,
  TransformerEncoder,
  TransformerEncoderLayer,
  TransformerLayerList,
  type TransformerActivation,
  type TransformerDecoderLayerForwardOptions,
  type TransformerEncoderLayerForwardOptions,
  type TransformerEncoderOptions,
  type TransformerLayerOptions,
} from "./transformer.js";
export { ModuleDict, ModuleList, ParameterList } from "./containers.js";
