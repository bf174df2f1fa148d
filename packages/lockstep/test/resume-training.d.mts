/** A training run: model, optimizer, scheduler, loader and the steps taken. */
export interface Run {
  model: import("lockstep").nn.Module;
  optimizer: unknown;
  scheduler: unknown;
  loader: { epoch: number };
  step: number;
}
/** Steps of the full run. */
export const TOTAL_STEPS: number;
/** Fresh objects; `seed` seeds the default generator before the model is built. */
export function build(seed: number): Run;
/** Trains up to `until` steps; returns the losses' float32 bit patterns. */
export function train(run: Run, until: number): number[];
/** The checkpoint object of a run. */
export function checkpointOf(run: Run): import("lockstep").CheckpointValue;
/** Restores a checkpoint into a run. */
export function restore(run: Run, checkpoint: unknown): void;
/** Bits of every parameter. */
export function weightBits(model: Run["model"]): number[][];
