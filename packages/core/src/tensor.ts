// The Tensor handle: shape, strides and offset over a shared storage, plus the fields autograd
// needs. Every method is a one-line delegation to the op family file that implements it, so this
// file is the table of contents of the tensor API.
import type { Backend, Storage, View } from "./backend.js";
import type { DType, DataArray } from "./dtype.js";
import { DisposedError, DeviceError, DTypeError, LockstepError, ValueError } from "./errors.js";
import { formatTensor } from "./format.js";
import { contiguousStrides, numel, type Shape } from "./shape.js";
import { state } from "./state.js";
import * as ew from "./ops/elementwise.js";
import * as red from "./ops/reduce.js";
import * as vw from "./ops/views.js";
import * as join from "./ops/join.js";
import * as idx from "./ops/indexing.js";
import * as la from "./ops/linalg.js";
import * as inplace from "./ops/inplace.js";
import { isFloating } from "./dtype.js";

/** Shared by every view of one storage: reference count and in-place version counter. */
interface StorageHandle {
  readonly storage: Storage;
  readonly backend: Backend;
  refs: number;
  /** Bumped by every in-place write; autograd compares it with the version it saved. */
  version: number;
}

/** What autograd attaches to a tensor; opaque to core except for the name. */
export interface GradNode {
  readonly name: string;
}

export type Scalar = number | boolean;
export type TensorLike = Tensor | Scalar;
export type NestedArray = Scalar | readonly NestedArray[];
type ShapeArgs = number[] | [readonly number[]];

function shapeFromArgs(args: ShapeArgs): number[] {
  return Array.isArray(args[0]) ? [...(args[0] as readonly number[])] : (args as number[]);
}

export class Tensor {
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
  readonly dtype: DType;
  readonly device: string;
  #handle: StorageHandle;
  #disposed = false;

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
    this.shape = Object.freeze([...shape]);
    this.strides = Object.freeze([...strides]);
    this.offset = offset;
    this.dtype = handle.storage.dtype;
    this.device = handle.storage.device;
    const scope = state.scopes[state.scopes.length - 1];
    if (scope !== undefined) scope.add(this);
  }

  /** @internal Wraps freshly allocated storage. */
  static fromStorage(storage: Storage, backend: Backend, shape: Shape, strides = contiguousStrides(shape)): Tensor {
    return new Tensor({ storage, backend, refs: 1, version: 0 }, shape, strides, 0);
  }

  /** @internal A new tensor over the same storage (used by views and detach). */
  aliasWith(shape: Shape, strides: readonly number[], offset: number): Tensor {
    this.assertLive();
    this.#handle.refs++;
    return new Tensor(this.#handle, shape, strides, offset);
  }

  /** @internal The strided view kernels read and write. */
  get storageView(): View {
    this.assertLive();
    return { storage: this.#handle.storage, dtype: this.dtype, shape: this.shape, strides: this.strides, offset: this.offset };
  }

  /** @internal */
  get backend(): Backend {
    return this.#handle.backend;
  }

  /** In-place version counter shared by all views of the storage. */
  get version(): number {
    return this.#handle.version;
  }

  /** @internal Marks an in-place write to the storage. */
  bumpVersion(): void {
    this.#handle.version++;
  }

  /** @internal True when two tensors share storage. */
  sharesStorageWith(other: Tensor): boolean {
    return this.#handle === other.#handle;
  }

  get ndim(): number {
    return this.shape.length;
  }

  /** Number of elements. */
  numel(): number {
    return numel(this.shape);
  }

  size(dim?: number): number | readonly number[] {
    return dim === undefined ? this.shape : this.shape[vw.dimIndex(this, dim)]!;
  }

  isContiguous(): boolean {
    return vw.isContiguousView(this);
  }

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

  /** The single value of a one-element tensor. */
  async item(): Promise<Scalar> {
    this.#checkItem();
    return scalarOf((await this.data())[0]!, this.dtype);
  }

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

  get requiresGrad(): boolean {
    return this.#requiresGrad;
  }

  /** Marks a leaf as needing gradients (floating dtypes only). */
  requiresGrad_(requiresGrad = true): this {
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

  get isLeaf(): boolean {
    return this.gradFn === undefined;
  }

  /** A tensor sharing storage with this one, outside the graph. */
  detach(): Tensor {
    return this.aliasWith(this.shape, this.strides, this.offset);
  }

  /** Computes gradients of this tensor (a scalar, or pass `gradient`) into the leaves' `.grad`. */
  backward(gradient?: Tensor, options: { retainGraph?: boolean } = {}): void {
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

  float(): Tensor { return ew.cast(this, "float32"); }
  double(): Tensor { return ew.cast(this, "float64"); }
  int(): Tensor { return ew.cast(this, "int32"); }
  bool(): Tensor { return ew.cast(this, "bool"); }
  clone(): Tensor { return vw.clone(this); }

  // ---- elementwise --------------------------------------------------------------------------

  add(other: TensorLike, options?: { alpha?: number }): Tensor { return ew.add(this, other, options); }
  sub(other: TensorLike, options?: { alpha?: number }): Tensor { return ew.sub(this, other, options); }
  mul(other: TensorLike): Tensor { return ew.mul(this, other); }
  div(other: TensorLike): Tensor { return ew.div(this, other); }
  pow(exponent: TensorLike): Tensor { return ew.pow(this, exponent); }
  maximum(other: Tensor): Tensor { return ew.maximum(this, other); }
  minimum(other: Tensor): Tensor { return ew.minimum(this, other); }
  eq(other: TensorLike): Tensor { return ew.eq(this, other); }
  ne(other: TensorLike): Tensor { return ew.ne(this, other); }
  lt(other: TensorLike): Tensor { return ew.lt(this, other); }
  le(other: TensorLike): Tensor { return ew.le(this, other); }
  gt(other: TensorLike): Tensor { return ew.gt(this, other); }
  ge(other: TensorLike): Tensor { return ew.ge(this, other); }
  logicalAnd(other: TensorLike): Tensor { return ew.logicalAnd(this, other); }
  logicalOr(other: TensorLike): Tensor { return ew.logicalOr(this, other); }
  logicalNot(): Tensor { return ew.logicalNot(this); }
  neg(): Tensor { return ew.neg(this); }
  exp(): Tensor { return ew.exp(this); }
  log(): Tensor { return ew.log(this); }
  sqrt(): Tensor { return ew.sqrt(this); }
  rsqrt(): Tensor { return ew.rsqrt(this); }
  abs(): Tensor { return ew.abs(this); }
  sign(): Tensor { return ew.sign(this); }
  relu(): Tensor { return ew.relu(this); }
  sigmoid(): Tensor { return ew.sigmoid(this); }
  tanh(): Tensor { return ew.tanh(this); }
  erf(): Tensor { return ew.erf(this); }
  gelu(options?: { approximate?: "none" | "tanh" }): Tensor { return ew.gelu(this, options); }
  clamp(min?: number | Tensor, max?: number | Tensor): Tensor { return ew.clamp(this, min, max); }
  where(condition: Tensor, other: TensorLike): Tensor { return ew.where(condition, this, other); }
  maskedFill(mask: Tensor, value: TensorLike): Tensor { return idx.maskedFill(this, mask, value); }

  // ---- reductions ---------------------------------------------------------------------------

  sum(dim?: number | readonly number[], keepdim?: boolean): Tensor { return red.sum(this, dim, keepdim); }
  mean(dim?: number | readonly number[], keepdim?: boolean): Tensor { return red.mean(this, dim, keepdim); }
  prod(dim?: number, keepdim?: boolean): Tensor { return red.prod(this, dim, keepdim); }
  amax(dim?: number | readonly number[], keepdim?: boolean): Tensor { return red.amax(this, dim, keepdim); }
  amin(dim?: number | readonly number[], keepdim?: boolean): Tensor { return red.amin(this, dim, keepdim); }
  max(): Tensor;
  max(dim: number, keepdim?: boolean): red.ValuesIndices;
  max(dim?: number, keepdim?: boolean): Tensor | red.ValuesIndices { return red.max(this, dim, keepdim); }
  min(): Tensor;
  min(dim: number, keepdim?: boolean): red.ValuesIndices;
  min(dim?: number, keepdim?: boolean): Tensor | red.ValuesIndices { return red.min(this, dim, keepdim); }
  argmax(dim?: number, keepdim?: boolean): Tensor { return red.argmax(this, dim, keepdim); }
  argmin(dim?: number, keepdim?: boolean): Tensor { return red.argmin(this, dim, keepdim); }
  var(dim?: number | readonly number[], keepdim?: boolean, options?: red.VarOptions): Tensor {
    return red.variance(this, dim, keepdim, options);
  }
  std(dim?: number | readonly number[], keepdim?: boolean, options?: red.VarOptions): Tensor {
    return red.std(this, dim, keepdim, options);
  }
  logsumexp(dim: number | readonly number[], keepdim?: boolean): Tensor { return red.logsumexp(this, dim, keepdim); }
  softmax(dim: number): Tensor { return red.softmax(this, dim); }
  logSoftmax(dim: number): Tensor { return red.logSoftmax(this, dim); }

  // ---- linear algebra -----------------------------------------------------------------------

  matmul(other: Tensor): Tensor { return la.matmul(this, other); }

  // ---- views and shape ----------------------------------------------------------------------

  reshape(...shape: ShapeArgs): Tensor { return vw.reshape(this, shapeFromArgs(shape)); }
  view(...shape: ShapeArgs): Tensor { return vw.view(this, shapeFromArgs(shape)); }
  expand(...shape: ShapeArgs): Tensor { return vw.expand(this, shapeFromArgs(shape)); }
  expandAs(other: Tensor): Tensor { return vw.expand(this, [...other.shape]); }
  permute(...dims: ShapeArgs): Tensor { return vw.permute(this, shapeFromArgs(dims)); }
  transpose(dim0: number, dim1: number): Tensor { return vw.transpose(this, dim0, dim1); }
  /** Transpose of a tensor with at most 2 dims. */
  t(): Tensor { return vw.t(this); }
  get T(): Tensor { return vw.reverseDims(this); }
  narrow(dim: number, start: number, length: number): Tensor { return vw.narrow(this, dim, start, length); }
  slice(dim: number, start?: number, end?: number, step?: number): Tensor { return vw.slice(this, dim, start, end, step); }
  squeeze(dim?: number | readonly number[]): Tensor { return vw.squeeze(this, dim); }
  unsqueeze(dim: number): Tensor { return vw.unsqueeze(this, dim); }
  flatten(startDim?: number, endDim?: number): Tensor { return vw.flatten(this, startDim, endDim); }
  contiguous(): Tensor { return vw.contiguous(this); }
  split(splitSize: number | readonly number[], dim?: number): Tensor[] { return join.split(this, splitSize, dim); }
  chunk(chunks: number, dim?: number): Tensor[] { return join.chunk(this, chunks, dim); }

  // ---- in-place writes (bump the version counter) -------------------------------------------

  /** Copies `source` into this tensor's elements (broadcasting and casting). */
  copy_(source: TensorLike): this { inplace.copy_(this, source); return this; }
  fill_(value: Scalar): this { inplace.fill_(this, value); return this; }
  zero_(): this { inplace.zero_(this); return this; }
  /** Fills with uniform values in [from, to) from PyTorch's CPU stream (needs @lockstep/random). */
  uniform_(from = 0, to = 1, options?: RandomOptions): this { randomHooks("uniform_").uniform_(this, from, to, options); return this; }
  /** Fills with normal values (needs @lockstep/random). */
  normal_(mean = 0, std = 1, options?: RandomOptions): this { randomHooks("normal_").normal_(this, mean, std, options); return this; }
  /** Fills with 1 with probability p, else 0 (needs @lockstep/random). */
  bernoulli_(p = 0.5, options?: RandomOptions): this { randomHooks("bernoulli_").bernoulli_(this, p, options); return this; }

  // ---- indexing -----------------------------------------------------------------------------

  indexSelect(dim: number, index: Tensor): Tensor { return idx.indexSelect(this, dim, index); }
  gather(dim: number, index: Tensor): Tensor { return idx.gather(this, dim, index); }
  scatter(dim: number, index: Tensor, src: TensorLike): Tensor { return idx.scatter(this, dim, index, src); }
}

/** Options of the in-place random fills; `generator` is a @lockstep/random Generator. */
export interface RandomOptions {
  generator?: unknown;
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
