// After manualSeed(s), MultiheadAttention, TransformerEncoderLayer, TransformerDecoderLayer and a
// 2-layer TransformerEncoder hold PyTorch 1.13's initial weights bit for bit, under PyTorch's
// state-dict keys in PyTorch's order; the next four uniform draws equal PyTorch's too, which proves
// construction drew exactly as many values (for the encoder: that its deep copies drew none).
// Fixtures from fixtures/nn/attention.py.
import "@lockstep/backend-cpu";
import { manualSeed, rand } from "@lockstep/random";
import { describe, expect, it } from "vitest";
import type { Tensor } from "@lockstep/core";
import { MultiheadAttention, TransformerDecoderLayer, TransformerEncoder, TransformerEncoderLayer } from "../src/index.js";
import type { AnyModule } from "../src/module.js";
import { expectBits, readFixture, type Encoded } from "./support/fixtures.js";

interface InitCase {
  name: string;
  seed: number;
  options: {
    kind: "mha" | "encoderLayer" | "decoderLayer" | "encoder";
    embedDim?: number;
    numHeads?: number;
    kdim?: number;
    vdim?: number;
    bias?: boolean;
    addBiasKv?: boolean;
    dModel?: number;
    nhead?: number;
    dimFeedforward?: number;
    numLayers?: number;
  };
  state: Record<string, Encoded>;
  tail: Encoded;
}

const { init } = readFixture<{ init: InitCase[] }>("attention.json");

function build(o: InitCase["options"]): AnyModule {
  switch (o.kind) {
    case "mha":
      return new MultiheadAttention(o.embedDim!, o.numHeads!, { kdim: o.kdim, vdim: o.vdim, bias: o.bias, addBiasKv: o.addBiasKv });
    case "encoderLayer":
      return new TransformerEncoderLayer(o.dModel!, o.nhead!, { dimFeedforward: o.dimFeedforward });
    case "decoderLayer":
      return new TransformerDecoderLayer(o.dModel!, o.nhead!, { dimFeedforward: o.dimFeedforward });
    case "encoder":
      return new TransformerEncoder(new TransformerEncoderLayer(o.dModel!, o.nhead!, { dimFeedforward: o.dimFeedforward }), o.numLayers!);
  }
}

describe("attention and transformer initialisation equals PyTorch's after manualSeed", () => {
  it.each(init.map((c) => [c.name, c] as const))("%s: every state-dict tensor bit for bit, same keys and order, same number of draws", (name, c) => {
    manualSeed(c.seed);
    const module = build(c.options);
    const state = module.stateDict();
    expect(Object.keys(state), `${name}: state-dict keys`).toEqual(Object.keys(c.state));
    for (const [key, e] of Object.entries(c.state)) expectBits(state[key], e, `${name} ${key}`);
    expectBits(rand([4]), c.tail, `${name}: the next four draws after construction`);
  });

  it("TransformerEncoder's layers start identical and own separate parameters (deep copies)", () => {
    manualSeed(3);
    const layer = new TransformerEncoderLayer(8, 2, { dimFeedforward: 16 });
    const encoder = new TransformerEncoder(layer, 3);
    const state = encoder.stateDict();
    for (const key of Object.keys(layer.stateDict())) {
      expectBits(state[`layers.2.${key}`], { dtype: "float32", shape: [...layer.stateDict()[key]!.shape], hex: hexOf(layer.stateDict()[key]!) }, key);
    }
    const params = encoder.parameters();
    expect(new Set(params).size).toBe(params.length);
    for (const p of layer.parameters()) expect(params.includes(p)).toBe(false);
  });
});

function hexOf(t: Tensor): string[] {
  return Array.from(new Uint32Array(Float32Array.from(t.dataSync() as Float32Array).buffer), (w) => w.toString(16).padStart(8, "0"));
}
