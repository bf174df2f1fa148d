// Learning-rate schedulers that chain on the optimizer's current lr (LambdaLR, LinearLR,
// ExponentialLR, OneCycleLR) and SequentialLR, computing in doubles with PyTorch 1.13's formulas
// and operation order, so the lr sequences equal PyTorch's bit for bit (cosines correctly rounded,
// like glibc's).
import { ValueError } from "@lockstep/core";
import { correctlyRoundedCos as cos } from "@lockstep/random";
import { checkOptionKeys, describeValue } from "./optimizer.js";
import { CosineAnnealingLR, LRScheduler, StepLR } from "./scheduler.js";
import { loadSchedulerState, schedulerStateOf, type SchedulerStateDict } from "./scheduler-state.js";
import { checkFinite, checkOptimizer, checkPositiveInteger, perGroup, type AnyOptimizer } from "./scheduler-checks.js";


/**
 * Each group's lr before any scheduler changed it — PyTorch's `group["initial_lr"]`, set once per
 * optimizer (setdefault) — so a second scheduler on the same optimizer gets the same base lrs.
 */
const INITIAL_LRS = new WeakMap<object, number[]>();

function initialLrs(optimizer: AnyOptimizer): number[] {
  let lrs = INITIAL_LRS.get(optimizer);
  if (lrs === undefined || lrs.length !== optimizer.paramGroups.length) {
    lrs = optimizer.paramGroups.map((g) => g.lr);
    INITIAL_LRS.set(optimizer, lrs);
  }
  return lrs;
}

/**
 * The base for the schedulers here: base lrs are the optimizer's initial lrs (as PyTorch's
 * `initial_lr`), the construction applies epoch 0 as PyTorch's initial step does, and the state dict
 * holds every field but the optimizer.
 */
abstract class ChainedScheduler extends LRScheduler {
  constructor(optimizer: AnyOptimizer, initial: number[] = initialLrs(optimizer)) {
    super(optimizer);
    this.baseLrs.splice(0, this.baseLrs.length, ...initial);
  }

  /** PyTorch's `_initial_step`: sets each group's lr for epoch 0. */
  protected initialStep(): void {
    this.optimizer.paramGroups.forEach((g, i) => {
      g.lr = this.nextLr(i, g.lr);
    });
  }

  /** The lr of group `i` at `lastEpoch` from the closed form (PyTorch's `step(epoch)` path). */
  abstract closedFormLr(i: number): number;
}

/** Sets each group's lr to its base lr times `lrLambda(epoch)`. */
export class LambdaLR extends ChainedScheduler {
  /** The multiplier function of each group. */
  readonly lrLambdas: ((epoch: number) => number)[];

  /**
   * Like torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda): one function for every group or
   * one per group. Throws ValueError for a count that differs from the number of groups.
   */
  constructor(optimizer: AnyOptimizer, lrLambda: ((epoch: number) => number) | ((epoch: number) => number)[]) {
    checkOptimizer("LambdaLR", optimizer);
    const n = optimizer.paramGroups.length;
    const lambdas = Array.isArray(lrLambda) ? [...lrLambda] : Array.from({ length: n }, () => lrLambda);
    if (lambdas.length !== n) throw new ValueError(`Expected ${n} lr_lambdas, but got ${lambdas.length}`);
    lambdas.forEach((f) => {
      if (typeof f !== "function") throw new ValueError(`LambdaLR: lr_lambda must be a function, got ${describeValue(f)}`);
    });
    super(optimizer);
    this.lrLambdas = lambdas;
    this.initialStep();
  }

  protected nextLr(i: number): number {
    return this.baseLrs[i]! * this.lrLambdas[i]!(this.lastEpoch);
  }

  closedFormLr(i: number): number {
    return this.nextLr(i);
  }
}

/** Options of `LinearLR`. */
export interface LinearLROptions {
  /** Factor of the first epoch; in (0, 1], default 1/3. */
  startFactor?: number;
  /** Factor reached at `totalIters`; in [0, 1], default 1. */
  endFactor?: number;
  /** Epochs of the linear change; default 5. */
  totalIters?: number;
}

/** Scales the lr by a factor that moves linearly from `startFactor` to `endFactor`. */
export class LinearLR extends ChainedScheduler {
  /** Factor of the first epoch. */
  readonly startFactor: number;
  /** Factor from `totalIters` on. */
  readonly endFactor: number;
  /** Epochs of the linear change. */
  readonly totalIters: number;

  /**
   * Like torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=1/3, end_factor=1.0,
   * total_iters=5). Multiplies the lr by startFactor at once, as PyTorch does.
   */
  constructor(optimizer: AnyOptimizer, options: LinearLROptions = {}) {
    checkOptimizer("LinearLR", optimizer);
    checkOptionKeys("LinearLR", options, ["startFactor", "endFactor", "totalIters"]);
    const startFactor = options.startFactor ?? 1 / 3;
    const endFactor = options.endFactor ?? 1;
    const totalIters = options.totalIters ?? 5;
    checkFinite("LinearLR", "startFactor", startFactor);
    checkFinite("LinearLR", "endFactor", endFactor);
    if (startFactor > 1 || startFactor <= 0) {
      throw new ValueError(`Starting multiplicative factor expected to be greater than 0 and less or equal to 1, got ${startFactor}`);
    }
    if (endFactor > 1 || endFactor < 0) throw new ValueError(`Ending multiplicative factor expected to be between 0 and 1, got ${endFactor}`);
    checkPositiveInteger("LinearLR", "totalIters", totalIters);
    super(optimizer);
    this.startFactor = startFactor;
    this.endFactor = endFactor;
    this.totalIters = totalIters;
    this.initialStep();
  }

  protected nextLr(_: number, lr: number): number {
    const { lastEpoch: e, startFactor: s, endFactor: f, totalIters: T } = this;
    if (e === 0) return lr * s;
    if (e > T) return lr;
    return lr * (1 + (f - s) / (T * s + (e - 1) * (f - s)));
  }

  closedFormLr(i: number): number {
    const { startFactor: s, endFactor: f, totalIters: T } = this;
    return this.baseLrs[i]! * (s + ((f - s) * Math.min(T, this.lastEpoch)) / T);
  }
}

/** Multiplies the lr by `gamma` every epoch. */
export class ExponentialLR extends ChainedScheduler {
  /** Factor applied every epoch. */
  readonly gamma: number;

  /** Like torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma). */
  constructor(optimizer: AnyOptimizer, options: { gamma: number }) {
    checkOptimizer("ExponentialLR", optimizer);
    checkOptionKeys("ExponentialLR", options, ["gamma"]);
    checkFinite("ExponentialLR", "gamma", options?.gamma);
    super(optimizer);
    this.gamma = options.gamma;
    this.initialStep();
  }

  protected nextLr(_: number, lr: number): number {
    return this.lastEpoch === 0 ? lr : lr * this.gamma;
  }

  closedFormLr(i: number): number {
    return this.baseLrs[i]! * this.gamma ** this.lastEpoch;
  }
}

/** Options of `OneCycleLR` (torch's keyword arguments, camelCased). */
export interface OneCycleLROptions {
  /** Peak lr, one number or one per group (required). */
  maxLr: number | number[];
  /** Steps in the cycle; or give `epochs` and `stepsPerEpoch`. */
  totalSteps?: number;
  /** Epochs (with `stepsPerEpoch`) when `totalSteps` is not given. */
  epochs?: number;
  /** Steps per epoch (with `epochs`). */
  stepsPerEpoch?: number;
  /** Fraction of the cycle spent increasing the lr; default 0.3. */
  pctStart?: number;
  /** "cos" (default) or "linear" annealing. */
  annealStrategy?: "cos" | "linear";
  /** Cycle momentum (or Adam's beta1) inversely to the lr; default true. */
  cycleMomentum?: boolean;
  /** Lowest momentum; default 0.85. */
  baseMomentum?: number | number[];
  /** Highest momentum; default 0.95. */
  maxMomentum?: number | number[];
  /** initial lr = maxLr / divFactor; default 25. */
  divFactor?: number;
  /** min lr = initial lr / finalDivFactor; default 1e4. */
  finalDivFactor?: number;
  /** Three phases (up, down to the initial lr, then to the min lr) instead of two; default false. */
  threePhase?: boolean;
}

interface Phase {
  endStep: number;
  startLr: "initialLr" | "maxLr" | "minLr";
  endLr: "initialLr" | "maxLr" | "minLr";
  startMomentum: "maxMomentum" | "baseMomentum";
  endMomentum: "maxMomentum" | "baseMomentum";
}

/**
 * The 1cycle policy: the lr rises from maxLr/divFactor to maxLr and falls to a minimum over
 * `totalSteps` steps, while momentum (or beta1) moves the other way. Step it after every batch.
 */
export class OneCycleLR extends ChainedScheduler {
  /** Number of steps in the cycle. */
  readonly totalSteps: number;
  /** Annealing function name. */
  readonly annealStrategy: "cos" | "linear";
  /** Whether momentum / beta1 is cycled. */
  readonly cycleMomentum: boolean;
  /** Whether the cycle has three phases. */
  readonly threePhase: boolean;
  /** Per group: lr at the start. */
  readonly initialLr: number[];
  /** Per group: peak lr. */
  readonly maxLr: number[];
  /** Per group: lr at the end. */
  readonly minLr: number[];
  /** Per group: lowest momentum. */
  readonly baseMomentum: number[];
  /** Per group: highest momentum. */
  readonly maxMomentum: number[];
  /** The phases' end steps (doubles, as PyTorch computes them). */
  readonly phaseEnds: number[];

  /**
   * Like torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr, total_steps=None, epochs=None,
   * steps_per_epoch=None, pct_start=0.3, anneal_strategy='cos', cycle_momentum=True,
   * base_momentum=0.85, max_momentum=0.95, div_factor=25., final_div_factor=1e4,
   * three_phase=False). Sets each group's lr (and momentum) at once.
   */
  constructor(optimizer: AnyOptimizer, options: OneCycleLROptions) {
    const owner = "OneCycleLR";
    checkOptimizer(owner, optimizer);
    checkOptionKeys(owner, options, [
      "maxLr", "totalSteps", "epochs", "stepsPerEpoch", "pctStart", "annealStrategy", "cycleMomentum",
      "baseMomentum", "maxMomentum", "divFactor", "finalDivFactor", "threePhase",
    ]);
    if (options === undefined || options.maxLr === undefined) throw new ValueError("OneCycleLR: the maxLr option is required");
    let totalSteps: number;
    if (options.totalSteps !== undefined) {
      checkPositiveInteger(owner, "total_steps", options.totalSteps);
      totalSteps = options.totalSteps;
    } else if (options.epochs !== undefined && options.stepsPerEpoch !== undefined) {
      checkPositiveInteger(owner, "epochs", options.epochs);
      checkPositiveInteger(owner, "steps_per_epoch", options.stepsPerEpoch);
      totalSteps = options.epochs * options.stepsPerEpoch;
    } else {
      throw new ValueError("You must define either total_steps OR (epochs AND steps_per_epoch)");
    }
    const pctStart = options.pctStart ?? 0.3;
    if (typeof pctStart !== "number" || !(pctStart >= 0 && pctStart <= 1)) {
      throw new ValueError(`Expected float between 0 and 1 pct_start, but got ${describeValue(pctStart)}`);
    }
    const annealStrategy = options.annealStrategy ?? "cos";
    if (annealStrategy !== "cos" && annealStrategy !== "linear") {
      throw new ValueError(`anneal_strategy must by one of 'cos' or 'linear', instead got ${describeValue(annealStrategy)}`);
    }
    const divFactor = options.divFactor ?? 25;
    const finalDivFactor = options.finalDivFactor ?? 1e4;
    checkFinite(owner, "divFactor", divFactor);
    checkFinite(owner, "finalDivFactor", finalDivFactor);
    const maxLr = perGroup(owner, "max_lr", optimizer, options.maxLr);
    const cycleMomentum = options.cycleMomentum ?? true;
    const group0 = optimizer.paramGroups[0] as Record<string, unknown>;
    const useBeta1 = "betas" in group0;
    if (cycleMomentum && !("momentum" in group0) && !useBeta1) {
      throw new ValueError("optimizer must support momentum or beta1 with `cycle_momentum` option enabled");
    }
    const baseMomentum = perGroup(owner, "base_momentum", optimizer, options.baseMomentum ?? 0.85);
    const maxMomentum = perGroup(owner, "max_momentum", optimizer, options.maxMomentum ?? 0.95);
    const initialLr = maxLr.map((m) => m / divFactor);
    super(optimizer, initialLr);
    INITIAL_LRS.set(optimizer, [...initialLr]);
    this.totalSteps = totalSteps;
    this.annealStrategy = annealStrategy;
    this.cycleMomentum = cycleMomentum;
    this.threePhase = options.threePhase ?? false;
    this.initialLr = initialLr;
    this.maxLr = maxLr;
    this.minLr = initialLr.map((lr) => lr / finalDivFactor);
    this.baseMomentum = baseMomentum;
    this.maxMomentum = maxMomentum;
    this.phaseEnds = this.threePhase
      ? [pctStart * totalSteps - 1, 2 * pctStart * totalSteps - 2, totalSteps - 1]
      : [pctStart * totalSteps - 1, totalSteps - 1];
    this.optimizer.paramGroups.forEach((g, i) => {
      g.lr = initialLr[i]!;
      if (cycleMomentum) this.setMomentum(g as Record<string, unknown>, maxMomentum[i]!);
    });
    this.initialStep();
  }

  private phases(): Phase[] {
    const e = this.phaseEnds;
    return this.threePhase
      ? [
          { endStep: e[0]!, startLr: "initialLr", endLr: "maxLr", startMomentum: "maxMomentum", endMomentum: "baseMomentum" },
          { endStep: e[1]!, startLr: "maxLr", endLr: "initialLr", startMomentum: "baseMomentum", endMomentum: "maxMomentum" },
          { endStep: e[2]!, startLr: "initialLr", endLr: "minLr", startMomentum: "maxMomentum", endMomentum: "maxMomentum" },
        ]
      : [
          { endStep: e[0]!, startLr: "initialLr", endLr: "maxLr", startMomentum: "maxMomentum", endMomentum: "baseMomentum" },
          { endStep: e[1]!, startLr: "maxLr", endLr: "minLr", startMomentum: "baseMomentum", endMomentum: "maxMomentum" },
        ];
  }

  private setMomentum(g: Record<string, unknown>, m: number): void {
    if ("betas" in g) g.betas = [m, ...(g.betas as number[]).slice(1)];
    else g.momentum = m;
  }

  private anneal(start: number, end: number, pct: number): number {
    if (this.annealStrategy === "linear") return (end - start) * pct + start;
    return end + ((start - end) / 2.0) * (cos(Math.PI * pct) + 1);
  }

  /** Throws before anything changes when the cycle is over (PyTorch raises after counting). */
  override step(): void {
    if (this.lastEpoch + 1 > this.totalSteps) {
      throw new ValueError(`Tried to step ${this.lastEpoch + 1} times. The specified number of total steps is ${this.totalSteps}`);
    }
    super.step();
  }

  protected nextLr(i: number): number {
    const step = this.lastEpoch;
    const phases = this.phases();
    let start = 0;
    for (let k = 0; k < phases.length; k++) {
      const phase = phases[k]!;
      if (step <= phase.endStep || k === phases.length - 1) {
        const pct = (step - start) / (phase.endStep - start);
        if (this.cycleMomentum) {
          const m = this.anneal(this[phase.startMomentum][i]!, this[phase.endMomentum][i]!, pct);
          this.setMomentum(this.optimizer.paramGroups[i] as Record<string, unknown>, m);
        }
        return this.anneal(this[phase.startLr][i]!, this[phase.endLr][i]!, pct);
      }
      start = phase.endStep;
    }
    throw new Error("unreachable");
  }

  closedFormLr(i: number): number {
    return this.nextLr(i);
  }
}

/**
 * Runs schedulers one after another: `schedulers[k]` from epoch `milestones[k − 1]` on, restarted
 * at its epoch 0 when it takes over.
 */
export class SequentialLR extends LRScheduler {
  /** The schedulers, in order. */
  readonly schedulers: LRScheduler[];
  /** Epochs at which the next scheduler takes over. */
  readonly milestones: number[];

  /**
   * Like torch.optim.lr_scheduler.SequentialLR(optimizer, schedulers, milestones). Throws
   * ValueError unless there is one milestone fewer than schedulers and all use `optimizer`.
   */
  constructor(optimizer: AnyOptimizer, options: { schedulers: LRScheduler[]; milestones: number[] }) {
    checkOptimizer("SequentialLR", optimizer);
    checkOptionKeys("SequentialLR", options, ["schedulers", "milestones"]);
    const { schedulers, milestones } = options ?? ({} as never);
    if (!Array.isArray(schedulers) || schedulers.length === 0) {
      throw new ValueError(`SequentialLR: schedulers must be a non-empty array, got ${describeValue(schedulers)}`);
    }
    schedulers.forEach((s, i) => {
      if (!(s instanceof LRScheduler)) throw new ValueError(`SequentialLR: schedulers[${i}] is not an LRScheduler`);
      if (s.optimizer !== optimizer) {
        throw new ValueError(
          `Sequential Schedulers expects all schedulers to belong to the same optimizer, but got schedulers at index ${i} to be different than the optimizer passed in.`,
        );
      }
    });
    if (!Array.isArray(milestones) || milestones.length !== schedulers.length - 1) {
      throw new ValueError(
        "Sequential Schedulers expects number of schedulers provided to be one more than the number of milestone points, " +
          `but got number of schedulers ${schedulers.length} and the number of milestones to be equal to ${Array.isArray(milestones) ? milestones.length : describeValue(milestones)}`,
      );
    }
    milestones.forEach((m) => checkPositiveInteger("SequentialLR", "milestone", m));
    const initial = INITIAL_LRS.get(optimizer) ?? schedulers[0]!.baseLrs;
    super(optimizer);
    this.baseLrs.splice(0, this.baseLrs.length, ...initial);
    this.schedulers = [...schedulers];
    this.milestones = [...milestones];
    // PyTorch: back to the initial lrs, undo the schedulers' initial steps, redo the first one's.
    optimizer.paramGroups.forEach((g, i) => {
      g.lr = initial[i]!;
    });
    for (const s of schedulers) {
      s.baseLrs.splice(0, s.baseLrs.length, ...initial);
      s.lastEpoch -= 1;
    }
    schedulers[0]!.step();
  }

  protected nextLr(_: number, lr: number): number {
    return lr;
  }

  /** Steps the scheduler whose turn it is; at a milestone it restarts that one at epoch 0. */
  override step(): void {
    this.lastEpoch++;
    let idx = 0;
    while (idx < this.milestones.length && this.milestones[idx]! <= this.lastEpoch) idx++;
    const scheduler = this.schedulers[idx]!;
    if (idx > 0 && this.milestones[idx - 1] === this.lastEpoch) {
      scheduler.lastEpoch = 0;
      this.optimizer.paramGroups.forEach((g, i) => {
        g.lr = closedFormAtZero(scheduler, i);
      });
    } else {
      scheduler.step();
    }
  }

  /** Its own epoch and milestones plus each scheduler's state dict. */
  override stateDict(): SchedulerStateDict {
    return { ...schedulerStateOf(this), schedulers: this.schedulers.map((s) => s.stateDict()) };
  }

  /** Restores what `stateDict` returned, the child schedulers included. */
  override loadStateDict(dict: SchedulerStateDict): void {
    const { schedulers, ...own } = dict;
    if (!Array.isArray(schedulers) || schedulers.length !== this.schedulers.length) {
      throw new ValueError(`SequentialLR.loadStateDict: expected ${this.schedulers.length} scheduler states, got ${describeValue(schedulers)}`);
    }
    // A child's dict may be rejected after others loaded: put everything back, so nothing changes.
    const before = [schedulerStateOf(this), ...this.schedulers.map((s) => s.stateDict())];
    try {
      loadSchedulerState(this, own);
      this.schedulers.forEach((s, i) => s.loadStateDict(schedulers[i] as SchedulerStateDict));
    } catch (error) {
      loadSchedulerState(this, before[0]!);
      this.schedulers.forEach((s, i) => s.loadStateDict(before[i + 1]!));
      throw error;
    }
  }
}

/** A scheduler's lr for group `i` at epoch 0 from its closed form, as `scheduler.step(0)` computes it. */
function closedFormAtZero(s: LRScheduler, i: number): number {
  const base = s.baseLrs[i]!;
  if (s instanceof ChainedScheduler) return s.closedFormLr(i);
  if (s instanceof StepLR) return base * s.gamma ** 0;
  if (s instanceof CosineAnnealingLR) return s.etaMin + ((base - s.etaMin) * (1 + cos(0))) / 2;
  return base;
}
