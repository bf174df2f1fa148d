// Module and Parameter. A module finds its parameters, buffers and children by walking its own
// fields in the order they were assigned — the order PyTorch registers them — so state-dict keys
// ("0.weight", "encoder.bias") and parameter order match PyTorch's for the same model code.
import { noGrad } from "@lockstep/autograd";
import { DTYPES, DTypeError, LockstepError, ShapeError, Tensor, ValueError, getBackend, isFloating, keep, type DType } from "@lockstep/core";

const parameters = new WeakSet<Tensor>();

/**
 * A tensor that a module trains. `new Parameter(t)` returns a leaf sharing t's storage with
 * `requiresGrad` set; `x instanceof Parameter` tells parameters from other tensors.
 */
export class Parameter {
  /**
   * Like torch.nn.Parameter(data, requires_grad): a leaf sharing `data`'s storage, requiring grad
   * unless `requiresGrad` is false.
   */
  constructor(data: Tensor, requiresGrad = true) {
    const p = data.detach();
    p.requiresGrad_(requiresGrad);
    parameters.add(p);
    return p as unknown as Parameter;
  }

  /** Makes `x instanceof Parameter` true for tensors created by `new Parameter(...)`. */
  static [Symbol.hasInstance](value: unknown): boolean {
    return value instanceof Tensor && parameters.has(value);
  }
}
// Declaration merging: a Parameter has every Tensor member.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface Parameter extends Tensor {}

/** Error from loadStateDict: lists every problem at once, like PyTorch. */
export class StateDictError extends LockstepError {
  override name = "StateDictError";
}

/**
 * Tensors by dotted name ("0.weight", "encoder.bias"), as `Module.stateDict()` returns and
 * `loadStateDict` / `saveSafetensors` take.
 */
export type StateDict = Record<string, Tensor>;

/** Any module, whatever its forward's arguments and result: what containers and walks hold. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyModule = Module<any[], unknown>;

/**
 * Base class of layers and models, like torch.nn.Module. Subclasses assign parameters, buffers and
 * child modules to fields and implement `forward`; parameters are then found in assignment order,
 * as PyTorch registers them. `Args` and `Out` type `forward`: a layer taking a mask and returning a
 * pair is a `Module<[Tensor, Tensor?], [Tensor, Tensor]>`.
 */
export abstract class Module<Args extends unknown[] = Tensor[], Out = Tensor> {
  /** Training mode (dropout active); switch with `train()` / `eval()`. */
  training = true;
  #buffers = new Set<string>();

  /** Computes the module's output from its inputs (call it directly or through `call`). */
  abstract forward(...inputs: Args): Out;

  /** Same as `forward`, for symmetry with PyTorch's `module(x)`. */
  call(...inputs: Args): Out {
    return this.forward(...inputs);
  }

  /** Registers a non-trainable tensor that belongs in the state dict (e.g. running statistics). */
  registerBuffer(name: string, value: Tensor): void {
    this.#buffers.add(name);
    (this as unknown as Record<string, Tensor>)[name] = value;
  }

  /** Fields in assignment order; Sequential overrides this for its numbered children. */
  protected entries(): [string, unknown][] {
    return Object.entries(this).filter(([key]) => key !== "training");
  }

  /**
   * Direct child modules with their field names, in assignment order, like torch's
   * named_children().
   */
  *namedChildren(): Generator<[string, AnyModule]> {
    for (const [key, value] of this.entries()) if (value instanceof Module) yield [key, value];
  }

  /** Direct child modules in assignment order, like torch's children(). */
  *children(): Generator<AnyModule> {
    for (const [, child] of this.namedChildren()) yield child;
  }

  /** This module and every descendant, with dotted names ("" for this one). */
  *namedModules(prefix = ""): Generator<[string, AnyModule]> {
    yield [prefix, this];
    for (const [name, child] of this.namedChildren()) yield* child.namedModules(prefix ? `${prefix}.${name}` : name);
  }

  /**
   * Every parameter of this module and its descendants, with dotted names, each once, like torch's
   * named_parameters().
   */
  *namedParameters(prefix = ""): Generator<[string, Parameter]> {
    const seen = new Set<Tensor>();
    for (const [path, module] of this.namedModules(prefix)) {
      for (const [key, value] of module.entries()) {
        if (value instanceof Parameter && !seen.has(value)) {
          seen.add(value);
          yield [path ? `${path}.${key}` : key, value];
        }
      }
    }
  }

  /**
   * Every parameter of this module and its descendants, each once, in the order PyTorch gives; what
   * optimizers take.
   */
  parameters(): Parameter[] {
    return [...this.namedParameters()].map(([, p]) => p);
  }

  /**
   * Every registered buffer of this module and its descendants, with dotted names, like torch's
   * named_buffers().
   */
  *namedBuffers(prefix = ""): Generator<[string, Tensor]> {
    for (const [path, module] of this.namedModules(prefix)) {
      for (const key of module.#buffers) {
        const value = (module as unknown as Record<string, unknown>)[key];
        if (value instanceof Tensor) yield [path ? `${path}.${key}` : key, value];
      }
    }
  }

  /** Every registered buffer of this module and its descendants, like torch's buffers(). */
  buffers(): Tensor[] {
    return [...this.namedBuffers()].map(([, b]) => b);
  }

  /**
   * Sets training mode (dropout active) on this module and every descendant, like torch's train();
   * returns this.
   */
  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  /**
   * Sets evaluation mode (dropout off), like torch's eval(): same as `train(false)`; returns this.
   */
  eval(): this {
    return this.train(false);
  }

  /** Calls `fn` on every submodule (children first) and then on this module. */
  apply(fn: (module: AnyModule) => void): this {
    for (const child of this.children()) child.apply(fn);
    fn(this);
    return this;
  }

  /**
   * Sets the `.grad` of every parameter to undefined, like torch's zero_grad(set_to_none=True),
   * and frees the gradients' memory at once (clone a gradient first to keep it).
   */
  zeroGrad(): void {
    for (const p of this.parameters()) {
      p.grad?.dispose();
      p.grad = undefined;
    }
  }

  /**
   * Moves parameters and buffers to `device` (or casts them to a dtype). Parameters are new
   * tensors afterwards: create optimizers after moving the model, as PyTorch recommends. The
   * target is checked, and every tensor moved, before any field changes: if one move fails the
   * module is left as it was.
   */
  to(target: string): this {
    const spec = checkTarget(target);
    const plan: { fields: Record<string, unknown>; key: string; value: Tensor }[] = [];
    for (const [, module] of this.namedModules()) {
      const fields = module as unknown as Record<string, unknown>;
      for (const [key, value] of module.entries()) {
        if (!(value instanceof Tensor)) continue;
        value.assertLive();
        // As in PyTorch, a dtype casts floating parameters and buffers only (counters stay int).
        if (spec.dtype !== undefined && !isFloating(value.dtype)) continue;
        plan.push({ fields, key, value });
      }
    }
    if (spec.device !== undefined) getBackend(spec.device);
    const made: Tensor[] = [];
    const moved = new Map<Tensor, Tensor>();
    try {
      for (const { value } of plan) {
        if (moved.has(value)) continue;
        const out = noGrad(() => value.to(target));
        if (out === value) {
          moved.set(value, value);
          continue;
        }
        made.push(out);
        // The module owns what it holds from now on: no enclosing scope may free it. A Parameter
        // aliases `out`, whose own handle is dropped so that disposing the parameter frees the memory.
        const held = keep(value instanceof Parameter ? new Parameter(out, value.requiresGrad) : out);
        if (held !== out) {
          made.push(held);
          out.dispose();
        }
        moved.set(value, held);
      }
    } catch (error) {
      for (const t of made) t.dispose();
      throw error;
    }
    for (const { fields, key, value } of plan) fields[key] = moved.get(value)!;
    return this;
  }

  /** Parameters and buffers by dotted name, as PyTorch's state_dict() names them. */
  stateDict(): StateDict {
    const out: StateDict = {};
    for (const [name, p] of this.namedParameters()) setEntry(out, name, p.detach());
    for (const [name, b] of this.namedBuffers()) setEntry(out, name, b);
    return out;
  }

  /**
   * Copies tensors from `stateDict` into this module's parameters and buffers. Every key, shape
   * and dtype is checked first; on any problem nothing is changed.
   */
  loadStateDict(stateDict: StateDict, options: { strict?: boolean } = {}): { missingKeys: string[]; unexpectedKeys: string[] } {
    if (options === null || typeof options !== "object") throw new ValueError(`loadStateDict options must be an object, got ${String(options)}`);
    const strict = options.strict ?? true;
    if (typeof strict !== "boolean") throw new ValueError(`loadStateDict: strict must be a boolean, got ${describe(strict)}`);
    if (stateDict === null || typeof stateDict !== "object" || stateDict instanceof Tensor || Array.isArray(stateDict)) {
      throw new ValueError("loadStateDict expects an object of tensors");
    }
    // Own keys only, read as data: "__proto__" or "constructor" are names like any other, and a
    // Map works as well as an object.
    const given = new Map<string, unknown>(
      stateDict instanceof Map ? [...(stateDict as Map<unknown, unknown>)].map(([k, v]) => [String(k), v]) : Object.keys(stateDict).map((k) => [k, (stateDict as Record<string, unknown>)[k]]),
    );
    const own = new Map<string, Tensor>([...this.namedParameters(), ...this.namedBuffers()]);
    const missingKeys = [...own.keys()].filter((k) => !given.has(k));
    const unexpectedKeys = [...given.keys()].filter((k) => !own.has(k));
    const problems: string[] = [];
    // PyTorch's order: missing keys, unexpected keys, then the per-tensor problems.
    if (strict && missingKeys.length) problems.push(`Missing key(s) in state_dict: ${missingKeys.map((k) => `"${k}"`).join(", ")}. `);
    if (strict && unexpectedKeys.length) problems.push(`Unexpected key(s) in state_dict: ${unexpectedKeys.map((k) => `"${k}"`).join(", ")}. `);
    const copies: [Tensor, Tensor][] = [];
    for (const [key, target] of own) {
      if (!given.has(key)) continue;
      const source = given.get(key);
      if (!(source instanceof Tensor)) {
        problems.push(`While copying the parameter named "${key}", expected a tensor but got ${describe(source)}.`);
      } else if (source.isDisposed) {
        problems.push(`While copying the parameter named "${key}", the checkpoint tensor was disposed.`);
      } else if (target.isDisposed) {
        problems.push(`While copying the parameter named "${key}", the model's tensor was disposed.`);
      } else if (source.shape.join(",") !== target.shape.join(",")) {
        problems.push(
          `size mismatch for ${key}: copying a param with shape [${source.shape.join(", ")}] from checkpoint, ` +
            `the shape in current model is [${target.shape.join(", ")}].`,
        );
      } else if (source.device !== target.device) {
        problems.push(`device mismatch for ${key}: checkpoint tensor is on ${source.device}, the model's on ${target.device}.`);
      } else if (source.dtype !== target.dtype && !(isFloating(source.dtype) && isFloating(target.dtype))) {
        // PyTorch's copy_ would cast any dtype; a float checkpoint into an int buffer (or back)
        // is almost always the wrong file, so only float-to-float casts are taken silently.
        problems.push(`dtype mismatch for ${key}: copying a param of dtype ${source.dtype} from checkpoint, the dtype in current model is ${target.dtype}.`);
      } else {
        copies.push([target, source]);
      }
    }
    if (problems.length) {
      throw new StateDictError(`Error(s) in loading state_dict for ${this.constructor.name}:\n\t${problems.join("\n\t")}`);
    }
    noGrad(() => {
      // A source that shares memory with another target (a state dict of this very model, with
      // keys swapped) is copied first, so no copy reads what an earlier one overwrote.
      const targets = copies.map(([t]) => t);
      const sources = copies.map(([target, source]) =>
        targets.some((t) => t !== target && t.sharesStorageWith(source)) ? source.clone() : source,
      );
      copies.forEach(([target], i) => target.copy_(sources[i]!));
      sources.forEach((s, i) => {
        if (s !== copies[i]![1]) s.dispose();
      });
    });
    return { missingKeys, unexpectedKeys };
  }
}

/** Sets `name` as an own data property, so that "__proto__" is stored as a key, not as the prototype. */
function setEntry(out: StateDict, name: string, value: Tensor): void {
  Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (value === null) return "null";
  return typeof value;
}

/** The device or dtype `Module.to` was given, checked before anything moves. */
function checkTarget(target: unknown): { device?: string; dtype?: DType } {
  if (typeof target !== "string" || target.length === 0) {
    throw new ValueError(`Module.to() expects a device name ("cpu", "webgpu") or a dtype, got ${describe(target)}`);
  }
  if (!(DTYPES as readonly string[]).includes(target)) return { device: target };
  if (!isFloating(target as DType)) {
    throw new DTypeError(`nn.Module.to only accepts floating point dtypes, but got desired dtype=${target}`);
  }
  return { dtype: target as DType };
}

/** Checks a layer argument and names it in the error, like PyTorch's constructors. */
export function checkPositiveInt(name: string, value: number, allowZero = true): void {
  if (!Number.isInteger(value) || value < 0 || (!allowZero && value === 0)) {
    throw new ValueError(`${name} must be a ${allowZero ? "non-negative" : "positive"} integer, got ${value}`);
  }
}

export function checkShapeMatches(what: string, got: readonly number[], want: readonly number[]): void {
  if (got.join(",") !== want.join(",")) {
    throw new ShapeError(`${what}: expected shape [${want.join(", ")}], got [${got.join(", ")}]`);
  }
}
