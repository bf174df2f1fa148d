// The optimizer base: parameter groups with their hyperparameters, per-parameter state, and
// state dicts shaped like PyTorch's ({ state: {index: …}, paramGroups: [...] }).
import { noGrad } from "@lockstep/autograd";
import { DTypeError, DeviceError, LockstepError, ShapeError, Tensor, ValueError, hasKernel, keep } from "@lockstep/core";

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
    if (params === null || typeof params !== "object" || typeof (params as Iterable<unknown>)[Symbol.iterator] !== "function") {
      throw new ValueError(
        `params argument given to the optimizer should be an iterable of Tensors or dicts, but got ${describeValue(params)}`,
      );
    }
    const list = [...params] as unknown[];
    if (list.length === 0) throw new ValueError("optimizer got an empty parameter list");
    const groups = list[0] instanceof Tensor ? [{ params: list as Tensor[] }] : (list as Array<Partial<O> & { params: Iterable<Tensor> }>);
    const known = new Set(Object.keys(defaults));
    const seen = new Set<Tensor>();
    // Everything is built and checked before a field is set, so a rejected call leaves no half-made optimizer.
    this.paramGroups = groups.map((g, i) => {
      if (g === null || typeof g !== "object" || g instanceof Tensor) {
        throw new ValueError(`param group ${i} must be an object { params, ...options }, got ${describeValue(g)}`);
      }
      if (g.params === null || typeof g.params !== "object" || typeof (g.params as Iterable<unknown>)[Symbol.iterator] !== "function") {
        throw new ValueError(`param group ${i} must have params: an iterable of Tensors, got ${describeValue(g.params)}`);
      }
      for (const key of Object.keys(g)) {
        if (key !== "params" && !known.has(key)) {
          throw new ValueError(`${this.constructor.name} got an unexpected option '${key}' (known: ${[...known].join(", ")})`);
        }
      }
      const group = { ...defaults, ...g, params: [...g.params] } as ParamGroup<O>;
      for (const p of group.params) {
        if (!(p instanceof Tensor)) throw new ValueError(`optimizer can only optimize Tensors, but one of the params is ${describeValue(p)}`);
        p.assertLive();
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
    // Every parameter and gradient is checked before the first update, so a bad `.grad` (wrong
    // shape, dtype or device, disposed) throws with every parameter and state as it was.
    const work: [Tensor, Tensor, ParamGroup<O>][] = [];
    let index = 0;
    for (const group of this.paramGroups) {
      this.validate(group);
      for (const p of group.params) {
        const at = index++;
        if (p.grad === undefined || p.grad === null) continue;
        checkGradOf(p, p.grad, at);
        for (const [key, value] of Object.entries(this.state.get(p) ?? {})) {
          if (value instanceof Tensor && value.isDisposed) {
            throw new ValueError(`the optimizer state '${key}' of parameter ${at} was disposed; load a state dict or make a new optimizer`);
          }
        }
        work.push([p, p.grad, group]);
      }
    }
    noGrad(() => {
      for (const [p, grad, group] of work) {
        let state = this.state.get(p);
        if (state === undefined) this.state.set(p, (state = {}));
        this.update(p, grad, group, state);
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
    if (dict === null || typeof dict !== "object" || !Array.isArray(dict.paramGroups) || dict.state === null || typeof dict.state !== "object") {
      throw new LockstepError(`optimizer state dict must be { state, paramGroups }, got ${describeValue(dict)}`);
    }
    if (dict.paramGroups.length !== this.paramGroups.length) {
      throw new LockstepError(
        `loaded state dict has a different number of parameter groups (${dict.paramGroups.length} vs ${this.paramGroups.length})`,
      );
    }
    dict.paramGroups.forEach((g, i) => {
      if (g === null || typeof g !== "object" || !Array.isArray(g.params)) {
        throw new LockstepError(`loaded state dict: parameter group ${i} must be an object with params, got ${describeValue(g)}`);
      }
      if (g.params.length !== this.paramGroups[i]!.params.length) {
        throw new LockstepError(
          "loaded state dict contains a parameter group that doesn't match the size of optimizer's group " +
            `(group ${i}: ${g.params.length} vs ${this.paramGroups[i]!.params.length})`,
        );
      }
    });
    const params = this.paramGroups.flatMap((g) => g.params);
    // Hyperparameters and state are checked in full before anything is replaced.
    const merged = dict.paramGroups.map((g, i) => {
      const { params: _ignored, ...rest } = g;
      const group = { ...this.paramGroups[i]!, ...rest } as ParamGroup<O>;
      this.validate(group);
      return rest;
    });
    const entries: [Tensor, [string, Tensor | number][]][] = [];
    for (const key of Object.keys(dict.state)) {
      const value = (dict.state as Record<string, unknown>)[key];
      const p = params[Number(key)];
      if (p === undefined) continue;
      if (value === null || typeof value !== "object") {
        throw new LockstepError(`loaded state dict: state of parameter ${key} must be an object, got ${describeValue(value)}`);
      }
      const fields = Object.keys(value).map((k) => [k, (value as Record<string, unknown>)[k]] as [string, unknown]);
      for (const [k, v] of fields) {
        if (v instanceof Tensor) {
          v.assertLive();
          if (!sameShape(v.shape, p.shape) || v.device !== p.device || v.dtype !== p.dtype) {
            throw new LockstepError(
              `loaded state dict: state '${k}' of parameter ${key} is ${v.dtype} [${v.shape.join(", ")}] on ${v.device}, ` +
                `the parameter is ${p.dtype} [${p.shape.join(", ")}] on ${p.device}`,
            );
          }
        } else if (typeof v !== "number") {
          throw new LockstepError(`loaded state dict: state '${k}' of parameter ${key} must be a Tensor or a number, got ${describeValue(v)}`);
        }
      }
      entries.push([p, fields as [string, Tensor | number][]]);
    }
    // Copies, as PyTorch's deepcopy: the steps update state tensors in place.
    const copy = (v: Tensor | number) => (v instanceof Tensor ? keep(noGrad(() => v.clone())) : v);
    const state = entries.map(([p, fields]) => [p, Object.fromEntries(fields.map(([k, v]) => [k, copy(v)]))] as const);
    this.state.clear();
    for (const [p, s] of state) this.state.set(p, s);
    merged.forEach((rest, i) => Object.assign(this.paramGroups[i]!, rest));
  }
}

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((s, i) => s === b[i]);

/**
 * Checks that `grad` can update `p`, like PyTorch's checks on assigning `.grad` ("assigned grad has
 * data of a different size"): same shape, dtype and device, and not disposed.
 */
export function checkGradOf(p: Tensor, grad: unknown, index: number): asserts grad is Tensor {
  const name = `parameter ${index} (shape [${p.shape.join(", ")}])`;
  if (!(grad instanceof Tensor)) throw new ValueError(`the .grad of ${name} must be a Tensor, got ${describeValue(grad)}`);
  if (grad.isDisposed) throw new ValueError(`the .grad of ${name} was disposed; call zeroGrad() and run backward again`);
  p.assertLive();
  if (!sameShape(grad.shape, p.shape)) {
    throw new ShapeError(
      `assigned grad has data of a different size: the .grad of ${name} has shape [${grad.shape.join(", ")}]`,
    );
  }
  if (grad.dtype !== p.dtype) {
    throw new DTypeError(`assigned grad has data of a different type: the .grad of ${name} is ${grad.dtype}, the parameter ${p.dtype}`);
  }
  if (grad.device !== p.device) {
    throw new DeviceError(
      `assigned grad has data located on a different device: the .grad of ${name} is on ${grad.device}, the parameter on ${p.device}`,
    );
  }
}

/** A value as the user wrote it, for error messages: strings quoted, bigints with `n`, arrays in brackets. */
export function describeValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "symbol" || typeof value === "function") return String(value);
  if (Array.isArray(value)) return `[${value.map(describeValue).join(", ")}]`;
  if (value instanceof Tensor) return `a Tensor of shape [${value.shape.join(", ")}]`;
  if (value !== null && typeof value === "object") return `an object (${Object.prototype.toString.call(value)})`;
  return String(value);
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

/**
 * True when one fused in-place kernel (`op`) can update `p` and its state tensors: a float
 * parameter on a device whose backend registered the kernel, everything contiguous. Otherwise the
 * updaters run the same update as separate ops (same bits, more passes).
 */
export function canFuse(op: "sgdUpdate" | "adamUpdate", p: Tensor, states: readonly (Tensor | undefined)[]): boolean {
  if (!hasKernel(op, p.device) || (p.dtype !== "float32" && p.dtype !== "float64")) return false;
  return p.isContiguous() && states.every((t) => t === undefined || t.isContiguous());
}

/** Checks a hyperparameter that PyTorch requires to be a number >= 0 ("Invalid learning rate: -1"). */
export function checkNonNegative(name: string, value: unknown): void {
  if (typeof value !== "number" || !(value >= 0)) throw new ValueError(`Invalid ${name}: ${describeValue(value)}`);
}

/**
 * Checks an options object: an object (or undefined) whose keys are all known, like PyTorch's
 * "got an unexpected keyword argument".
 */
export function checkOptionKeys(owner: string, options: unknown, known: readonly string[]): void {
  if (options === undefined) return;
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new ValueError(`${owner}: options must be an object, got ${describeValue(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new ValueError(`${owner} got an unexpected option '${key}' (known: ${known.join(", ")})`);
  }
}

/** Checks a flag option (nesterov, amsgrad, maximize). */
export function checkBoolean(name: string, value: unknown): void {
  if (typeof value !== "boolean") throw new ValueError(`${name} must be a boolean, got ${describeValue(value)}`);
}
