// Creation ops against PyTorch (fixtures/creation.json): arange, linspace, eye, full, zeros, ones,
// the *Like functions and tensor() from nested arrays and typed arrays, on every device. Where JS
// cannot say what Python says (2 and 2.0 are one number), the fixture notes which PyTorch call it
// mirrors. Also the errors PyTorch raises for bad sizes and ranges (fixtures/creation-errors.json).
import * as L from "lockstep";
import type { DType, Tensor } from "lockstep";
import { describe, expect, it } from "vitest";
import { devices, unsupportedOn } from "./devices.js";
import {
  buildTensor,
  decodeDeep,
  expectLockstepError,
  expectTensor,
  loadFixture,
  thrownBy,
  type CreationCase,
  type CreationErrorCase,
  type TensorSpec,
} from "./fixtures.js";

const cases = loadFixture<CreationCase>("creation.json").cases;
const errorCases = loadFixture<CreationErrorCase>("creation-errors.json").cases;

type Options = { dtype?: DType; device?: string };

function dataArgument(arg: unknown): unknown {
  if (arg !== null && typeof arg === "object" && !Array.isArray(arg)) {
    const [kind, values] = Object.entries(arg)[0]!;
    if (kind === "Int32Array") return Int32Array.from(values as number[]);
    if (kind === "Float64Array") return Float64Array.from(values as number[]);
    throw new Error(`unknown typed array ${kind} in fixture`);
  }
  return decodeDeep(arg);
}

function isEmpty(options: Options): boolean {
  return options.dtype === undefined;
}

/** Calls a creation op the way a user would, with the device added to the options. */
function create(op: string, rawArgs: unknown[], fixtureOptions: Options, device: string): Tensor {
  const options: Options = { ...fixtureOptions, device };
  const args = (op.endsWith("Like") ? rawArgs : rawArgs.map(dataArgument)) as never[];
  const like = () => buildTensor((rawArgs[0] as { like: TensorSpec }).like, device);
  switch (op) {
    case "zeros":
      return L.zeros(args[0], options);
    case "ones":
      return L.ones(args[0], options);
    case "full":
      return L.full(args[0], args[1], options);
    case "eye":
      return args.length === 1 ? L.eye(args[0], options) : L.eye(args[0], args[1], options);
    case "arange":
      if (args.length === 1) return isEmpty(fixtureOptions) && device === "cpu" ? L.arange(args[0]) : L.arange(0, args[0], 1, options);
      return L.arange(args[0], args[1], args[2], options);
    case "linspace":
      return L.linspace(args[0], args[1], args[2], options);
    case "tensor":
      return L.tensor(args[0], options);
    case "zerosLike":
      return L.zerosLike(like(), fixtureOptions);
    case "onesLike":
      return L.onesLike(like(), fixtureOptions);
    case "fullLike":
      return L.fullLike(like(), args[1], fixtureOptions);
    default:
      throw new Error(`no runner for creation op '${op}'`);
  }
}

describe.each(devices)("creation on %s matches PyTorch", (device) => {
  for (const c of cases) {
    it.skipIf(unsupportedOn(device, c) !== undefined)(c.note ? `${c.id} (${c.note})` : c.id, async () => {
      const t = create(c.op, c.args, c.options, device);
      expect(t.device).toBe(device);
      await expectTensor(t, c.expected, c.compare);
      t.dispose();
    });
  }

  for (const c of errorCases) {
    it.skipIf(unsupportedOn(device, c) !== undefined)(`${c.id}: ${c.torchMessage}`, async () => {
      const error = await thrownBy(() => create(c.op, c.args, c.options, device));
      expectLockstepError(error, c, c.op);
    });
  }
});

describe("empty", () => {
  it("has the requested shape and dtype", () => {
    const t = L.empty([2, 0, 3], { dtype: "int32" });
    expect([...t.shape]).toEqual([2, 0, 3]);
    expect(t.dtype).toBe("int32");
    const u = L.empty([4]);
    expect(u.dtype).toBe("float32");
    expect(u.numel()).toBe(4);
  });
});

describe("requiresGrad option", () => {
  it("marks float tensors and refuses int ones, like PyTorch", async () => {
    expect(L.zeros([2], { requiresGrad: true }).requiresGrad).toBe(true);
    expect(L.tensor([1.5], { requiresGrad: false }).requiresGrad).toBe(false);
    const error = await thrownBy(() => L.zeros([2], { dtype: "int32", requiresGrad: true }));
    expect(error).toBeInstanceOf(L.DTypeError);
    expect((error as Error).message).toContain("only Tensors of floating point dtype can require gradients");
  });
});
