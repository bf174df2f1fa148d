// Errors change nothing (issue 18): backward(), loadStateDict, Module.to(), optimizer.step(),
// optimizer and scheduler options, random creation ops and safetensors either succeed or throw a
// Lockstep error with every parameter, `.grad`, optimizer state and generator state as it was.
// "As it was" is checked by bit patterns (Uint32 words of the data), identity of the tensors held,
// and `isDisposed`, before and after each failing call.
import {
  DTypeError,
  DeviceError,
  Generator,
  IndexError,
  LockstepError,
  LockstepTypeError,
  ShapeError,
  ValueError,
  dropoutMask,
  getRngState,
  loadSafetensors,
  manualSeed,
  nn,
  optim,
  rand,
  randint,
  randn,
  randperm,
  bernoulli,
  saveSafetensors,
  tensor,
  zeros,
  type Tensor,
} from "lockstep";
import { describe, expect, it } from "vitest";
import { devices } from "./devices.js";

const hasWebGPU = devices.includes("webgpu");

/** The bit pattern of a CPU tensor's data, as hex words (float64 as two words per element). */
function bits(t: Tensor | undefined): string[] | undefined {
  if (t === undefined) return undefined;
  const data = t.contiguous().dataSync();
  const words = new Uint32Array(data.buffer, data.byteOffset, data.byteLength / 4);
  return [...words].map((w) => w.toString(16));
}

async function bitsAsync(t: Tensor): Promise<string[]> {
  const data = await t.data();
  const words = new Uint32Array(new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice().buffer);
  return [...words].map((w) => w.toString(16));
}

function expectThrows(call: () => unknown, type: new (...args: never[]) => Error, message: string | RegExp): void {
  let thrown: unknown;
  try {
    call();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, "the call did not throw").toBeInstanceOf(type);
  expect(thrown).toBeInstanceOf(LockstepError);
  if (typeof message === "string") expect((thrown as Error).message).toContain(message);
  else expect((thrown as Error).message).toMatch(message);
}

/** Everything a failed call might have touched on a set of leaves: data bits, `.grad` identity, liveness and bits. */
function snapshot(leaves: Tensor[]) {
  return leaves.map((t) => ({ data: bits(t), grad: t.grad, gradBits: bits(t.grad), disposed: t.grad?.isDisposed ?? false }));
}

describe("backward(): all gradients or none", () => {
  const setup = () => {
    const w = tensor([0.5, -1.25, 2]).requiresGrad_();
    const b = tensor([0.25, 3, -0.75]).requiresGrad_();
    const x = tensor([1.5, 2.5, -3]);
    const loss = () => w.mul(x).sum().add(b.mul(x).mul(w).sum());
    return { w, b, loss };
  };

  it.each(["w", "b"] as const)("a hook on %s that throws leaves every .grad as it was (none set before)", (which) => {
    const { w, b, loss } = setup();
    const handle = (which === "w" ? w : b).registerHook(() => {
      throw new Error("hook failed");
    });
    expect(() => loss().backward()).toThrow("hook failed");
    expect(w.grad).toBeUndefined();
    expect(b.grad).toBeUndefined();
    handle.remove();
    loss().backward();
    // x·(1 + b) for w, x·w for b — exact in float32 for these values.
    expect(bits(w.grad)).toEqual(bits(tensor([1.5 * 1.25, 2.5 * 4, -3 * 0.25])));
    expect(bits(b.grad)).toEqual(bits(tensor([1.5 * 0.5, 2.5 * -1.25, -3 * 2])));
  });

  it.each(["w", "b"] as const)("a hook on %s that throws keeps the gradients accumulated before, live and unchanged", (which) => {
    const { w, b, loss } = setup();
    loss().backward();
    const before = snapshot([w, b]);
    const handle = (which === "w" ? w : b).registerHook(() => {
      throw new Error("hook failed");
    });
    expect(() => loss().backward()).toThrow("hook failed");
    expect(snapshot([w, b])).toEqual(before);
    handle.remove();
    // The kept gradients still work: a later step accumulates into them.
    loss().backward();
    expect(w.grad!.isDisposed).toBe(false);
  });

  it("a hook returning a gradient of the wrong shape throws with nothing stored", () => {
    const { w, b, loss } = setup();
    b.registerHook(() => zeros([2]));
    expectThrows(() => loss().backward(), ShapeError, "hook returned an invalid gradient - got [2]");
    expect([w.grad, b.grad]).toEqual([undefined, undefined]);
  });

  it("the gradient argument is checked first: shape, dtype, kind", () => {
    const { w, b } = setup();
    const y = w.mul(b);
    expectThrows(() => y.backward(zeros([2])), ShapeError, "Mismatch in shape: grad_output[0] has a shape of [2]");
    expectThrows(() => y.backward(zeros([3], { dtype: "int32" })), DTypeError, "expected a floating dtype (float32) but got int32");
    // Checked at the Tensor method (core's validation layer) or in the engine: either way the
    // message names the value as written.
    expectThrows(() => y.backward("1" as never), LockstepError, /gradient.*"1"/);
    expectThrows(() => y.backward(undefined, { retainGraph: "yes" } as never), LockstepError, /retainGraph.*"yes"/);
    expect([w.grad, b.grad]).toEqual([undefined, undefined]);
    y.backward(tensor([1, 1, 1]));
    expect(w.grad).toBeDefined();
  });

  it("an existing .grad of the wrong shape, dtype or kind is refused before anything is added", () => {
    const { w, b, loss } = setup();
    loss().backward();
    const good = b.grad!;
    const goodBits = bits(good);
    for (const [bad, type, message] of [
      [zeros([1]), ShapeError, "assigned grad has data of a different size: the .grad of a tensor of shape [3] has shape [1]"],
      [zeros([3], { dtype: "float64" }), DTypeError, "assigned grad has data of a different type"],
      ["x", ValueError, "must be a Tensor or undefined"],
    ] as const) {
      w.grad = bad as never;
      expectThrows(() => loss().backward(), type, message);
      expect(b.grad).toBe(good);
      expect(bits(b.grad)).toEqual(goodBits);
    }
    const disposed = zeros([3]);
    disposed.dispose();
    w.grad = disposed;
    expectThrows(() => loss().backward(), LockstepError, "was disposed");
    expect(bits(b.grad)).toEqual(goodBits);
  });

  it("a disposed saved tensor fails before any .grad changes", () => {
    const w = tensor([1, 2]).requiresGrad_();
    const b = tensor([3, 4]).requiresGrad_();
    const saved = w.mul(2);
    const loss = b.mul(saved).sum().add(w.sum());
    saved.dispose();
    expect(() => loss.backward()).toThrow(LockstepError);
    expect([w.grad, b.grad]).toEqual([undefined, undefined]);
  });
});

describe("loadStateDict: checks everything, then copies", () => {
  const model = () => {
    manualSeed(1);
    return new nn.Sequential(new nn.Linear(3, 2), new nn.Linear(2, 2));
  };
  const state = (m: nn.Module) => Object.fromEntries(Object.entries(m.stateDict()).map(([k, t]) => [k, bits(t)]));

  it("a bad bias (shape, dtype, kind, disposed) leaves the weight as it was", () => {
    const m = model();
    const before = state(m);
    const weight = tensor([[9, 9, 9], [9, 9, 9]]);
    const good = { "1.weight": m.stateDict()["1.weight"]!, "1.bias": m.stateDict()["1.bias"]! };
    const disposed = zeros([2]);
    disposed.dispose();
    for (const [bias, message] of [
      [zeros([3]), "size mismatch for 0.bias"],
      [zeros([2], { dtype: "int32" }), "dtype mismatch for 0.bias: copying a param of dtype int32"],
      [[1, 2], 'While copying the parameter named "0.bias", expected a tensor but got object'],
      [disposed, 'While copying the parameter named "0.bias", the checkpoint tensor was disposed'],
    ] as const) {
      expectThrows(() => m.loadStateDict({ "0.weight": weight, "0.bias": bias as never, ...good }), LockstepError, message);
      expect(state(m)).toEqual(before);
    }
  });

  it("keys are own names: __proto__ and constructor are ordinary (unexpected) keys; a Map works", () => {
    const m = model();
    const before = state(m);
    const sd = m.stateDict();
    const withProto = JSON.parse('{"__proto__": 1}') as Record<string, unknown>;
    Object.assign(withProto, sd);
    expectThrows(() => m.loadStateDict(withProto as never), LockstepError, 'Unexpected key(s) in state_dict: "__proto__"');
    expect(state(m)).toEqual(before);
    // Without its own "constructor" key, the inherited Object.prototype.constructor is not a value.
    const { missingKeys, unexpectedKeys } = m.loadStateDict({ "0.weight": sd["0.weight"]! }, { strict: false });
    expect(missingKeys).toEqual(["0.bias", "1.weight", "1.bias"]);
    expect(unexpectedKeys).toEqual([]);
    const other = model();
    other.loadStateDict(new Map(Object.entries(sd)) as never);
    expect(state(other)).toEqual(before);
  });

  it("a float64 checkpoint casts into float32 parameters, as PyTorch's copy_ does", () => {
    const m = model();
    const sd = Object.fromEntries(Object.entries(m.stateDict()).map(([k, t]) => [k, t.to("float64").mul(2)]));
    m.loadStateDict(sd);
    expect(bits(m.stateDict()["0.bias"])).toEqual(bits(sd["0.bias"]!.to("float32")));
  });

  it("sources that alias other targets (keys swapped within one model) are read before any is overwritten", () => {
    const m = new nn.Sequential(new nn.Linear(2, 2), new nn.Linear(2, 2));
    const sd = m.stateDict();
    const [w0, b0, w1, b1] = ["0.weight", "0.bias", "1.weight", "1.bias"].map((k) => bits(sd[k]));
    m.loadStateDict({ "0.weight": sd["1.weight"]!, "0.bias": sd["1.bias"]!, "1.weight": sd["0.weight"]!, "1.bias": sd["0.bias"]! });
    const after = m.stateDict();
    expect([bits(after["0.weight"]), bits(after["0.bias"]), bits(after["1.weight"]), bits(after["1.bias"])]).toEqual([w1, b1, w0, b0]);
  });
});

describe("Module.to(): the target and every move are checked before any field changes", () => {
  it("an unknown device, a non-floating dtype or a non-string target changes nothing", () => {
    const m = new nn.Sequential(new nn.Linear(3, 2), new nn.BatchNorm1d(2));
    const held = [...m.parameters(), ...m.buffers()];
    expectThrows(() => m.to("tpu"), DeviceError, "no backend is registered for device 'tpu'");
    expectThrows(() => m.to("int32"), DTypeError, "nn.Module.to only accepts floating point dtypes, but got desired dtype=int32");
    expectThrows(() => m.to(3 as never), ValueError, "Module.to() expects a device name");
    expect([...m.parameters(), ...m.buffers()]).toEqual(held);
  });

  it("to(float64) casts floating parameters and buffers and keeps integer counters", () => {
    const m = new nn.Sequential(new nn.Linear(3, 2), new nn.BatchNorm1d(2)).to("float64");
    expect(m.parameters().map((p) => p.dtype)).toEqual(["float64", "float64", "float64", "float64"]);
    expect(m.buffers().map((b) => b.dtype)).toEqual(["float64", "float64", "int32"]);
  });

  it("a tensor held by two modules (tied weights) moves once and stays shared; a disposed one stops the move", () => {
    const a = new nn.Linear(2, 2);
    const b = new nn.Linear(2, 2);
    b.weight = a.weight;
    const m = new nn.Sequential(a, b).to("float64");
    expect(a.weight).toBe(b.weight);
    expect(a.weight.dtype).toBe("float64");
    const held = m.parameters();
    b.bias!.dispose();
    expectThrows(() => m.to("float32"), LockstepError, "disposed");
    expect(m.parameters()).toEqual(held);
    expect(a.weight.dtype).toBe("float64");
  });

  it.runIf(hasWebGPU)("Sequential.to('webgpu') with a float64 layer moves nothing, not half the model", () => {
    const first = new nn.Linear(3, 2);
    const second = new nn.Linear(2, 2).to("float64");
    const m = new nn.Sequential(first, second);
    const held = m.parameters();
    const before = held.map((p) => bits(p));
    expectThrows(() => m.to("webgpu"), DTypeError, "float64 is not supported on webgpu");
    expect(m.parameters()).toEqual(held);
    expect(m.parameters().map((p) => p.device)).toEqual(["cpu", "cpu", "cpu", "cpu"]);
    expect(m.parameters().map((p) => bits(p))).toEqual(before);
  });
});

describe("optimizers: options checked at construction, every gradient checked before any update", () => {
  const leaves = () => {
    const weight = tensor([[0.5, -1], [2, 0.25]]).requiresGrad_();
    const bias = tensor([0.125, -0.5]).requiresGrad_();
    return { weight, bias };
  };
  const makers: [string, (params: Tensor[]) => optim.Optimizer<{ lr: number }>][] = [
    ["SGD", (p) => new optim.SGD(p, { lr: 0.1, momentum: 0.9 })],
    ["Adam", (p) => new optim.Adam(p, { lr: 0.1 })],
    ["AdamW", (p) => new optim.AdamW(p, { lr: 0.1, amsgrad: true })],
  ];

  it.each(makers)("%s.step() with a bad bias gradient updates neither the weight nor any state", (_, make) => {
    const { weight, bias } = leaves();
    const optimizer = make([weight, bias]);
    weight.grad = tensor([[1, 2], [3, 4]]);
    bias.grad = tensor([1, -1]);
    optimizer.step(); // creates the state
    const stateBits = () => [...optimizer.state.values()].map((s) => Object.entries(s).map(([k, v]) => [k, typeof v === "number" ? v : bits(v)]));
    const before = { params: [bits(weight), bits(bias)], state: stateBits() };
    const disposed = zeros([2]);
    disposed.dispose();
    for (const [grad, type, message] of [
      [zeros([3]), ShapeError, "assigned grad has data of a different size: the .grad of parameter 1 (shape [2]) has shape [3]"],
      [zeros([1]), ShapeError, "assigned grad has data of a different size"],
      [zeros([2], { dtype: "float64" }), DTypeError, "assigned grad has data of a different type: the .grad of parameter 1 (shape [2]) is float64"],
      [disposed, ValueError, "the .grad of parameter 1 (shape [2]) was disposed"],
      [[1, 2], ValueError, "the .grad of parameter 1 (shape [2]) must be a Tensor, got [1, 2]"],
    ] as const) {
      bias.grad = grad as never;
      expectThrows(() => optimizer.step(), type, message);
      expect({ params: [bits(weight), bits(bias)], state: stateBits() }).toEqual(before);
    }
  });

  it("a disposed state tensor is refused before any update", () => {
    const { weight, bias } = leaves();
    const optimizer = new optim.SGD([weight, bias], { lr: 0.1, momentum: 0.9 });
    weight.grad = tensor([[1, 2], [3, 4]]);
    bias.grad = tensor([1, -1]);
    optimizer.step();
    (optimizer.state.get(bias)!.momentumBuffer as Tensor).dispose();
    const before = [bits(weight), bits(bias), bits(optimizer.state.get(weight)!.momentumBuffer as Tensor)];
    expectThrows(() => optimizer.step(), ValueError, "the optimizer state 'momentumBuffer' of parameter 1 was disposed");
    expect([bits(weight), bits(bias), bits(optimizer.state.get(weight)!.momentumBuffer as Tensor)]).toEqual(before);
  });

  it.runIf(hasWebGPU)("a gradient on another device is refused before any update", () => {
    const { weight, bias } = leaves();
    const optimizer = new optim.SGD([weight, bias], { lr: 0.1 });
    weight.grad = tensor([[1, 2], [3, 4]]);
    bias.grad = tensor([1, -1]).to("webgpu");
    const before = [bits(weight), bits(bias)];
    expectThrows(() => optimizer.step(), DeviceError, "assigned grad has data located on a different device");
    expect([bits(weight), bits(bias)]).toEqual(before);
  });

  it("Adam betas must be a pair in [0, 1): [0.9] throws instead of giving NaN weights", () => {
    const { weight } = leaves();
    expectThrows(() => new optim.Adam([weight], { betas: [0.9] as never }), ValueError, "betas must be a pair of numbers [beta1, beta2], got [0.9]");
    expectThrows(() => new optim.AdamW([weight], { betas: [1.5, 0.9] }), ValueError, "Invalid beta parameter at index 0: 1.5");
    expectThrows(() => new optim.Adam([weight], { betas: [0.9, "0.99"] as never }), ValueError, 'Invalid beta parameter at index 1: "0.99"');
  });

  it.each([
    ["lr as a string", () => new optim.SGD([leaves().weight], { lr: "0.1" as never }), 'Invalid learning rate: "0.1"'],
    ["SGD without lr", () => new optim.SGD([leaves().weight], {} as never), "the learning rate option lr is required"],
    ["negative eps", () => new optim.Adam([leaves().weight], { eps: -1 }), "Invalid epsilon value: -1"],
    ["negative weight decay", () => new optim.AdamW([leaves().weight], { weightDecay: -0.1 }), "Invalid weight_decay value: -0.1"],
    ["negative momentum", () => new optim.SGD([leaves().weight], { lr: 0.1, momentum: -1 }), "Invalid momentum value: -1"],
    ["nesterov not a boolean", () => new optim.SGD([leaves().weight], { lr: 0.1, nesterov: 1 as never }), "nesterov must be a boolean, got 1"],
    ["an unknown option", () => new optim.Adam([leaves().weight], { lr: 0.1, beta: 0.9 } as never), "Adam got an unexpected option 'beta'"],
    ["a group with an unknown option", () => new optim.SGD([{ params: [leaves().weight], lrr: 1 }] as never, { lr: 0.1 }), "SGD got an unexpected option 'lrr'"],
    ["params not iterable", () => new optim.SGD(5 as never, { lr: 0.1 }), "should be an iterable of Tensors or dicts, but got 5"],
  ] as const)("%s is refused", (_, make, message) => {
    expectThrows(make, ValueError, message);
  });

  it("schedulers check their options", () => {
    const optimizer = new optim.SGD([leaves().weight], { lr: 0.1 });
    expectThrows(() => new optim.StepLR(optimizer, { stepSize: 0 }), ValueError, "step_size must be a positive integer, got 0");
    expectThrows(() => new optim.StepLR(optimizer, { stepSize: 2.5 }), ValueError, "step_size must be a positive integer, got 2.5");
    expectThrows(() => new optim.StepLR(optimizer, { stepSize: 2, gamma: "0.1" as never }), ValueError, 'StepLR: gamma must be a finite number, got "0.1"');
    expectThrows(() => new optim.CosineAnnealingLR(optimizer, { tMax: 10, etaMin: Number.NaN }), ValueError, "etaMin must be a finite number, got NaN");
    expectThrows(() => new optim.StepLR({} as never, { stepSize: 1 }), ValueError, "is not an Optimizer");
    expect(optimizer.paramGroups[0]!.lr).toBe(0.1);
  });

  it("an optimizer state dict with a state tensor of the wrong shape is refused, state unchanged", () => {
    const { weight, bias } = leaves();
    const optimizer = new optim.SGD([weight, bias], { lr: 0.1, momentum: 0.9 });
    weight.grad = tensor([[1, 2], [3, 4]]);
    bias.grad = tensor([1, -1]);
    optimizer.step();
    const dict = optimizer.stateDict();
    const buffers = [...optimizer.state.values()].map((s) => s.momentumBuffer);
    const bad = { ...dict, state: { ...dict.state, 1: { momentumBuffer: zeros([3]) } } };
    expectThrows(() => optimizer.loadStateDict(bad), LockstepError, "state 'momentumBuffer' of parameter 1 is float32 [3]");
    expect([...optimizer.state.values()].map((s) => s.momentumBuffer)).toEqual(buffers);
  });
});

describe("random ops: every argument is checked before the first draw", () => {
  const stateHex = () => Buffer.from(getRngState()).toString("hex");
  it.each([
    ["rand on an unknown device", () => rand([2], { device: "tpu" }), DeviceError],
    ["randn of int32", () => randn([2], { dtype: "int32" }), DTypeError],
    ["randint requiring grad", () => randint(0, 5, [3], { requiresGrad: true }), DTypeError],
    ["rand with requiresGrad 'yes'", () => rand([2], { requiresGrad: "yes" as never }), LockstepTypeError],
    ["randn with a shape of strings", () => randn(["2"] as never), ValueError],
    ["randperm on an unknown device", () => randperm(5, { device: "tpu" }), DeviceError],
    ["rand with an unknown option", () => rand([2], { seed: 3 } as never), LockstepTypeError],
    ["rand with a non-generator", () => rand([2], { generator: {} as never }), ValueError],
    ["dropoutMask on an unknown device", () => dropoutMask([4], 0.5, { device: "tpu" }), DeviceError],
    ["bernoulli of int32 probabilities", () => bernoulli(zeros([2], { dtype: "int32" })), DTypeError],
    ["a tensor too big to allocate", () => rand([2 ** 20, 2 ** 12]), ValueError],
  ] as const)("%s throws and leaves the default generator as it was", (_, call, type) => {
    manualSeed(7);
    const before = stateHex();
    expect(call).toThrow(type);
    expect(stateHex()).toBe(before);
  });

  it("a rejected call leaves a given generator as it was too", () => {
    const generator = new Generator().manualSeed(3);
    const before = Buffer.from(generator.getState()).toString("hex");
    expect(() => rand([2], { generator, device: "tpu" })).toThrow(DeviceError);
    expect(() => randn([2], { generator, dtype: "bool" })).toThrow(DTypeError);
    expect(Buffer.from(generator.getState()).toString("hex")).toBe(before);
  });

  it.runIf(hasWebGPU)("float64 on webgpu is refused before drawing", () => {
    manualSeed(7);
    const before = stateHex();
    expect(() => randn([2], { dtype: "float64", device: "webgpu" })).toThrow(DTypeError);
    expect(stateHex()).toBe(before);
  });

  it("valid calls still draw the same stream as before the checks moved", async () => {
    manualSeed(11);
    const a = bits(rand([5]));
    manualSeed(11);
    expect(bits(rand([5], { requiresGrad: true }))).toEqual(a);
    if (hasWebGPU) {
      manualSeed(11);
      expect(await bitsAsync(rand([5], { device: "webgpu" }))).toEqual(a);
    }
  });
});

/** Safetensors bytes from a header object (written as given) and a data section. */
function safetensorsBytes(header: string, data: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const f32 = (...values: number[]) => new Uint8Array(new Float32Array(values).buffer);

describe("safetensors: the whole file is checked like the reference loader", () => {
  it.each([
    [
      "overlapping data_offsets",
      '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}',
      f32(1, 2, 3),
      "invalid safetensors: tensors overlap: a [0, 8] and b [4, 12]",
    ],
    [
      "overlap listed out of order",
      '{"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}',
      f32(1, 2, 3),
      "tensors overlap: a [0, 8] and b [4, 12]",
    ],
    [
      "a gap between tensors",
      '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}',
      f32(1, 2, 3),
      "bytes [4, 8) of the data belong to no tensor",
    ],
    [
      "bytes after the last tensor",
      '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}',
      f32(1, 2),
      "the tensors cover 4 bytes of data but the file has 8",
    ],
    [
      "a duplicate name",
      '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}',
      f32(1),
      'the name "a" appears more than once',
    ],
    ["a header that is an array", "[1, 2]", new Uint8Array(0), "it must start with '{'"],
    ["a header that is not JSON", "{nope", new Uint8Array(0), "invalid safetensors header"],
    ["non-string metadata", '{"__metadata__":{"format":1}}', new Uint8Array(0), "__metadata__ must map strings to strings"],
    ["a shape not matching its bytes", '{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', f32(1, 2), "do not match shape [3] of F32"],
  ])("%s is refused", async (_, header, data, message) => {
    await expect(loadSafetensors(safetensorsBytes(header, data))).rejects.toThrow(message);
  });

  it("tensors named __proto__ and constructor load as ordinary own entries and round-trip", async () => {
    const bytes = safetensorsBytes(
      '{"__proto__":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"constructor":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}',
      f32(1.5, -2),
    );
    const sd = await loadSafetensors(bytes);
    expect(Object.keys(sd).sort()).toEqual(["__proto__", "constructor"]);
    expect(Object.hasOwn(sd, "__proto__")).toBe(true);
    expect(Object.getPrototypeOf(sd)).toBe(Object.prototype);
    expect(sd["__proto__"]!.dataSync()[0]).toBe(1.5);
    expect(sd["constructor"]!.dataSync()[0]).toBe(-2);
    const again = await loadSafetensors(await saveSafetensors(sd));
    expect(Object.keys(again).sort()).toEqual(["__proto__", "constructor"]);
    expect(bits(again["__proto__"])).toEqual(bits(sd["__proto__"]));
  });

  it("bool bytes other than 0 load as true (1), not as raw bytes", async () => {
    const sd = await loadSafetensors(safetensorsBytes('{"m":{"dtype":"BOOL","shape":[3],"data_offsets":[0,3]}}', new Uint8Array([0, 2, 255])));
    expect([...sd["m"]!.dataSync()]).toEqual([0, 1, 1]);
  });

  it("an int64 value out of int32 range fails before any tensor is made", async () => {
    const data = new Uint8Array(new BigInt64Array([1n, 1n << 40n]).buffer);
    await expect(loadSafetensors(safetensorsBytes('{"n":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}}', data))).rejects.toThrow(
      "int64 value 1099511627776 does not fit in int32",
    );
  });

  it("an unknown device fails before reading", async () => {
    await expect(loadSafetensors(safetensorsBytes("{}", new Uint8Array(0)), { device: "tpu" })).rejects.toThrow(DeviceError);
  });
});

describe("regression: PyTorch-shaped index errors stay IndexError on the CPU", () => {
  it("embedding ids out of range", () => {
    const embedding = new nn.Embedding(3, 2);
    expect(() => embedding.forward(tensor([3], { dtype: "int32" }))).toThrow(IndexError);
  });
});
