// Counting a model's parameters, the one-liner every PyTorch user writes as
// sum(p.numel() for p in model.parameters() if p.requires_grad).
import { ValueError } from "@lockstep/core";
import { Module, type AnyModule } from "../module.js";

/** Options of `parameterCount`. */
export interface ParameterCountOptions {
  /** Count only parameters with `requiresGrad` (not frozen ones); default false. */
  trainableOnly?: boolean;
}

/**
 * The number of scalars in `model`'s parameters (each shared parameter once), like
 * `sum(p.numel() for p in model.parameters())`; with `trainableOnly`, only those that require
 * grad. Buffers (running statistics) are not parameters and are not counted.
 */
export function parameterCount(model: AnyModule, options: ParameterCountOptions = {}): number {
  if (!(model instanceof Module)) throw new ValueError("parameterCount expects a Module");
  const trainableOnly = options.trainableOnly ?? false;
  if (typeof trainableOnly !== "boolean") throw new ValueError(`parameterCount: trainableOnly must be a boolean, got ${typeof trainableOnly}`);
  let total = 0;
  for (const p of model.parameters()) if (!trainableOnly || p.requiresGrad) total += p.numel();
  return total;
}
