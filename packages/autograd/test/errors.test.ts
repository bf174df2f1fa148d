// Misuse gives an Error subclass whose message reads like PyTorch's, so a message found in a
// PyTorch forum post matches ours.
import { describe, expect, it } from "vitest";
import { DTypeError, ShapeError, ValueError, tensor } from "@lockstep/core";
import { AutogradError, GradcheckError, gradcheck, grad } from "../src/index.js";
import "./helpers.js";

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected an error");
}

describe("autograd errors", () => {
  it("backward on a non-scalar without a gradient", () => {
    const y = tensor([1, 2], { requiresGrad: true }).mul(2);
    const error = thrown(() => y.backward());
    expect(error).toBeInstanceOf(AutogradError);
    expect(error.message).toBe("grad can be implicitly created only for scalar outputs");
  });

  it("a second backward through a freed graph", () => {
    const a = tensor([1, 2], { requiresGrad: true });
    const y = a.exp().sum();
    y.backward();
    const error = thrown(() => y.backward());
    expect(error).toBeInstanceOf(AutogradError);
    expect(error.message).toMatch(
      /^Trying to backward through the graph a second time \(or directly access saved tensors after they have already been freed\)\. .*retainGraph: true/,
    );
  });

  it("an in-place change of a saved tensor (version counter)", () => {
    const a = tensor([1, 2, 3], { requiresGrad: true });
    const y = a.exp(); // ExpBackward0 saves its output
    const loss = y.sum();
    y.bumpVersion(); // what an in-place op on y does
    const error = thrown(() => loss.backward());
    expect(error).toBeInstanceOf(AutogradError);
    expect(error.message).toMatch(
      /^one of the variables needed for gradient computation has been modified by an inplace operation: \[float32 \[3\] on cpu\], which is output 0 of ExpBackward0, is at version 1; expected version 0 instead\./,
    );
  });

  it("an error found in the graph leaves every .grad as it was", () => {
    const a = tensor([1, 2], { requiresGrad: true });
    const b = tensor([3, 4], { requiresGrad: true });
    const y = b.log().add(a.mul(2)); // a's branch runs before LogBackward0, which saved b
    b.detach().bumpVersion();
    expect(() => y.sum().backward()).toThrow(AutogradError);
    expect(a.grad).toBeUndefined();
    expect(b.grad).toBeUndefined();
  });

  it("an in-place change of a saved leaf", () => {
    const a = tensor([1, 2, 3], { requiresGrad: true });
    const b = tensor([1, 2, 3]);
    const loss = a.mul(b).sum();
    b.detach().bumpVersion(); // detach shares the version counter, as in PyTorch
    expect(() => loss.backward()).toThrow(
      /modified by an inplace operation: \[float32 \[3\] on cpu\] is at version 1; expected version 0 instead/,
    );
  });

  it("requiresGrad on an integer tensor", () => {
    for (const make of [
      () => tensor([1, 2], { dtype: "int32", requiresGrad: true }),
      () => tensor([1, 2], { dtype: "int32" }).requiresGrad_(),
      () => tensor([true]).requiresGrad_(),
    ]) {
      const error = thrown(make);
      expect(error).toBeInstanceOf(DTypeError);
      expect(error.message).toMatch(/^only Tensors of floating point dtype can require gradients/);
    }
  });

  it("backward of a tensor that does not require grad", () => {
    const error = thrown(() => tensor([1]).sum().backward());
    expect(error).toBeInstanceOf(AutogradError);
    expect(error.message).toBe("element 0 of tensors does not require grad and does not have a grad_fn");
  });

  it("a gradient of the wrong shape", () => {
    const y = tensor([1, 2, 3], { requiresGrad: true }).mul(2);
    const error = thrown(() => y.backward(tensor([1, 2])));
    expect(error).toBeInstanceOf(ShapeError);
    expect(error.message).toBe(
      "Mismatch in shape: grad_output[0] has a shape of [2] and output[0] has a shape of [3].",
    );
  });

  it("a hook that returns a gradient of the wrong shape", () => {
    const a = tensor([1, 2, 3], { requiresGrad: true });
    a.registerHook(() => tensor([1]));
    expect(() => a.sum().backward()).toThrow(ShapeError);
  });

  it("hooks and retainGrad on tensors that do not require grad", () => {
    const t = tensor([1]);
    expect(thrown(() => t.registerHook(() => undefined)).message).toBe(
      "cannot register a hook on a tensor that doesn't require gradient",
    );
    expect(thrown(() => t.retainGrad()).message).toBe("can't retain_grad on Tensor that has requires_grad=False");
  });

  it("grad() with an input the outputs do not use", () => {
    const a = tensor([1], { requiresGrad: true });
    const b = tensor([1], { requiresGrad: true });
    const error = thrown(() => grad(a.mul(2).sum(), [b]));
    expect(error).toBeInstanceOf(AutogradError);
    expect(error.message).toMatch(/^One of the differentiated Tensors appears to not have been used in the graph/);
  });
});

describe("gradcheck errors", () => {
  it("throws a GradcheckError naming output, input and both Jacobians on a mismatch", () => {
    // relu at exactly 0: central differences see slope ½, the rule says 0.
    const x = tensor([0, 1], { dtype: "float64", requiresGrad: true });
    const error = thrown(() => gradcheck((t) => t.relu(), [x]));
    expect(error).toBeInstanceOf(GradcheckError);
    expect(error.message).toMatch(/^Jacobian mismatch for output 0 with respect to input 0,\nnumerical:tensor\(/);
    expect(error.message).toContain("\nanalytical:tensor(");
    expect(error.message).toContain("first mismatch at input element 0, output element 0");
  });

  it("needs float64 inputs and at least one input that requires grad", () => {
    expect(thrown(() => gradcheck((t) => t, [tensor([1], { requiresGrad: true })]))).toBeInstanceOf(DTypeError);
    const error = thrown(() => gradcheck((t) => t, [tensor([1], { dtype: "float64" })]));
    expect(error).toBeInstanceOf(ValueError);
    expect(error.message).toMatch(/^gradcheck expects at least one input tensor to require gradient/);
  });
});
