// Regression tests for the examples of issue 18 ("Reliability: every public entry validates its
// input, errors change nothing") that concern @lockstep/core: one `it` per example, named after
// it. Each bad call must be a LockstepError whose message names the value as written, and leave
// its inputs exactly as they were. (The nn, autograd, random, safetensors and WebGPU-index examples
// are tested with those packages; `full([2 ** 25], 2).mean()` in accurate-sums.test.ts.)
import * as L from "lockstep";
import type { Tensor } from "lockstep";
import { afterEach, describe, expect, it } from "vitest";
import { expectRefused } from "./fuzz/support.js";

afterEach(() => {
  L.useDeterministicAlgorithms(false);
  L.setGradEnabled(true);
});

const a = () => L.tensor([1, 2, 3]);

describe("issue 18: silent wrong results now refused", () => {
  it('full([2], "x") → was NaN', async () => {
    const e = await expectRefused(() => L.full([2], "x" as never), [], L.LockstepTypeError);
    expect(e.message).toBe(`full(): argument 'fill_value' must be Number, not string "x"`);
  });

  it('a.add("1") → was [2, 3, 4]', async () => {
    const x = a();
    const e = await expectRefused(() => x.add("1" as never), [x], L.LockstepTypeError);
    expect(e.message).toBe(`add(): argument 'other' must be Tensor or Number, not string "1"`);
    await expectRefused(() => L.add("1" as never, x), [x], L.LockstepTypeError);
  });

  it("a.add(null) → was unchanged a", async () => {
    const x = a();
    const e = await expectRefused(() => x.add(null as never), [x], L.LockstepTypeError);
    expect(e.message).toBe("add(): argument 'other' must be Tensor or Number, not null");
    const big = await expectRefused(() => x.add(2n as never), [x], L.LockstepTypeError);
    expect(big.message).toContain("bigint 2n");
  });

  it("broadcastTo(tensor([1, 2]), [2, 3]) → read past the end of its storage ([1, 2, NaN, 1, 2, NaN])", async () => {
    const x = L.tensor([1, 2]);
    const e = await expectRefused(() => L.broadcastTo(x, [2, 3]), [x], L.ShapeError);
    expect(e.message).toBe(
      "The expanded size of the tensor (3) must match the existing size (2) at non-singleton dimension 1.  Target sizes: [2, 3].  Tensor sizes: [2]",
    );
    // Valid broadcasts still work.
    expect(L.broadcastTo(x, [3, 2]).toArraySync()).toEqual([[1, 2], [1, 2], [1, 2]]);
  });

  it("x.copy_(tensor([9, 8])) → relied on that broadcast", async () => {
    const x = L.zeros([3]);
    const src = L.tensor([9, 8]);
    const e = await expectRefused(() => x.copy_(src), [x, src], L.ShapeError);
    expect(e.message).toBe("The size of tensor a (3) must match the size of tensor b (2) at non-singleton dimension 0");
    const bigger = L.zeros([2, 3]);
    await expectRefused(() => x.copy_(bigger), [x, bigger], L.ShapeError);
    x.copy_(L.tensor([5]));
    expect(x.toArraySync()).toEqual([5, 5, 5]);
  });

  it("expand(-2) → made an impossible shape", async () => {
    const x = L.ones([1]);
    const e = await expectRefused(() => x.expand(-2), [x], L.ShapeError);
    expect(e.message).toContain("The expanded size of the tensor (-2) isn't allowed");
    expect([...L.ones([3, 1]).expand(-1, 2).shape]).toEqual([3, 2]);
  });

  it("expand(2.5) → made an impossible shape", async () => {
    const x = L.ones([1]);
    const e = await expectRefused(() => x.expand(2.5), [x], L.LockstepTypeError);
    expect(e.message).toBe("expand(): argument 'size' must be tuple of ints, but found element of type float at pos 0: [2.5]");
  });

  it("slice(1, NaN) → made an impossible shape", async () => {
    const x = L.zeros([2, 3]);
    const e = await expectRefused(() => x.slice(1, Number.NaN), [x], L.LockstepTypeError);
    expect(e.message).toBe("slice(): argument 'start' must be int, not float NaN");
    await expectRefused(() => x.slice(0, 1, Number.NaN), [x], L.LockstepTypeError);
    await expectRefused(() => x.slice(0.5 as number), [x], L.LockstepTypeError);
    expect([...x.slice(1, 1, Number.POSITIVE_INFINITY).shape]).toEqual([2, 2]);
  });

  it("an in-place write through a view of a leaf that requires grad → was allowed (PyTorch refuses)", async () => {
    const w = L.tensor([1, 2, 3], { requiresGrad: true });
    const view = w.slice(0, 0, 2);
    const e = await expectRefused(() => view.fill_(0), [w, view]);
    expect(e.message).toBe("a view of a leaf Variable that requires grad is being used in an in-place operation.");
    await expectRefused(() => w.view(3).copy_(L.zeros([3])), [w]);
    L.noGrad(() => w.slice(0, 0, 2).fill_(0));
    expect(w.toArraySync()).toEqual([0, 0, 3]);
  });

  it("a Uint8Array → became a bool tensor holding raw bytes (sum 257)", () => {
    const t = L.tensor(new Uint8Array([1, 2, 254]));
    expect(t.dtype).toBe("int32");
    expect(t.toArraySync()).toEqual([1, 2, 254]);
    expect(t.sum().itemSync()).toBe(257);
    const mask = L.tensor(new Uint8Array([0, 2, 1]), { dtype: "bool" });
    expect(mask.toArraySync()).toEqual([false, true, true]);
    expect(mask.sum().itemSync()).toBe(2);
  });
});

describe("issue 18: generic JavaScript errors now Lockstep errors naming the value", () => {
  it("a non-Tensor where a tensor is expected → was TypeError: t.assertLive is not a function", async () => {
    const x = a();
    const e = await expectRefused(() => x.matmul([1, 2, 3] as never), [x], L.LockstepTypeError);
    expect(e.message).toBe("matmul(): argument 'other' must be Tensor, not array [1, 2, 3]");
    await expectRefused(() => L.exp({ shape: [3] } as never), [], L.LockstepTypeError);
    await expectRefused(() => L.cat([x, 3 as never]), [x], L.LockstepTypeError);
    await expectRefused(() => x.gather(0, [0] as never), [x], L.LockstepTypeError);
    await expectRefused(() => L.zerosLike("x" as never), [], L.LockstepTypeError);
  });

  it("negative, NaN, Infinity and huge sizes → were RangeError: Invalid typed array length", async () => {
    expect((await expectRefused(() => L.zeros([-1]), [], L.ValueError)).message).toBe("Trying to create tensor with negative dimension -1: [-1]");
    expect((await expectRefused(() => L.zeros([Number.NaN]), [], L.LockstepTypeError)).message).toContain("[NaN]");
    expect((await expectRefused(() => L.ones([Number.POSITIVE_INFINITY]), [], L.LockstepTypeError)).message).toContain("[Infinity]");
    expect((await expectRefused(() => L.zeros([2 ** 40]), [], L.ValueError)).message).toContain("Storage size calculation overflowed");
    expect((await expectRefused(() => L.zeros([65536, 65536]), [], L.ValueError)).message).toContain("sizes=[65536, 65536]");
    await expectRefused(() => L.arange(0, 1e12), [], L.ValueError);
    await expectRefused(() => L.eye(2 ** 20, 2 ** 20), [], L.ValueError);
    await expectRefused(() => L.ones([1]).expand(2 ** 40), [], L.ValueError);
  });

  it("deeply nested or cyclic arrays → were Maximum call stack size exceeded", async () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect((await expectRefused(() => L.tensor(deep as never), [], L.ValueError)).message).toContain("nested more than 64 levels");
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    await expectRefused(() => L.tensor(cyclic as never), [], L.ValueError);
    expect([...L.tensor([[[]]]).shape]).toEqual([1, 1, 0]);
  });

  it('zeros(["2"]) → said "shape must contain integers, got [2]"', async () => {
    const e = await expectRefused(() => L.zeros(["2"] as never), [], L.LockstepTypeError);
    expect(e.message).toBe(`zeros(): argument 'size' must be tuple of ints, but found element of type string at pos 0: ["2"]`);
  });

  it('x.sum(0.5) → said "Dimension out of range … got 1.5"', async () => {
    const x = L.zeros([2, 3]);
    const e = await expectRefused(() => x.sum(0.5), [x], L.LockstepTypeError);
    expect(e.message).toBe("sum(): argument 'dim' must be int, not float 0.5");
    expect((await expectRefused(() => x.sum(0, 1 as never), [x], L.LockstepTypeError)).message).toBe(
      "sum(): argument 'keepdim' must be bool, not int 1",
    );
  });
});

describe("issue 18: valid edge cases keep working, flags change only when valid", () => {
  it("zeros([0, 3]).softmax(0) is an empty result", async () => {
    const out = L.zeros([0, 3]).softmax(0);
    expect([...out.shape]).toEqual([0, 3]);
    expect([...L.zeros([0, 3]).logSoftmax(1).shape]).toEqual([0, 3]);
    expect([...L.zeros([0, 3]).sum(0).shape]).toEqual([3]);
    expect(L.tensor(5).reshape(-1).toArraySync()).toEqual([5]);
    expect([...L.zeros([2, 3]).reshape(-1, 2).shape]).toEqual([3, 2]);
  });

  it("useDeterministicAlgorithms with a bad mode or warnOnly changes neither flag", async () => {
    L.useDeterministicAlgorithms(true, { warnOnly: true });
    await expectRefused(() => L.useDeterministicAlgorithms("yes" as never), [], L.LockstepTypeError);
    await expectRefused(() => L.useDeterministicAlgorithms(false, { warnOnly: 1 } as never), [], L.LockstepTypeError);
    await expectRefused(() => L.useDeterministicAlgorithms(false, { warn: true } as never), [], L.LockstepTypeError);
    expect(L.areDeterministicAlgorithmsEnabled()).toBe(true);
    expect(L.isDeterministicAlgorithmsWarnOnlyEnabled()).toBe(true);
  });

  it("a disposed tensor is a DisposedError everywhere a tensor is checked", async () => {
    const x = a();
    const y = a();
    y.dispose();
    for (const call of [() => x.add(y), () => L.cat([x, y]), () => x.matmul(y), () => x.copy_(y), () => L.zerosLike(y)] as (() => Tensor)[]) {
      await expectRefused(call, [x], L.DisposedError);
    }
  });
});
