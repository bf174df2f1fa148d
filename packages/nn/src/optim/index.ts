// Optimizers and learning-rate schedulers.
export { Optimizer, type OptimizerStateDict, type ParamGroup, type ParamsArgument } from "./optimizer.js";
export { SGD, type SGDOptions } from "./sgd.js";
export { Adam, AdamW, type AdamOptions } from "./adam.js";
export { LRScheduler, StepLR, CosineAnnealingLR } from "./scheduler.js";
