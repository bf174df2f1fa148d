// The autograd layer of the dispatcher: `record` builds the graph as ops run, `backward` and
// `grad` walk it. Importing this package installs both into core's shared state.
//
// One walk per call: the nodes reachable from the outputs are sorted newest first (a node's inputs
// are always older than it, so that is a reverse topological order), and each node runs once with
// the sum of every gradient that reached it. Shared subgraphs are therefore visited once, and
// gradients add up in an order fixed by the graph, never by timing.
import {
  DTypeError,
  DeviceError,
  Tensor,
  ShapeError,
  ValueError,
  add,
  cast,
  extensionState,
  isFloating,
  keep,
  onesLike,
  scope,
  state,
  type AutogradHooks,
} from "@lockstep/core";
import { AccumulateGrad, AutogradError, Node, OpNode, nodeOf, type TensorHook, type RemovableHandle } from "./graph.js";
import { GRADIENT_RULES, isDifferentiable, type GradientRule, type Op, type RuleContext } from "./rules.js";

/** Options of `backward` and `grad`. */
export interface BackwardOptions {
  /** Keep saved tensors so the graph can be walked again (default false: free them as we go). */
  retainGraph?: boolean;
}

function record(op: string, inputs: readonly Tensor[], outputs: readonly Tensor[], attrs: unknown): void {
  const rule = GRADIENT_RULES[op as Op];
  if (rule === undefined) {
    throw new AutogradError(`'${op}' has no gradient rule: this @lockstep/autograd is older than @lockstep/core`);
  }
  if (!isDifferentiable(rule)) return;
  const [output, ...others] = outputs;
  if (output === undefined || !isFloating(output.dtype)) return;
  if (others.some((t) => isFloating(t.dtype))) {
    throw new AutogradError(`internal error: '${op}' has more than one floating output; rules handle one`);
  }
  const next = inputs.map((t) => (t.requiresGrad && isFloating(t.dtype) ? nodeOf(t) : undefined));
  if (next.every((n) => n === undefined)) return;
  const { name: naming, saveInputs = [], saveOutputs = [], copyInputs = [] } = rule as unknown as GradientRule<unknown>;
  const name = typeof naming === "string" ? naming : naming(inputs);
  const save = { inputs: saveInputs, outputs: saveOutputs, copies: copyInputs.length === 0 ? undefined : copiesOf(inputs, copyInputs) };
  output.gradFn = new OpNode(name, op, attrs, next, inputs, outputs, save);
  output.setRequiresGradUnchecked(true);
}

/** Private copies of the inputs a rule saves by value (GradientRule.copyInputs); detached, so copying records nothing. */
function copiesOf(inputs: readonly Tensor[], which: readonly number[]): Map<number, Tensor> {
  return new Map(which.map((i) => [i, inputs[i]!.detach().clone()]));
}

/** Checks and completes the gradient given for one output (ones for a one-element output). */
function outputGradient(output: Tensor, given: Tensor | undefined, position: number): Tensor {
  if (given === undefined) {
    if (output.numel() !== 1) throw new AutogradError("grad can be implicitly created only for scalar outputs");
    return onesLike(output);
  }
  if (!(given instanceof Tensor)) {
    throw new ValueError(`gradient for output ${position} must be a Tensor or undefined, got ${describe(given)}`);
  }
  given.assertLive();
  if (!isFloating(given.dtype)) {
    throw new DTypeError(`invalid gradient at index ${position} - expected a floating dtype (${output.dtype}) but got ${given.dtype}`);
  }
  if (given.shape.length !== output.shape.length || given.shape.some((s, k) => s !== output.shape[k])) {
    throw new ShapeError(
      `Mismatch in shape: grad_output[${position}] has a shape of [${given.shape.join(", ")}] and ` +
        `output[${position}] has a shape of [${output.shape.join(", ")}].`,
    );
  }
  if (given.device !== output.device) {
    throw new DeviceError(
      `invalid gradient at index ${position} - expected device ${output.device} but got ${given.device}`,
    );
  }
  return given.dtype === output.dtype ? given : cast(given, output.dtype);
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (Array.isArray(value)) return `[${value.map(describe).join(", ")}]`;
  return value !== null && typeof value === "object" ? Object.prototype.toString.call(value) : String(value);
}

function checkBackwardOptions(options: unknown): void {
  if (options === undefined) return;
  if (options === null || typeof options !== "object") throw new ValueError(`backward options must be an object, got ${describe(options)}`);
  for (const key of Object.keys(options)) {
    if (key !== "retainGraph" && key !== "gradOutputs" && key !== "allowUnused") {
      throw new ValueError(`backward got an unexpected option '${key}'`);
    }
  }
  const { retainGraph, allowUnused } = options as GradOptions;
  if (retainGraph !== undefined && typeof retainGraph !== "boolean") {
    throw new ValueError(`retainGraph must be a boolean, got ${describe(retainGraph)}`);
  }
  if (allowUnused !== undefined && typeof allowUnused !== "boolean") {
    throw new ValueError(`allowUnused must be a boolean, got ${describe(allowUnused)}`);
  }
}

function requireGraph(t: Tensor, position: number): void {
  if (!(t instanceof Tensor)) throw new ValueError(`element ${position} of tensors is not a Tensor`);
  t.assertLive();
  if (!t.requiresGrad) {
    throw new AutogradError(`element ${position} of tensors does not require grad and does not have a grad_fn`);
  }
}

/**
 * One call's bookkeeping: which gradients leave the call (and must survive it), and which are
 * still waiting at a node. A gradient that is neither is disposed as soon as the walk is done with
 * it, so the peak memory of a backward pass is its widest frontier, not the whole graph.
 */
class Pass {
  /** Tensors handed to user code or stored in `.grad`: kept when the pass's scope closes. */
  readonly escaped = new Set<Tensor>();
  /** Tensors the caller owns (given gradients, hook results): never stored without a copy, never freed. */
  readonly foreign = new Set<Tensor>();
  /**
   * New `.grad` values by tensor, assigned only once the whole walk succeeded: a hook or rule that
   * throws halfway leaves every `.grad` as it was (and the scope frees what was staged).
   */
  readonly staged = new Map<Tensor, Tensor>();
  /** How many pending slots hold each gradient tensor. */
  readonly #holds = new Map<Tensor, number>();
  readonly frame: Set<Tensor> | undefined = state.scopes[state.scopes.length - 1];

  constructor(readonly retainGraph: boolean) {}

  hold(t: Tensor): void {
    this.#holds.set(t, (this.#holds.get(t) ?? 0) + 1);
  }

  release(t: Tensor): void {
    const left = (this.#holds.get(t) ?? 1) - 1;
    if (left > 0) this.#holds.set(t, left);
    else this.#holds.delete(t);
  }

  /** Disposes `t` if this pass made it and nothing holds, stores or was given it. */
  discard(t: Tensor): void {
    if (this.#holds.has(t) || this.escaped.has(t) || this.foreign.has(t) || this.frame?.has(t) !== true) return;
    this.frame.delete(t);
    t.dispose();
  }

  /**
   * Whether `.grad` may be `t` itself rather than a copy: it was made by this pass, is dense (not
   * an expanded or strided view) and shares memory with nothing else that was stored or given.
   */
  mayStore(t: Tensor): boolean {
    if (this.frame === undefined || !this.frame.has(t)) return false;
    if (!t.isContiguous() || t.offset !== 0 || t.storageView.storage.length !== t.numel()) return false;
    for (const other of [...this.escaped, ...this.foreign]) if (other.sharesStorageWith(t)) return false;
    return true;
  }

  /**
   * Stages `g` added into `target.grad` (a fresh tensor each time: a `.grad` someone kept is not
   * changed); `commit` stores it.
   */
  accumulate(target: Tensor, g: Tensor): void {
    const previous = this.staged.get(target);
    const base = previous ?? target.grad;
    const sum = base === undefined ? (this.mayStore(g) ? g : g.clone()) : add(base, g);
    if (previous !== undefined) {
      this.escaped.delete(previous);
      this.discard(previous);
    }
    this.staged.set(target, sum);
    this.escaped.add(sum);
  }

  /** Stores every staged gradient; runs after the walk, when nothing can throw any more. */
  commit(): void {
    for (const [target, g] of this.staged) target.grad = g;
  }

  runHooks(node: Node, g: Tensor): Tensor {
    let grad = g;
    for (const hook of [...node.hooks.values()]) {
      this.escaped.add(grad);
      const replaced = hook(grad);
      if (replaced === undefined) continue;
      if (!(replaced instanceof Tensor)) throw new ValueError(`a tensor hook must return a Tensor or nothing`);
      checkGradient(replaced, grad.shape, grad.dtype, grad.device, "hook");
      this.foreign.add(replaced);
      this.escaped.add(replaced);
      grad = replaced;
    }
    return grad;
  }
}

/**
 * A `.grad` that backward will add into must be a live tensor of the leaf's shape, dtype and
 * device: `add` would otherwise broadcast a wrong-shaped one into something else, or fail halfway.
 */
function checkExistingGrad(t: Tensor): void {
  const g: unknown = t.grad;
  if (g === undefined) return;
  const what = `the .grad of a tensor of shape [${t.shape.join(", ")}]`;
  if (!(g instanceof Tensor)) throw new ValueError(`${what} must be a Tensor or undefined, got ${String(g)}`);
  if (g.isDisposed) throw new AutogradError(`${what} was disposed; set it to undefined (zeroGrad()) before backward`);
  if (g.shape.length !== t.shape.length || g.shape.some((s, k) => s !== t.shape[k])) {
    throw new ShapeError(`assigned grad has data of a different size: ${what} has shape [${g.shape.join(", ")}]`);
  }
  if (g.dtype !== t.dtype) {
    throw new DTypeError(`assigned grad has data of a different type: ${what} is ${g.dtype}, the tensor ${t.dtype}`);
  }
  if (g.device !== t.device) {
    throw new DeviceError(`assigned grad has data located on a different device: ${what} is on ${g.device}, the tensor on ${t.device}`);
  }
}

function checkGradient(g: Tensor, shape: readonly number[], dtype: string, device: string, who: string): void {
  if (g.shape.length !== shape.length || g.shape.some((s, k) => s !== shape[k])) {
    throw new ShapeError(
      `${who} returned an invalid gradient - got [${g.shape.join(", ")}] but expected shape compatible with ` +
        `[${shape.join(", ")}]`,
    );
  }
  if (g.dtype !== dtype || g.device !== device) {
    throw new AutogradError(`${who} returned a gradient of ${g.dtype} on ${g.device}, expected ${dtype} on ${device}`);
  }
}

/** Runs the rule of one op node on the gradient of its output. */
function applyNode(node: OpNode, g: Tensor, retainGraph: boolean): readonly (Tensor | undefined)[] {
  node.checkSaved();
  const entry = GRADIENT_RULES[node.op as Op];
  if (!isDifferentiable(entry)) throw new AutogradError(`internal error: ${node.name} has no gradient rule`);
  // The node stored its op's attrs untyped; the table entry of that same op reads them.
  const rule = entry as unknown as GradientRule<unknown>;
  const context: RuleContext<unknown> = {
    attrs: node.attrs,
    inputs: node.inputs,
    needs: (i) => node.next[i] !== undefined,
    savedInput: (i) => node.savedInput(i),
    savedOutput: (i) => node.savedOutput(i),
  };
  // A scope of its own frees the rule's temporaries at once; the gradients it returns move out.
  const grads = scope(() => rule.backward(g, context));
  if (!retainGraph) node.freeSaved();
  return node.next.map((next, i) => {
    const gi = grads[i];
    if (next === undefined || gi === undefined) return undefined;
    const { shape, dtype, device } = node.inputs[i]!;
    // Rules compute in the input's dtype already; a cast here only guards a mixed-dtype rule.
    const typed = gi.dtype === dtype ? gi : cast(gi, dtype);
    checkGradient(typed, shape, dtype, device, `Function ${node.name} (input ${i})`);
    return typed;
  });
}

/**
 * Walks the graph from `roots` once. Without `capture`, gradients accumulate into leaves' `.grad`
 * (and retained non-leaves'); with it, the gradients reaching the captured nodes are collected
 * instead and no `.grad` changes, and only nodes that lead to a captured node run.
 */
function walk(roots: readonly { node: Node; grad: Tensor }[], pass: Pass, capture?: Map<Node, Tensor | undefined>): void {
  const reachable = new Set<Node>();
  const stack = roots.map((r) => r.node);
  for (const n of stack) reachable.add(n);
  while (stack.length > 0) {
    for (const next of stack.pop()!.next) {
      if (next !== undefined && !reachable.has(next)) {
        reachable.add(next);
        stack.push(next);
      }
    }
  }
  const order = [...reachable].sort((a, b) => b.sequence - a.sequence);

  let needed: Set<Node> | undefined;
  if (capture !== undefined) {
    needed = new Set();
    for (let i = order.length - 1; i >= 0; i--) {
      const n = order[i]!;
      if (capture.has(n) || n.next.some((m) => m !== undefined && needed!.has(m))) needed.add(n);
    }
  }

  // Every saved tensor is checked before any gradient is stored, so a freed graph or an in-place
  // change throws with every `.grad` as it was.
  for (const node of order) if (node instanceof OpNode && (needed?.has(node) ?? true)) node.checkSaved();
  if (capture === undefined) {
    for (const node of order) {
      if (node instanceof AccumulateGrad) checkExistingGrad(node.leaf);
      if (node.retained !== undefined) checkExistingGrad(node.retained);
    }
  }

  const pending = new Map<Node, Tensor>();
  const deliver = (node: Node, g: Tensor) => {
    const sofar = pending.get(node);
    const total = sofar === undefined ? g : add(sofar, g);
    pending.set(node, total);
    pass.hold(total);
    if (sofar !== undefined) {
      pass.release(sofar);
      pass.discard(sofar);
    }
  };
  for (const root of roots) deliver(root.node, root.grad);

  for (const node of order) {
    const arrived = pending.get(node);
    if (arrived === undefined) continue;
    pending.delete(node);
    pass.release(arrived);
    const done = [arrived];
    if (needed === undefined || needed.has(node)) {
      const g = pass.runHooks(node, arrived);
      done.push(g, ...propagate(node, g, pass, deliver, capture, needed));
    }
    for (const t of done) pass.discard(t);
  }
}

/** One node's step: capture, retain or accumulate its gradient, or run its rule and pass the results on. */
function propagate(
  node: Node,
  g: Tensor,
  pass: Pass,
  deliver: (node: Node, g: Tensor) => void,
  capture: Map<Node, Tensor | undefined> | undefined,
  needed: Set<Node> | undefined,
): Tensor[] {
  if (capture?.has(node)) {
    capture.set(node, g);
    pass.escaped.add(g);
    if (!node.next.some((m) => m !== undefined && needed!.has(m))) return [];
  }
  if (node.retained !== undefined && capture === undefined) pass.accumulate(node.retained, g);
  if (node instanceof AccumulateGrad) {
    if (capture === undefined) pass.accumulate(node.leaf, g);
    return [];
  }
  const grads = applyNode(node as OpNode, g, pass.retainGraph);
  const passed: Tensor[] = [];
  grads.forEach((gi, i) => {
    if (gi === undefined) return;
    deliver(node.next[i]!, gi);
    passed.push(gi);
  });
  return passed;
}

/**
 * Runs `body` with grad mode off inside a scope that frees every gradient made on the way, except
 * the ones the pass hands out.
 */
function inPass<T>(retainGraph: boolean, body: (pass: Pass) => T): T {
  const previous = state.gradEnabled;
  state.gradEnabled = false;
  try {
    let result!: T;
    const escaped = scope(() => {
      const pass = new Pass(retainGraph);
      result = body(pass);
      return [...pass.escaped];
    });
    // Gradients belong to their tensors from now on, not to whatever scope the caller is in.
    for (const t of escaped) keep(t);
    return result;
  } finally {
    state.gradEnabled = previous;
  }
}

function backward(tensor: Tensor, gradient: Tensor | undefined, options: BackwardOptions = {}): void {
  requireGraph(tensor, 0);
  checkBackwardOptions(options);
  inPass(options.retainGraph ?? false, (pass) => {
    const g = outputGradient(tensor, gradient, 0);
    if (gradient !== undefined) [gradient, g].forEach((t) => pass.foreign.add(t));
    walk([{ node: nodeOf(tensor), grad: g }], pass);
    pass.commit();
  });
}

/** Options of `grad`. */
export interface GradOptions extends BackwardOptions {
  /** Gradients of the outputs (the "vector" of the vector-Jacobian product); default ones for one-element outputs. */
  gradOutputs?: Tensor | readonly (Tensor | undefined)[];
  /** Return undefined for inputs the outputs do not depend on, instead of throwing. */
  allowUnused?: boolean;
}

function gradImpl(
  outputs: Tensor | readonly Tensor[],
  inputs: Tensor | readonly Tensor[],
  options: GradOptions = {},
): (Tensor | undefined)[] {
  checkBackwardOptions(options);
  const isList = (v: unknown) => v !== null && typeof v === "object" && typeof (v as Iterable<unknown>)[Symbol.iterator] === "function";
  if (!(outputs instanceof Tensor) && !isList(outputs)) throw new ValueError(`grad(): outputs must be a Tensor or a list of Tensors, got ${describe(outputs)}`);
  if (!(inputs instanceof Tensor) && !isList(inputs)) throw new ValueError(`grad(): inputs must be a Tensor or a list of Tensors, got ${describe(inputs)}`);
  const outs = outputs instanceof Tensor ? [outputs] : [...outputs];
  const ins = inputs instanceof Tensor ? [inputs] : [...inputs];
  const given = options.gradOutputs instanceof Tensor ? [options.gradOutputs] : [...(options.gradOutputs ?? [])];
  if (given.length > 0 && given.length !== outs.length) {
    throw new ValueError(`grad(): got ${given.length} gradOutputs for ${outs.length} outputs`);
  }
  outs.forEach(requireGraph);
  ins.forEach((t, i) => {
    if (!(t instanceof Tensor)) throw new ValueError(`grad(): input ${i} is not a Tensor`);
    if (!t.requiresGrad) throw new AutogradError("One of the differentiated Tensors does not require grad");
  });
  return inPass(options.retainGraph ?? false, (pass) => {
    const roots = outs.map((t, i) => {
      const g = outputGradient(t, given[i], i);
      if (given[i] !== undefined) [given[i]!, g].forEach((t) => pass.foreign.add(t));
      return { node: nodeOf(t), grad: g };
    });
    const capture = new Map<Node, Tensor | undefined>(ins.map((t) => [nodeOf(t), undefined]));
    walk(roots, pass, capture);
    pass.commit();
    return ins.map((t) => {
      const g = capture.get(nodeOf(t));
      if (g === undefined && !options.allowUnused) {
        throw new AutogradError(
          "One of the differentiated Tensors appears to not have been used in the graph. Set allowUnused: true " +
            "if this is the desired behavior.",
        );
      }
      return g;
    });
  });
}

function retainGradImpl(t: Tensor): void {
  if (!t.requiresGrad) throw new AutogradError("can't retain_grad on Tensor that has requires_grad=False");
  if (t.gradFn !== undefined) (t.gradFn as Node).retained = t;
}

function registerHookImpl(t: Tensor, hook: TensorHook): RemovableHandle {
  if (!t.requiresGrad) throw new AutogradError("cannot register a hook on a tensor that doesn't require gradient");
  if (typeof hook !== "function") throw new ValueError("registerHook expects a function");
  return nodeOf(t).addHook(hook);
}

/**
 * The engine lives in core's shared state, so that two copies of this package (two versions, or
 * CJS beside ESM) record and walk one kind of graph instead of failing on each other's nodes.
 */
interface Engine extends AutogradHooks {
  grad: typeof gradImpl;
}

function retainsGradImpl(t: Tensor): boolean {
  return t.gradFn !== undefined && (t.gradFn as Node).retained === t;
}

const engine = extensionState<Engine>("@lockstep/autograd", () => ({
  record,
  backward,
  grad: gradImpl,
  retainGrad: retainGradImpl,
  registerHook: registerHookImpl,
  retainsGrad: retainsGradImpl,
}));
state.autograd ??= engine;

/**
 * Gradients of `outputs` with respect to `inputs` (PyTorch's `torch.autograd.grad`): the
 * vector-Jacobian product with `gradOutputs`, returned instead of added into `.grad`.
 */
export function grad(
  outputs: Tensor | readonly Tensor[],
  inputs: Tensor | readonly Tensor[],
  options: GradOptions = {},
): (Tensor | undefined)[] {
  return engine.grad(outputs, inputs, options);
}

/** Keeps the gradient of a non-leaf tensor in its `.grad` after backward (leaves always keep theirs). */
export function retainGrad(t: Tensor): void {
  engine.retainGrad(t);
}

/** Calls `hook` with the gradient of `t` each time backward computes it; see `TensorHook`. */
export function registerHook(t: Tensor, hook: TensorHook): RemovableHandle {
  return registerHookImpl(t, hook);
}
