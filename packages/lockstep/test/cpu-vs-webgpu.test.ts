// CPU ≡ WebGPU with useDeterministicAlgorithms(true): the same model (built on the CPU, its state
// dict copied to a webgpu twin), the same data and the same seed give the same bits on both
// devices — the forward output, the loss, every parameter gradient, and the parameters after 50
// AdamW steps of an MLP with GELU (both forms), LayerNorm, Dropout, Tanh, softmax and
// cross-entropy. Dropout masks are drawn on the host from the seeded generator and uploaded, so
// one seed gives one mask on every device. Every comparison is of bit patterns.
import {
  emptyLike,
  manualSeed,
  nn,
  optim,
  rand,
  randint,
  randn,
  randperm,
  useDeterministicAlgorithms,
  webgpu,
  type Tensor,
} from "lockstep";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { devices } from "./devices.js";

const hasWebGPU = devices.includes("webgpu");
if (!hasWebGPU) console.info("cpu-vs-webgpu: skipped, no WebGPU adapter (set REQUIRE_WEBGPU=1 to make that an error)");

const [FEATURES, HIDDEN, CLASSES, BATCH, STEPS] = [12, 24, 5, 16, 50];

function buildModel(): nn.Sequential {
  return new nn.Sequential(
    new nn.Linear(FEATURES, HIDDEN),
    new nn.GELU(),
    new nn.LayerNorm(HIDDEN),
    new nn.Dropout(0.25),
    new nn.Linear(HIDDEN, HIDDEN),
    new nn.GELU("tanh"),
    new nn.Tanh(),
    new nn.Linear(HIDDEN, CLASSES),
  );
}

/** A CPU model and its webgpu twin with the same parameters (PyTorch's init, seed 1). */
function twins(): { cpu: nn.Sequential; gpu: nn.Sequential } {
  manualSeed(1);
  const cpu = buildModel();
  const gpu = buildModel();
  gpu.loadStateDict(cpu.stateDict());
  return { cpu, gpu: gpu.to("webgpu") };
}

/** Cross-entropy plus a softmax term, so softmax's division and its gradient are in the graph. */
function loss(logits: Tensor, targets: Tensor, soft: Tensor): Tensor {
  return nn.functional.crossEntropy(logits, targets).add(nn.functional.mseLoss(logits.softmax(1), soft));
}

async function bitsOf(t: Tensor): Promise<Uint32Array> {
  return new Uint32Array(Float32Array.from(await t.data()).buffer);
}

/** "" when equal, else how many elements differ and the first one. */
async function difference(cpu: Tensor, gpu: Tensor): Promise<string> {
  const [a, b] = await Promise.all([bitsOf(cpu), bitsOf(gpu)]);
  if (a.length !== b.length) return `length ${a.length} vs ${b.length}`;
  let count = 0;
  let first = -1;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) {
      count++;
      if (first < 0) first = i;
    }
  }
  return count === 0 ? "" : `${count} of ${a.length} differ, first at ${first}: cpu 0x${a[first]!.toString(16)}, webgpu 0x${b[first]!.toString(16)}`;
}

async function expectSameBits(what: string, cpu: Tensor, gpu: Tensor): Promise<void> {
  expect(gpu.device).toBe("webgpu");
  expect(await difference(cpu, gpu), what).toBe("");
}

describe.runIf(hasWebGPU)("CPU ≡ WebGPU, bit for bit (deterministic mode)", () => {
  beforeAll(() => useDeterministicAlgorithms(true));
  afterAll(() => useDeterministicAlgorithms(false));

  manualSeed(2);
  const x = randn([BATCH, FEATURES]).mul(2);
  const targets = randint(0, CLASSES, [BATCH], { dtype: "int32" });
  const soft = randn([BATCH, CLASSES]).softmax(1);

  it("the adapter's self-test reports CPU ≡ GPU", () => {
    const caps = webgpu.capabilities();
    expect(caps.differences).toEqual([]);
    expect(caps.bitwiseMatchesCpu).toBe(true);
  });

  it("random tensors created on webgpu equal the CPU's for the same seed", async () => {
    const makers: [string, (device: string) => Tensor][] = [
      ["rand([1000])", (device) => rand([1000], { device })],
      ["randn([17, 33])", (device) => randn([17, 33], { device })],
      ["randn([5])", (device) => randn([5], { device })],
      ["randint(-5, 100, [64])", (device) => randint(-5, 100, [64], { device })],
      ["randperm(300)", (device) => randperm(300, { device })],
    ];
    for (const [what, make] of makers) {
      manualSeed(11);
      const onCpu = make("cpu");
      manualSeed(11);
      await expectSameBits(what, onCpu, make("webgpu"));
    }
  });

  it("a random fill on webgpu draws the CPU's values for the same seed (dropout masks)", async () => {
    for (const p of [0.5, 0.75, 0.1]) {
      manualSeed(7);
      const onCpu = emptyLike(x).bernoulli_(p);
      manualSeed(7);
      const onGpu = emptyLike(x.to("webgpu")).bernoulli_(p);
      await expectSameBits(`bernoulli_(${p})`, onCpu, onGpu);
    }
    manualSeed(8);
    const cpuDropped = nn.functional.dropout(x, 0.3);
    manualSeed(8);
    await expectSameBits("dropout(x, 0.3)", cpuDropped, nn.functional.dropout(x.to("webgpu"), 0.3));
  });

  it("forward output, loss and every parameter gradient", async () => {
    const { cpu, gpu } = twins();
    const xs = x.to("webgpu");
    manualSeed(3);
    const outCpu = cpu.forward(x);
    manualSeed(3);
    const outGpu = gpu.forward(xs);
    await expectSameBits("forward output", outCpu, outGpu);
    const lossCpu = loss(outCpu, targets, soft);
    const lossGpu = loss(outGpu, targets.to("webgpu"), soft.to("webgpu"));
    await expectSameBits("loss", lossCpu, lossGpu);
    lossCpu.backward();
    lossGpu.backward();
    const gpuParams = new Map(gpu.namedParameters());
    for (const [name, p] of cpu.namedParameters()) {
      const twin = gpuParams.get(name)!;
      await expectSameBits(`gradient of ${name}`, p.grad!, twin.grad!);
    }
  });

  it(`${STEPS} AdamW steps with dropout end in the same parameters`, async () => {
    const { cpu, gpu } = twins();
    const setups = [
      { model: cpu, x, targets, soft },
      { model: gpu, x: x.to("webgpu"), targets: targets.to("webgpu"), soft: soft.to("webgpu") },
    ].map((s) => ({ ...s, optimizer: new optim.AdamW(s.model.parameters(), { lr: 1e-2, weightDecay: 0.05 }) }));
    const losses: Tensor[][] = [[], []];
    for (let step = 0; step < STEPS; step++) {
      setups.forEach((s, device) => {
        // One seed per step, on both devices: the same dropout masks.
        manualSeed(1000 + step);
        s.optimizer.zeroGrad();
        const value = loss(s.model.forward(s.x), s.targets, s.soft);
        value.backward();
        s.optimizer.step();
        losses[device]!.push(value.detach());
      });
    }
    for (let step = 0; step < STEPS; step++) await expectSameBits(`loss at step ${step}`, losses[0]![step]!, losses[1]![step]!);
    const gpuParams = new Map(gpu.namedParameters());
    for (const [name, p] of cpu.namedParameters()) {
      await expectSameBits(`${name} after ${STEPS} steps`, p, gpuParams.get(name)!);
    }
    // The run really trained: the loss went down.
    const first = (await losses[0]![0]!.item()) as number;
    const last = (await losses[0]![STEPS - 1]!.item()) as number;
    expect(last).toBeLessThan(first);
  });
});
