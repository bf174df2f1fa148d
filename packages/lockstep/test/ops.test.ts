// Every op against PyTorch: the cases in fixtures/ops.json (written by fixtures/ops/generate.py with
// real PyTorch) run on each available device, through the Tensor method and the function form.
// Exact cases compare bit patterns; "close" cases use the tolerance in the fixture header
// (float32: 1e-5 relative + 1e-6 absolute; float64: 1e-10 relative + 1e-12 absolute).
// Each case also checks that the op left its inputs as they were.
import { useDeterministicAlgorithms, type Tensor } from "lockstep";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { devices, unsupportedOn } from "./devices.js";
import {
  buildInput,
  decode,
  disposeAll,
  expectResult,
  loadFixture,
  snapshot,
  type OpCase,
  type OpResult,
  type TensorSpec,
} from "./fixtures.js";
import { formsOf, runOp } from "./runners.js";

const fixture = loadFixture<OpCase>("ops.json");

const byOp = new Map<string, OpCase[]>();
for (const c of fixture.cases) {
  if (!byOp.has(c.op)) byOp.set(c.op, []);
  byOp.get(c.op)!.push(c);
}

function collect(result: unknown): unknown[] {
  if (Array.isArray(result)) return result;
  if (result !== null && typeof result === "object" && "values" in result && "indices" in result) {
    return [result.values, result.indices];
  }
  return [result];
}

// Both modes must match PyTorch: the fast kernels and the deterministic ones (own float32 math).
const runs = devices.flatMap((device) => [false, true].map((deterministic) => ({ device, deterministic })));

describe.each(runs)("ops on $device (deterministic: $deterministic) match PyTorch", ({ device, deterministic }) => {
  beforeAll(() => useDeterministicAlgorithms(deterministic));
  afterAll(() => useDeterministicAlgorithms(false));
  for (const [op, cases] of byOp) {
    describe(op, () => {
      for (const c of cases) {
        it.skipIf(unsupportedOn(device, c) !== undefined)(c.id, async () => {
          const inputs = c.inputs.map((spec) => buildInput(spec, device));
          const before = await snapshot(inputs);
          const made: unknown[] = [];
          try {
            for (const form of formsOf(c.op)) {
              const result = (await runOp(form, c.op, inputs, c.params)) as OpResult;
              made.push(...collect(result));
              try {
                await expectResult(result, c.expected, c.compare);
              } catch (error) {
                (error as Error).message = `${form} form: ${(error as Error).message}`;
                throw error;
              }
            }
            expect(await snapshot(inputs), "the op must not change its inputs").toEqual(before);
          } finally {
            disposeAll(made);
            disposeAll(inputs);
          }
        });
      }
    });
  }
});

/** PyTorch's tolist(): nested arrays of the expected values (booleans for bool). */
function nested(spec: TensorSpec): unknown {
  const flat = spec.data.map(decode);
  const build = (offset: number, dim: number): unknown => {
    if (dim === spec.shape.length) return flat[offset];
    const size = spec.shape.slice(dim + 1).reduce((a, b) => a * b, 1);
    return Array.from({ length: spec.shape[dim]! }, (_, i) => build(offset + i * size, dim + 1));
  };
  return build(0, 0);
}

describe.each(devices)("reading values on %s", (device) => {
  const readable = fixture.cases.filter((c) => ["transpose", "permute", "slice", "reshape", "cast"].includes(c.op));
  for (const c of readable) {
    it.skipIf(unsupportedOn(device, c) !== undefined)(`toArray() of ${c.id} is PyTorch's tolist()`, async () => {
      const inputs = c.inputs.map((spec) => buildInput(spec, device));
      const result = (await runOp("method", c.op, inputs, c.params)) as Tensor;
      const want = c.expected as TensorSpec;
      expect(await result.toArray()).toEqual(nested(want));
      if (device === "cpu") expect(result.toArraySync()).toEqual(nested(want));
      if (want.shape.reduce((a, b) => a * b, 1) === 1) expect(await result.item()).toEqual(decode(want.data[0]!));
      disposeAll([result, ...inputs]);
    });
  }
});

describe("fixture sanity", () => {
  it("comes from PyTorch and covers every op of the Tensor API", () => {
    expect(fixture.generatedBy).toBe("fixtures/ops/generate.py");
    const ops = new Set(fixture.cases.map((c) => c.op));
    for (const op of [
      "add", "sub", "mul", "div", "pow", "maximum", "minimum", "eq", "ne", "lt", "le", "gt", "ge",
      "logicalAnd", "logicalOr", "logicalNot", "neg", "exp", "log", "sqrt", "rsqrt", "abs", "sign", "relu",
      "sigmoid", "tanh", "erf", "gelu", "clamp", "where", "maskedFill", "cast", "sum", "mean", "prod", "amax",
      "amin", "max", "min", "argmax", "argmin", "var", "std", "logsumexp", "softmax", "logSoftmax", "matmul",
      "cat", "stack", "split", "chunk", "indexSelect", "gather", "scatter", "reshape", "view", "expand",
      "permute", "transpose", "t", "T", "narrow", "slice", "squeeze", "unsqueeze", "flatten", "contiguous", "clone",
    ]) {
      expect(ops.has(op), `fixture has cases for ${op}`).toBe(true);
    }
  });
});
