// Utilities around models, like torch.nn.utils: today the train/eval discrepancy doctor.
export {
  compareOutputs,
  explainDiscrepancy,
  formatDiscrepancyReport,
  type DiscrepancyReport,
  type DiscrepancySource,
  type ExplainDiscrepancyOptions,
  type OutputGap,
  type SourceRow,
} from "./discrepancy.js";
export { clipGradNorm_, clipGradValue_, type ClipGradNormOptions } from "./clip-grad.js";
export { parameterCount, type ParameterCountOptions } from "./count.js";
