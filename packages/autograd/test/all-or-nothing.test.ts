// backward() stores gradients only once the whole walk succeeded: a hook or rule that throws
// halfway leaves every `.grad` as it was (the same tensor objects, live, same bits), so the next
// backward accumulates into them normally. grad() never touches `.grad`.
import { describe, expect, it } from "vitest";
import { tensor, type Tensor } from "@lockstep/core";
import { grad } from "../src/index.js";
import "./helpers.js";

const bits = (t: Tensor | undefined) => (t === undefined ? undefined : [...new Uint32Array(Float32Array.from(t.dataSync()).buffer)]);

function leaves() {
  const a = tensor([1.5, -2], { requiresGrad: true });
  const b = tensor([0.5, 4], { requiresGrad: true });
  const c = tensor([3, -1], { requiresGrad: true });
  // a is reached first, c last: a failure at c comes after a's and b's gradients were computed.
  const loss = () => a.mul(2).add(b.mul(a)).mul(c).sum();
  return { a, b, c, loss };
}

describe("backward is all-or-nothing", () => {
  for (const failing of ["a", "b", "c"] as const) {
    it(`a hook on ${failing} that throws changes no .grad`, () => {
      const all = leaves();
      all.loss().backward();
      const before = [all.a, all.b, all.c].map((t) => ({ grad: t.grad, bits: bits(t.grad) }));
      const handle = all[failing].registerHook(() => {
        throw new Error(`hook on ${failing}`);
      });
      expect(() => all.loss().backward()).toThrow(`hook on ${failing}`);
      expect([all.a, all.b, all.c].map((t) => ({ grad: t.grad, bits: bits(t.grad) }))).toEqual(before);
      expect([all.a, all.b, all.c].every((t) => t.grad!.isDisposed === false)).toBe(true);
      handle.remove();
      all.loss().backward();
      // Accumulated twice now: 2× the first gradient, exactly (a doubling is exact in float32).
      expect([all.a, all.b, all.c].map((t) => bits(t.grad))).toEqual(
        before.map((x) => bits(tensor(Float32Array.from(new Float32Array(new Uint32Array(x.bits!).buffer), (v) => 2 * v)))),
      );
    });
  }

  it("grad() with a throwing hook leaves .grad alone too", () => {
    const { a, c, loss } = leaves();
    c.registerHook(() => {
      throw new Error("no");
    });
    expect(() => grad(loss(), [a, c])).toThrow("no");
    expect([a.grad, c.grad]).toEqual([undefined, undefined]);
  });
});
