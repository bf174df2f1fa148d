// ModuleList, ModuleDict, ParameterList and modules held in plain arrays/objects: names, order and
// walks as in PyTorch. Expected names come from fixtures/nn/repr.py (PyTorch 1.13) for the same
// structures, built here the same way (see the docstring of each class there).
import "@lockstep/backend-cpu";
import { ValueError, ones, tensor, zeros } from "@lockstep/core";
import { describe, expect, it } from "vitest";
import * as nn from "../src/index.js";
import { readFixture } from "./support/fixtures.js";

interface KeysFixture {
  keys: Record<string, { state_dict: string[]; parameters: string[]; modules: string[] }>;
  counts: Record<string, [number, number]>;
}
const fixture = readFixture<KeysFixture>("repr.json");

class ListNet extends nn.Module {
  layers = new nn.ModuleList([new nn.Linear(4, 4)]);
  head: nn.Linear;
  constructor() {
    super();
    this.layers.append(new nn.Linear(4, 4));
    this.layers.extend([new nn.Linear(4, 4)]);
    this.head = new nn.Linear(4, 2);
  }
  forward(x: never): never {
    return x;
  }
}

class DictNet extends nn.Module {
  blocks = new nn.ModuleDict<nn.Module>({ b: new nn.Linear(2, 3), a: new nn.Sequential(new nn.Linear(3, 3), new nn.ReLU()) });
  constructor() {
    super();
    this.blocks.set("norm", new nn.BatchNorm1d(3));
  }
  forward(x: never): never {
    return x;
  }
}

class ParamNet extends nn.Module {
  scales = new nn.ParameterList([new nn.Parameter(ones([3])), new nn.Parameter(zeros([2]), false)]);
  proj = new nn.Linear(3, 1, { bias: false });
  forward(x: never): never {
    return x;
  }
}

class Nested extends nn.Module {
  stages = new nn.ModuleList<nn.Module<never[], unknown>>([
    new nn.ModuleList([new nn.Linear(2, 2), new nn.Linear(2, 2)]),
    new nn.ModuleDict({ out: new nn.Linear(2, 1) }),
  ]).insert(0, new nn.Identity());
  forward(x: never): never {
    return x;
  }
}

// The same structures with plain arrays and objects in the fields instead of containers.
class ArrayListNet extends nn.Module {
  layers = [new nn.Linear(4, 4), new nn.Linear(4, 4), new nn.Linear(4, 4)];
  head = new nn.Linear(4, 2);
  forward(x: never): never {
    return x;
  }
}
class ObjectDictNet extends nn.Module {
  blocks: Record<string, nn.Module> = { b: new nn.Linear(2, 3), a: new nn.Sequential(new nn.Linear(3, 3), new nn.ReLU()), norm: new nn.BatchNorm1d(3) };
  forward(x: never): never {
    return x;
  }
}
class ArrayParamNet extends nn.Module {
  scales = [new nn.Parameter(ones([3])), new nn.Parameter(zeros([2]), false)];
  proj = new nn.Linear(3, 1, { bias: false });
  forward(x: never): never {
    return x;
  }
}
class ArrayNested extends nn.Module {
  stages = [new nn.Identity(), [new nn.Linear(2, 2), new nn.Linear(2, 2)], { out: new nn.Linear(2, 1) }];
  forward(x: never): never {
    return x;
  }
}

const names = (m: nn.Module<never[], unknown>) => ({
  state_dict: Object.keys(m.stateDict()),
  parameters: [...m.namedParameters()].map(([n]) => n),
  modules: [...m.namedModules()].map(([n]) => n),
});

describe("containers name and order parameters as PyTorch does", () => {
  const structures: [string, () => nn.Module<never[], unknown>, () => nn.Module<never[], unknown>][] = [
    ["listnet", () => new ListNet(), () => new ArrayListNet()],
    ["dictnet", () => new DictNet(), () => new ObjectDictNet()],
    ["paramnet", () => new ParamNet(), () => new ArrayParamNet()],
    ["nested", () => new Nested(), () => new ArrayNested()],
  ];
  for (const [name, withContainers, withPlainFields] of structures) {
    it(`${name}: ModuleList/ModuleDict/ParameterList`, () => {
      const model = withContainers();
      expect(names(model)).toEqual(fixture.keys[name]);
      expect(nn.utils.parameterCount(model)).toBe(fixture.counts[name]![0]);
      expect(nn.utils.parameterCount(model, { trainableOnly: true })).toBe(fixture.counts[name]![1]);
    });
    it(`${name}: the same modules held in plain arrays/objects are registered with the same names`, () => {
      const model = withPlainFields();
      expect(names(model)).toEqual(fixture.keys[name]);
      expect(nn.utils.parameterCount(model)).toBe(fixture.counts[name]![0]);
    });
  }
});

describe("ModuleList", () => {
  it("indexes, iterates, inserts and pops like a Python list", () => {
    const a = new nn.Linear(1, 1);
    const b = new nn.ReLU();
    const c = new nn.Tanh();
    const list = new nn.ModuleList<nn.Module>([a, c]);
    list.insert(1, b);
    expect(list.length).toBe(3);
    expect([...list]).toEqual([a, b, c]);
    expect(list.at(-1)).toBe(c);
    expect(list.pop(0)).toBe(a);
    expect([...list]).toEqual([b, c]);
    expect([...list.namedChildren()].map(([k]) => k)).toEqual(["0", "1"]);
    list.set(0, a);
    expect(list.at(0)).toBe(a);
    const seen: nn.Module[] = [];
    for (const m of list) seen.push(m);
    expect(seen).toEqual([a, c]);
  });

  it("refuses non-modules and bad indices before changing anything", () => {
    const list = new nn.ModuleList([new nn.ReLU()]);
    expect(() => list.append(3 as never)).toThrow(ValueError);
    expect(() => list.append(3 as never)).toThrow(/ModuleList.append: expected a Module, got number/);
    expect(() => list.extend([new nn.Tanh(), "x" as never])).toThrow(/extend \(item 1\)/);
    expect(list.length).toBe(1);
    expect(() => list.at(1)).toThrow(/index 1 is out of range for a ModuleList of length 1/);
    expect(() => list.at(-2)).toThrow(ValueError);
    expect(() => list.insert(3, new nn.Tanh())).toThrow(/index 3 is out of range/);
    expect(() => list.forward()).toThrow(/has no forward/);
  });

  it("train/eval, apply, requiresGrad_ and zeroGrad reach modules inside containers and arrays", () => {
    const model = new ArrayListNet();
    model.eval();
    expect(model.layers.every((l) => !l.training)).toBe(true);
    const visited: string[] = [];
    model.apply((m) => visited.push(m.constructor.name));
    expect(visited.filter((n) => n === "Linear")).toHaveLength(4);
    model.requiresGrad_(false);
    expect(model.parameters().every((p) => !p.requiresGrad)).toBe(true);
    model.requiresGrad_();
    const loss = model.head.forward(model.layers[2]!.forward(ones([1, 4]))).sum();
    loss.backward();
    expect(model.layers[2]!.weight.grad).toBeDefined();
    model.zeroGrad();
    expect(model.parameters().every((p) => p.grad === undefined)).toBe(true);
    expect(() => model.requiresGrad_("no" as never)).toThrow(/requiresGrad_ expects a boolean, got "no"/);
  });
});

describe("ModuleDict and ParameterList", () => {
  it("ModuleDict keeps insertion order (also for number-like keys) and checks keys", () => {
    const d = new nn.ModuleDict<nn.Module>([["z", new nn.ReLU()], ["1", new nn.Tanh()]]);
    d.set("a", new nn.GELU());
    expect(d.keys()).toEqual(["z", "1", "a"]);
    expect([...d]).toEqual(["z", "1", "a"]);
    expect([...d.namedChildren()].map(([k]) => k)).toEqual(["z", "1", "a"]);
    expect(d.size).toBe(3);
    expect(d.delete("1")).toBeInstanceOf(nn.Tanh);
    expect(d.has("1")).toBe(false);
    expect(() => d.get("nope")).toThrow(/ModuleDict has no key "nope"/);
    expect(() => d.set("a.b", new nn.ReLU())).toThrow(/can't be empty or contain "."/);
    expect(() => d.set("keys", new nn.ReLU())).toThrow(/attribute 'keys' already exists/);
    expect(() => d.set("training", new nn.ReLU())).toThrow(/attribute 'training' already exists/);
    expect(() => d.update({ ok: new nn.ReLU(), bad: 1 as never })).toThrow(/value for "bad" must be a Module/);
    expect(d.has("ok")).toBe(false);
  });

  it("ParameterList wraps tensors as parameters and counts only trainable ones when asked", () => {
    const list = new nn.ParameterList([tensor([1, 2])]);
    expect(list.at(0)).toBeInstanceOf(nn.Parameter);
    expect(list.at(0).requiresGrad).toBe(true);
    list.append(new nn.Parameter(zeros([3]), false));
    expect(Object.keys(list.stateDict())).toEqual(["0", "1"]);
    expect(nn.utils.parameterCount(list)).toBe(5);
    expect(nn.utils.parameterCount(list, { trainableOnly: true })).toBe(2);
    expect(() => list.append("w" as never)).toThrow(/ParameterList.append: expected a tensor, got string/);
  });
});

describe("modules in plain fields are walked, or refused loudly", () => {
  it("to() and loadStateDict() reach modules in arrays and objects, replacing them in place", () => {
    const model = new ArrayNested();
    const inner = model.stages[1] as nn.Linear[];
    const before = inner[0]!.weight;
    model.to("float64");
    expect(inner[0]!.weight).not.toBe(before);
    expect(inner[0]!.weight.dtype).toBe("float64");
    expect((model.stages[2] as { out: nn.Linear }).out.bias!.dtype).toBe("float64");
    expect(model.parameters().every((p) => p.dtype === "float64")).toBe(true);
    const state = Object.fromEntries(Object.entries(model.stateDict()).map(([k, v]) => [k, v.add(1)]));
    model.loadStateDict(state);
    expect(inner[1]!.bias!.dataSync()).toEqual(state["stages.1.1.bias"]!.dataSync());
  });

  it("to() replaces parameters held directly in an array, keeping them Parameters with their requiresGrad", () => {
    const model = new ArrayParamNet();
    const scales = model.scales;
    model.to("float64");
    expect(model.scales).toBe(scales);
    expect(scales.map((p) => [p.dtype, p instanceof nn.Parameter, p.requiresGrad])).toEqual([
      ["float64", true, true],
      ["float64", true, false],
    ]);
    expect(model.parameters()[0]).toBe(scales[0]);
  });

  it("arrays that gain modules later are seen on the next walk", () => {
    const model = new ArrayListNet();
    model.layers.push(new nn.Linear(4, 4));
    expect(Object.keys(model.stateDict())).toContain("layers.3.weight");
  });

  it("arrays and objects without modules or parameters are left alone", () => {
    const model = new nn.Conv2d(1, 2, 3);
    expect([...model.namedModules()].map(([n]) => n)).toEqual([""]);
    const pool = new nn.MaxPool2d(2, { stride: 2 });
    expect([...pool.namedChildren()]).toEqual([]);
  });

  it("a Map or Set of modules is refused by parameters(), stateDict() and to(), naming the field", () => {
    class MapNet extends nn.Module {
      lin = new nn.Linear(2, 2);
      experts = new Map([["a", new nn.Linear(2, 2)]]);
      forward(x: never): never {
        return x;
      }
    }
    const model = new MapNet();
    const weight = model.lin.weight;
    const message = /MapNet.experts is a Map holding modules or parameters.*nn.ModuleDict/;
    expect(() => model.parameters()).toThrow(message);
    expect(() => model.stateDict()).toThrow(message);
    expect(() => model.to("float64")).toThrow(message);
    expect(model.lin.weight).toBe(weight);
    class SetNet extends nn.Module {
      params = new Set([new nn.Parameter(ones([2]))]);
      forward(x: never): never {
        return x;
      }
    }
    expect(() => new SetNet().parameters()).toThrow(/SetNet.params is a Set/);
  });

  it("a module reachable twice (shared, or a back reference in an object) is walked once", () => {
    const shared = new nn.Linear(2, 2);
    class Shared extends nn.Module {
      a = shared;
      refs: { self?: nn.Module; again: nn.Linear } = { again: shared };
      forward(x: never): never {
        return x;
      }
    }
    const model = new Shared();
    model.refs.self = model;
    expect([...model.namedModules()].map(([n]) => n)).toEqual(["", "a", "refs"]);
    expect(Object.keys(model.stateDict())).toEqual(["a.weight", "a.bias"]);
    const applied: nn.Module<never[], unknown>[] = [];
    model.apply((m) => applied.push(m));
    // Children first; the shared Linear once per place it is held (as PyTorch's apply), the back
    // reference not at all: Linear (a), Linear (refs.again), the refs container, the model.
    expect(applied).toHaveLength(4);
    expect(applied[0]).toBe(shared);
    expect(applied[1]).toBe(shared);
    expect(applied[3]).toBe(model);
    expect(String(model)).toBe(
      [
        "Shared(",
        "  (a): Linear(in_features=2, out_features=2, bias=True)",
        "  (refs): ModuleDict(",
        "    (again): Linear(in_features=2, out_features=2, bias=True)",
        "    (self): <cycle: Shared>",
        "  )",
        ")",
      ].join("\n"),
    );
  });
});

describe("toAsync", () => {
  it("moves like to() (here a dtype cast) and resolves to the module", async () => {
    const model = new ArrayListNet();
    const frozen = model.layers[0]!.weight.requiresGrad_(false);
    expect(await model.toAsync("float64")).toBe(model);
    expect(model.parameters().every((p) => p.dtype === "float64" && p instanceof nn.Parameter)).toBe(true);
    expect(model.layers[0]!.weight.requiresGrad).toBe(false);
    expect(frozen.isDisposed).toBe(false);
  });

  it("checks the target before moving anything and leaves the module as it was", async () => {
    const model = new nn.Sequential(new nn.Linear(2, 2), new nn.BatchNorm1d(2));
    const before = model.parameters();
    await expect(model.toAsync("int32")).rejects.toThrow(/only accepts floating point dtypes, but got desired dtype=int32/);
    await expect(model.toAsync("nowhere")).rejects.toThrow();
    await expect(model.toAsync(3 as never)).rejects.toThrow(/expects a device name/);
    expect(model.parameters()).toEqual(before);
  });

  it("a tensor that cannot move stops the whole move: no field changes, no copy is left behind", async () => {
    const model = new nn.Sequential(new nn.Linear(2, 2), new nn.BatchNorm1d(2));
    const params = model.parameters();
    (model.at(1) as nn.BatchNorm1d).running_var!.dispose();
    await expect(model.toAsync("float64")).rejects.toThrow(/disposed/);
    expect(model.parameters()).toEqual(params);
    expect(model.parameters().every((p) => p.dtype === "float32" && !p.isDisposed)).toBe(true);
  });
});
