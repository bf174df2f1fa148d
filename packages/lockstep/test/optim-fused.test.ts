// Fused optimizer updates (core's sgdUpdate_/adamUpdate_, one in-place kernel per parameter) give
// the bits of the unfused op sequence they replaced — written out below from core ops, as nn's
// SGD and Adam ran it — for every option, float32 and float64 (CPU), both modes, every device;
// and in deterministic mode the CPU and WebGPU kernels agree bit for bit. Every comparison is of
// bit patterns, on values that include zeros of both signs, subnormals, huge and tiny magnitudes.
import {
  adamUpdate_,
  listKernels,
  maximum,
  noGrad,
  optim,
  registerKernel,
  selectKernel,
  sgdUpdate_,
  tensor,
  useDeterministicAlgorithms,
  zerosLike,
  type DType,
  type Kernel,
  type Tensor,
} from "lockstep";
import { afterEach, describe, expect, it } from "vitest";
import { difference } from "./bits.js";
import { devices } from "./devices.js";

type State = Record<string, Tensor | number>;
type SgdOptions = optim.SGDOptions;
type AdamOptions = optim.AdamOptions;

/**
 * `n` values of wide magnitude (10^-30 … 10^6), both signs, with exact zeros, −0, subnormals,
 * and values near the rounding boundaries of the coefficients; the same for every dtype.
 */
function values(n: number, seed: number, positive = false): number[] {
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const special = [0, -0, 1e-40, -3e-39, 1.5e-38, 1, -1, 0.1, 3e5, -2e-30];
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    let v = i < special.length ? special[i]! : (next() * 2 - 1) * 10 ** Math.floor(next() * 12 - 6);
    if (i >= special.length && next() < 0.05) v *= 1e-25;
    out.push(positive ? Math.abs(v) : v);
  }
  return out;
}

const N = 257;

function make(data: number[], dtype: DType, device: string): Tensor {
  return tensor(data, { dtype }).to(device);
}

function stateTensor(state: State, key: string, init: () => Tensor): Tensor {
  return (state[key] ??= init()) as Tensor;
}

/** nn's SGD update before fusion, op by op. */
function sgdUnfused(p: Tensor, grad: Tensor, g: SgdOptions, state: State): void {
  let d = g.maximize ? grad.neg() : grad;
  if (g.weightDecay !== 0) d = d.add(p, { alpha: g.weightDecay });
  if (g.momentum !== 0) {
    const first = state.momentumBuffer === undefined;
    const buffer = stateTensor(state, "momentumBuffer", () => d.clone());
    if (!first) buffer.copy_(buffer.mul(g.momentum).add(d, { alpha: 1 - g.dampening }));
    d = g.nesterov ? d.add(buffer, { alpha: g.momentum }) : buffer;
  }
  p.copy_(p.add(d, { alpha: -g.lr }));
}

/** nn's Adam/AdamW update before fusion, op by op. */
function adamUnfused(p: Tensor, grad: Tensor, g: AdamOptions, decoupled: boolean, state: State): void {
  const [beta1, beta2] = g.betas;
  let d = g.maximize ? grad.neg() : grad;
  const expAvg = stateTensor(state, "expAvg", () => zerosLike(p));
  const expAvgSq = stateTensor(state, "expAvgSq", () => zerosLike(p));
  const step = ((state.step as number | undefined) ?? 0) + 1;
  state.step = step;
  if (g.weightDecay !== 0) {
    if (decoupled) p.copy_(p.mul(1 - g.lr * g.weightDecay));
    else d = d.add(p, { alpha: g.weightDecay });
  }
  expAvg.copy_(expAvg.mul(beta1).add(d, { alpha: 1 - beta1 }));
  expAvgSq.copy_(expAvgSq.mul(beta2).add(d.mul(1 - beta2).mul(d)));
  const biasCorrection1 = 1 - beta1 ** step;
  const biasCorrection2Sqrt = Math.sqrt(1 - beta2 ** step);
  const stepSize = g.lr / biasCorrection1;
  let second = expAvgSq;
  if (g.amsgrad) {
    second = stateTensor(state, "maxExpAvgSq", () => zerosLike(p));
    second.copy_(maximum(second, expAvgSq));
  }
  const denom = second.sqrt().div(biasCorrection2Sqrt).add(g.eps);
  p.copy_(p.add(expAvg.div(denom), { alpha: -stepSize }));
}

const SGD_DEFAULTS: SgdOptions = { lr: 0.1, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0, maximize: false };
const SGD_CASES: Partial<SgdOptions>[] = [
  {},
  { momentum: 0.9 },
  { lr: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 1e-2 },
  { lr: 0.01, momentum: 0.9, nesterov: true, weightDecay: 0.1, maximize: true },
  // Factors of exactly 1: add(…, { alpha: 1 }) adds without a product.
  { lr: 0.3, momentum: 1, nesterov: true, weightDecay: 1 },
  { lr: 0.7, momentum: 0.5, dampening: 0.5, maximize: true },
];

const ADAM_DEFAULTS: AdamOptions = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false };
const ADAM_CASES: [name: "Adam" | "AdamW", options: Partial<AdamOptions>][] = [
  ["Adam", {}],
  ["Adam", { lr: 0.01, betas: [0.8, 0.99], weightDecay: 0.1, amsgrad: true }],
  ["Adam", { maximize: true, eps: 1e-6, weightDecay: 1 }],
  ["AdamW", { weightDecay: 0.01 }],
  ["AdamW", { lr: 0.1, amsgrad: true, weightDecay: 0.5, maximize: true, betas: [0, 0.5] }],
  ["AdamW", { lr: 3, betas: [0.5, 0.25], eps: 0 }],
];

const STEPS = 3;

/** Gradients for each step: step 0's has zeros and subnormals where the parameter has them too. */
function gradients(dtype: DType, device: string): Tensor[] {
  return Array.from({ length: STEPS }, (_, step) => make(values(N, 100 + step), dtype, device));
}

/** [dtype, mode] pairs a device runs: float64 is CPU-only. */
function configurations(device: string): [DType, boolean][] {
  const dtypes: DType[] = device === "cpu" ? ["float32", "float64"] : ["float32"];
  return dtypes.flatMap((dtype) => [[dtype, false], [dtype, true]] as [DType, boolean][]);
}

afterEach(() => useDeterministicAlgorithms(false));

describe.each(devices)("fused optimizer updates on %s equal the unfused ops bit for bit", (device) => {
  for (const [dtype, deterministic] of configurations(device)) {
    const mode = deterministic ? "deterministic" : "fast";

    it.each(SGD_CASES.map((o) => [JSON.stringify(o), o] as const))(`sgdUpdate_ ${dtype} ${mode} %s`, async (_, options) => {
      useDeterministicAlgorithms(deterministic);
      const g = { ...SGD_DEFAULTS, ...options };
      const fused = make(values(N, 1), dtype, device);
      const unfused = make(values(N, 1), dtype, device);
      const fusedState: State = {};
      const unfusedState: State = {};
      for (const grad of gradients(dtype, device)) {
        noGrad(() => {
          const firstStep = fusedState.momentumBuffer === undefined;
          const buffer = g.momentum !== 0 ? stateTensor(fusedState, "momentumBuffer", () => zerosLike(fused)) : undefined;
          sgdUpdate_(fused, grad, buffer, { ...g, firstStep });
          sgdUnfused(unfused, grad, g, unfusedState);
        });
      }
      expect(await difference(fused, unfused), "parameter").toBe("");
      if (g.momentum !== 0) {
        expect(await difference(fusedState.momentumBuffer as Tensor, unfusedState.momentumBuffer as Tensor), "momentum buffer").toBe("");
      }
    });

    it.each(ADAM_CASES.map(([name, o]) => [`${name} ${JSON.stringify(o)}`, name, o] as const))(
      `adamUpdate_ ${dtype} ${mode} %s`,
      async (_, name, options) => {
        useDeterministicAlgorithms(deterministic);
        const g = { ...ADAM_DEFAULTS, ...options };
        const decoupled = name === "AdamW";
        const fused = make(values(N, 1), dtype, device);
        const unfused = make(values(N, 1), dtype, device);
        const fusedState: State = {};
        const unfusedState: State = {};
        for (const grad of gradients(dtype, device)) {
          noGrad(() => {
            const expAvg = stateTensor(fusedState, "expAvg", () => zerosLike(fused));
            const expAvgSq = stateTensor(fusedState, "expAvgSq", () => zerosLike(fused));
            const maxSq = g.amsgrad ? stateTensor(fusedState, "maxExpAvgSq", () => zerosLike(fused)) : undefined;
            const step = ((fusedState.step as number | undefined) ?? 0) + 1;
            fusedState.step = step;
            const { lr, eps, weightDecay, amsgrad, maximize } = g;
            const [beta1, beta2] = g.betas;
            adamUpdate_(fused, grad, expAvg, expAvgSq, maxSq, { lr, beta1, beta2, eps, weightDecay, decoupled, amsgrad, maximize, step });
            adamUnfused(unfused, grad, g, decoupled, unfusedState);
          });
        }
        expect(await difference(fused, unfused), "parameter").toBe("");
        for (const key of ["expAvg", "expAvgSq", ...(g.amsgrad ? ["maxExpAvgSq"] : [])]) {
          expect(await difference(fusedState[key] as Tensor, unfusedState[key] as Tensor), key).toBe("");
        }
      },
    );
  }

  it("the test data reach the paths where the modes differ: subnormal moments, eps 0", async () => {
    const run = (deterministic: boolean) => {
      useDeterministicAlgorithms(deterministic);
      const p = make(values(N, 1), "float32", device);
      const state = { m: zerosLike(p), v: zerosLike(p) };
      for (const [i, grad] of gradients("float32", device).entries()) {
        const attrs = { ...ADAM_DEFAULTS, beta1: 0.5, beta2: 0.25, eps: 0, lr: 3, decoupled: true, step: i + 1 };
        noGrad(() => adamUpdate_(p, grad, state.m, state.v, undefined, attrs));
      }
      return p;
    };
    expect(await difference(run(false), run(true))).not.toBe("");
  });

  it("SGD, Adam and AdamW .step() run one fused kernel per parameter and match the unfused ops", async () => {
    const makers: [string, (p: Tensor[]) => optim.Optimizer<{ lr: number }>, (p: Tensor, g: Tensor, s: State) => void][] = [
      ["sgdUpdate", (p) => new optim.SGD(p, { lr: 0.1, momentum: 0.9, nesterov: true }), (p, g, s) => sgdUnfused(p, g, { ...SGD_DEFAULTS, momentum: 0.9, nesterov: true }, s)],
      ["adamUpdate", (p) => new optim.Adam(p, { lr: 0.01, amsgrad: true }), (p, g, s) => adamUnfused(p, g, { ...ADAM_DEFAULTS, lr: 0.01, amsgrad: true }, false, s)],
      ["adamUpdate", (p) => new optim.AdamW(p, { lr: 0.01 }), (p, g, s) => adamUnfused(p, g, { ...ADAM_DEFAULTS, lr: 0.01, weightDecay: 0.01 }, true, s)],
    ];
    for (const [op, makeOptimizer, reference] of makers) {
      const calls = countKernelCalls(op as "sgdUpdate" | "adamUpdate", device);
      try {
        const params = [make(values(12, 5), "float32", device).reshape([3, 4]), make(values(5, 6), "float32", device)];
        const twins = params.map((p) => p.clone());
        const states = twins.map((): State => ({}));
        const optimizer = makeOptimizer(params);
        for (let step = 0; step < STEPS; step++) {
          params.forEach((p, i) => (p.grad = make(values(p.numel(), 200 + 10 * step + i), "float32", device).reshape(p.shape)));
          optimizer.step();
          noGrad(() => twins.forEach((t, i) => reference(t, params[i]!.grad!, states[i]!)));
        }
        expect(calls.count, op).toBe(STEPS * params.length);
        for (let i = 0; i < params.length; i++) expect(await difference(params[i]!, twins[i]!), `${op} parameter ${i}`).toBe("");
      } finally {
        calls.restore();
      }
    }
  });

  it("a non-contiguous parameter takes the unfused path, with the same result", async () => {
    const calls = countKernelCalls("sgdUpdate", device);
    try {
      const p = make(values(12, 7), "float32", device).reshape([3, 4]).t();
      const twin = p.clone();
      const optimizer = new optim.SGD([p], { lr: 0.1, momentum: 0.5 });
      const state: State = {};
      for (let step = 0; step < STEPS; step++) {
        p.grad = make(values(12, 300 + step), "float32", device).reshape([4, 3]);
        optimizer.step();
        noGrad(() => sgdUnfused(twin, p.grad!, { ...SGD_DEFAULTS, momentum: 0.5 }, state));
      }
      expect(calls.count).toBe(0);
      expect(await difference(p, twin)).toBe("");
    } finally {
      calls.restore();
    }
  });

  it("a strided gradient is read in its own layout", async () => {
    const p = make(values(12, 8), "float32", device).reshape([4, 3]);
    const twin = p.clone();
    const grad = make(values(12, 9), "float32", device).reshape([3, 4]).t();
    noGrad(() => {
      sgdUpdate_(p, grad, undefined, { ...SGD_DEFAULTS, lr: 0.25, firstStep: true });
      sgdUnfused(twin, grad, { ...SGD_DEFAULTS, lr: 0.25 }, {});
    });
    expect(await difference(p, twin)).toBe("");
  });

  it("a parameter and gradient at an offset into their storage (contiguous slices)", async () => {
    const whole = make(values(20, 10), "float32", device).reshape([5, 4]);
    const p = whole.narrow(0, 2, 3);
    const untouched = whole.narrow(0, 0, 2).clone();
    const twin = p.clone();
    const grad = make(values(16, 11), "float32", device).reshape([4, 4]).narrow(0, 1, 3);
    const expAvg = zerosLike(p);
    const expAvgSq = zerosLike(p);
    noGrad(() => {
      adamUpdate_(p, grad, expAvg, expAvgSq, undefined, { ...ADAM_DEFAULTS, beta1: 0.9, beta2: 0.999, decoupled: true, weightDecay: 0.1, step: 1 });
      adamUnfused(twin, grad, { ...ADAM_DEFAULTS, weightDecay: 0.1 }, true, {});
    });
    expect(p.offset).toBe(8);
    expect(await difference(p, twin)).toBe("");
    expect(await difference(whole.narrow(0, 0, 2), untouched), "the rows before the slice").toBe("");
  });

  it("bumps the version of every tensor it writes", () => {
    const p = make([1, 2, 3], "float32", device);
    const m = zerosLike(p);
    const v = zerosLike(p);
    const grad = make([0.5, -0.5, 1], "float32", device);
    const before = [p.version, m.version, v.version, grad.version];
    noGrad(() => adamUpdate_(p, grad, m, v, undefined, { ...ADAM_DEFAULTS, beta1: 0.9, beta2: 0.999, decoupled: false, step: 1 }));
    expect([p.version, m.version, v.version, grad.version]).toEqual([before[0]! + 1, before[1]! + 1, before[2]! + 1, before[3]]);
  });

  it("refuses operands that do not match the parameter, changing nothing", async () => {
    const p = make([1, 2, 3], "float32", device);
    const before = await p.data();
    const state = { ...SGD_DEFAULTS, firstStep: true };
    expect(() => sgdUpdate_(p, make([1, 2], "float32", device), undefined, state)).toThrow(/every operand must be float32 \[3\]/);
    expect(() => sgdUpdate_(p, make([1, 2, 3], "int32", device), undefined, state)).toThrow(/got int32/);
    expect(() => sgdUpdate_(p, make([1, 2, 3], "float32", device), undefined, { ...state, momentum: 0.9 })).toThrow(/momentum buffer/);
    expect(() => sgdUpdate_(make([1, 2], "int32", device), make([1, 2], "int32", device), undefined, state)).toThrow(/float32 or float64/);
    const q = make([1, 2, 3, 4], "float32", device).reshape([2, 2]).t();
    expect(() => sgdUpdate_(q, make([1, 2, 3, 4], "float32", device).reshape([2, 2]), undefined, state)).toThrow(/contiguous/);
    const leaf = make([1, 2, 3], "float32", device).requiresGrad_();
    expect(() => sgdUpdate_(leaf, make([1, 2, 3], "float32", device), undefined, state)).toThrow(/leaf Variable that requires grad/);
    expect(await p.data()).toEqual(before);
  });
});

describe.runIf(devices.includes("webgpu"))("fused optimizer updates: CPU ≡ WebGPU bit for bit (deterministic mode)", () => {
  it.each([
    ...SGD_CASES.map((o) => ["SGD", o] as const),
    ...ADAM_CASES,
  ])("%s %j", async (name, options) => {
    useDeterministicAlgorithms(true);
    const run = (device: string) => {
      const p = make(values(N, 1), "float32", device);
      const optimizer =
        name === "SGD"
          ? new optim.SGD([p], { ...SGD_DEFAULTS, ...(options as Partial<SgdOptions>) })
          : new optim[name]([p], options as Partial<AdamOptions>);
      for (const grad of gradients("float32", device)) {
        p.grad = grad;
        optimizer.step();
      }
      return { p, state: optimizer.state.get(p)! };
    };
    const cpu = run("cpu");
    const gpu = run("webgpu");
    expect(await difference(cpu.p, gpu.p, true), "parameter").toBe("");
    for (const [key, value] of Object.entries(cpu.state)) {
      if (typeof value === "number") expect(gpu.state[key]).toBe(value);
      else expect(await difference(value, gpu.state[key] as Tensor, true), key).toBe("");
    }
  });
});

/** Wraps the registered (op, device) kernel to count its calls; `restore()` puts it back. */
function countKernelCalls(op: "sgdUpdate" | "adamUpdate", device: string): { count: number; restore(): void } {
  const kernel = selectKernel(op, device) as Kernel;
  expect(listKernels().filter((k) => k.op === op && k.device === device)).toHaveLength(1);
  const counter = {
    count: 0,
    restore: () => registerKernel(kernel),
  };
  registerKernel({ ...kernel, run: (inputs, outputs, attrs) => (counter.count++, kernel.run(inputs, outputs, attrs)) });
  return counter;
}

describe("plain SGD on a parameter longer than one WebAssembly chunk (CPU)", () => {
  // The CPU's plain SGD runs in WebAssembly chunks of 16,384 elements: a length that is no
  // multiple of the chunk or of 16 exercises the padding and the last partial chunk.
  it.each([false, true])("deterministic %s: 3 steps of 40,009 elements equal the unfused ops", async (deterministic) => {
    useDeterministicAlgorithms(deterministic);
    const g = { ...SGD_DEFAULTS, lr: 0.037 };
    const fused = make(values(40_009, 21), "float32", "cpu");
    const unfused = make(values(40_009, 21), "float32", "cpu");
    for (let step = 0; step < 3; step++) {
      const grad = make(values(40_009, 400 + step), "float32", "cpu");
      noGrad(() => {
        sgdUpdate_(fused, grad, undefined, { ...g, firstStep: step === 0 });
        sgdUnfused(unfused, grad, g, {});
      });
    }
    expect(await difference(fused, unfused)).toBe("");
  });
});
