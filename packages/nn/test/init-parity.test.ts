// After manualSeed(s), Lockstep's Linear and Sequential weights and its dropout masks equal
// PyTorch 1.13's bit for bit (fixtures from fixtures/nn/generate.py). After every case the next
// four uniform draws are compared too, so a case that drew a different number of values fails.
import "@lockstep/backend-cpu";
import type { DType, Tensor } from "@lockstep/core";
import { manualSeed, rand } from "@lockstep/random";
import { describe, expect, it } from "vitest";
import { Dropout, Linear, ReLU, Sequential, functional as F, type Module } from "../src/index.js";
import {
  bytesOf,
  encodedBytes,
  expectBits,
  float64OfHex,
  hexWords,
  readFixture,
  sha256,
  toTensor,
  type Digest,
  type Encoded,
} from "./support/fixtures.js";

interface LinearCase {
  seed: number;
  in: number;
  out: number;
  bias: boolean;
  dtype: DType;
  weight: Encoded;
  biasValues?: Encoded;
  tail: Encoded;
}

interface BigLinearCase {
  seed: number;
  in: number;
  out: number;
  weight: Digest;
  biasValues: Digest;
  tail: Encoded;
}

interface SequentialCase {
  seed: number;
  sizes: [number, number, number, number];
  relu: boolean;
  state: Record<string, Encoded>;
  tail: Encoded;
}

interface DropoutCase {
  kind: "functional" | "functional-eval" | "module" | "module-eval" | "p1-special";
  p: number;
  pBits: string;
  dtype: DType;
  seed: number;
  x: Encoded;
  outputs: Encoded[];
  tail: Encoded;
}

const fixture = readFixture<{
  linear: LinearCase[];
  bigLinear: BigLinearCase[];
  sequential: SequentialCase[];
  dropout: DropoutCase[];
}>("init.json");

/** The generator is where PyTorch's was after the case: the next draws agree. */
function expectSameStreamPosition(tail: Encoded, what: string): void {
  expectBits(rand([4]), tail, `${what}: the next four draws`);
}

describe("nn.Linear initialisation equals PyTorch's after manualSeed", () => {
  it.each(fixture.linear.map((c) => [`seed ${c.seed}, Linear(${c.in}, ${c.out}${c.bias ? "" : ", bias=false"}) ${c.dtype}`, c] as const))(
    "%s: weight and bias bit for bit, same number of draws",
    (name, c) => {
      manualSeed(c.seed);
      const layer = new Linear(c.in, c.out, { bias: c.bias, dtype: c.dtype });
      expectBits(layer.weight, c.weight, `${name} weight`);
      if (c.bias) expectBits(layer.bias, c.biasValues!, `${name} bias`);
      else expect(layer.bias).toBeUndefined();
      expectSameStreamPosition(c.tail, name);
    },
  );

  it.each(fixture.bigLinear.map((c) => [c.seed, c] as const))(
    "seed %s, Linear(768, 768): SHA-256 of the float32 weight and bias bytes and sampled values equal PyTorch's",
    (_, c) => {
      manualSeed(c.seed);
      const layer = new Linear(c.in, c.out);
      for (const [t, d, what] of [[layer.weight, c.weight, "weight"], [layer.bias!, c.biasValues, "bias"]] as const) {
        expect([...t.shape], what).toEqual(d.shape);
        const words = hexWords(bytesOf(t), 4);
        expect(d.picks.map((i) => words[i]), `${what} sampled values`).toEqual(d.values);
        expect(sha256(bytesOf(t)), `${what} SHA-256`).toBe(d.sha256);
      }
      expectSameStreamPosition(c.tail, `Linear(768, 768) seed ${c.seed}`);
    },
  );
});

describe("a Sequential of three Linears equals PyTorch's after manualSeed", () => {
  it.each(fixture.sequential.map((c) => [c.seed, c.sizes.join("→"), c.relu ? " with ReLUs between" : "", c] as const))(
    "seed %s, sizes %s%s: every state-dict tensor bit for bit, in PyTorch's key order",
    (_, __, ___, c) => {
      manualSeed(c.seed);
      const [a, b, cc, d] = c.sizes;
      const linears = [new Linear(a, b), new Linear(b, cc), new Linear(cc, d)];
      const model = c.relu ? new Sequential(linears[0]!, new ReLU(), linears[1]!, new ReLU(), linears[2]!) : new Sequential(...linears);
      const state = model.stateDict();
      expect(Object.keys(state)).toEqual(Object.keys(c.state));
      for (const [key, e] of Object.entries(c.state)) expectBits(state[key], e, key);
      expectSameStreamPosition(c.tail, `Sequential seed ${c.seed}`);
    },
  );
});

function runDropout(c: DropoutCase, x: Tensor): Tensor[] {
  const outputs: Tensor[] = [];
  for (let i = 0; i < c.outputs.length; i++) {
    let module: Module | undefined;
    switch (c.kind) {
      case "functional":
      case "p1-special":
        outputs.push(F.dropout(x, c.p, true));
        break;
      case "functional-eval":
        outputs.push(F.dropout(x, c.p, false));
        break;
      case "module":
        module = new Dropout(c.p);
        outputs.push(module.forward(x));
        break;
      case "module-eval":
        module = new Dropout(c.p).eval();
        outputs.push(module.forward(x));
        break;
    }
  }
  return outputs;
}

const label = (c: DropoutCase): string =>
  `${c.kind} p=${c.p} ${c.dtype} [${c.x.shape.join(", ")}]${c.outputs.length > 1 ? ` ×${c.outputs.length}` : ""} seed ${c.seed}`;

describe("dropout masks equal PyTorch's", () => {
  const masked = fixture.dropout.filter((c) => c.kind !== "p1-special");
  it.each(masked.map((c) => [label(c), c] as const))("%s: outputs bit for bit, same number of draws", (name, c) => {
    expect(c.p).toBe(float64OfHex(c.pBits));
    const x = toTensor(c.x);
    manualSeed(c.seed);
    const outputs = runDropout(c, x);
    outputs.forEach((y, i) => expectBits(y, c.outputs[i]!, `${name} call ${i}`));
    expectSameStreamPosition(c.tail, name);
  });

  it.each(fixture.dropout.filter((c) => c.kind === "p1-special").map((c) => [c.dtype, c] as const))(
    "p=1 on %s multiplies by zero: ±0 with x's sign, NaN for ±inf and NaN, and draws nothing",
    (_, c) => {
      const x = toTensor(c.x);
      manualSeed(c.seed);
      const y = F.dropout(x, 1, true);
      const expected = new (c.dtype === "float32" ? Float32Array : Float64Array)(encodedBytes(c.outputs[0]!).slice().buffer);
      const got = y.dataSync();
      expect(got.length).toBe(expected.length);
      for (let i = 0; i < expected.length; i++) {
        if (Number.isNaN(expected[i]!)) expect(Number.isNaN(got[i]!), `element ${i}`).toBe(true);
        else expect(Object.is(got[i], expected[i]), `element ${i}: ${got[i]} vs ${expected[i]}`).toBe(true);
      }
      expectSameStreamPosition(c.tail, "p=1");
    },
  );

  it("eval mode and p=0 return the input tensor itself", () => {
    const x = toTensor(fixture.dropout.find((c) => c.kind === "functional-eval")!.x);
    expect(F.dropout(x, 0.42, false)).toBe(x);
    expect(F.dropout(x, 0, true)).toBe(x);
    expect(new Dropout(0.3).eval().forward(x)).toBe(x);
  });

  it("a Dropout switched back to training draws masks again", () => {
    const c = fixture.dropout.find((k) => k.kind === "module" && k.outputs.length === 1 && k.p === 0.42 && k.dtype === "float32")
      ?? fixture.dropout.find((k) => k.kind === "module" && k.outputs.length === 1 && k.p !== 0 && k.p !== 1 && k.dtype === "float32")!;
    const x = toTensor(c.x);
    const layer = new Dropout(c.p);
    layer.eval();
    layer.train();
    manualSeed(c.seed);
    expectBits(layer.forward(x), c.outputs[0]!, "after eval() then train()");
  });
});
