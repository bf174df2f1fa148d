// Recurrent layers: RNN (tanh or relu), LSTM and GRU, laid out and initialised like PyTorch's
// RNNBase so that state dicts load unchanged and seeded init gives PyTorch's numbers. The time loop
// is composed from core ops (linear, sigmoid, tanh, chunk, stack, cat): every step is a per-row
// matmul plus elementwise work, so a sequence's result does not depend on the other sequences in
// the batch in deterministic mode, and autograd needs no rule of its own.
import { DTypeError, ShapeError, ValueError, cat, empty, stack, zeros, type Tensor, formatValue } from "@lockstep/core";
import type { Generator } from "@lockstep/random";
import * as F from "../functional.js";
import { uniform_ } from "../init.js";
import { Module, Parameter, checkPositiveInt } from "../module.js";
import type { FactoryOptions } from "./factory.js";
import { pyFloat } from "../repr.js";
import { tensorArg } from "../functional/check.js";

/** Options shared by `RNN`, `LSTM` and `GRU` (PyTorch's RNNBase keywords). */
export interface RNNBaseOptions extends FactoryOptions {
  /** Number of stacked recurrent layers; default 1. */
  numLayers?: number;
  /** Whether the layers have the biases `bias_ih` and `bias_hh`; default true. */
  bias?: boolean;
  /** Input and output as [batch, seq, feature] instead of [seq, batch, feature]; default false. */
  batchFirst?: boolean;
  /** Dropout probability on the output of every layer except the last, in training mode; default 0. */
  dropout?: number;
  /** Whether each layer also runs backwards in time; default false. */
  bidirectional?: boolean;
  /** Generator for the initial weights; the default generator when omitted. */
  generator?: Generator;
}

/** Options of `LSTM`. */
export interface LSTMOptions extends RNNBaseOptions {
  /**
   * Size of a projection of h (`weight_hr`, no bias) after each step, 0 for none (default); must
   * be below hiddenSize.
   */
  projSize?: number;
}

/** Options of `RNN`. */
export interface RNNOptions extends RNNBaseOptions {
  /** The cell's nonlinearity; default "tanh". */
  nonlinearity?: "tanh" | "relu";
}

/** Which cell a recurrent layer runs, named as PyTorch's RNNBase.mode. */
export type RNNMode = "RNN_TANH" | "RNN_RELU" | "LSTM" | "GRU";

const GATES: Record<RNNMode, number> = { RNN_TANH: 1, RNN_RELU: 1, LSTM: 4, GRU: 3 };

interface CellWeights {
  wIh: Tensor;
  wHh: Tensor;
  bIh: Tensor | undefined;
  bHh: Tensor | undefined;
  /** LSTM projection (projSize > 0). */
  wHr: Tensor | undefined;
}

/** The recurrent state a cell carries from one step to the next (c only for LSTM). */
interface CellState {
  h: Tensor;
  c?: Tensor;
}

/**
 * One step of the cell, given the input projection `xw` = x·W_ihᵀ + b_ih of this step. Each
 * formula is PyTorch's (aten/src/ATen/native/RNN.cpp): gate order i, f, g, o for LSTM and r, z, n
 * for GRU, with n = tanh(x_n + r·(h·W_hnᵀ + b_hn)) and h' = (h − n)·z + n.
 */
function cellStep(mode: RNNMode, xw: Tensor, state: CellState, w: CellWeights): CellState {
  const hw = F.linear(state.h, w.wHh, w.bHh);
  switch (mode) {
    case "RNN_TANH":
      return { h: xw.add(hw).tanh() };
    case "RNN_RELU":
      return { h: xw.add(hw).relu() };
    case "LSTM": {
      const [i, f, g, o] = xw.add(hw).chunk(4, -1) as [Tensor, Tensor, Tensor, Tensor];
      const c = f.sigmoid().mul(state.c!).add(i.sigmoid().mul(g.tanh()));
      const h = o.sigmoid().mul(c.tanh());
      return { h: w.wHr === undefined ? h : F.linear(h, w.wHr), c };
    }
    case "GRU": {
      const [xr, xz, xn] = xw.chunk(3, -1) as [Tensor, Tensor, Tensor];
      const [hr, hz, hn] = hw.chunk(3, -1) as [Tensor, Tensor, Tensor];
      const r = xr.add(hr).sigmoid();
      const z = xz.add(hz).sigmoid();
      const n = xn.add(r.mul(hn)).tanh();
      return { h: state.h.sub(n).mul(z).add(n) };
    }
  }
}

/** Runs one direction of one layer over x of shape [T, B, I]; returns outputs [T, B, H] and the last state. */
function runDirection(mode: RNNMode, x: Tensor, state: CellState, w: CellWeights, reverse: boolean): { out: Tensor; last: CellState } {
  const steps = x.shape[0]!;
  // The input projection of every step at once: one matmul over T·B rows, each row still reduced
  // alone over the input features.
  const xw = F.linear(x, w.wIh, w.bIh);
  const outs: Tensor[] = new Array<Tensor>(steps);
  for (let k = 0; k < steps; k++) {
    const t = reverse ? steps - 1 - k : k;
    state = cellStep(mode, xw.narrow(0, t, 1).squeeze(0), state, w);
    outs[t] = state.h;
  }
  return { out: stack(outs, 0), last: state };
}

const shapeText = (shape: readonly number[]): string => `[${shape.join(", ")}]`;
const tupleText = (shape: readonly number[]): string => `(${shape.join(", ")})`;

/**
 * The shared machinery of RNN, LSTM and GRU, like torch.nn.RNNBase: parameters `weight_ih_l{k}`,
 * `weight_hh_l{k}`, `bias_ih_l{k}`, `bias_hh_l{k}` (and `weight_hr_l{k}` for a projected LSTM),
 * then the `_reverse` ones, per layer, in that registration order, all drawn from
 * U(−1/√hiddenSize, 1/√hiddenSize) in that order.
 */
export abstract class RNNBase<H> extends Module<[Tensor, H?], [Tensor, H]> {
  /** Which cell runs: "RNN_TANH", "RNN_RELU", "LSTM" or "GRU". */
  readonly mode: RNNMode;
  /** Number of features of each input step. */
  readonly inputSize: number;
  /** Number of features of the hidden state. */
  readonly hiddenSize: number;
  /** Number of stacked layers. */
  readonly numLayers: number;
  /** Whether the layers have biases. */
  readonly bias: boolean;
  /** Whether input and output are [batch, seq, feature]. */
  readonly batchFirst: boolean;
  /** Dropout probability between layers (training mode only). */
  readonly dropout: number;
  /** Whether each layer also runs backwards in time. */
  readonly bidirectional: boolean;
  /** Size of the LSTM's projection of h; 0 (none) for RNN, GRU and unprojected LSTMs. */
  readonly projSize: number;

  /**
   * Validates the options and creates the parameters; throws ValueError for bad sizes or dropout,
   * like PyTorch's RNNBase constructor.
   */
  protected constructor(mode: RNNMode, inputSize: number, hiddenSize: number, options: RNNBaseOptions = {}, projSize = 0) {
    super();
    const numLayers = options.numLayers ?? 1;
    const dropout = options.dropout ?? 0;
    checkPositiveInt("input_size", inputSize);
    checkPositiveInt("hidden_size", hiddenSize, false);
    checkPositiveInt("num_layers", numLayers, false);
    if (typeof dropout !== "number" || !(dropout >= 0 && dropout <= 1)) {
      throw new ValueError(
        `dropout should be a number in range [0, 1] representing the probability of an element being zeroed, got ${String(dropout)}`,
      );
    }
    if (!Number.isInteger(projSize) || projSize < 0) {
      throw new ValueError(`proj_size should be a positive integer or zero to disable projections, got ${formatValue(projSize)}`);
    }
    if (projSize >= hiddenSize) throw new ValueError(`proj_size has to be smaller than hidden_size, got proj_size=${projSize} and hidden_size=${hiddenSize}`);
    this.mode = mode;
    this.inputSize = inputSize;
    this.hiddenSize = hiddenSize;
    this.numLayers = numLayers;
    this.bias = options.bias ?? true;
    this.batchFirst = options.batchFirst ?? false;
    this.dropout = dropout;
    this.bidirectional = options.bidirectional ?? false;
    this.projSize = projSize;
    const realHidden = this.outputHiddenSize;
    const factory = { dtype: options.dtype ?? "float32", device: options.device ?? "cpu" };
    const gateSize = GATES[mode] * hiddenSize;
    const fields = this as unknown as Record<string, Parameter>;
    for (let layer = 0; layer < numLayers; layer++) {
      const layerInput = layer === 0 ? inputSize : realHidden * this.numDirections;
      for (let dir = 0; dir < this.numDirections; dir++) {
        const suffix = `l${layer}${dir === 1 ? "_reverse" : ""}`;
        fields[`weight_ih_${suffix}`] = new Parameter(empty([gateSize, layerInput], factory));
        fields[`weight_hh_${suffix}`] = new Parameter(empty([gateSize, realHidden], factory));
        if (this.bias) {
          fields[`bias_ih_${suffix}`] = new Parameter(empty([gateSize], factory));
          fields[`bias_hh_${suffix}`] = new Parameter(empty([gateSize], factory));
        }
        if (projSize > 0) fields[`weight_hr_${suffix}`] = new Parameter(empty([projSize, hiddenSize], factory));
      }
    }
    this.resetParameters(options.generator);
  }

  /** 2 when bidirectional, else 1. */
  get numDirections(): number {
    return this.bidirectional ? 2 : 1;
  }

  /** Size of h as the layer returns it: projSize when projecting, else hiddenSize. */
  get outputHiddenSize(): number {
    return this.projSize > 0 ? this.projSize : this.hiddenSize;
  }

  /** Every parameter from U(−1/√hiddenSize, 1/√hiddenSize), in registration order — PyTorch's draws. */
  resetParameters(generator?: Generator): void {
    const stdv = 1 / Math.sqrt(this.hiddenSize);
    for (const p of this.parameters()) uniform_(p, -stdv, stdv, { generator });
  }

  /** The parameters of one layer and direction. */
  /** `4, 8` plus the options that differ from their defaults, as PyTorch prints it. */
  override extraRepr(): string {
    let s = `${this.inputSize}, ${this.hiddenSize}`;
    if (this.numLayers !== 1) s += `, num_layers=${this.numLayers}`;
    if (!this.bias) s += ", bias=False";
    if (this.batchFirst) s += ", batch_first=True";
    if (this.dropout !== 0) s += `, dropout=${pyFloat(this.dropout)}`;
    if (this.bidirectional) s += ", bidirectional=True";
    return s;
  }

  protected weights(layer: number, dir: number): CellWeights {
    const fields = this as unknown as Record<string, Tensor | undefined>;
    const suffix = `l${layer}${dir === 1 ? "_reverse" : ""}`;
    return {
      wIh: fields[`weight_ih_${suffix}`]!,
      wHh: fields[`weight_hh_${suffix}`]!,
      bIh: fields[`bias_ih_${suffix}`],
      bHh: fields[`bias_hh_${suffix}`],
      wHr: fields[`weight_hr_${suffix}`],
    };
  }

  /** Checks the input and returns it as [T, B, I] along with whether it was batched. */
  protected prepareInput(input: Tensor): { x: Tensor; batched: boolean } {
    const name = this.constructor.name;
    tensorArg(name, "input", input);
    if (input.ndim !== 2 && input.ndim !== 3) {
      throw new ShapeError(`${name}: Expected input to be 2-D or 3-D but received ${input.ndim}-D tensor`);
    }
    const weightDtype = this.weights(0, 0).wIh.dtype;
    if (input.dtype !== weightDtype) {
      throw new DTypeError(`input must have the type ${weightDtype}, got type ${input.dtype}`);
    }
    if (input.shape[input.ndim - 1] !== this.inputSize) {
      throw new ShapeError(
        `input.size(-1) must be equal to input_size. Expected ${this.inputSize}, got ${input.shape[input.ndim - 1]}`,
      );
    }
    const batched = input.ndim === 3;
    const seqDim = batched && this.batchFirst ? 1 : 0;
    if (input.shape[seqDim] === 0) {
      throw new ShapeError(`${name}: Expected a sequence of length at least 1, got input of shape ${shapeText(input.shape)}`);
    }
    let x = batched ? input : input.unsqueeze(1);
    if (batched && this.batchFirst) x = x.transpose(0, 1);
    return { x, batched };
  }

  /**
   * The shape of h0 (`cell` false: [numLayers·numDirections, batch, outputHiddenSize]) or of c0
   * (`cell` true: hiddenSize last) for x of shape [T, B, I].
   */
  protected expectedHidden(x: Tensor, cell = false): number[] {
    return [this.numLayers * this.numDirections, x.shape[1]!, cell ? this.hiddenSize : this.outputHiddenSize];
  }

  /** Checks one given state tensor's rank and shape (already as [L·D, B, H]) and dtype/device. */
  protected checkState(state: Tensor, expected: number[], x: Tensor, what: string): void {
    tensorArg(this.constructor.name, what, state);
    if (state.shape.join(",") !== expected.join(",")) {
      throw new ShapeError(`Expected ${what} size ${tupleText(expected)}, got ${shapeText(state.shape)}`);
    }
    if (state.dtype !== x.dtype) throw new DTypeError(`${what} must have the type ${x.dtype}, got type ${state.dtype}`);
  }

  /**
   * Runs every layer over x [T, B, I] from the initial states (each [L·D, B, H]); returns the last
   * layer's output [T, B, D·H] and the final states stacked as [L·D, B, H].
   */
  protected run(x: Tensor, h0: Tensor, c0: Tensor | undefined): { output: Tensor; hN: Tensor; cN: Tensor | undefined } {
    const hs: Tensor[] = [];
    const cs: Tensor[] = [];
    let layerInput = x;
    for (let layer = 0; layer < this.numLayers; layer++) {
      const outs: Tensor[] = [];
      for (let dir = 0; dir < this.numDirections; dir++) {
        const index = layer * this.numDirections + dir;
        const state: CellState = { h: h0.narrow(0, index, 1).squeeze(0) };
        if (c0 !== undefined) state.c = c0.narrow(0, index, 1).squeeze(0);
        const { out, last } = runDirection(this.mode, layerInput, state, this.weights(layer, dir), dir === 1);
        outs.push(out);
        hs.push(last.h);
        if (last.c !== undefined) cs.push(last.c);
      }
      layerInput = outs.length === 1 ? outs[0]! : cat(outs, 2);
      // Like ATen: dropout on each layer's output but the last, drawn from the default generator.
      if (this.dropout > 0 && this.training && layer < this.numLayers - 1) layerInput = F.dropout(layerInput, this.dropout, true);
    }
    return { output: layerInput, hN: stack(hs, 0), cN: cs.length ? stack(cs, 0) : undefined };
  }

  /** forward of the single-state layers (RNN, GRU): h0 zeros when omitted, checked when given. */
  protected runWithHiddenState(input: Tensor, hx: Tensor | undefined): [Tensor, Tensor] {
    const { x, batched } = this.prepareInput(input);
    const expected = this.expectedHidden(x);
    let h0: Tensor;
    if (hx === undefined) {
      h0 = zeros(expected, { dtype: x.dtype, device: x.device });
    } else {
      h0 = batchedState(hx, batched);
      this.checkState(h0, expected, x, "hidden");
    }
    const { output, hN } = this.run(x, h0, undefined);
    return [this.finishOutput(output, batched), batched ? hN : hN.squeeze(1)];
  }

  /** Puts the output back into the caller's layout (batch first, or unbatched). */
  protected finishOutput(output: Tensor, batched: boolean): Tensor {
    if (!batched) return output.squeeze(1);
    return this.batchFirst ? output.transpose(0, 1) : output;
  }
}

/** PyTorch's check that only an LSTM takes proj_size (JavaScript callers can pass any option). */
function checkNoProjection(options: object): void {
  if ("projSize" in options) throw new ValueError("proj_size argument is only supported for LSTM, not RNN or GRU");
}

/** Accepts a user hidden state and returns it as [L·D, B, H] (adding the batch dim when unbatched). */
function batchedState(hx: Tensor, batched: boolean): Tensor {
  if (batched && hx.ndim !== 3) throw new ShapeError(`For batched 3-D input, hx should also be 3-D but got ${hx.ndim}-D tensor`);
  if (!batched && hx.ndim !== 2) throw new ShapeError(`For unbatched 2-D input, hx should also be 2-D but got ${hx.ndim}-D tensor`);
  return batched ? hx : hx.unsqueeze(1);
}

/**
 * An Elman RNN, like torch.nn.RNN: h_t = act(x_t·W_ihᵀ + b_ih + h_(t−1)·W_hhᵀ + b_hh) with act tanh
 * or relu. `forward(x, h0?)` takes x of shape [T, B, inputSize] ([B, T, inputSize] with batchFirst,
 * or unbatched [T, inputSize]) and returns `[output, hN]`: output [T, B, D·hiddenSize] (the last
 * layer's h at every step, both directions concatenated) and hN [numLayers·D, B, hiddenSize].
 */
export class RNN extends RNNBase<Tensor> {
  /** The cell's nonlinearity. */
  readonly nonlinearity: "tanh" | "relu";

  /**
   * Like torch.nn.RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True,
   * batch_first=False, dropout=0, bidirectional=False). Throws ValueError for an unknown
   * nonlinearity, bad sizes or dropout.
   */
  constructor(inputSize: number, hiddenSize: number, options: RNNOptions = {}) {
    checkNoProjection(options);
    const nonlinearity = options.nonlinearity ?? "tanh";
    if (nonlinearity !== "tanh" && nonlinearity !== "relu") throw new ValueError(`Unknown nonlinearity '${String(nonlinearity)}'`);
    super(nonlinearity === "tanh" ? "RNN_TANH" : "RNN_RELU", inputSize, hiddenSize, options);
    this.nonlinearity = nonlinearity;
  }

  /**
   * Runs the sequence from `hx` (zeros when omitted; [numLayers·D, B, hiddenSize], or
   * [numLayers·D, hiddenSize] for unbatched input). Throws ShapeError naming the expected and given
   * shapes, DTypeError for a dtype other than the weights'.
   */
  forward(input: Tensor, hx?: Tensor): [Tensor, Tensor] {
    return this.runWithHiddenState(input, hx);
  }
}

/**
 * A long short-term memory layer, like torch.nn.LSTM, with PyTorch's gate order i, f, g, o in
 * `weight_ih`/`weight_hh` rows. `forward(x, [h0, c0]?)` returns `[output, [hN, cN]]`, shaped as for
 * `RNN`.
 */
export class LSTM extends RNNBase<[Tensor, Tensor]> {
  /**
   * Like torch.nn.LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
   * dropout=0, bidirectional=False, proj_size=0). Throws ValueError for bad sizes, dropout or
   * projSize.
   */
  constructor(inputSize: number, hiddenSize: number, options: LSTMOptions = {}) {
    super("LSTM", inputSize, hiddenSize, options, options.projSize ?? 0);
  }

  /**
   * Runs the sequence from `[h0, c0]` (zeros when omitted). Throws ShapeError naming the expected
   * and given shapes of hidden[0] / hidden[1].
   */
  forward(input: Tensor, hx?: [Tensor, Tensor]): [Tensor, [Tensor, Tensor]] {
    const { x, batched } = this.prepareInput(input);
    const expected = this.expectedHidden(x);
    const expectedCell = this.expectedHidden(x, true);
    let h0: Tensor;
    let c0: Tensor;
    if (hx === undefined) {
      h0 = zeros(expected, { dtype: x.dtype, device: x.device });
      c0 = zeros(expectedCell, { dtype: x.dtype, device: x.device });
    } else {
      if (!Array.isArray(hx) || hx.length !== 2) throw new ValueError("LSTM: hx must be a pair [h0, c0] of tensors");
      const [h, c] = hx;
      const rank = batched ? 3 : 2;
      if (h.ndim !== rank || c.ndim !== rank) {
        throw new ShapeError(
          `For ${batched ? "batched 3-D" : "unbatched 2-D"} input, hx and cx should also be ${rank}-D but got (${h.ndim}-D, ${c.ndim}-D) tensors`,
        );
      }
      h0 = batched ? h : h.unsqueeze(1);
      c0 = batched ? c : c.unsqueeze(1);
      this.checkState(h0, expected, x, "hidden[0]");
      this.checkState(c0, expectedCell, x, "hidden[1]");
    }
    const { output, hN, cN } = this.run(x, h0, c0);
    return [this.finishOutput(output, batched), batched ? [hN, cN!] : [hN.squeeze(1), cN!.squeeze(1)]];
  }
}

/**
 * A gated recurrent unit layer, like torch.nn.GRU, with PyTorch's gate order r, z, n and
 * n = tanh(x·W_inᵀ + b_in + r·(h·W_hnᵀ + b_hn)). `forward(x, h0?)` returns `[output, hN]`, shaped as
 * for `RNN`.
 */
export class GRU extends RNNBase<Tensor> {
  /**
   * Like torch.nn.GRU(input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
   * dropout=0, bidirectional=False). Throws ValueError for bad sizes or dropout.
   */
  constructor(inputSize: number, hiddenSize: number, options: RNNBaseOptions = {}) {
    checkNoProjection(options);
    super("GRU", inputSize, hiddenSize, options);
  }

  /** Runs the sequence from `hx` (zeros when omitted); errors as `RNN.forward`. */
  forward(input: Tensor, hx?: Tensor): [Tensor, Tensor] {
    return this.runWithHiddenState(input, hx);
  }
}
