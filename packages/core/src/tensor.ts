// The Tensor handle: shape, strides and offset over a shared storage, plus the fields autograd
// needs. Every method is a one-line delegation to the op family file that implements it, so this
// file is the table of contents of the tensor API.
import type { Backend, Storage, View } from "./backend.js";
import type { DType, DataArray } from "./dtype.js";
import { DisposedError, DeviceError, DTypeError, LockstepError, LockstepTypeError, ValueError } from "./errors.js";
import { formatTensor } from "./format.js";
import { contiguousStrides, numel, type Shape } from "./shape.js";
import { extensionState, state } from "./state.js";
import * as ew from "./ops/elementwise.js";
import * as red from "./ops/reduce.js";
import * as vw from "./ops/views.js";
import * as join from "./ops/join.js";
import * as idx from "./ops/indexing.js";
import * as la from "./ops/linalg.js";
import * as inplace from "./ops/inplace.js";
import * as aip from "./ops/arithmetic-inplace.js";
import * as adv from "./ops/advanced-indexing.js";
import * as sorting from "./ops/sorting.js";
import * as shaping from "./ops/shaping.js";
import { isFloating } from "./dtype.js";
import { checkBool, checkFunction, checkNumber, checkObject, checkOptionalDim, checkOptions, checkSizes, checkTensor, formatValue } from "./validate.js";

/** Shared by every view of one storage: reference count and in-place version counter. */
interface StorageHandle {
  readonly storage: Storage;
  readonly backend: Backend;
  refs: number;
  /** Bumped by every in-place write; autograd compares it with the version it saved. */
  version: number;
  /** Bumped when an in-place op gives the storage's tensor a new autograd history. */
  rebases: number;
  /** See `View.stamp`: renewed with every version, never reused in the process. */
  stamp: number;
}

/** The next `View.stamp`, from a counter in the shared state so two package copies never collide. */
const stamps = extensionState("core.contentStamps", () => ({ next: 1 }));
const newStamp = (): number => stamps.next++;

/** What autograd attaches to a tensor; opaque to core except for the name. */
export interface GradNode {
  /** Name of the backward function, as PyTorch prints it ("AddBackward0"). */
  readonly name: string;
}

/** A JS value that stands for a 0-d tensor: a number or a boolean. */
export type Scalar = number | boolean;
/** What ops accept as an operand: a tensor, or a scalar that broadcasts like a 0-d tensor. */
export type TensorLike = Tensor | Scalar;
/**
 * Nested JS arrays of numbers or booleans, as `tensor()` accepts and `toArray()` returns; a bare
 * scalar for 0-d.
 */
export type NestedArray = Scalar | readonly NestedArray[];
type ShapeArgs = number[] | [readonly number[]];

/**
 * Node's `util.inspect.custom` symbol, spelled with `Symbol.for` so neither the code nor the public
 * types depend on Node: `console.log(t)` in Node prints `t.toString()`.
 */
const INSPECT: unique symbol = Symbol.for("nodejs.util.inspect.custom") as never;

/**
 * What `JSON.stringify(t)` writes: see `Tensor.toJSON`. `tensor(j.data, { dtype: j.dtype })`
 * rebuilds the tensor when every value is finite (JSON turns NaN and ±Infinity into null).
 */
export interface TensorJSON {
  /** The tensor's dtype. */
  dtype: DType;
  /** The tensor's shape. */
  shape: number[];
  /** The values as nested arrays (booleans for bool tensors; NaN and ±Infinity become null in JSON). */
  data: NestedArray;
}

/** `f(2, 3)` or `f([2, 3])`: the sizes as one list, type-checked (a list plus more arguments is refused). */
function shapeFromArgs(fn: string, arg: string, args: ShapeArgs): number[] {
  if (Array.isArray(args[0])) {
    if (args.length > 1) {
      throw new LockstepTypeError(`${fn}(): argument '${arg}' must be tuple of ints, not ${formatValue(args)}`);
    }
    return checkSizes(fn, arg, args[0]);
  }
  return checkSizes(fn, arg, args);
}

/**
 * `a` itself when it is already frozen (another tensor's shape or strides: sharing is safe, and
 * freezing a fresh array is the costliest step of making a tensor), else a frozen copy.
 */
function frozenCopy(a: readonly number[]): readonly number[] {
  return Object.isFrozen(a) ? a : Object.freeze(a.slice());
}

/** Frozen row-major strides of frozen shapes, so outputs shaped like an input share both arrays. */
const stridesOfShape = new WeakMap<readonly number[], readonly number[]>();

function rowMajorStrides(shape: Shape): readonly number[] {
  if (!Object.isFrozen(shape)) return contiguousStrides(shape);
  let strides = stridesOfShape.get(shape);
  if (strides === undefined) stridesOfShape.set(shape, (strides = Object.freeze(contiguousStrides(shape))));
  return strides;
}

/**
 * An n-dimensional array on a device, like torch.Tensor: a shape, strides and offset over a storage
 * shared with its views, plus autograd fields. Create one with `tensor`, `zeros`, `randn`, ...;
 * free its memory early with `dispose()` or `scope()`.
 */
export class Tensor {
  /** Sizes of the dimensions (torch's `.shape`); `[]` for a 0-d tensor. */
  readonly shape: readonly number[];
  /**
   * Storage elements between neighbours along each dim, like torch's `stride()`; 0 for broadcast
   * dims.
   */
  readonly strides: readonly number[];
  /** Index of element [0, 0, ...] in the storage, like torch's `storage_offset()`. */
  readonly offset: number;
  /** Element type. */
  readonly dtype: DType;
  /** Device holding the storage ("cpu", "webgpu"). */
  readonly device: string;
  #handle: StorageHandle;
  #disposed = false;
  /** For a view (not a detach): the tensor it was first taken from, whose leaf status in-place checks need. */
  #viewBase: Tensor | undefined = undefined;
  /** The storage's `rebases` count when this view was taken (see `hasStaleViewHistory`). */
  #rebasesAtView = 0;
  /** The last `storageView` made, reused while its stamp is current. */
  #view: View | undefined = undefined;

  /** Set through `requiresGrad_()` or the `requiresGrad` creation option. */
  #requiresGrad = false;
  /** Accumulated gradient of a leaf (or of a tensor that called `retainGrad()`). */
  grad: Tensor | undefined = undefined;
  /** The node that produced this tensor; undefined for leaves. Set by autograd. */
  gradFn: GradNode | undefined = undefined;
  /** Autograd's per-tensor bookkeeping (hooks, retainGrad); opaque to core. */
  autogradMeta: unknown = undefined;

  private constructor(handle: StorageHandle, shape: Shape, strides: readonly number[], offset: number) {
    this.#handle = handle;
    this.shape = frozenCopy(shape);
    this.strides = frozenCopy(strides);
    this.offset = offset;
    this.dtype = handle.storage.dtype;
    this.device = handle.storage.device;
    const scope = state.scopes[state.scopes.length - 1];
    if (scope !== undefined) scope.add(this);
  }

  /** @internal Wraps freshly allocated storage. */
  static fromStorage(storage: Storage, backend: Backend, shape: Shape, strides = rowMajorStrides(shape)): Tensor {
    return new Tensor({ storage, backend, refs: 1, version: 0, rebases: 0, stamp: newStamp() }, shape, strides, 0);
  }

  /**
   * @internal A new tensor over the same storage (used by views and detach). A view remembers its
   * base, so an in-place write through it can be refused when the base is a leaf that requires
   * grad; a detach (`isView` false) does not, as in PyTorch.
   */
  aliasWith(shape: Shape, strides: readonly number[], offset: number, isView = true): Tensor {
    this.assertLive();
    this.#handle.refs++;
    const out = new Tensor(this.#handle, shape, strides, offset);
    if (isView) {
      out.#viewBase = this.#viewBase ?? this;
      out.#rebasesAtView = this.#handle.rebases;
    }
    return out;
  }

  /** @internal The tensor this view was taken from (following views to the first), or undefined. */
  get viewBase(): Tensor | undefined {
    return this.#viewBase;
  }

  /** @internal The strided view kernels read and write. */
  get storageView(): View {
    this.assertLive();
    const { storage, stamp } = this.#handle;
    // Kept while the contents' stamp stands (every field but the stamp is fixed for a tensor), so
    // a tensor read by many launches (a weight, an activation) makes its view once per version.
    let view = this.#view;
    if (view === undefined || view.stamp !== stamp) {
      view = { storage, dtype: this.dtype, shape: this.shape, strides: this.strides, offset: this.offset, stamp };
      this.#view = view;
    }
    return view;
  }

  /** @internal */
  get backend(): Backend {
    return this.#handle.backend;
  }

  /** In-place version counter shared by all views of the storage. */
  get version(): number {
    return this.#handle.version;
  }

  /**
   * @internal True for a view taken before an in-place op gave its storage a new autograd
   * history: PyTorch would rebase the view's history, Lockstep refuses to use it in autograd.
   */
  get hasStaleViewHistory(): boolean {
    return this.#viewBase !== undefined && this.#rebasesAtView !== this.#handle.rebases;
  }

  /** @internal Called on a view whose own history an in-place op has just rebased. */
  refreshViewHistory(): void {
    this.#rebasesAtView = this.#handle.rebases;
  }

  /** @internal Called by in-place ops that link a new autograd history to the storage. */
  markHistoryRebased(): void {
    this.#handle.rebases++;
  }

  /** @internal Marks an in-place write to the storage. */
  bumpVersion(): void {
    this.#handle.version++;
    this.#handle.stamp = newStamp();
  }

  /** @internal True when two tensors share storage. */
  sharesStorageWith(other: Tensor): boolean {
    return this.#handle === other.#handle;
  }

  /** Number of dimensions, like torch's `ndim`. */
  get ndim(): number {
    return this.shape.length;
  }

  /** Number of elements. */
  numel(): number {
    return numel(this.shape);
  }

  /**
   * Like torch.Tensor.size: the shape, or the size of `dim` (negative counts from the end). Throws
   * IndexError for a dim out of range.
   */
  size(dim?: number): number | readonly number[] {
    const d = checkOptionalDim("size", "dim", dim);
    return d === undefined ? this.shape : this.shape[vw.dimIndex(this, d)]!;
  }

  /**
   * Whether the elements are laid out in row-major order without gaps, like
   * torch.Tensor.is_contiguous.
   */
  isContiguous(): boolean {
    return vw.isContiguousView(this);
  }

  /** True after `dispose()`; using the tensor then throws DisposedError. */
  get isDisposed(): boolean {
    return this.#disposed;
  }

  /** @internal Throws when the tensor was disposed. */
  assertLive(): void {
    if (this.#disposed) {
      throw new DisposedError(`tensor of shape [${this.shape.join(", ")}] on ${this.device} was disposed and cannot be used`);
    }
  }

  /** Frees the tensor's memory now (when no other view shares it). Safe to call twice. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    if (--this.#handle.refs === 0) this.#handle.backend.release(this.#handle.storage);
  }

  /** Calls `dispose()`, so `using t = ...` frees the tensor at the end of the block. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  // ---- reading ----------------------------------------------------------------------------

  /** The elements in row-major order, as a fresh typed array. */
  async data(): Promise<DataArray> {
    const { tensor, owned } = this.#denseCopy();
    try {
      return await tensor.#handle.backend.read(tensor.#handle.storage);
    } finally {
      if (owned) tensor.dispose();
    }
  }

  /** Synchronous `data()`; only for devices whose memory the CPU can read directly. */
  dataSync(): DataArray {
    this.assertLive();
    if (this.#handle.backend.readSync === undefined) {
      throw new DeviceError(
        `dataSync() is not available for tensors on '${this.device}': its memory can only be read asynchronously. ` +
          "Use `await t.data()` instead.",
      );
    }
    const { tensor, owned } = this.#denseCopy();
    try {
      return tensor.#handle.backend.readSync!(tensor.#handle.storage);
    } finally {
      if (owned) tensor.dispose();
    }
  }

  /** Nested arrays like the tensor's shape (booleans for bool tensors); a plain value for 0-d tensors. */
  async toArray(): Promise<NestedArray> {
    return nest(await this.data(), this.shape, this.dtype);
  }

  /** Synchronous `toArray()` for CPU tensors. */
  toArraySync(): NestedArray {
    return nest(this.dataSync(), this.shape, this.dtype);
  }

  /**
   * The single value of a one-element tensor: a boolean for bool tensors, else a number. Typed
   * `number` unless the tensor is statically known to be bool (`Tensor & { dtype: "bool" }`), so
   * `(await loss.item()).toFixed(4)` type-checks.
   */
  async item(this: Tensor & { readonly dtype: "bool" }): Promise<boolean>;
  /** The single value of a one-element tensor, typed `number` (a bool tensor gives a boolean at run time). */
  async item(): Promise<number>;
  async item(): Promise<Scalar> {
    this.#checkItem();
    return scalarOf((await this.data())[0]!, this.dtype);
  }

  /**
   * Synchronous `item()`, for devices the CPU can read directly. Throws ValueError unless the
   * tensor has exactly one element.
   */
  itemSync(this: Tensor & { readonly dtype: "bool" }): boolean;
  /** Synchronous `item()`, typed `number` (a bool tensor gives a boolean at run time). */
  itemSync(): number;
  itemSync(): Scalar {
    this.#checkItem();
    return scalarOf(this.dataSync()[0]!, this.dtype);
  }

  #checkItem(): void {
    this.assertLive();
    if (this.numel() !== 1) {
      throw new ValueError(`a Tensor with ${this.numel()} elements cannot be converted to Scalar`);
    }
  }

  /** A contiguous tensor whose storage is exactly the elements (this one when it already is). */
  #denseCopy(): { tensor: Tensor; owned: boolean } {
    this.assertLive();
    if (this.offset === 0 && this.isContiguous() && this.#handle.storage.length === this.numel()) {
      return { tensor: this, owned: false };
    }
    return { tensor: vw.copyToContiguous(this), owned: true };
  }

  /** PyTorch's printed form, e.g. `tensor([[3.],\n        [7.]])`. Needs CPU-readable memory. */
  toString(): string {
    if (this.#disposed) return "tensor(<disposed>)";
    if (this.#handle.backend.readSync === undefined) return `tensor(<${this.shape.join("x")} on ${this.device}>)`;
    return formatTensor(this.dataSync(), this.shape, this.dtype, this.#suffixes());
  }

  /** Node's `util.inspect` hook: `console.log(t)` prints `toString()` (PyTorch's repr). */
  [INSPECT](): string {
    return this.toString();
  }

  /**
   * `JSON.stringify(t)` support: `{ dtype, shape, data }` with the values as nested arrays (see
   * TensorJSON). Reads synchronously, so a tensor on a device the CPU cannot read (webgpu) throws
   * DeviceError: move it first with `await t.toAsync("cpu")`.
   */
  toJSON(): TensorJSON {
    this.assertLive();
    if (this.#handle.backend.readSync === undefined) {
      throw new DeviceError(
        `toJSON() cannot read a tensor on '${this.device}' synchronously: call \`await t.toAsync("cpu")\` (or \`await t.toArray()\`) first`,
      );
    }
    return { dtype: this.dtype, shape: [...this.shape], data: this.toArraySync() };
  }

  /** `toString()` for tensors on any device. */
  async format(): Promise<string> {
    return formatTensor(await this.data(), this.shape, this.dtype, this.#suffixes());
  }

  #suffixes(): string[] {
    const out: string[] = [];
    if (this.device !== "cpu") out.push(`device='${this.device}'`);
    if (this.dtype !== "float32" && this.dtype !== "bool") out.push(`dtype=${this.dtype}`);
    if (this.gradFn !== undefined) out.push(`gradFn=<${this.gradFn.name}>`);
    else if (this.#requiresGrad) out.push("requiresGrad=true");
    return out;
  }

  // ---- autograd surface (implemented by @lockstep/autograd) ---------------------------------

  /**
   * Whether autograd tracks ops on this tensor, like torch's `requires_grad`. Set with
   * `requiresGrad_()`.
   */
  get requiresGrad(): boolean {
    return this.#requiresGrad;
  }

  /** Marks a leaf as needing gradients (floating dtypes only). */
  requiresGrad_(requiresGrad = true): this {
    this.assertLive();
    checkBool("requiresGrad_", "requiresGrad", requiresGrad);
    if (requiresGrad && !isFloating(this.dtype)) {
      throw new DTypeError(`only Tensors of floating point dtype can require gradients (got ${this.dtype})`);
    }
    if (!requiresGrad && this.gradFn !== undefined) {
      throw new LockstepError(
        "you can only change requiresGrad flags of leaf variables. If you want to use a computed variable in a " +
          "subgraph that doesn't require differentiation use detach().",
      );
    }
    this.#requiresGrad = requiresGrad;
    return this;
  }

  /** @internal Used by autograd to mark computed outputs. */
  setRequiresGradUnchecked(value: boolean): void {
    this.#requiresGrad = value;
  }

  /** True for tensors not produced by a tracked op (no `gradFn`), like torch's `is_leaf`. */
  get isLeaf(): boolean {
    return this.gradFn === undefined;
  }

  /** A tensor sharing storage with this one, outside the graph. */
  detach(): Tensor {
    return this.aliasWith(this.shape, this.strides, this.offset, false);
  }

  /** Computes gradients of this tensor (a scalar, or pass `gradient`) into the leaves' `.grad`. */
  backward(gradient?: Tensor, options: { retainGraph?: boolean } = {}): void {
    this.assertLive();
    if (gradient !== undefined) checkTensor("backward", "gradient", gradient);
    checkOptions("backward", options, { retainGraph: checkBool });
    autogradHooks("backward").backward(this, gradient, options);
  }

  /** Keeps this non-leaf tensor's gradient in `.grad` after backward (leaves always keep theirs). */
  retainGrad(): void {
    autogradHooks("retainGrad").retainGrad(this);
  }

  /** True when `retainGrad()` was called on this non-leaf tensor. */
  get retainsGrad(): boolean {
    return state.autograd?.retainsGrad(this) ?? false;
  }

  /**
   * Calls `hook(grad)` each time backward computes this tensor's gradient; a returned tensor
   * replaces the gradient. `handle.remove()` unregisters it.
   */
  registerHook(hook: (grad: Tensor) => Tensor | void): { remove(): void } {
    this.assertLive();
    checkFunction("register_hook", "hook", hook);
    return autogradHooks("registerHook").registerHook(this, hook);
  }

  // ---- device and dtype ---------------------------------------------------------------------

  /** `t.to("float64")` casts, `t.to("webgpu")` moves; returns this when nothing changes. */
  to(target: DType | string | { dtype?: DType; device?: string }): Tensor {
    return ew.to(this, target);
  }

  /** Like `to()`, but also moves off devices that can only be read asynchronously (webgpu → cpu). */
  async toAsync(target: DType | string | { dtype?: DType; device?: string }): Promise<Tensor> {
    return ew.toAsync(this, target);
  }

  /** This tensor as float32 (itself when already float32). */
  float(): Tensor { return ew.cast(this, "float32"); }
  /** This tensor as float64 (itself when already float64). */
  double(): Tensor { return ew.cast(this, "float64"); }
  /** This tensor as int32, truncating toward zero (itself when already int32). */
  int(): Tensor { return ew.cast(this, "int32"); }
  /** This tensor as bool: true where non-zero (itself when already bool). */
  bool(): Tensor { return ew.cast(this, "bool"); }
  /**
   * Like torch.Tensor.clone: a contiguous copy with its own storage; gradients flow back to this
   * tensor.
   */
  clone(): Tensor { return vw.clone(this); }

  // ---- elementwise --------------------------------------------------------------------------

  /** Like torch.Tensor.add: `this + alpha * other` with broadcasting (see `add`). */
  add(other: TensorLike, options?: { alpha?: number }): Tensor { return ew.add(this, other, options); }
  /** Like torch.Tensor.sub: `this - alpha * other` with broadcasting (see `sub`). */
  sub(other: TensorLike, options?: { alpha?: number }): Tensor { return ew.sub(this, other, options); }
  /** Like torch.Tensor.mul: elementwise product with broadcasting. */
  mul(other: TensorLike): Tensor { return ew.mul(this, other); }
  /** Like torch.Tensor.div: true division; integer operands give float32. */
  div(other: TensorLike): Tensor { return ew.div(this, other); }
  /** Like torch.Tensor.pow: `this ** exponent` elementwise. */
  pow(exponent: TensorLike): Tensor { return ew.pow(this, exponent); }
  /** Like torch.Tensor.maximum: elementwise larger value (NaN wins). */
  maximum(other: Tensor): Tensor { return ew.maximum(this, other); }
  /** Like torch.Tensor.minimum: elementwise smaller value (NaN wins). */
  minimum(other: Tensor): Tensor { return ew.minimum(this, other); }
  /** Bool tensor of `this == other`, like torch.Tensor.eq. */
  eq(other: TensorLike): Tensor { return ew.eq(this, other); }
  /** Bool tensor of `this != other`, like torch.Tensor.ne. */
  ne(other: TensorLike): Tensor { return ew.ne(this, other); }
  /** Bool tensor of `this < other`, like torch.Tensor.lt. */
  lt(other: TensorLike): Tensor { return ew.lt(this, other); }
  /** Bool tensor of `this <= other`, like torch.Tensor.le. */
  le(other: TensorLike): Tensor { return ew.le(this, other); }
  /** Bool tensor of `this > other`, like torch.Tensor.gt. */
  gt(other: TensorLike): Tensor { return ew.gt(this, other); }
  /** Bool tensor of `this >= other`, like torch.Tensor.ge. */
  ge(other: TensorLike): Tensor { return ew.ge(this, other); }
  /** Like torch.Tensor.logical_and: true where both are non-zero. */
  logicalAnd(other: TensorLike): Tensor { return ew.logicalAnd(this, other); }
  /** Like torch.Tensor.logical_or: true where either is non-zero. */
  logicalOr(other: TensorLike): Tensor { return ew.logicalOr(this, other); }
  /** Like torch.Tensor.logical_not: true where this is zero. */
  logicalNot(): Tensor { return ew.logicalNot(this); }
  /** Like torch.Tensor.neg: `-this`. Throws DTypeError for bool tensors. */
  neg(): Tensor { return ew.neg(this); }
  /** Like torch.Tensor.exp; int and bool tensors give float32. */
  exp(): Tensor { return ew.exp(this); }
  /** Like torch.Tensor.log (natural logarithm); int and bool tensors give float32. */
  log(): Tensor { return ew.log(this); }
  /** Like torch.Tensor.sqrt; int and bool tensors give float32. */
  sqrt(): Tensor { return ew.sqrt(this); }
  /** Like torch.Tensor.rsqrt: `1 / sqrt(this)`; int and bool tensors give float32. */
  rsqrt(): Tensor { return ew.rsqrt(this); }
  /** Like torch.Tensor.abs. Throws DTypeError for bool tensors. */
  abs(): Tensor { return ew.abs(this); }
  /** Like torch.Tensor.sign: -1, 0 or 1 per element. */
  sign(): Tensor { return ew.sign(this); }
  /** Like torch.Tensor.relu: `max(this, 0)`. */
  relu(): Tensor { return ew.relu(this); }
  /** Like torch.Tensor.sigmoid: `1 / (1 + exp(-this))`. */
  sigmoid(): Tensor { return ew.sigmoid(this); }
  /** Like torch.Tensor.tanh. */
  tanh(): Tensor { return ew.tanh(this); }
  /** Like torch.Tensor.erf (Gauss error function). */
  erf(): Tensor { return ew.erf(this); }
  /**
   * GELU of this tensor, exact (erf) or with `approximate: "tanh"`, like torch.nn.functional.gelu.
   */
  gelu(options?: { approximate?: "none" | "tanh" }): Tensor { return ew.gelu(this, options); }
  /**
   * Like torch.Tensor.clamp: each element limited to [min, max] (either bound may be omitted, not
   * both).
   */
  clamp(min?: number | Tensor, max?: number | Tensor): Tensor { return ew.clamp(this, min, max); }
  /** Like torch.Tensor.where: this where `condition` (bool) is true, else `other`. */
  where(condition: Tensor, other: TensorLike): Tensor { return ew.where(condition, this, other); }
  /**
   * Like torch.Tensor.masked_fill: `value` where the bool `mask` is true, this elsewhere (a new
   * tensor).
   */
  maskedFill(mask: Tensor, value: TensorLike): Tensor { return idx.maskedFill(this, mask, value); }

  // ---- reductions ---------------------------------------------------------------------------

  /**
   * Like torch.Tensor.sum: sum over `dim` (one, a list, or all when omitted); bool and int32 sum to
   * int32.
   */
  sum(dim?: number | readonly number[], keepdim?: boolean): Tensor { return red.sum(this, dim, keepdim); }
  /** Like torch.Tensor.mean: mean over `dim` (one, a list, or all). Floating tensors only. */
  mean(dim?: number | readonly number[], keepdim?: boolean): Tensor { return red.mean(this, dim, keepdim); }
  /** Like torch.Tensor.prod: product over `dim`, or over all elements when omitted. */
  prod(dim?: number, keepdim?: boolean): Tensor { return red.prod(this, dim, keepdim); }
  /** Like torch.Tensor.amax: maximum over `dim` (one, a list, or all), values only. */
  amax(dim?: number | readonly number[], keepdim?: boolean): Tensor { return red.amax(this, dim, keepdim); }
  /** Like torch.Tensor.amin: minimum over `dim` (one, a list, or all), values only. */
  amin(dim?: number | readonly number[], keepdim?: boolean): Tensor { return red.amin(this, dim, keepdim); }
  /** Like torch.Tensor.max(): the largest element, as a 0-d tensor. */
  max(): Tensor;
  /** Like torch.Tensor.max(dim): `{ values, indices }` of the maxima along `dim`. */
  max(dim: number, keepdim?: boolean): red.ValuesIndices;
  max(dim?: number, keepdim?: boolean): Tensor | red.ValuesIndices { return red.max(this, dim, keepdim); }
  /** Like torch.Tensor.min(): the smallest element, as a 0-d tensor. */
  min(): Tensor;
  /** Like torch.Tensor.min(dim): `{ values, indices }` of the minima along `dim`. */
  min(dim: number, keepdim?: boolean): red.ValuesIndices;
  min(dim?: number, keepdim?: boolean): Tensor | red.ValuesIndices { return red.min(this, dim, keepdim); }
  /**
   * Like torch.Tensor.argmax: int32 index of the maximum along `dim`, or into the flattened tensor.
   */
  argmax(dim?: number, keepdim?: boolean): Tensor { return red.argmax(this, dim, keepdim); }
  /**
   * Like torch.Tensor.argmin: int32 index of the minimum along `dim`, or into the flattened tensor.
   */
  argmin(dim?: number, keepdim?: boolean): Tensor { return red.argmin(this, dim, keepdim); }
  /** Like torch.Tensor.var: variance over `dim` with `correction` (default 1, unbiased). */
  var(dim?: number | readonly number[], keepdim?: boolean, options?: red.VarOptions): Tensor {
    return red.variance(this, dim, keepdim, options);
  }
  /** Like torch.Tensor.std: standard deviation over `dim` with `correction` (default 1). */
  std(dim?: number | readonly number[], keepdim?: boolean, options?: red.VarOptions): Tensor {
    return red.std(this, dim, keepdim, options);
  }
  /** Like torch.Tensor.logsumexp: `log(sum(exp(this)))` over `dim`, computed stably. */
  logsumexp(dim: number | readonly number[], keepdim?: boolean): Tensor { return red.logsumexp(this, dim, keepdim); }
  /** Like torch.Tensor.softmax: values along `dim` normalized to sum to 1. */
  softmax(dim: number): Tensor { return red.softmax(this, dim); }
  /** Like torch.Tensor.log_softmax: `log(softmax(this, dim))`, computed stably. */
  logSoftmax(dim: number): Tensor { return red.logSoftmax(this, dim); }

  // ---- sorting and scans --------------------------------------------------------------------

  /** Like torch.Tensor.sort: `{ values, indices }` sorted along `dim` (stable; NaN largest). */
  sort(options?: sorting.SortOptions): red.ValuesIndices { return sorting.sort(this, options); }
  /** Like torch.Tensor.argsort: int32 indices that sort along `dim`. */
  argsort(options?: sorting.SortOptions): Tensor { return sorting.argsort(this, options); }
  /** Like torch.Tensor.topk: the k largest (or smallest) elements along `dim`, sorted, with indices. */
  topk(k: number, options?: sorting.TopkOptions): red.ValuesIndices { return sorting.topk(this, k, options); }
  /** Like torch.Tensor.cumsum: running sums along `dim` in a fixed order (see `cumsum`). */
  cumsum(dim: number): Tensor { return shaping.cumsum(this, dim); }

  // ---- linear algebra -----------------------------------------------------------------------

  /** Like torch.Tensor.matmul: matrix product with torch.matmul's rank and broadcasting rules. */
  matmul(other: Tensor): Tensor { return la.matmul(this, other); }

  // ---- views and shape ----------------------------------------------------------------------

  /**
   * Like torch.Tensor.reshape: `t.reshape(2, -1)` or `t.reshape([2, -1])`; a view when possible,
   * else a copy.
   */
  reshape(...shape: ShapeArgs): Tensor { return vw.reshape(this, shapeFromArgs("reshape", "shape", shape)); }
  /**
   * Like torch.Tensor.view: a view with a new shape; throws ShapeError when the strides allow none.
   */
  view(...shape: ShapeArgs): Tensor { return vw.view(this, shapeFromArgs("view", "size", shape)); }
  /**
   * Like torch.Tensor.expand: a stride-0 view repeating size-1 dims to `shape` (-1 keeps a size).
   */
  expand(...shape: ShapeArgs): Tensor { return vw.expand(this, shapeFromArgs("expand", "size", shape)); }
  /** Like torch.Tensor.expand_as: `expand(other.shape)`. */
  expandAs(other: Tensor): Tensor { return vw.expand(this, [...checkTensor("expand_as", "other", other).shape]); }
  /** Like torch.Tensor.permute: a view with the dims reordered. */
  permute(...dims: ShapeArgs): Tensor { return vw.permute(this, shapeFromArgs("permute", "dims", dims)); }
  /** Like torch.Tensor.transpose: a view with two dims swapped. */
  transpose(dim0: number, dim1: number): Tensor { return vw.transpose(this, dim0, dim1); }
  /** Transpose of a tensor with at most 2 dims. */
  t(): Tensor { return vw.t(this); }
  /** Like torch.Tensor.T: a view with all dims reversed. */
  get T(): Tensor { return vw.reverseDims(this); }
  /** Like torch.Tensor.narrow: a view of `length` elements along `dim` from `start`. */
  narrow(dim: number, start: number, length: number): Tensor { return vw.narrow(this, dim, start, length); }
  /**
   * Python-style `t[start:end:step]` along `dim`, as a view; bounds clamp, step must be positive.
   */
  slice(dim: number, start?: number, end?: number, step?: number): Tensor { return vw.slice(this, dim, start, end, step); }
  /** Like torch.Tensor.squeeze: a view without size-1 dims (or only those in `dim`). */
  squeeze(dim?: number | readonly number[]): Tensor { return vw.squeeze(this, dim); }
  /** Like torch.Tensor.unsqueeze: a view with a size-1 dim inserted at `dim`. */
  unsqueeze(dim: number): Tensor { return vw.unsqueeze(this, dim); }
  /** Like torch.Tensor.unfold: windows of `size` along `dim`, `step` apart, as a new last dim (a view). */
  unfold(dim: number, size: number, step: number): Tensor { return vw.unfold(this, dim, size, step); }
  /** Like torch.Tensor.flatten: dims `startDim` through `endDim` merged into one. */
  flatten(startDim?: number, endDim?: number): Tensor { return vw.flatten(this, startDim, endDim); }
  /**
   * Like torch.Tensor.contiguous: this tensor when row-major without gaps, else a contiguous copy.
   */
  contiguous(): Tensor { return vw.contiguous(this); }
  /**
   * Like torch.Tensor.split: views of `splitSize` elements along `dim` (the last may be smaller),
   * or of the listed sizes.
   */
  split(splitSize: number | readonly number[], dim?: number): Tensor[] { return join.split(this, splitSize, dim); }
  /**
   * Like torch.Tensor.chunk: at most `chunks` views of equal size along `dim` (the last may be
   * smaller).
   */
  chunk(chunks: number, dim?: number): Tensor[] { return join.chunk(this, chunks, dim); }

  /** Like torch.Tensor.flip: reversed along each of `dims` (a new tensor). */
  flip(dims: number | readonly number[]): Tensor { return shaping.flip(this, dims); }
  /** Like torch.Tensor.roll: shifted by `shifts` along `dims`, wrapping around (flattened without `dims`). */
  roll(shifts: number | readonly number[], dims?: number | readonly number[]): Tensor { return shaping.roll(this, shifts, dims); }
  /** Like torch.Tensor.repeat: `t.repeat(2, 3)` or `t.repeat([2, 3])` tiles the tensor that many times per dim. */
  repeat(...sizes: ShapeArgs): Tensor { return shaping.repeat(this, shapeFromArgs("repeat", "repeats", sizes)); }
  /** Like torch.Tensor.tile: `repeat` with the counts padded by leading 1s. */
  tile(...dims: ShapeArgs): Tensor { return shaping.tile(this, shapeFromArgs("tile", "dims", dims)); }

  // ---- in-place writes (bump the version counter) -------------------------------------------

  /** Copies `source` into this tensor's elements (broadcasting and casting). */
  copy_(source: TensorLike): this { inplace.copy_(this, source); return this; }
  /** Like torch.Tensor.fill_: sets every element to `value`, in place. */
  fill_(value: Scalar): this { inplace.fill_(this, value); return this; }
  /** Like torch.Tensor.zero_: sets every element to 0, in place. */
  zero_(): this { inplace.zero_(this); return this; }
  /** Like torch.Tensor.add_: `this += alpha * other`, in place (see `add_` for the autograd rules). */
  add_(other: TensorLike, options?: { alpha?: number }): this { aip.add_(this, other, options); return this; }
  /** Like torch.Tensor.sub_: `this -= alpha * other`, in place. */
  sub_(other: TensorLike, options?: { alpha?: number }): this { aip.sub_(this, other, options); return this; }
  /** Like torch.Tensor.mul_: `this *= other`, in place. */
  mul_(other: TensorLike): this { aip.mul_(this, other); return this; }
  /** Like torch.Tensor.div_: `this /= other` (true division), in place. */
  div_(other: TensorLike): this { aip.div_(this, other); return this; }
  /** Like torch.Tensor.pow_: `this **= exponent`, in place. */
  pow_(exponent: TensorLike): this { aip.pow_(this, exponent); return this; }
  /** Like torch.Tensor.clamp_: each element limited to [min, max], in place. */
  clamp_(min?: number | Tensor, max?: number | Tensor): this { aip.clamp_(this, min, max); return this; }
  /** Fills with uniform values in [from, to) from PyTorch's CPU stream (needs @lockstep/random). */
  uniform_(from = 0, to = 1, options?: RandomOptions): this {
    randomArgs("uniform_", this, { from, to }, options);
    randomHooks("uniform_").uniform_(this, from, to, options);
    return this;
  }
  /** Fills with normal values (needs @lockstep/random). */
  normal_(mean = 0, std = 1, options?: RandomOptions): this {
    randomArgs("normal_", this, { mean, std }, options);
    randomHooks("normal_").normal_(this, mean, std, options);
    return this;
  }
  /**
   * Like torch.Tensor.multinomial: `numSamples` int32 category indices per row of these
   * probabilities, PyTorch's CPU samples for the same seed (needs @lockstep/random; see its
   * `multinomial`).
   */
  multinomial(numSamples: number, options?: { replacement?: boolean; generator?: unknown }): Tensor {
    const hooks = randomHooks("multinomial");
    if (hooks.multinomial === undefined) throw new LockstepError("multinomial() needs a newer @lockstep/random");
    return hooks.multinomial(this, numSamples, options);
  }
  /** Fills with 1 with probability p, else 0 (needs @lockstep/random). */
  bernoulli_(p = 0.5, options?: RandomOptions): this {
    randomArgs("bernoulli_", this, { p }, options);
    randomHooks("bernoulli_").bernoulli_(this, p, options);
    return this;
  }

  // ---- indexing -----------------------------------------------------------------------------

  /** Like torch.Tensor.select: the view at `index` along `dim`, without that dim. */
  select(dim: number, index: number): Tensor { return adv.select(this, dim, index); }
  /**
   * PyTorch's `t[...]`: integers, slices (`{ start, stop, step }` or ":"), null (new dim), "...",
   * int32 index tensors and bool masks, with PyTorch's advanced-indexing rules (see `index`).
   */
  index(...items: adv.IndexItem[]): Tensor { return adv.index(this, ...items); }
  /** Like torch.Tensor.masked_select: the elements where the bool `mask` is true, as a 1-D tensor. */
  maskedSelect(mask: Tensor): Tensor { return adv.maskedSelect(this, mask); }
  /** Like torch.Tensor.index_put_: `this[indices] = values` (or `+=` with `accumulate`), in place. */
  indexPut_(indices: readonly Tensor[], values: TensorLike, accumulate = false): this { adv.indexPut_(this, indices, values, accumulate); return this; }

  /** Like torch.Tensor.index_select: entries at the int32 `index` positions along `dim`. */
  indexSelect(dim: number, index: Tensor): Tensor { return idx.indexSelect(this, dim, index); }
  /**
   * Like torch.Tensor.gather: values picked along `dim` by the int32 `index` (output has index's
   * shape).
   */
  gather(dim: number, index: Tensor): Tensor { return idx.gather(this, dim, index); }
  /** Like torch.Tensor.scatter (out of place): a copy with `src` written at `index` along `dim`. */
  scatter(dim: number, index: Tensor, src: TensorLike): Tensor { return idx.scatter(this, dim, index, src); }
}

/** Options of the in-place random fills; `generator` is a @lockstep/random Generator. */
export interface RandomOptions {
  /** The Generator to draw from; the default generator when omitted. */
  generator?: unknown;
}

/**
 * The kinds of a random fill's arguments (numbers, an options object with only `generator`, an
 * object). Their values (ranges, the generator's device) are checked by @lockstep/random, also
 * before it draws anything.
 */
function randomArgs(fn: string, t: Tensor, numbers: Record<string, unknown>, options: unknown): void {
  t.assertLive();
  for (const [name, value] of Object.entries(numbers)) checkNumber(fn, name, value);
  checkOptions(fn, options, { generator: checkObject });
}

function autogradHooks(name: string) {
  if (state.autograd === undefined) {
    throw new LockstepError(`${name}() needs the autograd layer: import 'lockstep' or '@lockstep/autograd'`);
  }
  return state.autograd;
}

function randomHooks(name: string) {
  if (state.random === undefined) {
    throw new LockstepError(`${name}() needs the random package: import 'lockstep' or '@lockstep/random'`);
  }
  return state.random;
}

function scalarOf(value: number, dtype: DType): Scalar {
  return dtype === "bool" ? value !== 0 : value;
}

function nest(data: DataArray, shape: readonly number[], dtype: DType): NestedArray {
  if (shape.length === 0) return scalarOf(data[0]!, dtype);
  let pos = 0;
  const build = (d: number): NestedArray[] => {
    const out: NestedArray[] = [];
    for (let i = 0; i < shape[d]!; i++) {
      out.push(d === shape.length - 1 ? scalarOf(data[pos++]!, dtype) : build(d + 1));
    }
    return out;
  };
  return build(0);
}
