// The autograd surface: leaves and gradFn names, accumulation, retainGrad, hooks, detach, grad(),
// and the walk itself (one visit per node, saved tensors freed, memory handed back).
import { describe, expect, it, onTestFinished } from "vitest";
import { makeView, matmul, scope, tensor, useDeterministicAlgorithms, zeros, type Backend } from "@lockstep/core";
import { cpuBackend } from "@lockstep/backend-cpu";
import { AccumulateGrad, grad, noGrad, type Node } from "../src/index.js";
import "./helpers.js";

describe("leaves and graph nodes", () => {
  it("marks tensors made by ops on tensors that require grad, and names their nodes like PyTorch", () => {
    const a = tensor([[1, 2], [3, 4]], { requiresGrad: true });
    const b = tensor([[1, 0], [0, 1]]);
    expect(a.requiresGrad && a.isLeaf && a.gradFn === undefined).toBe(true);
    expect(b.requiresGrad).toBe(false);
    const product = a.mul(b);
    expect(product.requiresGrad).toBe(true);
    expect(product.isLeaf).toBe(false);
    expect(product.gradFn?.name).toBe("MulBackward0");
    expect(a.add(b).gradFn?.name).toBe("AddBackward0");
    expect(matmul(a, b).gradFn?.name).toBe("MmBackward0");
    expect(a.exp().gradFn?.name).toBe("ExpBackward0");
    expect(a.t().gradFn?.name).toBe("PermuteBackward0");
    expect(a.pow(2.5).gradFn?.name).toBe("PowBackward0");
    expect(a.pow(a).gradFn?.name).toBe("PowBackward1");
    expect(a.max(1).values.gradFn?.name).toBe("ViewBackward0");
    expect(a.amax(1, true).gradFn?.name).toBe("AmaxBackward0");
    expect(a.double().gradFn?.name).toBe("ToCopyBackward0");
    expect(String(product)).toContain("gradFn=<MulBackward0>");
  });

  it("creates nothing for ops on tensors that do not require grad", () => {
    const b = tensor([1, 2]);
    const c = b.mul(3);
    expect(c.requiresGrad).toBe(false);
    expect(c.isLeaf).toBe(true);
    expect(c.gradFn).toBeUndefined();
  });

  it("gives no gradient to comparisons, integer results and the indices of max", () => {
    const a = tensor([[1, 5], [3, 2]], { requiresGrad: true });
    expect(a.gt(2).requiresGrad).toBe(false);
    expect(a.int().requiresGrad).toBe(false);
    const { values, indices } = a.max(1);
    expect(values.requiresGrad).toBe(true);
    expect(indices.requiresGrad).toBe(false);
    expect(indices.gradFn).toBeUndefined();
  });

  it("exposes the graph through next, ending in one AccumulateGrad per leaf", () => {
    const a = tensor([1, 2], { requiresGrad: true });
    const y = a.mul(a);
    const next = (y.gradFn as Node).next;
    expect(next).toHaveLength(2);
    expect(next[0]).toBeInstanceOf(AccumulateGrad);
    expect(next[0]).toBe(next[1]);
  });
});

describe("backward", () => {
  it("computes d(sum(a·b))/da = b and accumulates into leaves across calls", () => {
    const a = tensor([1, 2, 3], { requiresGrad: true });
    const b = tensor([4, 5, 6], { requiresGrad: true });
    a.mul(b).sum().backward();
    expect(a.grad!.toArraySync()).toEqual([4, 5, 6]);
    expect(b.grad!.toArraySync()).toEqual([1, 2, 3]);
    a.mul(b).sum().backward();
    expect(a.grad!.toArraySync()).toEqual([8, 10, 12]);
  });

  it("uses the given gradient for non-scalar outputs", () => {
    const a = tensor([1, 2, 3], { requiresGrad: true });
    a.mul(2).backward(tensor([1, 0, -1]));
    expect(a.grad!.toArraySync()).toEqual([2, 0, -2]);
  });

  it("accepts a leaf as the output", () => {
    const a = tensor(3, { requiresGrad: true });
    a.backward();
    expect(a.grad!.toArraySync()).toBe(1);
  });

  it("visits a shared subgraph once: 2^40 paths through 40 doublings take 40 steps", () => {
    const x = tensor(1, { dtype: "float64", requiresGrad: true });
    let y = x;
    for (let i = 0; i < 40; i++) y = y.add(y);
    y.backward();
    expect(x.grad!.itemSync()).toBe(2 ** 40);
  });

  it("sums the gradients of a tensor used twice before passing them on", () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const y = x.mul(3);
    const seen: number[][] = [];
    y.registerHook((g) => void seen.push(g.toArraySync() as number[]));
    y.mul(y).sum().add(y.sum()).backward();
    // d/dy (y² + y) = 2y + 1 = [7, 13], reported once.
    expect(seen).toEqual([[7, 13]]);
    expect(x.grad!.toArraySync()).toEqual([21, 39]);
  });

  it("stores each leaf's gradient as its own dense tensor", () => {
    const a = tensor([[1, 2], [3, 4]], { requiresGrad: true });
    const b = tensor([[1, 2], [3, 4]], { requiresGrad: true });
    const upstream = tensor([[1, 1], [1, 1]]);
    a.add(b).backward(upstream);
    expect(a.grad!.sharesStorageWith(b.grad!)).toBe(false);
    expect(a.grad!.sharesStorageWith(upstream)).toBe(false);
    const c = tensor([1, 2, 3], { requiresGrad: true });
    c.sum().backward(); // the sum rule's gradient is an expanded (stride-0) view
    expect(c.grad!.isContiguous()).toBe(true);
    expect(c.grad!.toArraySync()).toEqual([1, 1, 1]);
  });

  it("gives x·Wᵀ's weight its gradient in the weight's layout, with the bits of (xᵀ·G)ᵀ", () => {
    // Deterministic mode: the matmul's summation order is then fixed by K alone.
    useDeterministicAlgorithms(true);
    onTestFinished(() => useDeterministicAlgorithms(false));
    // Random-looking values with many rounding steps: the two forms must agree bit for bit.
    const values = (n: number, seed: number) => Array.from({ length: n }, (_, i) => Math.sin(seed * 97.1 + i * 12.9898) * 3.7);
    const x = tensor(values(5 * 7, 1)).reshape([5, 7]);
    const w = tensor(values(3 * 7, 2)).reshape([3, 7]).requiresGrad_();
    const g = tensor(values(5 * 3, 3)).reshape([5, 3]);
    // The gradient reaching the transposed view is itself a transposed view of a dense [3, 7].
    const wt = w.t();
    const [viewGrad] = grad(matmul(x, wt), [wt], { gradOutputs: g });
    expect(viewGrad!.strides).toEqual([1, 7]);
    matmul(x, w.t()).backward(g);
    expect(w.grad!.isContiguous()).toBe(true);
    const expected = matmul(x.t(), g).t().contiguous();
    expect(Array.from(new Uint32Array(w.grad!.dataSync().buffer))).toEqual(Array.from(new Uint32Array(expected.dataSync().buffer)));
    // The same for a transposed left operand: Aᵀ·B's A gets (B·Gᵀ)ᵀ.
    const a = tensor(values(7 * 5, 4), { requiresGrad: true });
    const at = a.reshape([7, 5]);
    const b = tensor(values(7 * 3, 5)).reshape([7, 3]);
    matmul(at.t(), b).backward(g);
    const expectedA = matmul(g, b.t()).t().contiguous().reshape([35]);
    expect(a.grad!.isContiguous()).toBe(true);
    expect(Array.from(new Uint32Array(a.grad!.dataSync().buffer))).toEqual(Array.from(new Uint32Array(expectedA.dataSync().buffer)));
  });

  it("frees saved tensors unless retainGraph, and can then walk again", () => {
    const a = tensor([1, 2], { requiresGrad: true });
    const y = a.mul(a).sum();
    y.backward(undefined, { retainGraph: true });
    y.backward();
    expect(a.grad!.toArraySync()).toEqual([4, 8]);
    expect(() => y.backward()).toThrow(/backward through the graph a second time/);
  });

  it("walks twice a graph that saved nothing, as PyTorch does", () => {
    const a = tensor([1, 2], { requiresGrad: true });
    const y = a.add(1).sum();
    y.backward();
    y.backward();
    expect(a.grad!.toArraySync()).toEqual([2, 2]);
  });

  it("frees each intermediate gradient as soon as the walk is past it", () => {
    const x = tensor(Array.from({ length: 64 }, (_, i) => i / 64), { requiresGrad: true });
    let y = x;
    for (let i = 0; i < 40; i++) y = y.tanh();
    const loss = y.sum();
    const backend = cpuBackend as Backend;
    const { allocate, upload, release } = backend;
    let live = 0;
    let peak = 0;
    const count = (delta: number) => {
      live += delta;
      peak = Math.max(peak, live);
    };
    Object.assign(backend, {
      allocate: (...args: Parameters<Backend["allocate"]>) => (count(1), allocate.apply(backend, args)),
      upload: (...args: Parameters<Backend["upload"]>) => (count(1), upload.apply(backend, args)),
      release: (...args: Parameters<Backend["release"]>) => (count(-1), release.apply(backend, args)),
    });
    try {
      loss.backward();
    } finally {
      Object.assign(backend, { allocate, upload, release });
    }
    // 40 steps of 3-4 temporaries each, but only a handful alive at any time; x.grad stays.
    expect(peak).toBeLessThan(10);
    expect(live).toBe(1);
  });

  it("keeps gradients alive past an enclosing scope, and frees the intermediate ones", () => {
    const a = tensor([1, 2, 3], { requiresGrad: true });
    scope(() => a.exp().mul(a).sum().backward());
    expect(a.grad!.isDisposed).toBe(false);
    expect(a.grad!.toArraySync()).toHaveLength(3);
  });
});

describe("softmax family", () => {
  // The maximum they shift by cancels out mathematically; PyTorch's backwards ignore it, and so
  // must ours (no AmaxBackward0 node, whose tiny nonzero result would land on the argmax).
  const names = (root: Node | undefined): Set<string> => {
    const seen = new Set<string>();
    const stack = root === undefined ? [] : [root];
    while (stack.length > 0) {
      const node = stack.pop()!;
      if (seen.has(node.name)) continue;
      seen.add(node.name);
      for (const next of node.next) if (next !== undefined) stack.push(next);
    }
    return seen;
  };
  it("records no gradient through the shift of softmax, logSoftmax and logsumexp", () => {
    const x = tensor([[1, 5, 2], [0, -1, 3]], { requiresGrad: true });
    for (const y of [x.softmax(1), x.logSoftmax(1), x.logsumexp(1)]) {
      const graph = names(y.gradFn as Node);
      expect(graph.has("ExpBackward0")).toBe(true);
      expect(graph.has("AmaxBackward0")).toBe(false);
    }
  });
});

describe("retainGrad and hooks", () => {
  it("keeps a non-leaf's gradient only when asked", () => {
    const a = tensor([1, 2], { requiresGrad: true });
    const y = a.mul(2);
    const z = a.mul(3);
    y.retainGrad();
    expect(y.retainsGrad).toBe(true);
    expect(z.retainsGrad).toBe(false);
    y.mul(z).sum().backward();
    expect(y.grad!.toArraySync()).toEqual([3, 6]);
    expect(z.grad).toBeUndefined();
    a.retainGrad(); // a leaf: nothing to do
  });

  it("lets a hook replace the gradient, and stops calling it after remove()", () => {
    const a = tensor([1, 2], { requiresGrad: true });
    const y = a.mul(1);
    const handle = y.registerHook((g) => g.mul(10));
    y.sum().backward();
    expect(a.grad!.toArraySync()).toEqual([10, 10]);
    handle.remove();
    handle.remove();
    a.grad = undefined;
    a.mul(1).sum().backward();
    expect(a.grad!.toArraySync()).toEqual([1, 1]);
  });

  it("runs leaf hooks on the summed gradient before it is accumulated", () => {
    const a = tensor([1, 2], { requiresGrad: true });
    const seen: number[][] = [];
    a.registerHook((g) => {
      seen.push(g.toArraySync() as number[]);
      return g.neg();
    });
    a.mul(2).add(a).sum().backward();
    expect(seen).toEqual([[3, 3]]);
    expect(a.grad!.toArraySync()).toEqual([-3, -3]);
  });

  it("runs hooks in the order they were registered, retaining the final gradient", () => {
    const a = tensor([1], { requiresGrad: true });
    const y = a.mul(1);
    y.retainGrad();
    y.registerHook((g) => g.add(1));
    y.registerHook((g) => g.mul(3));
    y.sum().backward();
    expect(y.grad!.toArraySync()).toEqual([6]);
  });
});

describe("detach and grad()", () => {
  it("detach() shares memory but stops the gradient", () => {
    const a = tensor([1, 2], { requiresGrad: true });
    const d = a.detach();
    expect(d.requiresGrad).toBe(false);
    expect(d.isLeaf).toBe(true);
    expect(d.sharesStorageWith(a)).toBe(true);
    a.mul(a.detach()).sum().backward();
    expect(a.grad!.toArraySync()).toEqual([1, 2]);
  });

  it("grad() returns gradients of any tensors without touching .grad", () => {
    const a = tensor([1, 2], { requiresGrad: true });
    const y = a.mul(a);
    const z = y.sum();
    const [ga, gy] = grad(z, [a, y], { retainGraph: true });
    expect(ga!.toArraySync()).toEqual([2, 4]);
    expect(gy!.toArraySync()).toEqual([1, 1]);
    expect(a.grad).toBeUndefined();
    const unused = tensor([1], { requiresGrad: true });
    expect(grad(z, [unused], { allowUnused: true })).toEqual([undefined]);
  });

  it("grad() takes gradients for several outputs at once", () => {
    const a = tensor([1, 2], { requiresGrad: true });
    const [g] = grad([a.mul(2), a.mul(a)], a, { gradOutputs: [tensor([1, 1]), tensor([1, 0])] });
    expect(g!.toArraySync()).toEqual([4, 2]);
  });

  it("an alias view passes the gradient through", () => {
    const a = tensor([1, 2], { requiresGrad: true });
    const alias = makeView(a, "alias", {}, a.shape, a.strides, a.offset);
    expect(alias.gradFn?.name).toBe("AliasBackward0");
    alias.mul(3).sum().backward();
    expect(a.grad!.toArraySync()).toEqual([3, 3]);
  });

  it("does not record while computing gradients", () => {
    const a = tensor([1, 2], { requiresGrad: true });
    let inside: boolean | undefined;
    a.registerHook((g) => {
      inside = g.requiresGrad;
    });
    a.exp().sum().backward();
    expect(inside).toBe(false);
    expect(a.grad!.requiresGrad).toBe(false);
    expect(noGrad(() => zeros([1]).requiresGrad)).toBe(false);
  });
});
