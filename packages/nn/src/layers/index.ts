// The layers, one file per family. Each holds its parameters as fields (registration order = field
// order) and calls nn.functional in forward.
export type { FactoryOptions } from "./factory.js";
export { Embedding, Linear, type EmbeddingOptions, type LinearOptions } from "./linear.js";
export { GELU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh } from "./activation.js";
export { Dropout, Flatten, Sequential } from "./container.js";
export { LayerNorm, type LayerNormOptions } from "./norm.js";
export { GRU, LSTM, RNN, RNNBase, type RNNBaseOptions, type RNNMode, type RNNOptions } from "./recurrent.js";
