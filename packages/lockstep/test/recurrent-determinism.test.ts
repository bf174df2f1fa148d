// RNN, LSTM and GRU with useDeterministicAlgorithms(true); every comparison is of bit patterns.
// - sequence batch invariance: sequence b of a batch of B (output, final states, input gradient)
//   equals that sequence run alone, for seq-first and batch-first layouts;
// - thread invariance: setNumThreads(1), (2) and (3) give the same forward and backward bits;
// - CPU ≡ WebGPU: a bidirectional 2-layer LSTM/GRU with dropout between layers, trained a few AdamW
//   steps, gives the same losses and parameters on both devices.
import { cat, getNumThreads, manualSeed, nn, optim, randn, setNumThreads, useDeterministicAlgorithms, type Tensor } from "lockstep";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { difference, sha256 } from "./bits.js";
import { devices } from "./devices.js";

type Recurrent = nn.RNN | nn.LSTM | nn.GRU;

/** Runs forward; returns [output, every final state stacked on dim 0]. */
function run(m: Recurrent, x: Tensor, h0?: Tensor): [Tensor, Tensor] {
  if (m instanceof nn.LSTM) {
    const [out, [h, c]] = m.forward(x, h0 === undefined ? undefined : [h0, h0.mul(0.5)]);
    return [out, cat([h, c], 0)];
  }
  const [out, h] = (m as nn.RNN | nn.GRU).forward(x, h0);
  return [out, h];
}

const builders: [string, () => Recurrent][] = [
  ["RNN tanh, 2 layers, bidirectional", () => new nn.RNN(6, 8, { numLayers: 2, bidirectional: true })],
  ["LSTM, 2 layers, bidirectional", () => new nn.LSTM(6, 8, { numLayers: 2, bidirectional: true })],
  ["GRU, 2 layers, batchFirst", () => new nn.GRU(6, 8, { numLayers: 2, batchFirst: true })],
];

describe.each(devices)("recurrent layers, deterministic mode on %s", (device) => {
  beforeAll(() => useDeterministicAlgorithms(true));
  afterAll(() => useDeterministicAlgorithms(false));

  it.each(builders)("%s: each sequence of a batch equals the sequence run alone (output, states, input gradient)", async (_name, make) => {
    manualSeed(21);
    const m = make().to(device);
    const batchDim = m.batchFirst ? 0 : 1;
    const steps = 6;
    for (const batch of [1, 3, 8]) {
      // Wide magnitudes make any reassociation visible.
      const shape = m.batchFirst ? [batch, steps, 6] : [steps, batch, 6];
      const x = randn(shape).mul(randn(shape).mul(2).exp()).to(device).requiresGrad_();
      const h0 = randn([m.numLayers * m.numDirections, batch, 8]).to(device);
      const [out, states] = run(m, x, h0);
      out.sum().add(states.mul(states).sum()).backward();
      const gradFull = x.grad!;
      for (let b = 0; b < batch; b++) {
        const xb = x.detach().narrow(batchDim, b, 1).requiresGrad_();
        const [outB, statesB] = run(m, xb, h0.narrow(1, b, 1));
        outB.sum().add(statesB.mul(statesB).sum()).backward();
        const what = `batch ${batch}, sequence ${b}`;
        expect(await difference(out.narrow(batchDim, b, 1), outB), `${what}: output`).toBe("");
        expect(await difference(states.narrow(1, b, 1), statesB), `${what}: final states`).toBe("");
        expect(await difference(gradFull.narrow(batchDim, b, 1), xb.grad!), `${what}: input gradient`).toBe("");
      }
    }
  });
});

describe("recurrent layers: thread invariance (cpu, flag on)", () => {
  const threadsBefore = getNumThreads();
  beforeAll(() => useDeterministicAlgorithms(true));
  afterAll(() => {
    useDeterministicAlgorithms(false);
    setNumThreads(threadsBefore);
  });

  it.each(builders)("%s: setNumThreads(1), (2) and (3) give identical forward and backward bits", async (_name, make) => {
    const results: string[][] = [];
    for (const threads of [1, 2, 3]) {
      setNumThreads(threads);
      manualSeed(5);
      const m = make();
      const x = randn(m.batchFirst ? [16, 9, 6] : [9, 16, 6]).requiresGrad_();
      const [out, states] = run(m, x);
      out.mul(out).sum().add(states.sum()).backward();
      results.push([await sha256(out), await sha256(states), await sha256(x.grad!), ...(await Promise.all(m.parameters().map((p) => sha256(p.grad!))))]);
    }
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
  });
});

const hasWebGPU = devices.includes("webgpu");

describe.runIf(hasWebGPU)("recurrent layers: CPU ≡ WebGPU, bit for bit (deterministic mode)", () => {
  beforeAll(() => useDeterministicAlgorithms(true));
  afterAll(() => useDeterministicAlgorithms(false));

  const STEPS = 4;
  it.each([
    ["LSTM", () => new nn.LSTM(5, 8, { numLayers: 2, bidirectional: true, dropout: 0.25 })],
    ["GRU", () => new nn.GRU(5, 8, { numLayers: 2, bidirectional: true, dropout: 0.25, batchFirst: true })],
  ] as [string, () => nn.LSTM | nn.GRU][])(`%s, 2 layers, bidirectional, dropout: ${STEPS} AdamW steps give the same losses and parameters`, async (_name, make) => {
    manualSeed(1);
    const cpu = make();
    const head = new nn.Linear(16, 3);
    const gpu = make();
    gpu.loadStateDict(cpu.stateDict());
    gpu.to("webgpu");
    const gpuHead = new nn.Linear(16, 3);
    gpuHead.loadStateDict(head.stateDict());
    gpuHead.to("webgpu");
    manualSeed(2);
    const x = randn(cpu.batchFirst ? [4, 6, 5] : [6, 4, 5]);
    const y = randn(cpu.batchFirst ? [4, 6, 3] : [6, 4, 3]);
    const setups = [
      { rnn: cpu, head, x, y },
      { rnn: gpu, head: gpuHead, x: x.to("webgpu"), y: y.to("webgpu") },
    ].map((s) => ({ ...s, optimizer: new optim.AdamW([...s.rnn.parameters(), ...s.head.parameters()], { lr: 1e-2 }) }));
    const losses: Tensor[][] = [[], []];
    for (let step = 0; step < STEPS; step++) {
      setups.forEach((s, d) => {
        manualSeed(100 + step);
        s.optimizer.zeroGrad();
        const [out] = run(s.rnn, s.x);
        const loss = nn.functional.mseLoss(s.head.forward(out), s.y);
        loss.backward();
        s.optimizer.step();
        losses[d]!.push(loss.detach());
      });
    }
    for (let step = 0; step < STEPS; step++) expect(await difference(losses[0]![step]!, losses[1]![step]!), `loss at step ${step}`).toBe("");
    const gpuParams = new Map(setups[1]!.rnn.namedParameters());
    for (const [name, p] of setups[0]!.rnn.namedParameters()) {
      expect(await difference(p, gpuParams.get(name)!), `${name} after ${STEPS} steps`).toBe("");
    }
    expect((await losses[0]![STEPS - 1]!.item()) as number).toBeLessThan((await losses[0]![0]!.item()) as number);
  });
});
