// The recorded graph: one node per differentiable op that ran with grad mode on, plus one
// accumulator node per leaf that needs a gradient. This file only holds the data: which node feeds
// which, what each node saved for its backward, and the hooks that watch a gradient go by. Walking
// the graph is engine.ts; the derivatives themselves are rules.ts.
import { LockstepError, type DType, type GradNode, type Tensor } from "@lockstep/core";

/** An autograd misuse: backward through a freed graph, a saved tensor changed in place, … */
export class AutogradError extends LockstepError {
  override name = "AutogradError";
}

/**
 * A function called with the gradient of a tensor while backward runs. Returning a tensor replaces
 * the gradient for everything further down the graph; returning nothing leaves it as it is.
 */
export type TensorHook = (grad: Tensor) => Tensor | void;

/** Returned by `registerHook`; `remove()` unregisters the hook (calling it twice is harmless). */
export class RemovableHandle {
  readonly #hooks: Map<number, TensorHook>;
  readonly #id: number;

  /** @internal */
  constructor(hooks: Map<number, TensorHook>, id: number) {
    this.#hooks = hooks;
    this.#id = id;
  }

  remove(): void {
    this.#hooks.delete(this.#id);
  }
}

/** A tensor a node keeps for its backward, with the in-place version it had when it was saved. */
interface SavedTensor {
  readonly tensor: Tensor;
  readonly version: number;
}

/**
 * Nodes are numbered in creation order. A node's inputs always come from nodes created before it,
 * so sorting by this number, newest first, is a reverse topological order of any subgraph.
 */
let nextSequence = 0;
let nextHookId = 0;

/**
 * A step of the backward pass. `gradFn` of a computed tensor is one of these; its name follows
 * PyTorch's (`MulBackward0`) so that printed tensors and error messages read the same.
 */
export abstract class Node implements GradNode {
  abstract readonly name: string;
  readonly sequence = nextSequence++;
  /** Hooks on the gradient of the tensor this node stands for, in registration order. */
  readonly hooks = new Map<number, TensorHook>();
  /** Set by `retainGrad()`: the non-leaf tensor whose `.grad` keeps the gradient seen here. */
  retained: Tensor | undefined = undefined;

  /** Nodes this one passes gradients to, one slot per input of the op (undefined: no gradient). */
  abstract readonly next: readonly (Node | undefined)[];

  addHook(hook: TensorHook): RemovableHandle {
    const id = nextHookId++;
    this.hooks.set(id, hook);
    return new RemovableHandle(this.hooks, id);
  }
}

/** What a node knows about one input without keeping the tensor alive. */
export interface InputInfo {
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly device: string;
}

/** The node of one recorded op. */
export class OpNode extends Node {
  readonly name: string;
  readonly op: string;
  readonly attrs: unknown;
  readonly next: readonly (Node | undefined)[];
  readonly inputs: readonly InputInfo[];
  /** Saved tensors by role; undefined once freed by a backward without `retainGraph`. */
  #savedInputs: (SavedTensor | undefined)[] | undefined;
  #savedOutputs: (SavedTensor | undefined)[] | undefined;
  /** Private copies saved in place of inputs (GradientRule.copyInputs), disposed with the saved tensors. */
  #copies: readonly Tensor[];
  readonly #savesAnything: boolean;

  constructor(
    name: string,
    op: string,
    attrs: unknown,
    next: readonly (Node | undefined)[],
    inputs: readonly Tensor[],
    outputs: readonly Tensor[],
    save: { inputs: readonly number[]; outputs: readonly number[]; copies?: ReadonlyMap<number, Tensor> },
  ) {
    super();
    this.name = name;
    this.op = op;
    this.attrs = attrs;
    this.next = next;
    this.inputs = inputs.map((t) => ({ shape: t.shape, dtype: t.dtype, device: t.device }));
    const keep = (all: readonly Tensor[], which: readonly number[]) =>
      all.map((t, i) => (which.includes(i) ? { tensor: t, version: t.version } : undefined));
    const copies = save.copies;
    this.#savedInputs = keep(copies === undefined ? inputs : inputs.map((t, i) => copies.get(i) ?? t), save.inputs);
    this.#savedOutputs = keep(outputs, save.outputs);
    this.#copies = copies === undefined ? [] : [...copies.values()];
    this.#savesAnything = save.inputs.length + save.outputs.length > 0;
  }

  /** The saved input `i`, checked against in-place changes since it was saved. */
  savedInput(i: number): Tensor {
    return this.#check(this.#savedInputs, i, "input");
  }

  savedOutput(i: number): Tensor {
    return this.#check(this.#savedOutputs, i, "output");
  }

  /** Throws when a saved tensor is gone or changed; called before the rule runs. */
  checkSaved(): void {
    if (!this.#savesAnything) return;
    if (this.#savedInputs === undefined || this.#savedOutputs === undefined) throw freedError();
    this.#savedInputs.forEach((s, i) => s !== undefined && this.#check(this.#savedInputs, i, "input"));
    this.#savedOutputs.forEach((s, i) => s !== undefined && this.#check(this.#savedOutputs, i, "output"));
  }

  /** Drops the saved tensors so their memory can go; a later backward through here throws. */
  freeSaved(): void {
    this.#savedInputs = undefined;
    this.#savedOutputs = undefined;
    if (this.#copies.length === 0) return;
    for (const t of this.#copies) t.dispose();
    this.#copies = [];
  }

  #check(list: (SavedTensor | undefined)[] | undefined, i: number, role: string): Tensor {
    if (list === undefined) throw freedError();
    const saved = list[i];
    if (saved === undefined) {
      throw new AutogradError(`internal error: ${this.name} reads ${role} ${i}, which its rule does not save`);
    }
    const { tensor, version } = saved;
    if (tensor.version !== version) {
      const owner = tensor.gradFn === undefined ? "" : `, which is output 0 of ${tensor.gradFn.name},`;
      throw new AutogradError(
        "one of the variables needed for gradient computation has been modified by an inplace operation: " +
          `[${tensor.dtype} [${tensor.shape.join(", ")}] on ${tensor.device}]${owner} is at version ` +
          `${tensor.version}; expected version ${version} instead. Hint: the operation that failed to compute ` +
          `its gradient is ${this.name}; make a copy (clone()) of the tensor before changing it in place.`,
      );
    }
    return tensor;
  }
}

function freedError(): AutogradError {
  return new AutogradError(
    "Trying to backward through the graph a second time (or directly access saved tensors after they have " +
      "already been freed). Saved intermediate values of the graph are freed when you call .backward() or " +
      "grad(). Specify retainGraph: true if you need to backward through the graph a second time or if you " +
      "need to access saved tensors after calling backward.",
  );
}

/** The end of the graph at a leaf: sums what arrives and adds it into `leaf.grad`. */
export class AccumulateGrad extends Node {
  readonly name = "AccumulateGrad";
  readonly next: readonly (Node | undefined)[] = [];
  readonly leaf: Tensor;

  constructor(leaf: Tensor) {
    super();
    this.leaf = leaf;
  }
}

/** Per-tensor data autograd keeps in `tensor.autogradMeta`. */
interface TensorMeta {
  accumulator?: AccumulateGrad;
}

function metaOf(t: Tensor): TensorMeta {
  if (t.autogradMeta === undefined) t.autogradMeta = {} satisfies TensorMeta;
  return t.autogradMeta as TensorMeta;
}

/** The node a gradient for `t` flows into: its `gradFn`, or its leaf accumulator (made once). */
export function nodeOf(t: Tensor): Node {
  if (t.gradFn !== undefined) return t.gradFn as Node;
  const meta = metaOf(t);
  meta.accumulator ??= new AccumulateGrad(t);
  return meta.accumulator;
}
