// Module and Parameter. A module finds its parameters, buffers and children by walking its own
// fields in the order they were assigned — the order PyTorch registers them — so state-dict keys
// ("0.weight", "encoder.bias") and parameter order match PyTorch's for the same model code.
import { noGrad } from "@lockstep/autograd";
import { DTYPES, DTypeError, LockstepError, formatValue, ShapeError, Tensor, ValueError, getBackend, isFloating, keep, type DType } from "@lockstep/core";
import { formatModule } from "./repr.js";

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
    for (const [key, value] of this.entries()) {
      if (value instanceof Module) yield [key, value];
      else {
        // Arrays and plain objects of modules or parameters are children too, walked like a
        // ModuleList / ModuleDict (keys "layers.0.weight"); a Map or Set of them is refused.
        const held = fieldContainer(this, key, value);
        if (held !== undefined) yield [key, held];
      }
    }
  }

  /** Direct child modules in assignment order, like torch's children(). */
  *children(): Generator<AnyModule> {
    for (const [, child] of this.namedChildren()) yield child;
  }

  /**
   * This module and every descendant, with dotted names ("" for this one), each module once (at
   * its first path), like torch's named_modules().
   */
  *namedModules(prefix = ""): Generator<[string, AnyModule]> {
    yield* this.#walk(prefix, new Set());
  }

  *#walk(prefix: string, seen: Set<AnyModule>): Generator<[string, AnyModule]> {
    if (seen.has(this)) return;
    seen.add(this);
    yield [prefix, this];
    for (const [name, child] of this.namedChildren()) yield* child.#walk(prefix ? `${prefix}.${name}` : name, seen);
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
    this.#applyBelow(fn, new Set());
    return this;
  }

  // As PyTorch, a module shared by two parents gets `fn` twice (an init function then draws what
  // PyTorch's draws); a child that is also an ancestor (a plain object pointing back up the tree)
  // is skipped instead of recursing forever.
  #applyBelow(fn: (module: AnyModule) => void, ancestors: Set<AnyModule>): void {
    ancestors.add(this);
    for (const child of this.children()) if (!ancestors.has(child)) child.#applyBelow(fn, ancestors);
    ancestors.delete(this);
    fn(this);
  }

  /**
   * Sets `requiresGrad` on every parameter of this module and its descendants (freeze with
   * `false`), like torch's requires_grad_(); returns this.
   */
  requiresGrad_(requiresGrad = true): this {
    if (typeof requiresGrad !== "boolean") throw new ValueError(`requiresGrad_ expects a boolean, got ${describe(requiresGrad)}`);
    for (const p of this.parameters()) p.requiresGrad_(requiresGrad);
    return this;
  }

  /**
   * The text inside this module's parentheses when printed, like torch's extra_repr(): layers
   * override it (`in_features=4, out_features=16, bias=True`); "" by default.
   */
  extraRepr(): string {
    return "";
  }

  /**
   * The name a printout starts with: the class name, like torch's _get_name(). Containers that
   * stand for a ModuleList (arrays held in fields, TransformerEncoder's layers) say so.
   */
  protected typeName(): string {
    return this.constructor.name;
  }

  /**
   * The module tree as PyTorch prints it:
   * `Sequential(\n  (0): Linear(in_features=4, out_features=16, bias=True)\n  (1): ReLU()\n)`.
   */
  toString(): string {
    return this.#repr(new Set());
  }

  // A child that is also an ancestor (a back reference in a plain object) prints as a marker
  // instead of recursing forever.
  #repr(ancestors: Set<AnyModule>): string {
    ancestors.add(this);
    const children = [...this.namedChildren()].map(([key, child]): [string, string] => [
      key,
      ancestors.has(child) ? `<cycle: ${child.typeName()}>` : child.#repr(ancestors),
    ]);
    ancestors.delete(this);
    return formatModule(this.typeName(), this.extraRepr(), children);
  }

  /** Makes `console.log(model)` in Node print `toString()` rather than the object's fields. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
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
    const plan = this.movePlan(checkTarget(target));
    const made: Tensor[] = [];
    const moved = new Map<Tensor, Tensor>();
    try {
      for (const { value } of plan) {
        if (!moved.has(value)) moved.set(value, adoptMoved(value, noGrad(() => value.to(target)), made));
      }
    } catch (error) {
      for (const t of made) t.dispose();
      throw error;
    }
    for (const { fields, key, value } of plan) fields[key] = moved.get(value)!;
    return this;
  }

  /**
   * Like `to(device)`, for moves that need an asynchronous read — from "webgpu" back to "cpu" —
   * and any other: `model = await model.toAsync("cpu")`. All-or-nothing like `to`: every
   * parameter and buffer is copied first, and fields change only once all copies exist; if one
   * fails, the copies are freed and the module is left as it was. Resolves to this module.
   */
  async toAsync(target: string): Promise<this> {
    const plan = this.movePlan(checkTarget(target));
    const made: Tensor[] = [];
    const moved = new Map<Tensor, Tensor>();
    try {
      for (const { value } of plan) {
        if (moved.has(value)) continue;
        // The copy starts with recording off (a cast joins no graph); the promise is boxed so
        // that recording is back on while the read is awaited.
        const { pending } = noGrad(() => ({ pending: value.toAsync(target) }));
        moved.set(value, adoptMoved(value, await pending, made));
      }
    } catch (error) {
      for (const t of made) t.dispose();
      throw error;
    }
    // Another await-free pass: a field that changed while the copies were read is still replaced
    // only if it holds the tensor that was copied.
    for (const { fields, key, value } of plan) if (fields[key] === value) fields[key] = moved.get(value)!;
    return this;
  }

  /**
   * The fields a move touches: every live tensor field of this module and its descendants
   * (floating ones only for a dtype cast, as in PyTorch: counters stay int). Checks the device
   * exists before anything is copied.
   */
  private movePlan(spec: ReturnType<typeof checkTarget>): { fields: Record<string, unknown>; key: string; value: Tensor }[] {
    const plan: { fields: Record<string, unknown>; key: string; value: Tensor }[] = [];
    for (const [, module] of this.namedModules()) {
      const fields = module as unknown as Record<string, unknown>;
      for (const [key, value] of module.entries()) {
        if (!(value instanceof Tensor)) continue;
        value.assertLive();
        if (spec.dtype !== undefined && !isFloating(value.dtype)) continue;
        plan.push({ fields, key, value });
      }
    }
    if (spec.device !== undefined) getBackend(spec.device);
    return plan;
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
    throw new ValueError(`${name} must be a ${allowZero ? "non-negative" : "positive"} integer, got ${formatValue(value)}`);
  }
}

export function checkShapeMatches(what: string, got: readonly number[], want: readonly number[]): void {
  if (got.join(",") !== want.join(",")) {
    throw new ShapeError(`${what}: expected shape [${want.join(", ")}], got [${got.join(", ")}]`);
  }
}

/**
 * An array or plain object held in a module field, walked as if it were a ModuleList or
 * ModuleDict: its modules are children and its parameters are parameters, under their index or
 * key. Reads and writes go to the array or object itself, so `to()` replaces tensors in place.
 */
class FieldContainer extends Module<never[], never> {
  readonly #target: unknown[] | Record<string, unknown>;

  constructor(target: unknown[] | Record<string, unknown>) {
    super();
    this.#target = target;
  }

  /** Defines an accessor per key, so that writes through the module land in the array/object. */
  refresh(): this {
    const target = this.#target as Record<string, unknown>;
    for (const [key] of this.entries()) {
      Object.defineProperty(this, key, {
        get: () => target[key],
        set: (value: unknown) => {
          target[key] = value;
        },
        enumerable: false,
        configurable: true,
      });
    }
    return this;
  }

  protected override entries(): [string, unknown][] {
    const t = this.#target;
    const pairs: [string, unknown][] = Array.isArray(t) ? t.map((v, i) => [String(i), v]) : Object.keys(t).map((k) => [k, t[k]]);
    if (pairs.some(([key, v]) => key === "training" && holdsModules(v, new Set()))) {
      throw new ValueError('a plain object of modules cannot use the key "training": use an nn.ModuleDict');
    }
    return pairs.filter(([key, v]) => key !== "training" && v !== undefined && v !== null);
  }

  protected override typeName(): string {
    const values = this.entries().map(([, v]) => v);
    const params = values.length > 0 && values.every((v) => v instanceof Parameter);
    return Array.isArray(this.#target) ? (params ? "ParameterList" : "ModuleList") : params ? "ParameterDict" : "ModuleDict";
  }

  override extraRepr(): string {
    return parameterLines(this.entries());
  }

  forward(): never {
    throw new ValueError(`a ${this.typeName()} held in a field has no forward: call its modules`);
  }
}

/** ParameterList's printout lines, as PyTorch 1.13 writes them (extra indentation included). */
export function parameterLines(entries: [string, unknown][]): string {
  return entries
    .filter(([, v]) => v instanceof Tensor)
    .map(([key, v]) => {
      const t = v as Tensor;
      const where = t.device === "cpu" ? "" : ` (${t.device})`;
      return `  (${key}): ${t instanceof Parameter ? "Parameter" : "Tensor"} containing: [${t.dtype} of size ${t.shape.join("x")}${where}]`;
    })
    .join("\n");
}

const containers = new WeakMap<object, FieldContainer>();

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object") return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Whether an array or plain object holds a module or parameter, at any depth. */
function holdsModules(value: unknown, seen: Set<object>): boolean {
  if (value instanceof Module || value instanceof Parameter) return true;
  if (!(Array.isArray(value) || isPlainObject(value)) || seen.has(value)) return false;
  seen.add(value);
  return Object.values(value).some((v) => holdsModules(v, seen));
}

/**
 * The container a field's array or plain object is walked as, or undefined when it holds no
 * module or parameter. A Map or Set that holds some cannot be walked and is refused, so that no
 * parameter is silently left out of parameters(), stateDict() or to().
 */
function fieldContainer(owner: AnyModule, key: string, value: unknown): AnyModule | undefined {
  if (value instanceof Map || value instanceof Set) {
    const items = value instanceof Map ? [...value.values()] : [...value];
    if (items.some((v) => holdsModules(v, new Set()))) {
      throw new ValueError(
        `${owner.constructor.name}.${key} is a ${value instanceof Map ? "Map" : "Set"} holding modules or parameters, which ` +
          "parameters(), stateDict() and to() cannot walk: hold them in an nn.ModuleDict, nn.ModuleList or nn.ParameterList, " +
          "a plain object or an array",
      );
    }
    return undefined;
  }
  if (!(Array.isArray(value) || isPlainObject(value)) || !holdsModules(value, new Set())) return undefined;
  let container = containers.get(value);
  if (container === undefined) {
    container = new FieldContainer(value);
    containers.set(value, container);
  }
  container.training = owner.training;
  return container.refresh();
}

/**
 * `out`, the moved copy of `value`, as the module will hold it: kept out of every enclosing scope
 * (the module owns it now), and a Parameter again when `value` was one — the Parameter aliases
 * `out`, whose own handle is dropped so that disposing the parameter frees the memory. Whatever it
 * makes goes into `made`, so a failed move can free it.
 */
function adoptMoved(value: Tensor, out: Tensor, made: Tensor[]): Tensor {
  if (out === value) return value;
  made.push(out);
  const held = keep(value instanceof Parameter ? new Parameter(out, value.requiresGrad) : out);
  if (held !== out) {
    made.push(held);
    out.dispose();
  }
  return held;
}
