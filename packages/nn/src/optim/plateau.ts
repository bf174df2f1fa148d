// ReduceLROnPlateau: lowers the lr when a metric stops improving, with PyTorch 1.13's rules
// (relative or absolute threshold, patience, cooldown, per-group minimum lr, eps).
import { Tensor, ValueError } from "@lockstep/core";
import { checkOptionKeys, describeValue } from "./optimizer.js";
import { checkFinite, checkOptimizer, perGroup, type AnyOptimizer } from "./scheduler-checks.js";
import { loadSchedulerState, schedulerStateOf, type SchedulerStateDict } from "./scheduler-state.js";

/** Options of `ReduceLROnPlateau` (torch's keyword arguments, camelCased). */
export interface ReduceLROnPlateauOptions {
  /** "min" (default): lower metrics are better; "max": higher are. */
  mode?: "min" | "max";
  /** Factor the lr is multiplied by; below 1, default 0.1. */
  factor?: number;
  /** Epochs without improvement before reducing; default 10. */
  patience?: number;
  /** Least change that counts as an improvement; default 1e-4. */
  threshold?: number;
  /** "rel" (default): threshold relative to the best; "abs": absolute. */
  thresholdMode?: "rel" | "abs";
  /** Epochs to wait after a reduction; default 0. */
  cooldown?: number;
  /** Lower bound of the lr, one number or one per group; default 0. */
  minLr?: number | number[];
  /** Reductions smaller than this are skipped; default 1e-8. */
  eps?: number;
}

/** Reduces the lr by `factor` when a metric has stopped improving for `patience` epochs. */
export class ReduceLROnPlateau {
  /** "min" or "max". */
  readonly mode: "min" | "max";
  /** Reduction factor. */
  readonly factor: number;
  /** Epochs without improvement tolerated. */
  readonly patience: number;
  /** Improvement threshold. */
  readonly threshold: number;
  /** "rel" or "abs". */
  readonly thresholdMode: "rel" | "abs";
  /** Epochs to wait after a reduction. */
  readonly cooldown: number;
  /** Lower bound of each group's lr. */
  readonly minLrs: number[];
  /** Smallest reduction applied. */
  readonly eps: number;
  /** Best metric so far. */
  best: number;
  /** Consecutive epochs without improvement. */
  numBadEpochs = 0;
  /** Remaining cooldown epochs. */
  cooldownCounter = 0;
  /** Number of `step()` calls so far. */
  lastEpoch = 0;

  /**
   * Like torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode='min', factor=0.1,
   * patience=10, threshold=1e-4, threshold_mode='rel', cooldown=0, min_lr=0, eps=1e-8).
   */
  constructor(
    /** The optimizer whose groups' lr is reduced. */
    readonly optimizer: AnyOptimizer,
    options: ReduceLROnPlateauOptions = {},
  ) {
    const owner = "ReduceLROnPlateau";
    checkOptimizer(owner, optimizer);
    checkOptionKeys(owner, options, ["mode", "factor", "patience", "threshold", "thresholdMode", "cooldown", "minLr", "eps"]);
    const mode = options.mode ?? "min";
    const thresholdMode = options.thresholdMode ?? "rel";
    if (mode !== "min" && mode !== "max") throw new ValueError(`mode ${describeValue(mode)} is unknown!`);
    if (thresholdMode !== "rel" && thresholdMode !== "abs") throw new ValueError(`threshold mode ${describeValue(thresholdMode)} is unknown!`);
    const factor = options.factor ?? 0.1;
    checkFinite(owner, "factor", factor);
    if (factor >= 1) throw new ValueError("Factor should be < 1.0.");
    const patience = options.patience ?? 10;
    const cooldown = options.cooldown ?? 0;
    for (const [name, v] of [["patience", patience], ["cooldown", cooldown]] as const) {
      if (!Number.isInteger(v) || v < 0) throw new ValueError(`${owner}: ${name} must be a non-negative integer, got ${describeValue(v)}`);
    }
    const threshold = options.threshold ?? 1e-4;
    const eps = options.eps ?? 1e-8;
    checkFinite(owner, "threshold", threshold);
    checkFinite(owner, "eps", eps);
    const minLrs = perGroup(owner, "min_lr", optimizer, options.minLr ?? 0);
    this.mode = mode;
    this.factor = factor;
    this.patience = patience;
    this.threshold = threshold;
    this.thresholdMode = thresholdMode;
    this.cooldown = cooldown;
    this.minLrs = minLrs;
    this.eps = eps;
    this.best = mode === "min" ? Infinity : -Infinity;
  }

  private isBetter(a: number, best: number): boolean {
    if (this.mode === "min" && this.thresholdMode === "rel") return a < best * (1 - this.threshold);
    if (this.mode === "min") return a < best - this.threshold;
    if (this.thresholdMode === "rel") return a > best * (this.threshold + 1);
    return a > best + this.threshold;
  }

  /** Records one epoch's metric (a number or a one-element CPU tensor) and reduces the lr if due. */
  step(metric: number | Tensor): void {
    const current = metric instanceof Tensor ? Number(metric.itemSync()) : metric;
    if (typeof current !== "number") throw new ValueError(`ReduceLROnPlateau.step: metric must be a number, got ${describeValue(metric)}`);
    this.lastEpoch += 1;
    if (this.isBetter(current, this.best)) {
      this.best = current;
      this.numBadEpochs = 0;
    } else {
      this.numBadEpochs += 1;
    }
    if (this.cooldownCounter > 0) {
      this.cooldownCounter -= 1;
      this.numBadEpochs = 0;
    }
    if (this.numBadEpochs > this.patience) {
      this.optimizer.paramGroups.forEach((g, i) => {
        const oldLr = g.lr;
        const newLr = Math.max(oldLr * this.factor, this.minLrs[i]!);
        if (oldLr - newLr > this.eps) g.lr = newLr;
      });
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
    }
  }

  /** The current lr of each parameter group. */
  getLastLr(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }

  /** Like torch's `state_dict()`: every field but the optimizer. */
  stateDict(): SchedulerStateDict {
    return schedulerStateOf(this);
  }

  /** Restores what `stateDict` returned. */
  loadStateDict(dict: SchedulerStateDict): void {
    loadSchedulerState(this, dict);
  }
}
