// Learning-rate schedulers, stepping like PyTorch's (chainable form: each step updates the lr
// the optimizer currently holds).
import { ValueError } from "@lockstep/core";
import type { Optimizer } from "./optimizer.js";

export abstract class LRScheduler {
  lastEpoch = 0;
  readonly baseLrs: number[];

  constructor(readonly optimizer: Optimizer<{ lr: number }>) {
    this.baseLrs = optimizer.paramGroups.map((g) => g.lr);
  }

  protected abstract nextLr(groupIndex: number, currentLr: number): number;

  step(): void {
    this.lastEpoch++;
    this.optimizer.paramGroups.forEach((g, i) => {
      g.lr = this.nextLr(i, g.lr);
    });
  }

  getLastLr(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }
}

/** Multiplies the lr by gamma every `stepSize` epochs. */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;

  constructor(optimizer: Optimizer<{ lr: number }>, options: { stepSize: number; gamma?: number }) {
    super(optimizer);
    if (!Number.isInteger(options.stepSize) || options.stepSize <= 0) {
      throw new ValueError(`step_size must be a positive integer, got ${options.stepSize}`);
    }
    this.stepSize = options.stepSize;
    this.gamma = options.gamma ?? 0.1;
  }

  protected nextLr(_: number, lr: number): number {
    return this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0 ? lr : lr * this.gamma;
  }
}

/** Cosine annealing from the base lr to etaMin over tMax epochs (PyTorch's recursive formula). */
export class CosineAnnealingLR extends LRScheduler {
  readonly tMax: number;
  readonly etaMin: number;

  constructor(optimizer: Optimizer<{ lr: number }>, options: { tMax: number; etaMin?: number }) {
    super(optimizer);
    if (!(options.tMax > 0)) throw new ValueError(`T_max must be positive, got ${options.tMax}`);
    this.tMax = options.tMax;
    this.etaMin = options.etaMin ?? 0;
  }

  protected nextLr(i: number, lr: number): number {
    const { lastEpoch: e, tMax: T, etaMin } = this;
    const base = this.baseLrs[i]!;
    if (e === 0) return lr;
    if ((e - 1 - T) % (2 * T) === 0) return lr + ((base - etaMin) * (1 - Math.cos(Math.PI / T))) / 2;
    return ((1 + Math.cos((Math.PI * e) / T)) / (1 + Math.cos((Math.PI * (e - 1)) / T))) * (lr - etaMin) + etaMin;
  }
}
