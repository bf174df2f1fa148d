// The tensor API of issue 15 beyond values: float64 gradchecks of every differentiable new op (the
// expected gradients are central differences), PyTorch's autograd rules for in-place ops (leaf and
// view refusals, rebased history, the saved-tensor version check), error messages that name the
// values and leave everything unchanged, and printing / JSON. CPU only (float64).
import { describe, expect, it } from "vitest";
import * as L from "lockstep";
import { type Tensor } from "lockstep";

const f64 = (shape: number[], seed: number) => {
  L.manualSeed(seed);
  return L.randn(shape, { dtype: "float64" }).requiresGrad_();
};
const i32 = (values: number[] | number[][]) => L.tensor(values, { dtype: "int32" });

describe("gradcheck (float64) of the new differentiable ops", () => {
  const x = f64([3, 4, 5], 1);
  const cases: [string, (t: Tensor) => Tensor][] = [
    ["select", (t) => t.select(1, -1)],
    ["index basic", (t) => t.index(1, { start: 1, step: 2 }, null)],
    ["index adjacent, repeated", (t) => t.index(":", i32([0, 2, 0]), i32([4, 4, 1]))],
    ["index separated, broadcast", (t) => t.index(i32([[0], [2]]), ":", i32([1, 3, 1]))],
    ["index bool mask", (t) => t.index(":", L.tensor([true, false, true, true]))],
    ["maskedSelect", (t) => t.maskedSelect(t.detach().gt(0))],
    ["sort values", (t) => t.sort({ dim: 1 }).values],
    ["sort descending dim 0", (t) => t.sort({ dim: 0, descending: true }).values],
    ["topk values", (t) => t.topk(2, { dim: -1 }).values],
    ["cumsum", (t) => t.cumsum(2)],
    ["flip", (t) => t.flip([0, 2])],
    ["roll", (t) => t.roll([1, -2], [1, 2])],
    ["repeat", (t) => t.repeat(2, 1, 1, 2)],
    ["tile", (t) => t.tile([2, 1])],
  ];
  it.each(cases)("%s", (_name, fn) => {
    expect(L.gradcheck(fn, [x])).toBe(true);
  });

  it("the compensated float32 cumsum has the plain cumsum's gradient", () => {
    const x = L.tensor([[0.5, -1.25, 3, 7.5, 2]], { requiresGrad: true });
    const w = L.tensor([[1, 2, 4, 8, 16]]);
    x.cumsum(1).mul(w).sum().backward();
    // d/dx_i of sum_j w_j * sum_{k<=j} x_k = sum_{j>=i} w_j
    expect(Array.from(x.grad!.dataSync())).toEqual([31, 30, 28, 24, 16]);
  });

  it("in-place ops on a non-leaf, both operands", () => {
    const other = f64([4, 5], 2);
    const fn = (a: Tensor, b: Tensor) => {
      const y = a.mul(1.5);
      y.add_(b, { alpha: 0.5 }).mul_(b).sub_(a).div_(b.abs().add(1)).clamp_(-0.5, 0.7);
      return y;
    };
    expect(L.gradcheck(fn, [x, other])).toBe(true);
    const powFn = (a: Tensor) => a.abs().add(0.5).pow_(1.7);
    expect(L.gradcheck(powFn, [x])).toBe(true);
  });

  it("indexPut_ into a non-leaf: gradients for the tensor and the values, with accumulate", () => {
    const values = f64([3, 5], 3);
    for (const accumulate of [false, true]) {
      // without accumulate a repeated index keeps the last value, so only distinct positions are used there
      const idx = accumulate ? [i32([2, 0, 2]), i32([1, 1, 1])] : [i32([2, 0, 1]), i32([1, 1, 3])];
      expect(L.gradcheck((a: Tensor, v: Tensor) => a.mul(1).indexPut_(idx, v, accumulate), [x, values])).toBe(true);
    }
  });

  it("an in-place op makes a tensor without grad part of the graph (PyTorch: a.add_(w))", () => {
    const w = L.tensor([1, 2, 3], { dtype: "float64", requiresGrad: true });
    const a = L.zeros([3], { dtype: "float64" });
    a.add_(w).mul_(w);
    expect(a.requiresGrad).toBe(true);
    expect(a.gradFn?.name).toBe("MulBackward0");
    a.sum().backward();
    expect(Array.from(w.grad!.dataSync())).toEqual([2, 4, 6]);
  });
});

describe("PyTorch's autograd rules for in-place ops", () => {
  it("refuses a leaf that requires grad, changing nothing", () => {
    const w = L.tensor([1, 2, 3], { requiresGrad: true });
    for (const call of [() => w.add_(1), () => w.mul_(2), () => w.clamp_(0, 1), () => w.indexPut_([i32([0])], L.tensor(5))]) {
      expect(call).toThrow("a leaf Variable that requires grad is being used in an in-place operation.");
    }
    expect(Array.from(w.dataSync())).toEqual([1, 2, 3]);
    expect(w.version).toBe(0);
  });

  it("refuses a view of such a leaf, and allows both under noGrad", () => {
    const w = L.tensor([1, 2, 3], { requiresGrad: true });
    expect(() => w.select(0, 1).add_(1)).toThrow("a view of a leaf Variable that requires grad is being used in an in-place operation.");
    L.noGrad(() => {
      w.mul_(2);
      w.select(0, 0).sub_(1);
    });
    expect(Array.from(w.dataSync())).toEqual([1, 4, 6]);
    expect(w.version).toBe(2);
  });

  it("in-place through a view rebases the base's history (PyTorch's CopySlices): gradcheck", () => {
    const a = f64([3, 4], 6);
    const w = f64([2], 7);
    const fn = (x: Tensor, v: Tensor) => {
      const y = x.mul(1.5);
      y.select(0, 1).narrow(0, 1, 2).mul_(v); // a view of a view
      y.index(":", { start: 0, step: 3 }).add_(y.index(":", { start: 1, step: 3 }).clone());
      return y.tanh();
    };
    expect(L.gradcheck(fn, [a, w])).toBe(true);
  });

  it("writing rows into a buffer through views makes the buffer carry the rows' gradients", () => {
    const rows = L.tensor([[1, 2], [3, 4], [5, 6]], { dtype: "float64", requiresGrad: true });
    const buf = L.zeros([3, 2], { dtype: "float64" });
    for (let i = 0; i < 3; i++) buf.select(0, 2 - i).add_(rows.select(0, i).mul(i + 1));
    expect(buf.requiresGrad).toBe(true);
    expect(buf.version).toBe(3);
    expect(Array.from(buf.dataSync())).toEqual([15, 18, 6, 8, 1, 2]);
    buf.mul(L.tensor([[1, 10], [100, 1000], [1e4, 1e5]], { dtype: "float64" })).sum().backward();
    // d/d rows[i] of buf[2 - i] * (i + 1) weighted by the weights of row 2 - i.
    expect(Array.from(rows.grad!.dataSync())).toEqual([1e4, 1e5, 200, 2000, 3, 30]);
    // The same through a transposed (non-contiguous) base.
    expect(L.gradcheck((r: Tensor) => {
      const b = L.zeros([2, 3], { dtype: "float64" }).t().detach();
      b.select(0, 1).add_(r.select(0, 0));
      return b.mul(L.arange(6, { dtype: "float64" }).reshape(3, 2));
    }, [rows])).toBe(true);
    expect(L.gradcheck((r: Tensor) => {
      const b = L.zeros([3, 2], { dtype: "float64" });
      for (let i = 0; i < 3; i++) b.select(0, 2 - i).add_(r.select(0, i).mul(i + 1));
      return b;
    }, [rows])).toBe(true);
  });

  it("copy_ is tracked like PyTorch's CopyBackwards: into buffers, views and non-leaves", () => {
    const w = f64([2, 3], 8);
    expect(L.gradcheck((v: Tensor) => L.zeros([2, 3], { dtype: "float64" }).copy_(v), [w])).toBe(true);
    expect(L.gradcheck((v: Tensor) => {
      const buf = L.zeros([4, 3], { dtype: "float64" });
      buf.narrow(0, 1, 2).copy_(v.mul(2));
      buf.select(0, 3).copy_(v.select(0, 0)); // broadcast-free row copy through a view
      return buf.tanh();
    }, [w])).toBe(true);
    // Overwriting a non-leaf cuts its old history: no gradient reaches w through it.
    const y = w.mul(3);
    y.copy_(L.ones([2, 3], { dtype: "float64" }));
    expect(y.gradFn).toBeDefined();
    y.sum().backward();
    expect(Array.from(w.grad!.dataSync())).toEqual([0, 0, 0, 0, 0, 0]);
    // Bits are the source's (the where always picks it), -0 included.
    const src = L.tensor([-0, 1.5, Number.NaN], { requiresGrad: true });
    const dst = L.zeros([3]).copy_(src);
    expect(Object.is(dst.dataSync()[0], -0)).toBe(true);
    expect(Number.isNaN(dst.dataSync()[2])).toBe(true);
  });

  it("refuses a view made under noGrad of a tensor with history, and a view of an overlapping tensor", () => {
    const w = L.tensor([1, 2, 3], { requiresGrad: true });
    const y = w.mul(2);
    const v = L.noGrad(() => y.select(0, 0));
    expect(() => v.add_(1)).toThrow(/A view was created in no_grad mode/);
    const expanded = L.tensor([1, 2]).expand(3, 2).detach();
    expect(() => expanded.select(0, 0).add_(w.narrow(0, 0, 2))).toThrow(L.NotImplementedError);
    expect(Array.from(expanded.dataSync())).toEqual([1, 2, 1, 2, 1, 2]);
    expect(Array.from(y.dataSync())).toEqual([2, 4, 6]);
    // Without autograd a view is written through, like PyTorch.
    const plain = L.zeros([3]);
    plain.select(0, 2).add_(5);
    expect(Array.from(plain.dataSync())).toEqual([0, 0, 5]);
  });

  it("refuses to use in autograd a view taken before its base got a new history in place", () => {
    const w = L.tensor([1, 2, 3], { requiresGrad: true });
    const y = w.mul(2);
    const early = y.select(0, 0);
    const used = early.add(3); // used before the write (add saves nothing): fine, as in PyTorch
    y.mul_(w);
    expect(() => early.mul(3)).toThrow(/modified in place with autograd after the view was taken/);
    expect(() => early.reshape([1])).toThrow(L.NotImplementedError);
    // A view taken afterwards sees the new history: d(3 y0)/dw0 = d(6 w0^2)/dw0 = 12 w0; the early
    // use still goes through the old history: d(y0_old + 3)/dw0 = 2.
    y.select(0, 0).mul(3).add(used).backward();
    expect(Array.from(w.grad!.dataSync())).toEqual([12 + 2, 0, 0]);
    L.noGrad(() => expect(Array.from(early.mul(1).dataSync())).toEqual([2]));
  });

  it("a tensor saved for backward and then changed in place fails backward with the version error", () => {
    const w = L.tensor([1, 2, 3], { requiresGrad: true });
    const y = w.mul(2);
    const z = y.mul(y);
    y.add_(1);
    expect(y.version).toBe(1);
    expect(() => z.sum().backward()).toThrow(/modified by an inplace operation.*is at version 1; expected version 0/);
  });

  it("the in-place result has the out-of-place op's bits", () => {
    L.manualSeed(5);
    const a = L.randn([64]);
    const b = L.randn([64]);
    for (const [inplace, outOfPlace] of [
      [(t: Tensor) => t.add_(b, { alpha: 0.3 }), (t: Tensor) => t.add(b, { alpha: 0.3 })],
      [(t: Tensor) => t.div_(b), (t: Tensor) => t.div(b)],
      [(t: Tensor) => t.pow_(b), (t: Tensor) => t.pow(b)],
    ] as const) {
      const got = inplace(a.clone());
      const want = outOfPlace(a);
      expect(new Uint32Array((got.dataSync() as Float32Array).buffer)).toEqual(new Uint32Array((want.dataSync() as Float32Array).buffer));
    }
  });
});

describe("errors name the values and change nothing", () => {
  const x = L.arange(12).reshape(3, 4);
  const snapshot = () => Array.from(x.dataSync());
  const before = snapshot();
  const cases: [string, () => unknown, RegExp][] = [
    ["select range", () => x.select(1, 4), /select\(\): index 4 out of range for tensor of size \[3, 4\] at dimension 1/],
    ["int index range", () => x.index(3), /index 3 is out of bounds for dimension 0 with size 3/],
    ["tensor index range", () => x.index(i32([0, -4])), /index -4 is out of bounds for dimension 0 with size 3/],
    ["int index names its position", () => x.index(null, 0, 7), /index 7 is out of bounds for dimension 2 with size 4/],
    ["after an ellipsis", () => x.index("...", 9), /index 9 is out of bounds for dimension 1 with size 4/],
    ["tensor index counts among tensors", () => x.index(":", null, i32([9])), /index 9 is out of bounds for dimension 0 with size 4/],
    ["second tensor index", () => x.index(i32([0]), i32([9])), /index 9 is out of bounds for dimension 1 with size 4/],
    ["too many indices", () => x.index(0, 0, 0), /too many indices for tensor of dimension 2 \(got 3\)/],
    ["two ellipses", () => x.index("...", "..."), /an index can only have a single ellipsis/],
    ["float index tensor", () => x.index(L.tensor([0.5])), /must be int32 or bool tensors, got float32 at position 0/],
    ["bad item", () => x.index("1" as never), /got string "1" at position 0/],
    ["mask shape", () => x.index(L.tensor([true, false])), /mask \[2\] at index 0 does not match the shape of the indexed tensor \[3, 4\] at index 0/],
    ["broadcast", () => x.index(i32([0, 1]), i32([0, 1, 2])), /could not be broadcast together with shapes \[2\], \[3\]/],
    ["indexPut_ values shape", () => x.indexPut_([i32([0, 1])], L.tensor([1, 2, 3], { dtype: "int32" })), /value tensor of shape \[3\] cannot be broadcast to indexing result of shape \[2, 4\]/],
    ["indexPut_ dtype", () => x.indexPut_([i32([0])], L.tensor([1.5])), /got int32 for the destination and float32 for the source/],
    ["add_ broadcast", () => x.add_(L.ones([2, 3, 4], { dtype: "int32" })), /output with shape \[3, 4\] doesn't match the broadcast shape \[2, 3, 4\]/],
    ["div_ int", () => x.div_(2), /result type Float can't be cast to the desired output type Int/],
    ["mul_ float into int", () => x.mul_(1.5), /result type Float can't be cast to the desired output type Int/],
    ["topk k", () => x.topk(5), /k=5 for dimension 1 of size 4/],
    ["repeat short", () => x.repeat(2), /repeats \[2\] for a tensor of shape \[3, 4\]/],
    ["roll mismatch", () => x.roll([1, 2], 0), /shifts: 2, dims:1/],
    ["flip repeated dim", () => x.flip([0, -2]), /dim 0 appears multiple times in the list of dims \[0, -2\]/],
    ["oneHot dtype", () => L.oneHot(L.tensor([1.0]), 3), /index tensor of dtype int32, got float32/],
    ["oneHot range", () => L.oneHot(i32([0, 3]), 3), /smaller than num_classes \(got 3 with num_classes=3\)/],
    ["sort option", () => x.sort({ dim: 0, descnding: true } as never), /unexpected keyword argument 'descnding'/],
    ["multinomial negative", () => L.multinomial(L.tensor([0.5, -0.1]), 1), /found -0\.1\d* at flat index 1/],
    ["multinomial too many", () => L.multinomial(L.tensor([0.5, 0.5]), 3), /n_sample=3, size=2/],
    ["multinomial zero row", () => L.multinomial(L.tensor([[0.5, 0.5], [0, 0]]), 1), /sum of probabilities <= 0\) in row 1/],
  ];
  it.each(cases)("%s", (_name, call, message) => {
    const version = x.version;
    expect(call).toThrow(L.LockstepError);
    expect(call).toThrow(message);
    expect(snapshot()).toEqual(before);
    expect(x.version).toBe(version);
  });

  it("a refused multinomial leaves the generator where it was", () => {
    L.manualSeed(3);
    expect(() => L.multinomial(L.tensor([[1, 2], [0, 0]]), 1)).toThrow(L.ValueError);
    const after = L.rand([4]).dataSync();
    L.manualSeed(3);
    expect(L.rand([4]).dataSync()).toEqual(after);
  });
});

describe("nn re-exports", () => {
  it("nn.functional.oneHot is core's oneHot", () => {
    expect(L.nn.functional.oneHot).toBe(L.oneHot);
  });
});

describe("printing, JSON and item()", () => {
  it("util.inspect / console.log show PyTorch's repr", async () => {
    const { inspect } = await import("node:util");
    const t = L.tensor([[1.5, 2], [3, 4]]);
    expect(inspect(t)).toBe(t.toString());
    expect(inspect(t)).toBe("tensor([[1.5000, 2.0000],\n        [3.0000, 4.0000]])");
    expect(inspect({ weight: L.tensor([1, 2], { dtype: "int32" }) })).toContain("tensor([1, 2], dtype=int32)");
  });

  it("JSON.stringify keeps dtype, shape and values", () => {
    const t = L.tensor([[1.5, Number.NaN], [3, -4]]);
    expect(JSON.parse(JSON.stringify({ t }))).toEqual({ t: { dtype: "float32", shape: [2, 2], data: [[1.5, null], [3, -4]] } });
    expect(JSON.stringify(L.tensor([true, false]))).toBe('{"dtype":"bool","shape":[2],"data":[true,false]}');
    expect(JSON.stringify(L.tensor(2.5))).toBe('{"dtype":"float32","shape":[],"data":2.5}');
    const ints = L.tensor([[1, 2], [3, 4]], { dtype: "int32" });
    const j = JSON.parse(JSON.stringify(ints)) as L.TensorJSON;
    expect(L.tensor(j.data, { dtype: j.dtype }).toString()).toBe(ints.toString());
  });

  it("item() is typed number for tensors of unknown dtype, boolean for bool-typed ones", async () => {
    const loss = L.tensor([0.123456]).mean();
    const text: string = loss.itemSync().toFixed(4);
    const asyncText: string = (await loss.item()).toFixed(2);
    expect([text, asyncText]).toEqual(["0.1235", "0.12"]);
    const flag = L.tensor(true) as Tensor & { readonly dtype: "bool" };
    const b: boolean = flag.itemSync();
    expect(b).toBe(true);
  });
});
