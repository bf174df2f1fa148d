// ModuleList, ModuleDict and ParameterList: containers whose entries are registered children (or
// parameters) under their index or key, so that parameters(), stateDict(), to() and train() see
// them and state-dict keys read "layers.0.weight" / "blocks.encoder.bias" as in PyTorch. Entries
// live in the container's own fields, like any module's children, so the generic walks (to(),
// loadStateDict) read and replace them without knowing the container.
import { Tensor, ValueError } from "@lockstep/core";
import { Module, Parameter, parameterLines, type AnyModule } from "../module.js";

type Fields = Record<string, unknown>;

/** `index` (negative counts from the end) checked against `length`, as Python's list indexing. */
function position(what: string, index: number, length: number, allowEnd = false): number {
  if (!Number.isInteger(index)) throw new ValueError(`${what} index must be an integer, got ${String(index)}`);
  const i = index < 0 ? index + length : index;
  if (i < 0 || i > length || (i === length && !allowEnd)) {
    throw new ValueError(`index ${index} is out of range for a ${what} of length ${length}`);
  }
  return i;
}

/** Fields "0", "1", … of a list container, read back in order. */
abstract class NumberedList<T> extends Module<never[], never> {
  #length = 0;

  /** Number of entries. */
  get length(): number {
    return this.#length;
  }

  /** Checks one entry before it is stored; returns what to store. */
  protected abstract accept(value: unknown, where: string): T;

  /** The entry at `index` (negative counts from the end), like `list[i]`. Throws ValueError out of range. */
  at(index: number): T {
    return (this as unknown as Fields)[String(position(this.typeName(), index, this.#length))] as T;
  }

  /** Replaces the entry at `index`, like `list[i] = value`. */
  set(index: number, value: T): this {
    const i = position(this.typeName(), index, this.#length);
    (this as unknown as Fields)[String(i)] = this.accept(value, `set(${index})`);
    return this;
  }

  /** Adds `value` at the end, like list.append; returns this. */
  append(value: T): this {
    (this as unknown as Fields)[String(this.#length)] = this.accept(value, "append");
    this.#length++;
    return this;
  }

  /** Adds every value at the end, in order, like list.extend; all are checked before any is added. */
  extend(values: Iterable<T>): this {
    if (values === null || typeof (values as Partial<Iterable<T>>)?.[Symbol.iterator] !== "function") {
      throw new ValueError(`${this.typeName()}.extend should be called with an iterable, but got ${values === null ? "null" : typeof values}`);
    }
    const items = [...values].map((v, i) => this.accept(v, `extend (item ${i})`));
    for (const item of items) {
      (this as unknown as Fields)[String(this.#length)] = item;
      this.#length++;
    }
    return this;
  }

  /** Inserts `value` before `index` (which may equal the length), like list.insert. */
  insert(index: number, value: T): this {
    const i = position(this.typeName(), index, this.#length, true);
    const item = this.accept(value, `insert(${index})`);
    const fields = this as unknown as Fields;
    for (let k = this.#length; k > i; k--) fields[String(k)] = fields[String(k - 1)];
    fields[String(i)] = item;
    this.#length++;
    return this;
  }

  /** Removes and returns the entry at `index` (default the last), like list.pop; later entries move down. */
  pop(index = -1): T {
    const i = position(this.typeName(), index, this.#length);
    const fields = this as unknown as Fields;
    const item = fields[String(i)] as T;
    for (let k = i; k < this.#length - 1; k++) fields[String(k)] = fields[String(k + 1)];
    delete fields[String(this.#length - 1)];
    this.#length--;
    return item;
  }

  /** The entries in order, so that `for (const layer of list)` and `[...list]` work. */
  *[Symbol.iterator](): Iterator<T> {
    for (let i = 0; i < this.#length; i++) yield (this as unknown as Fields)[String(i)] as T;
  }

  protected override entries(): [string, unknown][] {
    const fields = this as unknown as Fields;
    return Array.from({ length: this.#length }, (_, i) => [String(i), fields[String(i)]]);
  }

  /** A container is not a layer: calling it throws, as calling a ModuleList does in PyTorch. */
  forward(): never {
    throw new ValueError(`${this.typeName()} is a container and has no forward: call its entries`);
  }
}

/**
 * Like torch.nn.ModuleList: a list of modules registered as children "0", "1", …, so their
 * parameters are found and state-dict keys read `layers.0.weight`. Index with `at(i)`, iterate
 * with `for…of`, grow with `append`, `extend`, `insert`.
 */
export class ModuleList<T extends AnyModule = AnyModule> extends NumberedList<T> {
  /** Like torch.nn.ModuleList(modules=None). Throws ValueError when an entry is not a Module. */
  constructor(modules: Iterable<T> = []) {
    super();
    this.extend(modules);
  }

  protected accept(value: unknown, where: string): T {
    if (!(value instanceof Module)) throw new ValueError(`ModuleList.${where}: expected a Module, got ${describe(value)}`);
    return value as T;
  }
}

/**
 * Like torch.nn.ParameterList: parameters registered under "0", "1", … (state-dict keys
 * `scales.0`). A plain tensor added to it becomes a Parameter (requiring grad), as in PyTorch.
 */
export class ParameterList extends NumberedList<Parameter> {
  /** Like torch.nn.ParameterList(values=None). Throws ValueError when an entry is not a tensor. */
  constructor(values: Iterable<Tensor> = []) {
    super();
    this.extend(values as Iterable<Parameter>);
  }

  protected accept(value: unknown, where: string): Parameter {
    if (!(value instanceof Tensor)) throw new ValueError(`ParameterList.${where}: expected a tensor, got ${describe(value)}`);
    value.assertLive();
    return value instanceof Parameter ? value : new Parameter(value);
  }

  /** One line per parameter, as PyTorch 1.13 prints a ParameterList (dtype in Lockstep's name). */
  override extraRepr(): string {
    return parameterLines(this.entries());
  }
}

/**
 * Like torch.nn.ModuleDict: modules registered as children under string keys, in insertion order
 * (state-dict keys `blocks.encoder.weight`). `get`, `set`, `has`, `delete`, `keys`, `values`,
 * `items`; iterating yields the keys, as iterating a dict does.
 */
export class ModuleDict<T extends AnyModule = AnyModule> extends Module<never[], never> {
  #order: string[] = [];

  /**
   * Like torch.nn.ModuleDict(modules=None), from an object or [key, module] pairs. Throws
   * ValueError for a non-Module value or a key that is empty, holds a ".", or names a member.
   */
  constructor(modules: Record<string, T> | Iterable<readonly [string, T]> = {}) {
    super();
    this.update(modules);
  }

  /** Number of entries. */
  get size(): number {
    return this.#order.length;
  }

  /** The module under `key`; throws ValueError when there is none, like dict[key]. */
  get(key: string): T {
    if (!this.has(key)) throw new ValueError(`ModuleDict has no key ${JSON.stringify(key)}`);
    return (this as unknown as Fields)[key] as T;
  }

  /** Whether `key` is present, like `key in dict`. */
  has(key: string): boolean {
    return this.#order.includes(key);
  }

  /** Adds or replaces the module under `key` (a new key goes last), like dict[key] = module. */
  set(key: string, module: T): this {
    this.#check(key, module);
    if (!this.has(key)) this.#order.push(key);
    (this as unknown as Fields)[key] = module;
    return this;
  }

  /** Removes and returns the module under `key`, like ModuleDict.pop. */
  delete(key: string): T {
    const module = this.get(key);
    this.#order = this.#order.filter((k) => k !== key);
    delete (this as unknown as Fields)[key];
    return module;
  }

  /** Adds every [key, module] pair, all checked before any is added, like ModuleDict.update. */
  update(modules: Record<string, T> | Iterable<readonly [string, T]>): this {
    if (modules === null || typeof modules !== "object") throw new ValueError(`ModuleDict.update expects an object or [key, module] pairs, got ${describe(modules)}`);
    const pairs: (readonly [string, T])[] =
      Symbol.iterator in modules ? [...(modules as Iterable<readonly [string, T]>)] : Object.keys(modules).map((k) => [k, (modules as Record<string, T>)[k]!] as const);
    pairs.forEach((pair) => {
      if (!Array.isArray(pair) || pair.length !== 2) throw new ValueError("ModuleDict.update: each entry must be a [key, module] pair");
      this.#check(pair[0], pair[1]);
    });
    for (const [key, module] of pairs) this.set(key, module);
    return this;
  }

  /** The keys in insertion order. */
  keys(): string[] {
    return [...this.#order];
  }

  /** The modules in insertion order. */
  values(): T[] {
    return this.#order.map((k) => (this as unknown as Fields)[k] as T);
  }

  /** [key, module] pairs in insertion order, like dict.items(). */
  items(): [string, T][] {
    return this.#order.map((k) => [k, (this as unknown as Fields)[k] as T]);
  }

  /** Iterates the keys, as iterating a Python dict does. */
  [Symbol.iterator](): Iterator<string> {
    return this.keys()[Symbol.iterator]();
  }

  protected override entries(): [string, unknown][] {
    return this.items();
  }

  /** A container is not a layer: calling it throws, as calling a ModuleDict does in PyTorch. */
  forward(): never {
    throw new ValueError("ModuleDict is a container and has no forward: call its modules");
  }

  #check(key: unknown, module: unknown): void {
    if (typeof key !== "string") throw new ValueError(`ModuleDict keys must be strings, got ${describe(key)}`);
    if (key === "" || key.includes(".")) throw new ValueError(`module name can't be empty or contain ".", got: ${JSON.stringify(key)}`);
    if (!this.has(key) && key in this) throw new ValueError(`attribute '${key}' already exists: a ModuleDict key cannot name a member`);
    if (!(module instanceof Module)) throw new ValueError(`ModuleDict: the value for ${JSON.stringify(key)} must be a Module, got ${describe(module)}`);
  }
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (value instanceof Tensor) return "a Tensor";
  if (typeof value === "object") return (value as object).constructor?.name ?? "an object";
  return typeof value;
}
