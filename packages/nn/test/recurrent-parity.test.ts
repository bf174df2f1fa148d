// RNN, LSTM and GRU against PyTorch 1.13 (fixtures from fixtures/nn/recurrent.py):
// - init: after manualSeed(s) every state-dict tensor equals PyTorch's bit for bit, the keys come in
//   PyTorch's order, and the next four uniform draws agree (same number of draws);
// - parity: with PyTorch's weights loaded, outputs, final states and the gradients of the input,
//   the initial states and every parameter agree within float rounding (float64 cases tightly),
//   including dropout masks in training mode;
// - errors: PyTorch's messages, and a failed call changes nothing.
import "@lockstep/backend-cpu";
import { ShapeError, ValueError, tensor, type Tensor } from "@lockstep/core";
import { manualSeed, rand } from "@lockstep/random";
import { describe, expect, it } from "vitest";
import { GRU, LSTM, RNN, type LSTMOptions, type RNNBaseOptions, type RNNOptions } from "../src/index.js";
import { bytesOf, expectBits, expectTensorClose, readFixture, sha256, toTensor, type Encoded } from "./support/fixtures.js";

type Kind = "RNN" | "LSTM" | "GRU";
type AnyRNN = RNN | LSTM | GRU;

interface InitCase {
  seed: number;
  kind: Kind;
  inputSize: number;
  hiddenSize: number;
  options: RNNOptions;
  keys: string[];
  state: Record<string, Encoded>;
  tail: Encoded;
}

interface ParityCase {
  name: string;
  kind: Kind;
  inputSize: number;
  hiddenSize: number;
  options: RNNOptions;
  dtype: "float32" | "float64";
  training: boolean;
  dropoutSeed: number | null;
  state: Record<string, Encoded>;
  x: Encoded;
  h0?: Encoded;
  c0?: Encoded;
  gOut: Encoded;
  gH: Encoded;
  gC?: Encoded;
  output: Encoded;
  hN: Encoded;
  cN?: Encoded;
  gradX: Encoded;
  gradH0?: Encoded;
  gradC0?: Encoded;
  gradParams: Record<string, Encoded>;
}

interface ErrorCase {
  kind: Kind;
  inputSize: number;
  hiddenSize: number;
  options: RNNBaseOptions;
  x: number[];
  h0: number[] | null;
  c0?: number[];
  message: string;
}

const fixture = readFixture<{ torch: string; init: InitCase[]; parity: ParityCase[]; errors: ErrorCase[] }>("recurrent.json");

function build(kind: Kind, inputSize: number, hiddenSize: number, options: RNNOptions & LSTMOptions & { dtype?: "float32" | "float64" }): AnyRNN {
  if (kind === "RNN") return new RNN(inputSize, hiddenSize, options);
  const { nonlinearity: _unused, projSize, ...rest } = options;
  return kind === "LSTM" ? new LSTM(inputSize, hiddenSize, { ...rest, projSize }) : new GRU(inputSize, hiddenSize, rest);
}

/** Runs forward with optional initial states and returns [output, hN, cN?]. */
function run(m: AnyRNN, x: Tensor, h0?: Tensor, c0?: Tensor): [Tensor, Tensor, Tensor | undefined] {
  if (m instanceof LSTM) {
    const [out, [h, c]] = m.forward(x, h0 === undefined ? undefined : [h0, c0!]);
    return [out, h, c];
  }
  const [out, h] = (m as RNN | GRU).forward(x, h0);
  return [out, h, undefined];
}

describe(`RNN/LSTM/GRU initialisation equals PyTorch ${fixture.torch}'s after manualSeed`, () => {
  it.each(fixture.init.map((c) => [`seed ${c.seed}, ${c.kind}(${c.inputSize}, ${c.hiddenSize}, ${JSON.stringify(c.options)})`, c] as const))(
    "%s: every state-dict tensor bit for bit, same keys in the same order, same number of draws",
    (name, c) => {
      manualSeed(c.seed);
      const m = build(c.kind, c.inputSize, c.hiddenSize, c.options);
      const state = m.stateDict();
      expect(Object.keys(state)).toEqual(c.keys);
      for (const key of c.keys) expectBits(state[key], c.state[key]!, `${name} ${key}`);
      expectBits(rand([4]), c.tail, `${name}: the next four draws`);
    },
  );
});

describe("RNN/LSTM/GRU forward and backward match PyTorch with its weights loaded", () => {
  it.each(fixture.parity.map((c) => [c.name, c] as const))("%s", (name, c) => {
    const tol = c.dtype === "float64" ? { rtol: 1e-10, atol: 1e-12 } : { rtol: 2e-4, atol: 2e-5 };
    const m = build(c.kind, c.inputSize, c.hiddenSize, { ...c.options, dtype: c.dtype });
    m.loadStateDict(Object.fromEntries(Object.entries(c.state).map(([k, v]) => [k, toTensor(v)])));
    m.train(c.training);
    const x = toTensor(c.x).requiresGrad_();
    const h0 = c.h0 === undefined ? undefined : toTensor(c.h0).requiresGrad_();
    const c0 = c.c0 === undefined ? undefined : toTensor(c.c0).requiresGrad_();
    if (c.dropoutSeed !== null) manualSeed(c.dropoutSeed);
    const [out, hN, cN] = run(m, x, h0, c0);
    expectTensorClose(out, c.output, tol.rtol, tol.atol, `${name}: output`);
    expectTensorClose(hN, c.hN, tol.rtol, tol.atol, `${name}: hN`);
    if (c.cN !== undefined) expectTensorClose(cN, c.cN, tol.rtol, tol.atol, `${name}: cN`);

    let loss = out.mul(toTensor(c.gOut)).sum().add(hN.mul(toTensor(c.gH)).sum());
    if (c.gC !== undefined) loss = loss.add(cN!.mul(toTensor(c.gC)).sum());
    loss.backward();
    expectTensorClose(x.grad, c.gradX, tol.rtol, tol.atol, `${name}: grad of x`);
    if (c.gradH0 !== undefined) expectTensorClose(h0!.grad, c.gradH0, tol.rtol, tol.atol, `${name}: grad of h0`);
    if (c.gradC0 !== undefined) expectTensorClose(c0!.grad, c.gradC0, tol.rtol, tol.atol, `${name}: grad of c0`);
    const params = [...m.namedParameters()];
    expect(params.map(([k]) => k)).toEqual(Object.keys(c.gradParams));
    for (const [key, p] of params) expectTensorClose(p.grad, c.gradParams[key]!, tol.rtol, tol.atol, `${name}: grad of ${key}`);
  });
});

describe("RNN/LSTM/GRU bad input", () => {
  it.each(fixture.errors.map((c) => [c.message, c] as const))("PyTorch's message: %s; nothing changes", (message, c) => {
    manualSeed(3);
    const m = build(c.kind, c.inputSize, c.hiddenSize, c.options);
    const before = Object.entries(m.stateDict()).map(([k, t]) => [k, sha256(bytesOf(t))]);
    manualSeed(9);
    const x = tensor(new Float32Array(c.x.reduce((a, b) => a * b, 1))).reshape(c.x);
    const state = (shape: number[]): Tensor => tensor(new Float32Array(shape.reduce((a, b) => a * b, 1))).reshape(shape);
    const call = (): unknown =>
      m instanceof LSTM
        ? m.forward(x, c.h0 === null ? undefined : [state(c.h0), state(c.c0!)])
        : (m as RNN | GRU).forward(x, c.h0 === null ? undefined : state(c.h0));
    expect(call).toThrow(ShapeError);
    expect(call).toThrow(message);
    expect(Object.entries(m.stateDict()).map(([k, t]) => [k, sha256(bytesOf(t))])).toEqual(before);
    const next = rand([4]).dataSync();
    manualSeed(9);
    expect(next).toEqual(rand([4]).dataSync());
  });

  it("constructor arguments are checked like PyTorch's", () => {
    expect(() => new RNN(4, 8, { nonlinearity: "sigmoid" as "tanh" })).toThrow(new ValueError("Unknown nonlinearity 'sigmoid'"));
    expect(() => new LSTM(4, 8, { dropout: 1.5 })).toThrow(/dropout should be a number in range \[0, 1\].*got 1.5/);
    expect(() => new GRU(4, 0)).toThrow(/hidden_size must be a positive integer, got 0/);
    expect(() => new GRU(4, 8, { numLayers: 0 })).toThrow(/num_layers must be a positive integer, got 0/);
    expect(() => new LSTM(4, 8, { projSize: 8 })).toThrow("proj_size has to be smaller than hidden_size, got proj_size=8 and hidden_size=8");
    expect(() => new LSTM(4, 8, { projSize: -1 })).toThrow(/proj_size should be a positive integer or zero/);
    expect(() => new GRU(4, 8, { projSize: 2 } as object)).toThrow("proj_size argument is only supported for LSTM, not RNN or GRU");
  });

  it("wrong input rank and dtype name the values", () => {
    const m = new GRU(4, 8);
    expect(() => m.forward(tensor([1, 2, 3, 4]))).toThrow("GRU: Expected input to be 2-D or 3-D but received 1-D tensor");
    expect(() => m.forward(tensor(new Float64Array(8)).reshape([2, 4]))).toThrow("input must have the type float32, got type float64");
  });
});
