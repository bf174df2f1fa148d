import "@lockstep/backend-cpu";
import { tensor, zeros } from "@lockstep/core";
import { describe, expect, it } from "vitest";
import { Linear, ReLU, Sequential, StateDictError, Parameter } from "../src/index.js";

describe("Module bookkeeping", () => {
  it("names parameters like PyTorch's state_dict, in registration order", () => {
    const model = new Sequential(new Linear(3, 4), new ReLU(), new Linear(4, 2, { bias: false }));
    expect(Object.keys(model.stateDict())).toEqual(["0.weight", "0.bias", "2.weight"]);
    expect(model.parameters()).toHaveLength(3);
    expect(model.parameters().every((p) => p instanceof Parameter && p.requiresGrad)).toBe(true);
  });

  it("a rejected state dict names every problem and leaves the module as it was", async () => {
    const model = new Sequential(new Linear(2, 2));
    const before = await model.stateDict()["0.weight"]!.toArray();
    const bad = { "0.weight": zeros([3, 2]), extra: tensor([1]) };
    expect(() => model.loadStateDict(bad)).toThrow(StateDictError);
    expect(() => model.loadStateDict(bad)).toThrow(/Unexpected key\(s\) in state_dict: "extra"/);
    expect(() => model.loadStateDict(bad)).toThrow(/Missing key\(s\) in state_dict: "0.bias"/);
    expect(() => model.loadStateDict(bad)).toThrow(/size mismatch for 0.weight: copying a param with shape \[3, 2\]/);
    expect(await model.stateDict()["0.weight"]!.toArray()).toEqual(before);
  });

  it("train() and eval() reach every submodule", () => {
    const model = new Sequential(new Linear(2, 2), new Sequential(new ReLU()));
    model.eval();
    expect([...model.namedModules()].every(([, m]) => !m.training)).toBe(true);
    model.train();
    expect([...model.namedModules()].every(([, m]) => m.training)).toBe(true);
  });
});
