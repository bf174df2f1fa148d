// Convolution, pooling and normalisation with useDeterministicAlgorithms(true); every comparison is
// of bit patterns.
// - batch invariance: sample i of a batch of B (B = 1..9) equals that sample computed alone, for
//   conv1d/conv2d (strides, padding, dilation, groups), every pooling, BatchNorm in eval mode,
//   GroupNorm and a whole LeNet-style CNN in eval mode, on every device;
// - thread invariance: 1, 2 and 3 CPU threads give the same forward output and gradients;
// - CPU ≡ WebGPU: forward, every gradient, and 20 SGD steps of a LeNet-style CNN with BatchNorm
//   (training mode: batch statistics and running-statistic updates) and Dropout.
import { cat, getNumThreads, manualSeed, nn, optim, randint, randn, setNumThreads, useDeterministicAlgorithms, type Tensor } from "lockstep";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { difference } from "./bits.js";
import { devices } from "./devices.js";

const F = nn.functional;
const hasWebGPU = devices.includes("webgpu");

/** f(x)[i] equals f(x[i:i+1]) bit for bit for every sample of batches of 1..9. */
async function expectBatchInvariant(f: (x: Tensor) => Tensor, input: (batch: number) => Tensor): Promise<void> {
  for (let batch = 1; batch <= 9; batch++) {
    const x = input(batch);
    const whole = f(x);
    const alone = cat(Array.from({ length: batch }, (_, i) => f(x.narrow(0, i, 1))), 0);
    expect(await difference(whole, alone), `batch ${batch}`).toBe("");
  }
}

/** LeNet-style: conv 1→6 5×5, BatchNorm, pool, conv 6→16 5×5, BatchNorm, pool, three Linear with Dropout. */
function leNet(): nn.Sequential {
  return new nn.Sequential(
    new nn.Conv2d(1, 6, 5),
    new nn.BatchNorm2d(6),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Conv2d(6, 16, 5),
    new nn.BatchNorm2d(16),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Flatten(),
    new nn.Linear(256, 120),
    new nn.ReLU(),
    new nn.Dropout(0.25),
    new nn.Linear(120, 84),
    new nn.ReLU(),
    new nn.Linear(84, 10),
  );
}

/** Inputs whose magnitudes span several orders, so any reassociation would show. */
function wide(shape: number[], device: string): Tensor {
  return randn(shape).mul(randn(shape).mul(2).exp()).to(device);
}

describe.each(devices)("batch invariance on %s (flag on)", (device) => {
  beforeAll(() => useDeterministicAlgorithms(true));
  afterAll(() => useDeterministicAlgorithms(false));

  it.each([
    ["conv2d 3→4 3×3", [3, 9, 8], [4, 3, 3, 3], {}],
    ["conv2d stride 2, padding 1, dilation 2", [3, 11, 10], [5, 3, 3, 2], { stride: 2, padding: 1, dilation: 2 }],
    ["conv2d groups 2, padding same", [4, 7, 7], [6, 2, 3, 3], { groups: 2, padding: "same" }],
  ] as const)("%s", async (_, xs, ws, options) => {
    manualSeed(1);
    const weight = randn([...ws]).to(device);
    const bias = randn([ws[0]]).to(device);
    await expectBatchInvariant((x) => F.conv2d(x, weight, bias, options), (b) => wide([b, ...xs], device));
  });

  it("conv1d with stride, padding and groups", async () => {
    manualSeed(2);
    const weight = randn([4, 2, 3]).to(device);
    await expectBatchInvariant((x) => F.conv1d(x, weight, undefined, { stride: 2, padding: 1, groups: 2 }), (b) => wide([b, 4, 13], device));
  });

  it.each([
    ["maxPool2d", (x: Tensor) => F.maxPool2d(x, 3, { stride: 2, padding: 1, ceilMode: true })],
    ["avgPool2d", (x: Tensor) => F.avgPool2d(x, 3, { stride: 2, padding: 1, countIncludePad: false })],
    ["adaptiveAvgPool2d", (x: Tensor) => F.adaptiveAvgPool2d(x, [3, 4])],
    ["maxPool1d", (x: Tensor) => F.maxPool1d(x.flatten(2), 4, { stride: 3 })],
  ] as const)("%s", async (_, fn) => {
    manualSeed(3);
    await expectBatchInvariant(fn, (b) => wide([b, 3, 9, 10], device));
  });

  it("BatchNorm2d in eval mode (running statistics) and GroupNorm", async () => {
    manualSeed(4);
    const bn = new nn.BatchNorm2d(3);
    bn.loadStateDict({ ...bn.stateDict(), running_mean: randn([3]), running_var: randn([3]).abs().add(0.1) });
    bn.to(device).eval();
    const gn = new nn.GroupNorm(3, 6).to(device);
    await expectBatchInvariant((x) => bn.forward(x), (b) => wide([b, 3, 5, 4], device));
    await expectBatchInvariant((x) => gn.forward(x), (b) => wide([b, 6, 4, 3], device));
  });

  it("a LeNet-style CNN with BatchNorm and Dropout in eval mode", async () => {
    manualSeed(5);
    const model = leNet();
    // A few training steps first, so the running statistics are not the initial 0 and 1.
    for (let step = 0; step < 2; step++) model.forward(randn([8, 1, 28, 28]));
    model.to(device).eval();
    await expectBatchInvariant((x) => model.forward(x), (b) => wide([b, 1, 28, 28], device));
  });
});

describe("thread invariance (cpu, flag on)", () => {
  const before = getNumThreads();
  beforeAll(() => useDeterministicAlgorithms(true));
  afterAll(() => {
    useDeterministicAlgorithms(false);
    setNumThreads(before);
  });

  it("1, 2 and 3 threads give the same LeNet output, loss and gradients", async () => {
    const runs: Tensor[][] = [];
    for (const threads of [1, 2, 3]) {
      setNumThreads(threads);
      manualSeed(6);
      const model = leNet();
      const x = randn([16, 1, 28, 28]);
      const target = randint(0, 10, [16], { dtype: "int32" });
      const out = model.forward(x);
      const loss = F.crossEntropy(out, target);
      loss.backward();
      runs.push([out, loss, ...model.parameters().map((p) => p.grad!), ...model.buffers()]);
    }
    for (const other of runs.slice(1)) {
      for (let i = 0; i < runs[0]!.length; i++) {
        const [a, b] = [runs[0]![i]!, other[i]!];
        if (a.dtype !== "float32") continue;
        expect(await difference(a, b), `tensor ${i}`).toBe("");
      }
    }
  });
});

describe.runIf(hasWebGPU)("CPU ≡ WebGPU, bit for bit (flag on)", () => {
  beforeAll(() => useDeterministicAlgorithms(true));
  afterAll(() => useDeterministicAlgorithms(false));

  function twins(): { cpu: nn.Sequential; gpu: nn.Sequential } {
    manualSeed(7);
    const cpu = leNet();
    const gpu = leNet();
    gpu.loadStateDict(cpu.stateDict());
    return { cpu, gpu: gpu.to("webgpu") };
  }

  manualSeed(8);
  const x = randn([8, 1, 28, 28]);
  const target = randint(0, 10, [8], { dtype: "int32" });

  it("forward (training mode: batch statistics, dropout), loss, every gradient and the running statistics", async () => {
    const { cpu, gpu } = twins();
    manualSeed(9);
    const outCpu = cpu.forward(x);
    manualSeed(9);
    const outGpu = gpu.forward(x.to("webgpu"));
    expect(await difference(outCpu, outGpu), "forward").toBe("");
    const lossCpu = F.crossEntropy(outCpu, target);
    const lossGpu = F.crossEntropy(outGpu, target.to("webgpu"));
    expect(await difference(lossCpu, lossGpu), "loss").toBe("");
    lossCpu.backward();
    lossGpu.backward();
    const gpuParams = new Map(gpu.namedParameters());
    for (const [name, p] of cpu.namedParameters()) expect(await difference(p.grad!, gpuParams.get(name)!.grad!), `grad ${name}`).toBe("");
    const gpuBuffers = new Map(gpu.namedBuffers());
    for (const [name, b] of cpu.namedBuffers()) {
      if (b.dtype === "float32") expect(await difference(b, gpuBuffers.get(name)!), name).toBe("");
    }
  });

  it("BatchNorm's cumulative average (momentum null) runs on webgpu without a read back, with the CPU's bits", async () => {
    const [cpu, gpu] = [new nn.BatchNorm2d(3, { momentum: null }), new nn.BatchNorm2d(3, { momentum: null }).to("webgpu")];
    for (let step = 0; step < 3; step++) {
      manualSeed(200 + step);
      const x = randn([4, 3, 5, 5]).mul(step + 1);
      expect(await difference(cpu.forward(x), gpu.forward(x.to("webgpu"))), `step ${step}`).toBe("");
    }
    expect(await difference(cpu.running_mean!, gpu.running_mean!), "running_mean").toBe("");
    expect(await difference(cpu.running_var!, gpu.running_var!), "running_var").toBe("");
    expect(await gpu.num_batches_tracked!.item()).toBe(3);
  });

  it("20 SGD steps with momentum end in the same parameters, running statistics and eval outputs", async () => {
    const { cpu, gpu } = twins();
    const runs = [
      { model: cpu, x, target },
      { model: gpu, x: x.to("webgpu"), target: target.to("webgpu") },
    ].map((r) => ({ ...r, optimizer: new optim.SGD(r.model.parameters(), { lr: 0.05, momentum: 0.9 }) }));
    const losses: Tensor[][] = [[], []];
    for (let step = 0; step < 20; step++) {
      runs.forEach((r, i) => {
        manualSeed(100 + step);
        r.optimizer.zeroGrad();
        const loss = F.crossEntropy(r.model.forward(r.x), r.target);
        loss.backward();
        r.optimizer.step();
        losses[i]!.push(loss.detach());
      });
    }
    for (let step = 0; step < 20; step++) expect(await difference(losses[0]![step]!, losses[1]![step]!), `loss ${step}`).toBe("");
    const gpuState = gpu.stateDict();
    for (const [name, t] of Object.entries(cpu.stateDict())) {
      if (t.dtype === "float32") expect(await difference(t, gpuState[name]!), name).toBe("");
      else expect(await gpuState[name]!.toArray(), name).toEqual(await t.toArray());
    }
    cpu.eval();
    gpu.eval();
    expect(await difference(cpu.forward(x), gpu.forward(x.to("webgpu"))), "eval forward").toBe("");
    expect(await losses[0]![19]!.item()).toBeLessThan((await losses[0]![0]!.item()) as number);
  });
});
