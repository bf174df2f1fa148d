// The optimizer base: parameter groups with their hyperparameters, per-parameter state, and
// state dicts shaped like PyTorch's ({ state: {index: …}, paramGroups: [...] }).
import { noGrad } from "@lockstep/autograd";
import { LockstepError, Tensor, ValueError, keep } from "@lockstep/core";

/**
 * A group of parameters with its own hyperparameters (`lr`, ...), like an entry of torch's
 * `optimizer.param_groups`.
 */
export type ParamGroup<O> = O & { params: Tensor[] };
/**
 * What optimizers accept, as in PyTorch: parameters (`model.parameters()`), or groups `{ params,
 * ...overrides }` whose options override the defaults.
 */
export type ParamsArgument<O> = Iterable<Tensor> | Array<Partial<O> & { params: Iterable<Tensor> }>;

/**
 * An optimizer's state as PyTorch's `state_dict()` shapes it: parameters are numbered in group
 * order.
 */
export interface OptimizerStateDict<O> {
  /** Per-parameter state (momentum buffers, moments, step counts) by parameter number. */
  state: Record<number, Record<string, Tensor | number>>;
  /** Each group's hyperparameters, with `params` listing its parameter numbers. */
  paramGroups: Array<O & { params: number[] }>;
}

/**
 * Base class of optimizers, like torch.optim.Optimizer: holds parameter groups and per-parameter
 * state; subclasses define the update.
 */
export abstract class Optimizer<O extends { lr: number }> {
  /** The parameter groups, each with its hyperparameters; change `lr` here (schedulers do). */
  readonly paramGroups: ParamGroup<O>[];
  /** Per-parameter state (momentum buffers, moments, step counts). */
  readonly state = new Map<Tensor, Record<string, Tensor | number>>();

  /**
   * Builds the groups from `params`, filling options a group leaves out from `defaults`. Throws
   * ValueError for an empty list, a non-leaf tensor, a parameter in two groups, or an invalid
   * hyperparameter.
   */
  constructor(params: ParamsArgument<O>, defaults: O) {
    const list = [...params] as unknown[];
    if (list.length === 0) throw new ValueError("optimizer got an empty parameter list");
    const groups = list[0] instanceof Tensor ? [{ params: list as Tensor[] }] : (list as Array<Partial<O> & { params: Iterable<Tensor> }>);
    const seen = new Set<Tensor>();
    this.paramGroups = groups.map((g) => {
      const group = { ...defaults, ...g, params: [...g.params] } as ParamGroup<O>;
      for (const p of group.params) {
        if (!(p instanceof Tensor)) throw new ValueError("optimizer can only optimize Tensors");
        if (!p.isLeaf) throw new ValueError("can't optimize a non-leaf Tensor");
        if (seen.has(p)) throw new ValueError("some parameters appear in more than one parameter group");
        seen.add(p);
      }
      this.validate(group);
      return group;
    });
  }

  /** Checks a group's hyperparameters; throws naming the bad value. */
  protected abstract validate(group: O): void;

  /** Updates one parameter in place from its gradient. Runs without recording. */
  protected abstract update(param: Tensor, grad: Tensor, group: O, state: Record<string, Tensor | number>): void;

  /**
   * Like torch's `optimizer.step()`: updates every parameter that has a `.grad`, in place and
   * without recording for autograd.
   */
  step(): void {
    noGrad(() => {
      for (const group of this.paramGroups) {
        for (const p of group.params) {
          if (p.grad === undefined) continue;
          let state = this.state.get(p);
          if (state === undefined) this.state.set(p, (state = {}));
          this.update(p, p.grad, group, state);
        }
      }
    });
  }

  /**
   * Drops gradients (PyTorch's default set_to_none=True) and frees their memory at once, so a
   * training loop holds GPU memory flat; clone a gradient first to keep it.
   */
  zeroGrad(): void {
    for (const group of this.paramGroups) for (const p of group.params) dropGrad(p);
  }

  /**
   * Like torch's `optimizer.state_dict()`: hyperparameters and per-parameter state, parameters
   * numbered in group order.
   */
  stateDict(): OptimizerStateDict<O> {
    const index = new Map<Tensor, number>();
    let next = 0;
    const paramGroups = this.paramGroups.map((g) => {
      const { params, ...rest } = g;
      return { ...(rest as unknown as O), params: params.map((p) => (index.set(p, next), next++)) };
    });
    const state: OptimizerStateDict<O>["state"] = {};
    for (const [p, s] of this.state) state[index.get(p)!] = { ...s };
    return { state, paramGroups };
  }

  /** Restores hyperparameters and state; the group layout must match, else nothing changes. */
  loadStateDict(dict: OptimizerStateDict<O>): void {
    if (dict?.paramGroups?.length !== this.paramGroups.length) {
      throw new LockstepError(
        `loaded state dict has a different number of parameter groups (${dict?.paramGroups?.length} vs ${this.paramGroups.length})`,
      );
    }
    dict.paramGroups.forEach((g, i) => {
      if (g.params.length !== this.paramGroups[i]!.params.length) {
        throw new LockstepError(
          "loaded state dict contains a parameter group that doesn't match the size of optimizer's group " +
            `(group ${i}: ${g.params.length} vs ${this.paramGroups[i]!.params.length})`,
        );
      }
    });
    const params = this.paramGroups.flatMap((g) => g.params);
    this.state.clear();
    for (const [key, value] of Object.entries(dict.state)) {
      const p = params[Number(key)];
      // Copies, as PyTorch's deepcopy: the steps update state tensors in place.
      const copy = (v: Tensor | number) => (v instanceof Tensor ? keep(noGrad(() => v.clone())) : v);
      if (p !== undefined) this.state.set(p, Object.fromEntries(Object.entries(value).map(([k, v]) => [k, copy(v)])));
    }
    dict.paramGroups.forEach((g, i) => {
      const { params: _ignored, ...rest } = g;
      Object.assign(this.paramGroups[i]!, rest);
    });
  }
}

/** Frees a parameter's gradient (autograd made it and owns it) and sets `.grad` to undefined. */
export function dropGrad(p: Tensor): void {
  p.grad?.dispose();
  p.grad = undefined;
}

/**
 * The state tensor `key` of one parameter, made by `init` on first use. State lives across steps,
 * so it is kept out of whatever `scope` the step runs in, and updaters write it in place
 * (`copy_`) rather than replacing it: nothing is left for a scope to free or for anyone to leak.
 */
export function stateTensor(state: Record<string, Tensor | number>, key: string, init: () => Tensor): Tensor {
  let t = state[key] as Tensor | undefined;
  if (t === undefined) state[key] = t = keep(init());
  return t;
}

export function checkNonNegative(name: string, value: number): void {
  if (typeof value !== "number" || !(value >= 0)) throw new ValueError(`Invalid ${name}: ${value}`);
}
