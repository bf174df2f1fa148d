// Properties over the nn side of the public API: layer constructors, loadStateDict, safetensors
// bytes, optimizers, schedulers and the random ops. Each call, with arguments of every JS kind,
// either gives a correct result or throws a LockstepError with nothing changed — the model's
// parameters and buffers, the optimizer's state, the learning rates and the default generator's
// state are compared bit for bit before and after.
import * as L from "lockstep";
import { nn, optim, type Tensor } from "lockstep";
import { describe, expect, it } from "vitest";
import { anyValueArb, bitsOf, fc, runsOn } from "./support.js";

/** The default generator's state as hex, to show that a refused call drew nothing. */
function rngState(): string {
  return Buffer.from(L.getRngState()).toString("hex");
}

async function bitsOfAll(tensors: readonly Tensor[]): Promise<string[]> {
  return Promise.all(tensors.map((t) => bitsOf(t)));
}

/** Runs `call`; a non-Lockstep error fails the property, a Lockstep one is returned. */
function attempt<T>(call: () => T): { value?: T; error?: L.LockstepError } {
  try {
    return { value: call() };
  } catch (error) {
    if (!(error instanceof L.LockstepError)) throw new Error(`expected a LockstepError, got ${String((error as Error)?.stack ?? error)}`);
    return { error };
  }
}

/** A number argument: mostly sensible, sometimes anything at all. */
const sizeArg = fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 0, max: 6 }) }, { weight: 2, arbitrary: anyValueArb });

describe("layer constructors", () => {
  const builders: [string, (a: unknown, b: unknown, c: unknown) => nn.Module, (a: unknown, b: unknown, c: unknown) => Record<string, number[]>][] = [
    ["Linear(in, out)", (a, b) => new nn.Linear(a as number, b as number), (a, b) => ({ weight: [b as number, a as number], bias: [b as number] })],
    ["Conv2d(in, out, k)", (a, b, c) => new nn.Conv2d(a as number, b as number, c as number), (a, b, c) => ({ weight: [b as number, a as number, ...(Array.isArray(c) ? c : [c as number, c as number])], bias: [b as number] })],
    ["Conv1d(in, out, k, groups)", (a, b, c) => new nn.Conv1d(a as number, b as number, 3, { groups: c as number }), (a, b, c) => ({ weight: [b as number, (a as number) / ((c ?? 1) as number), 3], bias: [b as number] })],
    ["BatchNorm2d(n, momentum)", (a, b) => new nn.BatchNorm2d(a as number, { momentum: b as number }), (a) => ({ weight: [a as number], bias: [a as number], running_mean: [a as number], running_var: [a as number], num_batches_tracked: [] })],
    ["Embedding(n, d)", (a, b) => new nn.Embedding(a as number, b as number), (a, b) => ({ weight: [a as number, b as number] })],
    ["LSTM(in, hidden)", (a, b) => new nn.LSTM(a as number, b as number), (a, b) => ({ weight_ih_l0: [4 * (b as number), a as number], weight_hh_l0: [4 * (b as number), b as number], bias_ih_l0: [4 * (b as number)], bias_hh_l0: [4 * (b as number)] })],
    ["MultiheadAttention(e, heads)", (a, b) => new nn.MultiheadAttention(a as number, b as number), (a) => ({ in_proj_weight: [3 * (a as number), a as number], in_proj_bias: [3 * (a as number)], "out_proj.weight": [a as number, a as number], "out_proj.bias": [a as number] })],
  ];

  it.each(builders)("%s: builds PyTorch's parameter shapes, or refuses without drawing", (_, build, shapes) => {
    fc.assert(
      fc.property(sizeArg, sizeArg, sizeArg, (a, b, c) => {
        const before = rngState();
        const { value, error } = attempt(() => build(a, b, c));
        if (error !== undefined) {
          expect(rngState(), error.message).toBe(before);
          return;
        }
        const state = value!.stateDict();
        // -0 as a size is size 0.
        const want = Object.fromEntries(Object.entries(shapes(a, b, c)).map(([k, s]) => [k, s.map((n) => n + 0)]));
        expect(Object.fromEntries(Object.entries(state).map(([k, t]) => [k, [...t.shape]]))).toEqual(want);
      }),
      { numRuns: runsOn("cpu", 60) },
    );
  });
});

describe("loadStateDict", () => {
  const build = () => new nn.Sequential(new nn.Linear(3, 4), new nn.BatchNorm1d(4), new nn.ReLU(), new nn.Linear(4, 2));
  const mutation = fc.record({
    key: fc.constantFrom("0.weight", "0.bias", "1.running_mean", "1.num_batches_tracked", "3.weight", "extra", "__proto__", "constructor"),
    kind: fc.constantFrom("drop", "shape", "dtype", "value", "disposed", "keep", "add"),
    value: anyValueArb,
    strict: fc.boolean(),
  });

  it("loads every tensor, or refuses and leaves every parameter and buffer as it was", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { maxLength: 3 }), async (mutations) => {
        L.manualSeed(1);
        const model = build();
        const source = build();
        const dict: Record<string, unknown> = { ...source.stateDict() };
        for (const m of mutations) {
          const t = dict[m.key] as Tensor | undefined;
          if (m.kind === "drop") delete dict[m.key];
          else if (m.kind === "add") Object.defineProperty(dict, m.key, { value: L.zeros([2]), enumerable: true, configurable: true, writable: true });
          else if (m.kind === "shape" && t instanceof L.Tensor) dict[m.key] = L.zeros([t.numel() + 1]);
          else if (m.kind === "dtype" && t instanceof L.Tensor) dict[m.key] = L.zeros([...t.shape], { dtype: t.dtype === "int32" ? "float32" : "int32" });
          else if (m.kind === "value") Object.defineProperty(dict, m.key, { value: m.value, enumerable: true, configurable: true, writable: true });
          else if (m.kind === "disposed" && t instanceof L.Tensor && !t.isDisposed) {
            const copy = t.clone();
            copy.dispose();
            dict[m.key] = copy;
          }
        }
        const tensors = [...model.parameters(), ...model.buffers()];
        const before = await bitsOfAll(tensors);
        const strict = mutations[0]?.strict ?? true;
        const { error } = attempt(() => model.loadStateDict(dict as nn.StateDict, { strict }));
        if (error !== undefined) {
          expect(await bitsOfAll(tensors), error.message).toEqual(before);
          return;
        }
        // Loaded: every key the model has and the dict gives now holds the dict's values.
        for (const [name, own] of Object.entries(model.stateDict())) {
          const given = Object.hasOwn(dict, name) ? dict[name] : undefined;
          if (given instanceof L.Tensor) expect(await own.toArray(), name).toEqual(await given.toArray());
        }
      }),
      { numRuns: runsOn("cpu", 60) },
    );
  });
});

describe("safetensors bytes", () => {
  it("a damaged file loads as some tensors or is refused with a SafetensorsError, never another error", async () => {
    L.manualSeed(2);
    const dict: Record<string, Tensor> = { a: L.randn([3, 2]), b: L.zeros([4], { dtype: "int32" }) };
    Object.defineProperty(dict, "__proto__", { value: L.ones([1]), enumerable: true, configurable: true, writable: true });
    const good = await L.saveSafetensors(dict);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(good.length + 8), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        fc.integer({ min: -16, max: 16 }),
        async (edits, resize) => {
          const size = Math.max(0, good.length + resize);
          const bytes = new Uint8Array(size);
          bytes.set(good.subarray(0, Math.min(size, good.length)));
          for (const [at, value] of edits) if (at < size) bytes[at] = value;
          try {
            const dict = await L.loadSafetensors(bytes);
            for (const t of Object.values(dict)) expect(t).toBeInstanceOf(L.Tensor);
          } catch (error) {
            expect(error, String((error as Error)?.stack ?? error)).toBeInstanceOf(L.SafetensorsError);
          }
        },
      ),
      { numRuns: runsOn("cpu", 100) },
    );
    const intact = await L.loadSafetensors(good);
    expect(Object.keys(intact).sort()).toEqual(["__proto__", "a", "b"]);
  });
});

describe("optimizers and schedulers", () => {
  const optimizers: [string, (params: Tensor[], value: unknown) => optim.Optimizer<{ lr: number }>][] = [
    ["SGD momentum", (p, v) => new optim.SGD(p, { lr: 0.1, momentum: v as number })],
    ["Adam betas", (p, v) => new optim.Adam(p, { lr: 0.01, betas: v as [number, number] })],
    ["AdamW weightDecay", (p, v) => new optim.AdamW(p, { lr: 0.01, weightDecay: v as number })],
    ["RMSprop alpha", (p, v) => new optim.RMSprop(p, { lr: 0.01, alpha: v as number })],
    ["Adagrad lr", (p, v) => new optim.Adagrad(p, { lr: v as number })],
  ];
  const gradArb = fc.constantFrom("right", "shape", "dtype", "none", "nonTensor");
  const optionArb = fc.oneof(anyValueArb, fc.constantFrom(0.5, [0.9, 0.999], [0.9], [1.5, 0.9]));

  it.each(optimizers)("%s: a step updates every parameter, or is refused with parameters and state unchanged", async (_, make) => {
    await fc.assert(
      fc.asyncProperty(optionArb, gradArb, gradArb, async (option, gradA, gradB) => {
        const a = L.ones([2, 3]).requiresGrad_(true);
        const b = L.ones([3]).requiresGrad_(true);
        const built = attempt(() => make([a, b], option));
        if (built.error !== undefined) return;
        const opt = built.value!;
        const setGrad = (p: Tensor, kind: string) => {
          const g = p as unknown as { grad: unknown };
          if (kind === "right") g.grad = L.fullLike(p, 0.5);
          else if (kind === "shape") g.grad = L.ones([p.numel() + 1]);
          else if (kind === "dtype") g.grad = L.ones([...p.shape], { dtype: "int32" });
          else if (kind === "nonTensor") g.grad = [0.5];
          else g.grad = undefined;
        };
        // Two steps: the second runs with optimizer state present.
        for (let round = 0; round < 2; round++) {
          setGrad(a, round === 0 ? "right" : gradA);
          setGrad(b, round === 0 ? "right" : gradB);
          const before = await bitsOfAll([a, b]);
          const stateBefore = JSON.stringify(opt.stateDict().paramGroups);
          const { error } = attempt(() => opt.step());
          if (error !== undefined) {
            expect(await bitsOfAll([a, b]), error.message).toEqual(before);
            expect(JSON.stringify(opt.stateDict().paramGroups)).toBe(stateBefore);
            return;
          }
        }
      }),
      { numRuns: runsOn("cpu", 40) },
    );
  });

  it("schedulers with options of any kind: built, or refused with the learning rate unchanged", () => {
    const schedulers: ((o: optim.SGD, v: unknown) => unknown)[] = [
      (o, v) => new optim.StepLR(o, { stepSize: v as number }),
      (o, v) => new optim.StepLR(o, { stepSize: 2, gamma: v as number }),
      (o, v) => new optim.ExponentialLR(o, { gamma: v as number }),
      (o, v) => new optim.CosineAnnealingLR(o, { tMax: v as number }),
      (o, v) => new optim.LinearLR(o, { startFactor: v as number }),
    ];
    fc.assert(
      fc.property(fc.nat(schedulers.length - 1), anyValueArb, (which, value) => {
        const opt = new optim.SGD([L.ones([2]).requiresGrad_(true)], { lr: 0.1 });
        const { error } = attempt(() => schedulers[which]!(opt, value));
        if (error !== undefined) expect(opt.paramGroups[0]!.lr, error.message).toBe(0.1);
        else expect(Number.isFinite(opt.paramGroups[0]!.lr)).toBe(true);
      }),
      { numRuns: runsOn("cpu", 100) },
    );
  });
});

describe("random ops", () => {
  const ops: [string, (a: unknown, b: unknown) => Tensor, (a: unknown, b: unknown) => number[]][] = [
    ["rand([a, b])", (a, b) => L.rand([a as number, b as number]), (a, b) => [a as number, b as number]],
    ["randn([a], { dtype })", (a, b) => L.randn([a as number], { dtype: b as L.DType }), (a) => [a as number]],
    ["randint(0, a, [b])", (a, b) => L.randint(0, a as number, [b as number]), (_, b) => [b as number]],
    ["randperm(a)", (a) => L.randperm(a as number), (a) => [a as number]],
    ["rand([2], { device: a })", (a) => L.rand([2], { device: a as string }), () => [2]],
  ];
  const arg = fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 0, max: 5 }) }, { weight: 1, arbitrary: fc.constantFrom("float64", "int32", "cpu", "tpu") }, { weight: 2, arbitrary: anyValueArb });

  it.each(ops)("%s: the asked-for shape, or refused without drawing", (_, call, shape) => {
    fc.assert(
      fc.property(arg, arg, (a, b) => {
        const before = rngState();
        const { value, error } = attempt(() => call(a, b));
        if (error !== undefined) expect(rngState(), error.message).toBe(before);
        else expect([...value!.shape]).toEqual(shape(a, b));
      }),
      { numRuns: runsOn("cpu", 60) },
    );
  });
});

describe("nn.functional with arguments of any kind", () => {
  const F = nn.functional;
  interface Inputs { x4: Tensor; w: Tensor; q: Tensor }
  const calls: [string, (a: unknown, b: unknown, t: Inputs) => unknown][] = [
    ["conv2d(x, a, undefined, { stride: b })", (a, b, t) => F.conv2d(t.x4, a as Tensor, undefined, { stride: b as number })],
    ["conv1d(a, w, undefined, { padding: b })", (a, b, t) => F.conv1d(a as Tensor, t.w, undefined, { padding: b as number })],
    ["maxPool2d(x, a, { padding: b })", (a, b, t) => F.maxPool2d(t.x4, a as number, { padding: b as number })],
    ["avgPool2d(x, 2, { divisorOverride: a, ceilMode: b })", (a, b, t) => F.avgPool2d(t.x4, 2, { divisorOverride: a as number, ceilMode: b as boolean })],
    ["adaptiveAvgPool2d(x, [a, b])", (a, b, t) => F.adaptiveAvgPool2d(t.x4, [a as number, b as number])],
    ["batchNorm(x, a, b)", (a, b, t) => F.batchNorm(t.x4, a as Tensor, b as Tensor)],
    ["groupNorm(x, a, { eps: b })", (a, b, t) => F.groupNorm(t.x4, a as number, { eps: b as number })],
    ["dropout(x, a, b)", (a, b, t) => F.dropout(t.x4, a as number, b as boolean)],
    ["layerNorm(x, [a], b)", (a, b, t) => F.layerNorm(t.x4, [a as number], b as Tensor)],
    ["crossEntropy(a, b)", (a, b, t) => F.crossEntropy(a as Tensor, b as Tensor)],
    ["pad(x, [a, b])", (a, b, t) => F.pad(t.x4, [a as number, b as number])],
    ["softplus(x, { beta: a, threshold: b })", (a, b, t) => F.softplus(t.x4, { beta: a as number, threshold: b as number })],
    ["scaledDotProductAttention(q, k, v, { scale: a, isCausal: b })", (a, b, t) => F.scaledDotProductAttention(t.q, t.q, t.q, { scale: a as number, isCausal: b as boolean })],
  ];
  const arg = fc.oneof({ weight: 2, arbitrary: fc.integer({ min: -1, max: 4 }) }, { weight: 2, arbitrary: anyValueArb }, { weight: 1, arbitrary: fc.constant("tensor") });

  it.each(calls)("%s: a tensor result, or a LockstepError without drawing", (_, call) => {
    fc.assert(
      fc.property(arg, arg, (a, b, t) => {
        const asArg = (v: unknown) => (v === "tensor" ? L.randn([4]) : v);
        const [first, second] = [asArg(a), asArg(b)];
        const inputs = { x4: L.randn([2, 4, 6, 6]), w: L.randn([3, 4, 3]), q: L.randn([2, 3, 4]) };
        const before = rngState();
        const { value, error } = attempt(() => call(first, second, inputs));
        if (error !== undefined) expect(rngState(), error.message).toBe(before);
        else expect(value instanceof L.Tensor || Array.isArray(value)).toBe(true);
      }),
      { numRuns: runsOn("cpu", 60) },
    );
  });
});

describe("module forwards with inputs of any kind", () => {
  const modules: [string, () => nn.Module][] = [
    ["Linear", () => new nn.Linear(2, 3)],
    ["Conv2d", () => new nn.Conv2d(2, 2, 3)],
    ["BatchNorm2d", () => new nn.BatchNorm2d(2)],
    ["MaxPool2d", () => new nn.MaxPool2d(2)],
    ["ReLU", () => new nn.ReLU()],
    ["Softmax", () => new nn.Softmax(1)],
    ["Flatten", () => new nn.Flatten()],
    ["LSTM", () => new nn.LSTM(2, 2)],
    ["TransformerEncoderLayer", () => new nn.TransformerEncoderLayer(4, 2, { dimFeedforward: 8 })],
    ["Embedding", () => new nn.Embedding(3, 2)],
  ];
  const input = fc.oneof(anyValueArb, fc.constantFrom("tensor2", "tensor4"));

  it.each(modules)("%s: an output, or a LockstepError with parameters and buffers unchanged", async (_, make) => {
    await fc.assert(
      fc.asyncProperty(input, input, async (a, b) => {
        const asArg = (v: unknown) => (v === "tensor2" ? L.randn([3, 2]) : v === "tensor4" ? L.randn([1, 2, 4, 4]) : v);
        const module = make();
        const tensors = [...module.parameters(), ...module.buffers()];
        const before = await bitsOfAll(tensors);
        const { error } = attempt(() => (module.forward as (...args: unknown[]) => unknown)(asArg(a), asArg(b)));
        if (error !== undefined) expect(await bitsOfAll(tensors), error.message).toEqual(before);
      }),
      { numRuns: runsOn("cpu", 30) },
    );
  });
});

describe("nn.init with arguments of any kind", () => {
  const inits: [string, (t: unknown, v: unknown) => unknown][] = [
    ["kaimingUniform_(t, { a })", (t, v) => nn.init.kaimingUniform_(t as Tensor, { a: v as number })],
    ["xavierNormal_(t, { gain })", (t, v) => nn.init.xavierNormal_(t as Tensor, { gain: v as number })],
    ["uniform_(t, v, 1)", (t, v) => nn.init.uniform_(t as Tensor, v as number, 1)],
    ["normal_(t, 0, v)", (t, v) => nn.init.normal_(t as Tensor, 0, v as number)],
    ["constant_(t, v)", (t, v) => nn.init.constant_(t as Tensor, v as number)],
  ];
  it.each(inits)("%s: fills the tensor, or refuses without drawing or writing", async (_, call) => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(anyValueArb, fc.constant("tensor")), fc.oneof(anyValueArb, fc.double({ min: -3, max: 3, noNaN: true })), async (t, v) => {
        const target = t === "tensor" ? L.zeros([3, 4]) : t;
        const before = rngState();
        const bits = target instanceof L.Tensor ? await bitsOf(target) : "";
        const { error } = attempt(() => call(target, v));
        if (error === undefined) return;
        expect(rngState(), error.message).toBe(before);
        if (target instanceof L.Tensor) expect(await bitsOf(target), error.message).toBe(bits);
      }),
      { numRuns: runsOn("cpu", 40) },
    );
  });
});
