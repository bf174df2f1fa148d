// Printing modules: String(model), model.toString() and console.log(model) give PyTorch 1.13's
// repr for the same structure, checked against fixtures/nn/repr.py's output (repr.json). Each case
// builds the module with the arguments written next to the same name in repr.py.
import "@lockstep/backend-cpu";
import { ones, zeros } from "@lockstep/core";
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import * as nn from "../src/index.js";
import { pyFloat, pyTuple } from "../src/repr.js";
import { readFixture } from "./support/fixtures.js";

interface ReprFixture {
  repr: Record<string, string>;
}

const fixture = readFixture<ReprFixture>("repr.json");

class Net extends nn.Module {
  embed = new nn.Embedding(10, 4);
  layers = new nn.ModuleList([new nn.Linear(4, 4), new nn.Linear(4, 4)]);
  head = new nn.Linear(4, 2);
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

const encoderLayer = () => new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16 });

const cases: Record<string, () => nn.Module<never[], unknown> | nn.Module> = {
  linear: () => new nn.Linear(4, 16),
  linear_nobias: () => new nn.Linear(3, 2, { bias: false }),
  relu: () => new nn.ReLU(),
  gelu: () => new nn.GELU(),
  gelu_tanh: () => new nn.GELU("tanh"),
  tanh: () => new nn.Tanh(),
  sigmoid: () => new nn.Sigmoid(),
  softmax: () => new nn.Softmax(-1),
  logsoftmax: () => new nn.LogSoftmax(1),
  silu: () => new nn.SiLU(),
  leakyrelu: () => new nn.LeakyReLU(),
  leakyrelu_02: () => new nn.LeakyReLU(0.2),
  softplus: () => new nn.Softplus(),
  softplus_b2: () => new nn.Softplus({ beta: 2, threshold: 10 }),
  identity: () => new nn.Identity(),
  dropout: () => new nn.Dropout(),
  dropout_01: () => new nn.Dropout(0.1),
  flatten: () => new nn.Flatten(),
  flatten_02: () => new nn.Flatten(0, 2),
  embedding: () => new nn.Embedding(10, 3),
  layernorm: () => new nn.LayerNorm(4),
  layernorm_2d: () => new nn.LayerNorm([2, 3], { eps: 1e-6, elementwiseAffine: false }),
  batchnorm1d: () => new nn.BatchNorm1d(8),
  batchnorm2d: () => new nn.BatchNorm2d(6, { eps: 1e-3, momentum: null, affine: false, trackRunningStats: false }),
  batchnorm2d_default: () => new nn.BatchNorm2d(6),
  groupnorm: () => new nn.GroupNorm(2, 6),
  groupnorm_noaffine: () => new nn.GroupNorm(3, 6, { eps: 1e-3, affine: false }),
  conv2d: () => new nn.Conv2d(1, 6, 5),
  conv2d_opts: () =>
    new nn.Conv2d(4, 8, [3, 5], { stride: 2, padding: 1, dilation: [1, 2], groups: 2, bias: false, paddingMode: "reflect" }),
  conv2d_same: () => new nn.Conv2d(3, 3, 3, { padding: "same" }),
  conv1d: () => new nn.Conv1d(2, 4, 3),
  conv1d_opts: () => new nn.Conv1d(2, 4, 3, { stride: 2, padding: 1 }),
  maxpool2d: () => new nn.MaxPool2d(2),
  maxpool2d_opts: () => new nn.MaxPool2d(3, { stride: 2, padding: 1, dilation: 2, ceilMode: true }),
  maxpool1d: () => new nn.MaxPool1d(2),
  avgpool2d: () => new nn.AvgPool2d(2),
  avgpool2d_opts: () => new nn.AvgPool2d(3, { stride: 1, padding: 1, ceilMode: true, countIncludePad: false }),
  avgpool1d: () => new nn.AvgPool1d(4, { stride: 2 }),
  adaptiveavgpool2d: () => new nn.AdaptiveAvgPool2d([1, 1]),
  adaptiveavgpool2d_int: () => new nn.AdaptiveAvgPool2d(7),
  adaptiveavgpool1d: () => new nn.AdaptiveAvgPool1d(5),
  rnn: () => new nn.RNN(4, 8),
  rnn_relu: () =>
    new nn.RNN(4, 8, { numLayers: 2, nonlinearity: "relu", bias: false, batchFirst: true, dropout: 0.5, bidirectional: true }),
  lstm: () => new nn.LSTM(4, 8),
  lstm_opts: () => new nn.LSTM(4, 8, { numLayers: 2, batchFirst: true }),
  gru: () => new nn.GRU(3, 5, { bidirectional: true }),
  mha: () => new nn.MultiheadAttention(8, 2),
  mha_kdim: () => new nn.MultiheadAttention(8, 2, { dropout: 0.1, kdim: 4, vdim: 6, batchFirst: true }),
  encoder_layer: () => new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0.1 }),
  decoder_layer: () => new nn.TransformerDecoderLayer(8, 2, { dimFeedforward: 16 }),
  encoder: () => new nn.TransformerEncoder(encoderLayer(), 2, { norm: new nn.LayerNorm(8) }),
  sequential_readme: () => new nn.Sequential(new nn.Linear(4, 16), new nn.GELU(), new nn.Dropout(0.1), new nn.Linear(16, 3)),
  sequential_mlp: () => new nn.Sequential(new nn.Linear(4, 16), new nn.ReLU(), new nn.Linear(16, 3)),
  sequential_empty: () => new nn.Sequential(),
  lenet: () =>
    new nn.Sequential(
      new nn.Conv2d(1, 6, 5), new nn.ReLU(), new nn.MaxPool2d(2),
      new nn.Conv2d(6, 16, 5), new nn.BatchNorm2d(16), new nn.ReLU(), new nn.MaxPool2d(2),
      new nn.Flatten(), new nn.Linear(256, 120), new nn.Dropout(0.5), new nn.Linear(120, 10),
    ),
  nested: () => new nn.Sequential(new nn.Sequential(new nn.Linear(2, 2), new nn.Tanh()), new nn.Linear(2, 1)),
  modulelist: () => new nn.ModuleList([new nn.Linear(2, 3), new nn.ReLU(), new nn.Linear(3, 1)]),
  moduledict: () => new nn.ModuleDict({ encoder: new nn.Linear(2, 3), act: new nn.ReLU() }),
  modulelist_empty: () => new nn.ModuleList(),
  parameterlist: () => new nn.ParameterList([new nn.Parameter(zeros([2, 3])), new nn.Parameter(zeros([4]), false)]),
  parameterlist_one: () => new nn.ParameterList([new nn.Parameter(ones([3]))]),
  custom: () => new Net(),
  nested_containers: () => new Nested(),
};

// The one deliberate difference: a ParameterList line names the dtype as Lockstep does
// ("float32"), not as "torch.float32".
const expected = (name: string) => fixture.repr[name]!.replaceAll("torch.float32", "float32");

describe("module printing matches PyTorch 1.13's repr", () => {
  it("covers every case in the fixture", () => {
    expect(Object.keys(cases).sort()).toEqual(Object.keys(fixture.repr).sort());
  });

  for (const [name, make] of Object.entries(cases)) {
    it(name, () => {
      const module = make();
      expect(String(module)).toBe(expected(name));
      expect(module.toString()).toBe(expected(name));
    });
  }

  it("console.log (util.inspect) prints the same text, also when nested in other values", () => {
    const model = cases.sequential_readme!();
    expect(inspect(model)).toBe(expected("sequential_readme"));
    expect(inspect({ model: new nn.ReLU() })).toBe("{ model: ReLU() }");
  });

  it("a user module can add its own extraRepr, as in PyTorch", () => {
    class Scale extends nn.Module {
      factor = 2;
      forward(x: never): never {
        return x;
      }
      override extraRepr(): string {
        return `factor=${this.factor}`;
      }
    }
    expect(String(new nn.Sequential(new Scale()))).toBe("Sequential(\n  (0): Scale(factor=2)\n)");
  });

  it("arrays and plain objects of modules held in fields print as ModuleList / ModuleDict", () => {
    class Holder extends nn.Module {
      blocks = [new nn.ReLU(), new nn.Tanh()];
      named = { act: new nn.GELU() };
      scales = [new nn.Parameter(ones([3])), new nn.Parameter(zeros([2, 2]))];
      forward(x: never): never {
        return x;
      }
    }
    expect(String(new Holder())).toBe(
      [
        "Holder(",
        "  (blocks): ModuleList(",
        "    (0): ReLU()",
        "    (1): Tanh()",
        "  )",
        "  (named): ModuleDict(",
        "    (act): GELU(approximate='none')",
        "  )",
        "  (scales): ParameterList(",
        "      (0): Parameter containing: [float32 of size 3]",
        "      (1): Parameter containing: [float32 of size 2x2]",
        "  )",
        ")",
      ].join("\n"),
    );
  });
});

describe("Python number and tuple formatting", () => {
  // Python: [repr(x) for x in (1e-05, 0.001, 0.1, 0.5, 2.0, 100000.0, 1e16, 1.5e-07, 123.456, 0.0001, -0.25, 1e-12, 1e+22)]
  it("floats read as Python's repr prints them", () => {
    const xs = [1e-5, 0.001, 0.1, 0.5, 2, 100000, 1e16, 1.5e-7, 123.456, 0.0001, -0.25, 1e-12, 1e22];
    expect(xs.map(pyFloat)).toEqual([
      "1e-05", "0.001", "0.1", "0.5", "2.0", "100000.0", "1e+16", "1.5e-07", "123.456", "0.0001", "-0.25", "1e-12", "1e+22",
    ]);
    expect([NaN, Infinity, -Infinity, 0, -0].map(pyFloat)).toEqual(["nan", "inf", "-inf", "0.0", "-0.0"]);
  });

  it("tuples keep Python's one-element comma", () => {
    expect(pyTuple([4])).toBe("(4,)");
    expect(pyTuple([5, 5])).toBe("(5, 5)");
    expect(pyTuple([])).toBe("()");
    expect(pyTuple([null, 7])).toBe("(None, 7)");
  });
});
