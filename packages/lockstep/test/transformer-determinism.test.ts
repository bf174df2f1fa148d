// Attention and transformer layers with useDeterministicAlgorithms(true); every comparison is of
// bit patterns.
// - sequence batch invariance: sequence b of a batch of B = 1..5 (each with its own key padding
//   mask) equals that sequence run alone — MultiheadAttention (output, weights) seq-first and
//   batch-first, a TransformerEncoderLayer (output and input gradient), and scaledDotProductAttention;
// - thread invariance: setNumThreads(1), (2) and (3) give the same forward and backward bits;
// - CPU ≡ WebGPU: a 2-layer TransformerEncoder with dropout, trained 20 AdamW steps, gives the same
//   losses and parameters on both devices. Dropout masks come from the seeded generator, which
//   draws the same values on both devices, and the seed is set before each step on each device.
import { getNumThreads, manualSeed, nn, optim, rand, randn, setNumThreads, tensor, useDeterministicAlgorithms, type Tensor } from "lockstep";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { difference, sha256 } from "./bits.js";
import { devices } from "./devices.js";

const BATCHES = [1, 2, 3, 4, 5];
const [SEQ, DIM, HEADS] = [6, 16, 4];

/** Inputs whose magnitudes span many binades, so that any reassociation shows in the bits. */
function wide(shape: number[], device: string): Tensor {
  return randn(shape).mul(randn(shape).mul(1.5).exp()).to(device);
}

/** [batch, length] bool: sequence b keeps its first length − (b mod 3) keys; the rest is padding. */
function paddingMask(batch: number, device: string, length = SEQ): Tensor {
  const values = Array.from({ length: batch }, (_, b) => Array.from({ length }, (_, j) => j >= length - (b % 3)));
  return tensor(values, { dtype: "bool" }).to(device);
}

describe.each(devices)("attention layers, deterministic mode on %s", (device) => {
  beforeAll(() => useDeterministicAlgorithms(true));
  afterAll(() => useDeterministicAlgorithms(false));

  it.each([false, true])("MultiheadAttention (batchFirst %s) with key padding masks: each sequence equals the sequence run alone (output, weights)", async (batchFirst) => {
    manualSeed(31);
    const mha = new nn.MultiheadAttention(DIM, HEADS, { batchFirst }).to(device);
    const batchDim = batchFirst ? 0 : 1;
    for (const batch of BATCHES) {
      const shape = batchFirst ? [batch, SEQ, DIM] : [SEQ, batch, DIM];
      const query = wide(shape, device);
      const memory = wide(batchFirst ? [batch, SEQ, DIM] : [SEQ, batch, DIM], device);
      const mask = paddingMask(batch, device);
      const [out, weights] = mha.forward(query, memory, memory, { keyPaddingMask: mask });
      for (let b = 0; b < batch; b++) {
        const [outB, weightsB] = mha.forward(query.narrow(batchDim, b, 1), memory.narrow(batchDim, b, 1), memory.narrow(batchDim, b, 1), {
          keyPaddingMask: mask.narrow(0, b, 1),
        });
        const what = `batch ${batch}, sequence ${b}`;
        expect(await difference(out.narrow(batchDim, b, 1), outB), `${what}: output`).toBe("");
        expect(await difference(weights!.narrow(0, b, 1), weightsB!), `${what}: weights`).toBe("");
      }
    }
  });

  it("TransformerEncoderLayer (pre-norm, gelu) with key padding masks and a causal mask: output and input gradient per sequence", async () => {
    manualSeed(32);
    const layer = new nn.TransformerEncoderLayer(DIM, HEADS, { dimFeedforward: 32, batchFirst: true, normFirst: true, activation: "gelu" }).to(device);
    layer.eval();
    const causal = nn.functional.generateSquareSubsequentMask(SEQ, { device });
    for (const batch of BATCHES) {
      const x = wide([batch, SEQ, DIM], device).requiresGrad_();
      const mask = paddingMask(batch, device);
      const out = layer.forward(x, { srcMask: causal, srcKeyPaddingMask: mask, isCausal: true });
      out.mul(out).sum().backward();
      for (let b = 0; b < batch; b++) {
        const xb = x.detach().narrow(0, b, 1).requiresGrad_();
        const outB = layer.forward(xb, { srcMask: causal, srcKeyPaddingMask: mask.narrow(0, b, 1), isCausal: true });
        outB.mul(outB).sum().backward();
        const what = `batch ${batch}, sequence ${b}`;
        expect(await difference(out.narrow(0, b, 1), outB), `${what}: output`).toBe("");
        expect(await difference(x.grad!.narrow(0, b, 1), xb.grad!), `${what}: input gradient`).toBe("");
      }
    }
  });

  it("scaledDotProductAttention with a per-batch bool mask and with isCausal: each batch entry equals the entry alone", async () => {
    manualSeed(33);
    for (const batch of BATCHES) {
      const [q, k, v] = [wide([batch, HEADS, SEQ, 8], device), wide([batch, HEADS, SEQ + 2, 8], device), wide([batch, HEADS, SEQ + 2, 8], device)];
      const keep = rand([batch, 1, 1, SEQ + 2]).gt(0.3).logicalOr(tensor([true, false, false, false, false, false, false, false], { dtype: "bool" })).to(device);
      const out = nn.functional.scaledDotProductAttention(q, k, v, { attnMask: keep });
      for (let b = 0; b < batch; b++) {
        const alone = nn.functional.scaledDotProductAttention(q.narrow(0, b, 1), k.narrow(0, b, 1), v.narrow(0, b, 1), { attnMask: keep.narrow(0, b, 1) });
        expect(await difference(out.narrow(0, b, 1), alone), `batch ${batch}, entry ${b}`).toBe("");
      }
      const causal = nn.functional.scaledDotProductAttention(q, k, v, { isCausal: true });
      for (let b = 0; b < batch; b++) {
        const alone = nn.functional.scaledDotProductAttention(q.narrow(0, b, 1), k.narrow(0, b, 1), v.narrow(0, b, 1), { isCausal: true });
        expect(await difference(causal.narrow(0, b, 1), alone), `causal, batch ${batch}, entry ${b}`).toBe("");
      }
    }
  });
});

describe("transformer thread invariance (cpu, flag on)", () => {
  const threadsBefore = getNumThreads();
  beforeAll(() => useDeterministicAlgorithms(true));
  afterAll(() => {
    useDeterministicAlgorithms(false);
    setNumThreads(threadsBefore);
  });

  it("setNumThreads(1), (2) and (3) give identical forward and backward bits (2-layer encoder with dropout, training mode)", async () => {
    const results: string[][] = [];
    for (const threads of [1, 2, 3]) {
      setNumThreads(threads);
      manualSeed(41);
      // Big enough that the matmuls (rows·n·k ≥ 2²¹) are split across worker threads.
      const encoder = new nn.TransformerEncoder(new nn.TransformerEncoderLayer(64, 4, { dimFeedforward: 256, dropout: 0.1, batchFirst: true }), 2);
      const x = randn([8, 32, 64]);
      const mask = paddingMask(8, "cpu", 32);
      manualSeed(42);
      const out = encoder.forward(x, { srcKeyPaddingMask: mask });
      const loss = out.mul(out).mean();
      loss.backward();
      results.push([await sha256(out), ...(await Promise.all(encoder.parameters().map((p) => sha256(p.grad!))))]);
    }
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
  });
});

const hasWebGPU = devices.includes("webgpu");
if (!hasWebGPU) console.info("transformer-determinism: CPU ≡ WebGPU skipped, no WebGPU adapter");

describe.runIf(hasWebGPU)("transformer CPU ≡ WebGPU, bit for bit (deterministic mode)", () => {
  beforeAll(() => useDeterministicAlgorithms(true));
  afterAll(() => useDeterministicAlgorithms(false));

  const STEPS = 20;

  function build(): nn.TransformerEncoder {
    return new nn.TransformerEncoder(new nn.TransformerEncoderLayer(16, 2, { dimFeedforward: 32, dropout: 0.2, batchFirst: true }), 2, {
      norm: new nn.LayerNorm(16),
    });
  }

  it(`${STEPS} AdamW steps of a 2-layer TransformerEncoder with dropout and padding end in the same parameters`, async () => {
    manualSeed(51);
    const cpu = build();
    const gpu = build();
    gpu.loadStateDict(cpu.stateDict());
    gpu.to("webgpu");
    manualSeed(52);
    const x = randn([3, 6, 16]);
    const target = randn([3, 6, 16]);
    const mask = tensor([[false, false, false, false, false, false], [false, false, false, false, true, true], [false, false, false, false, false, true]], { dtype: "bool" });
    const setups = [
      { model: cpu, x, target, mask },
      { model: gpu, x: x.to("webgpu"), target: target.to("webgpu"), mask: mask.to("webgpu") },
    ].map((s) => ({ ...s, optimizer: new optim.AdamW(s.model.parameters(), { lr: 1e-2, weightDecay: 0.05 }) }));
    const losses: Tensor[][] = [[], []];
    for (let step = 0; step < STEPS; step++) {
      setups.forEach((s, device) => {
        // One seed per step, on both devices: the same dropout masks in the same order.
        manualSeed(1000 + step);
        s.optimizer.zeroGrad();
        const value = nn.functional.mseLoss(s.model.forward(s.x, { srcKeyPaddingMask: s.mask }), s.target);
        value.backward();
        s.optimizer.step();
        losses[device]!.push(value.detach());
      });
    }
    for (let step = 0; step < STEPS; step++) {
      expect(await difference(losses[0]![step]!, losses[1]![step]!), `loss at step ${step}`).toBe("");
    }
    const gpuParams = new Map(gpu.namedParameters());
    for (const [name, p] of cpu.namedParameters()) {
      expect(gpuParams.get(name)!.device).toBe("webgpu");
      expect(await difference(p, gpuParams.get(name)!), `${name} after ${STEPS} steps`).toBe("");
    }
    const first = (await losses[0]![0]!.item()) as number;
    const last = (await losses[0]![STEPS - 1]!.item()) as number;
    expect(last).toBeLessThan(first);
  });
});
