// Optimizers and learning-rate schedulers.
/**
 * Optimizers (SGD, Adam, AdamW) and learning-rate schedulers, like torch.optim. The same namespace
 * is exported as `optim` and as `nn.optim`.
 * @module
 */
export { Optimizer, type OptimizerStateDict, type ParamGroup, type ParamsArgument } from "./optimizer.js";
export { SGD, type SGDOptions } from "./sgd.js";
export { Adam, AdamW, type AdamOptions } from "./adam.js";
export { LRScheduler, StepLR, CosineAnnealingLR } from "./scheduler.js";
export { RMSprop, type RMSpropOptions } from "./rmsprop.js";
export { Adagrad, type AdagradOptions } from "./adagrad.js";
export {
  ExponentialLR,
  LambdaLR,
  LinearLR,
  OneCycleLR,
  SequentialLR,
  type LinearLROptions,
  type OneCycleLROptions,
} from "./schedulers-chained.js";
export { ReduceLROnPlateau, type ReduceLROnPlateauOptions } from "./plateau.js";
export type { SchedulerStateDict } from "./scheduler-state.js";
