// User mistakes in nn: each throws a named Error subclass with a message worded like PyTorch's
// (compared with PyTorch 1.13's own message from fixtures/errors.json where Lockstep copies it),
// and a rejected call changes nothing.
import "@lockstep/backend-cpu";
import { DTypeError, IndexError, LockstepError, ShapeError, ValueError, tensor, zeros, type Tensor } from "@lockstep/core";
import { manualSeed, randn } from "@lockstep/random";
import { describe, expect, it } from "vitest";
import {
  BCEWithLogitsLoss,
  CrossEntropyLoss,
  Dropout,
  LayerNorm,
  Linear,
  MSELoss,
  NLLLoss,
  ReLU,
  Sequential,
  StateDictError,
  functional as F,
  optim,
  type StateDict,
} from "../src/index.js";
import { bytesOf, hexWords, readFixture } from "./support/fixtures.js";

const { errors } = readFixture<{ errors: Record<string, { type: string; message: string }> }>("errors.json");

/** PyTorch's message with `torch.Size([a, b])` written as Lockstep writes shapes, `[a, b]`. */
function pytorchMessage(key: string): string {
  const e = errors[key];
  if (e === undefined) throw new Error(`no PyTorch message recorded for "${key}"`);
  return e.message.replace(/torch\.Size\(\[([^\]]*)\]\)/g, "[$1]");
}

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected the call to throw");
}

/** Asserts the class (and its `name`) and the exact message. */
function expectError(fn: () => unknown, type: new (...args: never[]) => Error, message: string | RegExp): void {
  const error = thrown(fn);
  expect(error).toBeInstanceOf(type);
  expect(error).toBeInstanceOf(LockstepError);
  expect(error.name).toBe(type.name);
  if (typeof message === "string") expect(error.message).toBe(message);
  else expect(error.message).toMatch(message);
}

const bitsOfState = (state: StateDict): Record<string, string[]> =>
  Object.fromEntries(Object.entries(state).map(([k, t]) => [k, hexWords(bytesOf(t), 4)]));

describe("a rejected state dict leaves the module unchanged", () => {
  function model(): Sequential {
    manualSeed(0);
    return new Sequential(new Linear(3, 4), new ReLU(), new Linear(4, 2));
  }

  it("a wrong shape in the last tensor: the earlier, valid tensors are not copied either (bit patterns unchanged)", () => {
    const m = model();
    const before = bitsOfState(m.stateDict());
    const bad: StateDict = { "0.weight": randn([4, 3]), "0.bias": randn([4]), "2.weight": randn([2, 4]), "2.bias": randn([3]) };
    expectError(
      () => m.loadStateDict(bad),
      StateDictError,
      "Error(s) in loading state_dict for Sequential:\n\tsize mismatch for 2.bias: copying a param with shape [3] from checkpoint, the shape in current model is [2].",
    );
    expect(bitsOfState(m.stateDict())).toEqual(before);
  });

  it("lists missing keys, unexpected keys and size mismatches in PyTorch's order and wording", () => {
    const m = new Sequential(new Linear(2, 2));
    const before = bitsOfState(m.stateDict());
    expectError(
      () => m.loadStateDict({ "0.weight": zeros([3, 2]), extra: tensor([1]) }),
      StateDictError,
      pytorchMessage("loadStateDict wrong shape, missing and unexpected keys"),
    );
    expect(bitsOfState(m.stateDict())).toEqual(before);
  });

  it("a value that is not a tensor, or no object at all", () => {
    const m = model();
    const before = bitsOfState(m.stateDict());
    const state = { ...m.stateDict(), "0.bias": [1, 2, 3, 4] as unknown as Tensor, "0.weight": randn([4, 3]) };
    expectError(() => m.loadStateDict(state), StateDictError, /While copying the parameter named "0.bias", expected a tensor but got object\./);
    expectError(() => m.loadStateDict(null as unknown as StateDict), ValueError, "loadStateDict expects an object of tensors");
    expect(bitsOfState(m.stateDict())).toEqual(before);
  });

  it("with strict=false, missing and unexpected keys are reported instead of thrown", () => {
    const m = model();
    const replacement = randn([2]);
    const result = m.loadStateDict({ "2.bias": replacement, extra: zeros([1]) }, { strict: false });
    expect(result).toEqual({ missingKeys: ["0.weight", "0.bias", "2.weight"], unexpectedKeys: ["extra"] });
    expect(hexWords(bytesOf(m.stateDict()["2.bias"]!), 4)).toEqual(hexWords(bytesOf(replacement), 4));
  });
});

describe("optimizer arguments", () => {
  const params = (): Tensor[] => [zeros([2]).requiresGrad_()];
  it.each([
    ["sgd lr -0.5", () => new optim.SGD(params(), { lr: -0.5 })],
    ["sgd momentum -0.5", () => new optim.SGD(params(), { lr: 0.1, momentum: -0.5 })],
    ["sgd weightDecay -0.5", () => new optim.SGD(params(), { lr: 0.1, weightDecay: -0.5 })],
    ["sgd nesterov without momentum", () => new optim.SGD(params(), { lr: 0.1, nesterov: true })],
    ["adam betas [0.9, 1.5]", () => new optim.Adam(params(), { betas: [0.9, 1.5] })],
    ["adam betas [-0.5, 0.9]", () => new optim.Adam(params(), { betas: [-0.5, 0.9] })],
    ["adam eps -0.5", () => new optim.Adam(params(), { eps: -0.5 })],
    ["adamw lr -2", () => new optim.AdamW(params(), { lr: -2 })],
    ["adam empty params", () => new optim.Adam([], { lr: 0.1 })],
    ["sgd empty params", () => new optim.SGD([], { lr: 0.1 })],
    ["sgd non-leaf param", () => new optim.SGD([zeros([2]).requiresGrad_().mul(2)], { lr: 0.1 })],
    ["sgd param in two groups", () => {
      const p = params();
      return new optim.SGD([{ params: p }, { params: p }], { lr: 0.1 });
    }],
  ] as const)("%s: ValueError with PyTorch's message", (key, make) => {
    expectError(make, ValueError, pytorchMessage(key));
  });

  it("a NaN learning rate is invalid", () => {
    expectError(() => new optim.SGD([zeros([1]).requiresGrad_()], { lr: Number.NaN }), ValueError, "Invalid learning rate: NaN");
  });

  it("an optimizer state dict with a different group layout is rejected and changes nothing", () => {
    const a = zeros([2]).requiresGrad_();
    const b = zeros([3]).requiresGrad_();
    const optimizer = new optim.SGD([{ params: [a] }, { params: [b], lr: 0.5 }], { lr: 0.1, momentum: 0.9 });
    const other = new optim.SGD([a, b], { lr: 0.3 });
    expectError(() => optimizer.loadStateDict(other.stateDict() as never), LockstepError,
      "loaded state dict has a different number of parameter groups (1 vs 2)");
    const resized = new optim.SGD([{ params: [a, b] }, { params: [zeros([1]).requiresGrad_()] }], { lr: 0.3 });
    expectError(() => optimizer.loadStateDict(resized.stateDict() as never), LockstepError,
      "loaded state dict contains a parameter group that doesn't match the size of optimizer's group (group 0: 2 vs 1)");
    expect(optimizer.paramGroups.map((g) => g.lr)).toEqual([0.1, 0.5]);
  });

  it("schedulers reject a non-positive period", () => {
    const optimizer = new optim.SGD([zeros([1]).requiresGrad_()], { lr: 0.1 });
    expectError(() => new optim.StepLR(optimizer, { stepSize: 0 }), ValueError, "step_size must be a positive integer, got 0");
    expectError(() => new optim.CosineAnnealingLR(optimizer, { tMax: 0 }), ValueError, "T_max must be positive, got 0");
    expect(optimizer.paramGroups[0]!.lr).toBe(0.1);
  });
});

describe("loss arguments", () => {
  const logits = (): Tensor => randn([3, 4]);

  it.each([
    ["crossEntropy target 5 of 4 classes", () => F.crossEntropy(logits(), tensor([0, 5, 1], { dtype: "int32" }))],
    ["crossEntropy target -1", () => F.crossEntropy(logits(), tensor([0, -1, 1], { dtype: "int32" }))],
    ["nllLoss target 4 of 4 classes", () => F.nllLoss(logits(), tensor([0, 4, 1], { dtype: "int32" }))],
  ] as const)("%s: IndexError with PyTorch's message", (key, call) => {
    expectError(call, IndexError, pytorchMessage(key));
  });

  it("an out-of-bounds target equal to ignoreIndex is ignored, not an error", () => {
    expect(() => F.crossEntropy(logits(), tensor([0, 7, 1], { dtype: "int32" }), { ignoreIndex: 7 })).not.toThrow();
  });

  it("class-index targets must be int32", () => {
    expectError(() => F.crossEntropy(logits(), tensor([0, 1, 1])), DTypeError, "cross_entropy: expected target of dtype int32 (class indices), got float32");
    expectError(() => new NLLLoss().forward(logits(), tensor([0, 1, 1], { dtype: "float64" })), DTypeError, "nll_loss: expected target of dtype int32 (class indices), got float64");
    expectError(() => new CrossEntropyLoss().forward(logits(), [0, 1, 1] as unknown as Tensor), DTypeError, "cross_entropy: expected target of dtype int32 (class indices), got object");
  });

  it("the input of a classification loss must be floating point", () => {
    expectError(() => F.crossEntropy(tensor([[1, 2]], { dtype: "int32" }), tensor([0], { dtype: "int32" })), DTypeError, "cross_entropy: expected floating point input, got int32");
  });

  it("targets must match the batch", () => {
    expectError(
      () => F.crossEntropy(logits(), tensor([0, 1], { dtype: "int32" })),
      ShapeError,
      "cross_entropy: expected input of shape [N, C] with target [N] (or [C] with a 0-d target), got input [3, 4] and target [2]",
    );
    expectError(() => F.nllLoss(randn([2, 3, 4]), tensor([0, 1], { dtype: "int32" })), ShapeError, /^nll_loss: expected input of shape \[N, C\]/);
  });

  it("labelSmoothing outside [0, 1]: PyTorch's message", () => {
    expectError(
      () => F.crossEntropy(logits(), tensor([0, 1, 1], { dtype: "int32" }), { labelSmoothing: 1.5 }),
      ValueError,
      pytorchMessage("crossEntropy labelSmoothing 1.5"),
    );
  });

  it.each([
    ["mseLoss reduction foo", () => F.mseLoss(randn([3]), randn([3]), { reduction: "foo" as never })],
    ["crossEntropy reduction avg", () => F.crossEntropy(logits(), tensor([0, 1, 1], { dtype: "int32" }), { reduction: "avg" as never })],
  ] as const)("%s: ValueError with PyTorch's message", (key, call) => {
    expectError(call, ValueError, pytorchMessage(key));
  });

  it("a bad reduction is rejected by every loss, modules included", () => {
    const bad = { reduction: "average" as never };
    const message = "average is not a valid value for reduction";
    expectError(() => new NLLLoss(bad).forward(logits(), tensor([0, 1, 1], { dtype: "int32" })), ValueError, message);
    expectError(() => new BCEWithLogitsLoss(bad).forward(randn([3]), randn([3])), ValueError, message);
    expectError(() => new MSELoss(bad).forward(randn([3]), randn([3])), ValueError, message);
  });

  it("binaryCrossEntropyWithLogits with a target of another size: PyTorch's message", () => {
    expectError(() => F.binaryCrossEntropyWithLogits(randn([4]), randn([3])), ShapeError, pytorchMessage("bce target [3] for input [4]"));
  });

  it("mseLoss with shapes that differ", () => {
    expectError(() => F.mseLoss(randn([4]), randn([3])), ShapeError, "mse_loss: input shape [4] and target shape [3] differ");
  });
});

describe("layer arguments", () => {
  it.each([
    ["layerNorm [6] on [4, 5]", () => F.layerNorm(randn([4, 5]), [6])],
    ["layerNorm [3, 5] on [4, 5]", () => F.layerNorm(randn([4, 5]), [3, 5])],
    ["layerNorm [6] on [4, 5]", () => new LayerNorm(6).forward(randn([4, 5]))],
  ] as const)("%s: ShapeError with PyTorch's message", (key, call) => {
    expectError(call, ShapeError, pytorchMessage(key));
  });

  it.each([
    ["Dropout p 1.5", () => new Dropout(1.5)],
    ["dropout p -0.1", () => F.dropout(randn([3]), -0.1)],
  ] as const)("%s: ValueError with PyTorch's message", (key, call) => {
    expectError(call, ValueError, pytorchMessage(key));
  });

  it("a dropout probability that is NaN or not a number", () => {
    expectError(() => new Dropout(Number.NaN), ValueError, "dropout probability has to be between 0 and 1, but got NaN");
    expectError(() => F.dropout(randn([3]), "0.5" as never), ValueError, "dropout probability has to be between 0 and 1, but got \"0.5\"");
  });

  it("a rejected dropout call draws nothing", () => {
    manualSeed(5);
    const x = randn([8]);
    manualSeed(5);
    expect(() => F.dropout(x, 2)).toThrow(ValueError);
    expect(hexWords(bytesOf(randn([8])), 4)).toEqual(hexWords(bytesOf(x), 4));
  });

  it("Linear sizes must be non-negative integers", () => {
    expectError(() => new Linear(-1, 3), ValueError, "in_features must be a non-negative integer, got -1");
    expectError(() => new Linear(3, 2.5), ValueError, "out_features must be a non-negative integer, got 2.5");
  });
});
