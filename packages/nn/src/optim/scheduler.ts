// Learning-rate schedulers, stepping like PyTorch's (chainable form: each step updates the lr
// the optimizer currently holds).
import { ValueError } from "@lockstep/core";
import { correctlyRoundedCos as cos } from "@lockstep/random";
import { Optimizer, checkOptionKeys, describeValue } from "./optimizer.js";
import { loadSchedulerState, schedulerStateOf, type SchedulerStateDict } from "./scheduler-state.js";

function checkOptimizer(owner: string, optimizer: unknown): void {
  if (!(optimizer instanceof Optimizer)) throw new ValueError(`${owner}: ${describeValue(optimizer)} is not an Optimizer`);
}

function checkFiniteNumber(owner: string, name: string, value: unknown): void {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new ValueError(`${owner}: ${name} must be a finite number, got ${describeValue(value)}`);
  }
}

/**
 * Base class of learning-rate schedulers, like torch.optim.lr_scheduler.LRScheduler: each `step()`
 * updates the lr of every parameter group of the optimizer.
 */
export abstract class LRScheduler {
  /** Number of `step()` calls so far. */
  lastEpoch = 0;
  /** Each group's lr when the scheduler was created. */
  readonly baseLrs: number[];

  /** Records the optimizer's current lrs as the base lrs. */
  constructor(
    /** The optimizer whose groups' `lr` the scheduler sets. */
    readonly optimizer: Optimizer<{ lr: number }>
  ) {
    this.baseLrs = optimizer.paramGroups.map((g) => g.lr);
  }

  protected abstract nextLr(groupIndex: number, currentLr: number): number;

  /**
   * Like torch's `scheduler.step()`: advances one epoch and sets each group's lr. Call it after
   * `optimizer.step()`.
   */
  step(): void {
    this.lastEpoch++;
    this.optimizer.paramGroups.forEach((g, i) => {
      g.lr = this.nextLr(i, g.lr);
    });
  }

  /** Like torch's `get_last_lr()`: the current lr of each parameter group. */
  getLastLr(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }

  /** Like torch's `scheduler.state_dict()`: every field but the optimizer (plain values, for checkpoints). */
  stateDict(): SchedulerStateDict {
    return schedulerStateOf(this);
  }

  /** Like torch's `scheduler.load_state_dict(d)`; an unknown key or a field of another kind throws and changes nothing. */
  loadStateDict(dict: SchedulerStateDict): void {
    loadSchedulerState(this, dict);
  }
}

/** Multiplies the lr by gamma every `stepSize` epochs. */
export class StepLR extends LRScheduler {
  /** Epochs between decays. */
  readonly stepSize: number;
  /** Factor applied to the lr at each decay. */
  readonly gamma: number;

  /**
   * Like torch.optim.lr_scheduler.StepLR(optimizer, step_size, gamma=0.1). Throws ValueError unless
   * `stepSize` is a positive integer.
   */
  constructor(optimizer: Optimizer<{ lr: number }>, options: { stepSize: number; gamma?: number }) {
    checkOptimizer("StepLR", optimizer);
    checkOptionKeys("StepLR", options, ["stepSize", "gamma"]);
    if (options === undefined || !Number.isInteger(options.stepSize) || options.stepSize <= 0) {
      throw new ValueError(`step_size must be a positive integer, got ${describeValue(options?.stepSize)}`);
    }
    if (options.gamma !== undefined) checkFiniteNumber("StepLR", "gamma", options.gamma);
    super(optimizer);
    this.stepSize = options.stepSize;
    this.gamma = options.gamma ?? 0.1;
  }

  protected nextLr(_: number, lr: number): number {
    return this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0 ? lr : lr * this.gamma;
  }
}

/**
 * Cosine annealing from the base lr to etaMin over tMax epochs (PyTorch's recursive formula). The
 * cosines are correctly rounded, as glibc's (which Python's math.cos calls) are, so the lr sequence
 * equals PyTorch's bit for bit; V8's Math.cos differs in the last bit for some arguments.
 */
export class CosineAnnealingLR extends LRScheduler {
  /** Number of epochs of a half cosine period. */
  readonly tMax: number;
  /** Minimum learning rate. */
  readonly etaMin: number;

  /**
   * Like torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max, eta_min=0). Throws ValueError
   * unless `tMax` is positive.
   */
  constructor(optimizer: Optimizer<{ lr: number }>, options: { tMax: number; etaMin?: number }) {
    checkOptimizer("CosineAnnealingLR", optimizer);
    checkOptionKeys("CosineAnnealingLR", options, ["tMax", "etaMin"]);
    if (options === undefined || typeof options.tMax !== "number" || !(options.tMax > 0) || !Number.isFinite(options.tMax)) {
      throw new ValueError(`T_max must be positive, got ${describeValue(options?.tMax)}`);
    }
    if (options.etaMin !== undefined) checkFiniteNumber("CosineAnnealingLR", "etaMin", options.etaMin);
    super(optimizer);
    this.tMax = options.tMax;
    this.etaMin = options.etaMin ?? 0;
  }

  protected nextLr(i: number, lr: number): number {
    const { lastEpoch: e, tMax: T, etaMin } = this;
    const base = this.baseLrs[i]!;
    if (e === 0) return lr;
    if ((e - 1 - T) % (2 * T) === 0) return lr + ((base - etaMin) * (1 - cos(Math.PI / T))) / 2;
    return ((1 + cos((Math.PI * e) / T)) / (1 + cos((Math.PI * (e - 1)) / T))) * (lr - etaMin) + etaMin;
  }
}
