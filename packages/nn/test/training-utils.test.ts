// Training utilities against PyTorch 1.13 (fixtures/nn/training_utils.py): clipGradNorm_ /
// clipGradValue_, RMSprop, Adagrad and SGD/Adam options, the new lr schedulers (bit for bit: lrs are
// doubles computed in PyTorch's order), the new losses, and the DataLoader's shuffled order after
// manualSeed, with and without a generator (plus the draws it consumed: the next rand(4)).
import "@lockstep/backend-cpu";
import { tensor, zerosLike, type Tensor } from "@lockstep/core";
import { Generator, manualSeed, rand, randint, randn } from "@lockstep/random";
import { describe, expect, it } from "vitest";
import { CheckpointError, Dropout, Linear, ReLU, Sequential, data, functional as F, loadBytes, loadSafetensors, optim, saveBytes, saveSafetensors, utils, Parameter } from "../src/index.js";
import { expectBits, expectClose, encodedValues, float32OfHex, float64OfHex, readFixture, toTensor, type Encoded } from "./support/fixtures.js";

interface ClipCase { kind: "norm" | "value"; normType?: number | "inf"; maxNorm?: number; clipValue?: number; grads: Encoded[]; total?: Encoded; after: Encoded[] }
interface OptimizerCase { kind: string; options: Record<string, unknown>; start: Encoded; grads: Encoded[]; steps: Encoded[]; state: Record<string, Encoded | number> }
interface ScheduleCase { name: string; lrs: string[][]; extra: string[][] }
interface LossCase { name: string; options: Record<string, unknown>; reduction: string; input: Encoded; target: Encoded; value: Encoded; grad: Encoded }
interface SafetensorsCases { load: { bytes: string; values: Record<string, Encoded> }; save: { tensors: Record<string, Encoded>; bytes: string } }
interface LoaderCase { seed: number; n: number; batchSize: number; dropLast: boolean; generator: string | null; shuffle?: boolean; epochs: number[][][]; tail: Encoded; generatorTail?: Encoded }

const fx = readFixture<{ clip: ClipCase[]; optimizers: OptimizerCase[]; schedulers: ScheduleCase[]; losses: LossCase[]; loaders: LoaderCase[]; safetensors: SafetensorsCases; loaderTraining: { losses: string[]; tail: Encoded } }>(
  "training-utils.json",
);

const values = (t: Tensor) => Array.from(t.contiguous().dataSync() as Float32Array);

describe("clipGradNorm_ / clipGradValue_", () => {
  for (const c of fx.clip) {
    it(`${c.kind} ${c.kind === "norm" ? `normType ${c.normType} maxNorm ${c.maxNorm}` : `clip ${c.clipValue}`}`, () => {
      const params = c.grads.map((g) => {
        const p = new Parameter(zerosLike(toTensor(g)));
        p.grad = toTensor(g);
        return p;
      });
      if (c.kind === "norm") {
        const total = utils.clipGradNorm_(params, c.maxNorm!, { normType: c.normType === "inf" ? Infinity : c.normType });
        // The norm sums in another order than PyTorch's reduction: close, not bitwise.
        expectClose(values(total), encodedValues(c.total!) as Float32Array, 1e-6, 0, "total norm");
      } else {
        utils.clipGradValue_(params, c.clipValue!);
      }
      params.forEach((p, i) => {
        if (c.kind === "value" || c.normType === "inf") expectBits(p.grad, c.after[i]!, `grad ${i}`);
        else expectClose(values(p.grad!), encodedValues(c.after[i]!) as Float32Array, 2e-6, 0, `grad ${i}`);
      });
    });
  }

  it("errorIfNonfinite throws before touching a gradient; no gradients gives 0", () => {
    const p = new Parameter(tensor([1, 2]));
    p.grad = tensor([Infinity, 1]);
    expect(() => utils.clipGradNorm_([p], 1, { errorIfNonfinite: true })).toThrow(/non-finite/);
    expect(Array.from(p.grad.dataSync())).toEqual([Infinity, 1]);
    expect(utils.clipGradNorm_([new Parameter(tensor([1]))], 1).itemSync()).toBe(0);
    expect(() => utils.clipGradNorm_([p], 1, { normType: -1 })).toThrow(/normType must be a positive number .* got -1/);
  });
});

function makeOptimizer(kind: string, params: Tensor[], options: Record<string, unknown>): optim.Optimizer<{ lr: number }> {
  const ctor = (optim as unknown as Record<string, new (p: Tensor[], o: unknown) => optim.Optimizer<{ lr: number }>>)[kind]!;
  return new ctor(params, options);
}

// PyTorch's CPU `add(x, alpha)` and addcmul/addcdiv kernels fuse a multiply-add (AVX2 fmadd);
// composed ops round twice, so parameters agree to a few ulps, not bit for bit.
describe("optimizers step like PyTorch's single-tensor updates", () => {
  for (const c of fx.optimizers) {
    it(`${c.kind} ${JSON.stringify(c.options)}`, () => {
      const p = new Parameter(toTensor(c.start));
      const opt = makeOptimizer(c.kind, [p], c.options);
      c.grads.forEach((g, k) => {
        p.grad = toTensor(g);
        opt.step();
        expectClose(values(p), encodedValues(c.steps[k]!) as Float32Array, 1e-5, 1e-7, `param after step ${k + 1}`);
      });
      const state = opt.state.get(p)!;
      const camel = (k: string) => k.replace(/_([a-z])/g, (_, ch: string) => ch.toUpperCase());
      for (const [key, want] of Object.entries(c.state)) {
        const got = state[camel(key)];
        if (typeof want === "number") expect(Number(got instanceof Object ? (got as Tensor).itemSync() : got), key).toBe(want);
        else expectClose(values(got as Tensor), encodedValues(want) as Float32Array, 1e-5, 1e-7, `state ${key}`);
      }
      const restored = makeOptimizer(c.kind, [new Parameter(toTensor(c.start))], c.options);
      restored.loadStateDict(opt.stateDict());
      expect(Object.keys(restored.stateDict().state[0]!).sort()).toEqual(Object.keys(state).sort());
    });
  }

  it("bad options throw PyTorch's messages and build nothing", () => {
    const p = new Parameter(tensor([1]));
    expect(() => new optim.RMSprop([p], { alpha: -1 })).toThrow("Invalid alpha value: -1");
    expect(() => new optim.RMSprop([p], { lr: -0.1 })).toThrow("Invalid learning rate: -0.1");
    expect(() => new optim.Adagrad([p], { lrDecay: -1 })).toThrow("Invalid lr_decay value: -1");
    expect(() => new optim.Adagrad([p], { initialAccumulatorValue: -1 })).toThrow("Invalid initial_accumulator_value value: -1");
    expect(() => new optim.Adagrad([p], { momentum: 0.9 } as never)).toThrow(/unexpected option 'momentum'/);
  });
});

function sgd(momentum = 0): optim.SGD {
  const p = new Parameter(tensor([0, 0]));
  const q = new Parameter(tensor([0, 0]));
  return new optim.SGD([{ params: [p] }, { params: [q], lr: 0.1 * 3 }], { lr: 0.1, momentum });
}

interface Scheduled {
  opt: optim.Optimizer<{ lr: number }>;
  step: (epoch: number) => void;
  extra?: (opt: optim.Optimizer<{ lr: number }>) => number[];
}

const METRICS = [1.0, 0.9, 0.95, 0.95, 0.95, 0.94, 0.96, 0.97, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5];

const SCHEDULES: Record<string, () => Scheduled> = {
  "LambdaLR 1/(e+1)": () => {
    const opt = sgd();
    const s = new optim.LambdaLR(opt, (e) => 1 / (e + 1));
    return { opt, step: () => s.step() };
  },
  "LinearLR default": () => {
    const opt = sgd();
    const s = new optim.LinearLR(opt);
    return { opt, step: () => s.step() };
  },
  "LinearLR 0.1->0.7 over 6": () => {
    const opt = sgd();
    const s = new optim.LinearLR(opt, { startFactor: 0.1, endFactor: 0.7, totalIters: 6 });
    return { opt, step: () => s.step() };
  },
  "ExponentialLR 0.9": () => {
    const opt = sgd();
    const s = new optim.ExponentialLR(opt, { gamma: 0.9 });
    return { opt, step: () => s.step() };
  },
  "OneCycleLR cos": () => {
    const opt = sgd(0.9);
    const s = new optim.OneCycleLR(opt, { maxLr: [1.0, 2.0], totalSteps: 20 });
    return { opt, step: () => s.step(), extra: (o) => o.paramGroups.map((g) => (g as unknown as { momentum: number }).momentum) };
  },
  "OneCycleLR linear three-phase": () => {
    const opt = sgd(0.9);
    const s = new optim.OneCycleLR(opt, {
      maxLr: 0.5, epochs: 3, stepsPerEpoch: 5, pctStart: 0.25, annealStrategy: "linear", threePhase: true, divFactor: 10, finalDivFactor: 100,
    });
    return { opt, step: () => s.step(), extra: (o) => o.paramGroups.map((g) => (g as unknown as { momentum: number }).momentum) };
  },
  "OneCycleLR Adam betas, no momentum cycle end": () => {
    const opt = new optim.Adam([new Parameter(tensor([0, 0]))], { lr: 0.1 });
    const s = new optim.OneCycleLR(opt, { maxLr: 0.3, totalSteps: 10, baseMomentum: 0.8, maxMomentum: 0.9 });
    return { opt, step: () => s.step(), extra: (o) => o.paramGroups.map((g) => (g as unknown as { betas: number[] }).betas[0]!) };
  },
  "ReduceLROnPlateau patience 2": () => {
    const opt = sgd();
    const s = new optim.ReduceLROnPlateau(opt, { patience: 2, factor: 0.5 });
    return { opt, step: (e) => s.step(METRICS[e]!) };
  },
  "ReduceLROnPlateau max abs cooldown min_lr": () => {
    const opt = sgd();
    const s = new optim.ReduceLROnPlateau(opt, { mode: "max", patience: 1, threshold: 0.01, thresholdMode: "abs", cooldown: 2, minLr: [0.02, 0.1], factor: 0.3 });
    return { opt, step: (e) => s.step(-METRICS[e]!) };
  },
  "SequentialLR LinearLR then ExponentialLR at 4": () => {
    const opt = sgd();
    const a = new optim.LinearLR(opt, { startFactor: 0.25, totalIters: 4 });
    const b = new optim.ExponentialLR(opt, { gamma: 0.8 });
    const s = new optim.SequentialLR(opt, { schedulers: [a, b], milestones: [4] });
    return { opt, step: () => s.step() };
  },
  "SequentialLR LinearLR, CosineAnnealingLR, ExponentialLR at 3, 8": () => {
    const opt = sgd();
    const a = new optim.LinearLR(opt, { startFactor: 0.5, totalIters: 3 });
    const b = new optim.CosineAnnealingLR(opt, { tMax: 5, etaMin: 0.01 });
    const c = new optim.ExponentialLR(opt, { gamma: 0.5 });
    const s = new optim.SequentialLR(opt, { schedulers: [a, b, c], milestones: [3, 8] });
    return { opt, step: () => s.step() };
  },
};

describe("lr schedulers equal PyTorch's lr sequences bit for bit", () => {
  for (const c of fx.schedulers) {
    it(c.name, () => {
      const make = SCHEDULES[c.name];
      expect(make, "a Lockstep setup for this case").toBeDefined();
      const { opt, step, extra } = make!();
      const lrs = [opt.paramGroups.map((g) => g.lr)];
      const extras: number[][] = [];
      for (let e = 0; e < c.lrs.length - 1; e++) {
        step(e);
        lrs.push(opt.paramGroups.map((g) => g.lr));
        if (extra) extras.push(extra(opt));
      }
      expect(lrs).toEqual(c.lrs.map((row) => row.map(float64OfHex)));
      expect(extras).toEqual(c.extra.map((row) => row.map(float64OfHex)));
    });
  }

  it("state dicts restore a scheduler mid-way", () => {
    const opt = sgd(0.9);
    const s = new optim.OneCycleLR(opt, { maxLr: 1, totalSteps: 10 });
    for (let i = 0; i < 4; i++) s.step();
    const saved = structuredClone(s.stateDict());
    const opt2 = sgd(0.9);
    const s2 = new optim.OneCycleLR(opt2, { maxLr: 1, totalSteps: 10 });
    s2.loadStateDict(saved);
    opt2.loadStateDict(opt.stateDict());
    s.step();
    s2.step();
    expect(opt2.paramGroups.map((g) => g.lr)).toEqual(opt.paramGroups.map((g) => g.lr));
    expect(() => s2.loadStateDict({ nope: 1 })).toThrow(/unexpected key 'nope'/);
    for (let i = 0; i < 5; i++) s.step();
    expect(() => s.step()).toThrow("Tried to step 11 times. The specified number of total steps is 10");
    expect(s.lastEpoch).toBe(10);
  });

  it("SequentialLR state dicts hold the children; a rejected one changes nothing", () => {
    const make = () => {
      const opt = sgd();
      const a = new optim.LinearLR(opt, { startFactor: 0.25, totalIters: 4 });
      const b = new optim.StepLR(opt, { stepSize: 2, gamma: 0.5 });
      return { opt, s: new optim.SequentialLR(opt, { schedulers: [a, b], milestones: [3] }) };
    };
    const one = make();
    for (let i = 0; i < 5; i++) one.s.step();
    const saved = structuredClone(one.s.stateDict());
    const two = make();
    two.opt.loadStateDict(one.opt.stateDict());
    two.s.loadStateDict(saved);
    for (let i = 0; i < 3; i++) {
      one.s.step();
      two.s.step();
    }
    expect(two.opt.paramGroups.map((g) => g.lr)).toEqual(one.opt.paramGroups.map((g) => g.lr));
    const before = JSON.stringify(two.s.stateDict());
    const bad = { ...saved, lastEpoch: 0, schedulers: [(saved.schedulers as object[])[0], { bogus: 1 }] };
    expect(() => two.s.loadStateDict(bad)).toThrow(/unexpected key 'bogus'/);
    expect(JSON.stringify(two.s.stateDict())).toBe(before);
  });
});

describe("losses match PyTorch", () => {
  const fns: Record<string, (x: Tensor, t: Tensor, o: Record<string, unknown>) => Tensor> = {
    l1: (x, t, o) => F.l1Loss(x, t, o),
    smoothL1: (x, t, o) => F.smoothL1Loss(x, t, o),
    huber: (x, t, o) => F.huberLoss(x, t, o),
    bce: (x, t, o) => F.binaryCrossEntropy(x, t, o),
    klDiv: (x, t, o) => F.klDiv(x, t, o),
    crossEntropyProbs: (x, t, o) => F.crossEntropy(x, t, o),
    crossEntropyIndices: (x, t, o) => F.crossEntropy(x, t, o),
  };
  for (const c of fx.losses) {
    it(`${c.name} ${JSON.stringify(c.options)} reduction ${c.reduction}`, () => {
      const x = new Parameter(toTensor(c.input));
      const out = fns[c.name]!(x, toTensor(c.target), { ...c.options, reduction: c.reduction });
      if (c.reduction === "none" && c.name !== "crossEntropyIndices" && c.name !== "crossEntropyProbs") expectBits(out, c.value, "value");
      else expectClose(values(out), encodedValues(c.value) as Float32Array, 2e-6, 1e-7, "value");
      out.sum().backward();
      expectClose(values(x.grad!), encodedValues(c.grad) as Float32Array, 1e-5, 1e-7, "gradient");
    });
  }

  it("bad arguments throw PyTorch's messages", () => {
    const x = tensor([0.5, 1.5]);
    expect(() => F.binaryCrossEntropy(x, tensor([0, 1]))).toThrow("all elements of input should be between 0 and 1, got 1.5");
    expect(() => F.smoothL1Loss(x, x, { beta: -1 })).toThrow(/does not support negative values for beta/);
    expect(() => F.huberLoss(x, x, { delta: 0 })).toThrow(/does not support non-positive values for delta/);
    expect(() => F.klDiv(x, x, { reduction: "avg" as never })).toThrow("avg is not a valid value for reduction");
    expect(() => F.crossEntropy(tensor([[1, 2]]), tensor([[0.5, 0.5]]), { labelSmoothing: 2 })).toThrow(/label_smoothing must be between 0.0 and 1.0/);
  });
});

describe("DataLoader order equals PyTorch's DataLoader after the same seed", () => {
  for (const c of fx.loaders) {
    it(`seed ${c.seed} n ${c.n} batch ${c.batchSize}${c.dropLast ? " dropLast" : ""}${c.generator ? ` generator ${c.generator}` : ""}${c.shuffle === false ? " unshuffled" : ""}`, () => {
      manualSeed(c.seed);
      const generator = c.generator === null ? undefined : new Generator().manualSeed(BigInt(c.generator));
      const loader = new data.DataLoader(new data.TensorDataset(tensor(Int32Array.from({ length: c.n }, (_, i) => i))), {
        batchSize: c.batchSize, shuffle: c.shuffle ?? true, dropLast: c.dropLast, generator,
      });
      expect(loader.length).toBe(c.epochs[0]!.length);
      const epochs = c.epochs.map(() => [...loader].map(([b]) => Array.from(b!.dataSync() as Int32Array)));
      expect(epochs).toEqual(c.epochs);
      expect(loader.epoch).toBe(c.epochs.length);
      expectBits(rand([4]), c.tail, "default generator afterwards");
      if (c.generatorTail) expectBits(rand([4], { generator }), c.generatorTail, "generator afterwards");
    });
  }

  it("training over a shuffled loader with dropout sees PyTorch's batches and masks (losses within 1e-5, draws equal)", () => {
    manualSeed(0);
    const x = randn([20, 4]);
    const y = randint(0, 3, [20], { dtype: "int32" });
    manualSeed(5);
    const model = new Sequential(new Linear(4, 16), new ReLU(), new Dropout(0.3), new Linear(16, 3));
    const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
    const loader = new data.DataLoader(new data.TensorDataset(x, y), { batchSize: 6, shuffle: true });
    const losses: number[] = [];
    while (losses.length < 10) {
      for (const [xb, yb] of loader) {
        opt.zeroGrad();
        const loss = F.crossEntropy(model.forward(xb!), yb!);
        loss.backward();
        opt.step();
        losses.push(Number(loss.itemSync()));
        if (losses.length === 10) break;
      }
    }
    expectClose(losses, fx.loaderTraining.losses.map(float32OfHex), 1e-5, 0, "losses");
    expectBits(rand([4]), fx.loaderTraining.tail, "the next rand(4)");
  });

  it("for await gives the same batches; state dicts resume mid-epoch", async () => {
    const ds = new data.TensorDataset(tensor(Int32Array.from({ length: 10 }, (_, i) => i)));
    manualSeed(5);
    const sync = [...new data.DataLoader(ds, { batchSize: 3, shuffle: true })].map(([b]) => Array.from(b!.dataSync()));
    manualSeed(5);
    const loader = new data.DataLoader(ds, { batchSize: 3, shuffle: true });
    const asyncBatches: number[][] = [];
    for await (const [b] of loader) asyncBatches.push(Array.from(b!.dataSync()));
    expect(asyncBatches).toEqual(sync);

    manualSeed(5);
    const first = new data.DataLoader(ds, { batchSize: 3, shuffle: true });
    const it1 = first[Symbol.iterator]();
    const head = [it1.next().value, it1.next().value].map(([b]) => Array.from(b!.dataSync()));
    const saved = structuredClone(first.stateDict());
    const resumed = new data.DataLoader(ds, { batchSize: 3, shuffle: true });
    manualSeed(123); // the default generator plays no part in resuming the epoch
    resumed.loadStateDict(saved);
    const rest = [...resumed].map(([b]) => Array.from(b!.dataSync()));
    expect([...head, ...rest]).toEqual(sync);
    expect(resumed.epoch).toBe(1);
  });

  it("loadStateDict refuses a position that does not fit, changing nothing", () => {
    const ds = new data.TensorDataset(tensor(Int32Array.from({ length: 4 }, (_, i) => i)));
    const loader = new data.DataLoader(ds, { batchSize: 2, shuffle: true });
    const state = loader.stateDict();
    expect(() => loader.loadStateDict({ ...state, inProgress: true, position: 9 })).toThrow("position 9 does not fit a dataset of length 4");
    expect(() => loader.loadStateDict({ ...state, inProgress: true, position: 2, batchIndex: 1 })).toThrow(/needs samplerSeed or order/);
    expect(() => loader.loadStateDict({ ...state, generatorState: new Uint8Array(5056) })).toThrow(/differ in having a generator/);
    expect(loader.stateDict()).toEqual(state);
  });

  it("plain arrays, custom collate and the default collate of objects", () => {
    const loader = new data.DataLoader([{ x: 1, y: "a" }, { x: 2.5, y: "b" }, { x: 3, y: "c" }], { batchSize: 2 });
    const [b0, b1] = [...loader];
    expect(b0!.x.dtype).toBe("float64");
    expect(Array.from(b0!.x.dataSync())).toEqual([1, 2.5]);
    expect(b0!.y).toEqual(["a", "b"]);
    expect(b1!.x.dtype).toBe("int32");
    const sums = [...new data.DataLoader([1, 2, 3, 4], { batchSize: 3, collate: (xs: number[]) => xs.reduce((a, b) => a + b, 0) })];
    expect(sums).toEqual([6, 4]);
    expect(() => new data.DataLoader([1], { batchSize: 0 })).toThrow("batch_size should be a positive integer value, but got batch_size=0");
    expect(() => new data.DataLoader([], { shuffle: true })).toThrow(/num_samples should be a positive integer value, but got num_samples=0/);
    expect([...new data.DataLoader([], {})]).toEqual([]);
    expect(() => new data.TensorDataset(tensor([1, 2]), tensor([1]))).toThrow(/Size mismatch between tensors/);
  });
});

describe("safetensors dtypes and the reference writer's order", () => {
  it("loads F16 and BF16 (to float32, exactly) and I8/U8/I16 (to int32) written by PyTorch", async () => {
    const loaded = await loadSafetensors(new Uint8Array(Buffer.from(fx.safetensors.load.bytes, "base64")));
    expect(Object.keys(loaded).sort()).toEqual(Object.keys(fx.safetensors.load.values).sort());
    for (const [name, want] of Object.entries(fx.safetensors.load.values)) expectBits(loaded[name], want, name);
  });

  it("saves mixed dtypes byte for byte as the reference layout (by dtype, descending, then by name)", async () => {
    const tensors = Object.fromEntries(Object.entries(fx.safetensors.save.tensors).map(([k, e]) => [k, toTensor(e)]));
    const bytes = await saveSafetensors(tensors);
    expect(Buffer.from(bytes).toString("base64")).toBe(fx.safetensors.save.bytes);
  });
});

describe("checkpoints (saveBytes / loadBytes)", () => {
  it("round-trips nested tensors, numbers (non-finite and -0 too), strings, booleans, null, undefined, bigints and typed arrays", async () => {
    const obj = {
      model: { "fc.weight": tensor([[1, 2], [3, 4]]), "fc.bias": tensor([0.5, -0.5], { dtype: "float64" }) },
      list: [1, "two", true, null, undefined, [Infinity, -Infinity, NaN, -0]],
      $odd: { $tensor: "not a reference" },
      seed: 2n ** 63n - 1n,
      rng: new Uint8Array([0, 1, 255]),
      ints: new Int32Array([-1, 7]),
      mask: tensor([1, 0], { dtype: "bool" }),
    };
    const back = (await loadBytes(await saveBytes(obj))) as typeof obj;
    expect(Array.from(back.model["fc.weight"].dataSync())).toEqual([1, 2, 3, 4]);
    expect(back.model["fc.weight"].shape).toEqual([2, 2]);
    expect(back.model["fc.bias"].dtype).toBe("float64");
    expect(back.mask.dtype).toBe("bool");
    expect(back.list).toEqual([1, "two", true, null, undefined, [Infinity, -Infinity, NaN, -0]]);
    expect(Object.is((back.list[5] as number[])[3], -0)).toBe(true);
    expect(back.$odd).toEqual({ $tensor: "not a reference" });
    expect(back.seed).toBe(2n ** 63n - 1n);
    expect(back.rng).toEqual(new Uint8Array([0, 1, 255]));
    expect(back.ints).toEqual(new Int32Array([-1, 7]));
  });

  it("refuses what it cannot hold, naming the path, before reading anything", async () => {
    const opt = new optim.SGD([new Parameter(tensor([1]))], { lr: 0.1 });
    await expect(saveBytes({ a: [1, { opt }] } as never)).rejects.toThrow(/checkpoint\.a\[1\]\.opt is a SGD; .*save its stateDict\(\)/);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await expect(saveBytes(cyclic as never)).rejects.toThrow(/checkpoint\.self refers back to an enclosing object/);
    await expect(loadBytes(await saveSafetensors({ w: tensor([1]) }))).rejects.toThrow(CheckpointError);
  });
});
