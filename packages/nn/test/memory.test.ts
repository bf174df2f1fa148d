// Who frees what: zeroGrad frees the gradients autograd made, so GPU memory does not wait for the
// garbage collector between training steps.
import "@lockstep/backend-cpu";
import "@lockstep/autograd";
import { randn } from "@lockstep/random";
import { describe, expect, it } from "vitest";
import { Linear, optim } from "../src/index.js";

describe("gradients are freed when dropped", () => {
  it("Module.zeroGrad and Optimizer.zeroGrad dispose the old gradients", () => {
    const lin = new Linear(3, 2);
    const opt = new optim.SGD(lin.parameters(), { lr: 0.1 });
    lin.forward(randn([4, 3])).sum().backward();
    const grads = lin.parameters().map((p) => p.grad!);
    opt.zeroGrad();
    expect(grads.every((g) => g.isDisposed)).toBe(true);
    expect(lin.parameters().every((p) => p.grad === undefined)).toBe(true);
    lin.forward(randn([4, 3])).sum().backward();
    const again = lin.parameters().map((p) => p.grad!);
    lin.zeroGrad();
    expect(again.every((g) => g.isDisposed)).toBe(true);
  });
});
