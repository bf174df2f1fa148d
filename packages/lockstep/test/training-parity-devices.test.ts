// The nn training-parity cases (fixtures/nn/generate.py, PyTorch 1.13) on every device: the model
// and data are built on the CPU from the seed, moved to the device, and trained there — dropout
// masks on the device come from the same generator stream, so losses and final weights must match
// PyTorch within 1e-5 on webgpu as on cpu.
import { readFileSync } from "node:fs";
import { manualSeed, nn, optim, randint, randn, useDeterministicAlgorithms, type Tensor } from "lockstep";
import { afterAll, describe, expect, it } from "vitest";
import { devices } from "./devices.js";

interface Encoded {
  dtype: string;
  shape: number[];
  [key: string]: unknown;
}

interface Phase {
  kind: "SGD" | "Adam" | "AdamW";
  options: Record<string, unknown> & { lr: number };
  steps: number;
  scheduler?: { kind: "StepLR"; stepSize: number; gamma: number } | { kind: "CosineAnnealingLR"; tMax: number; etaMin: number };
}

interface TrainingCase {
  name: string;
  seed: number;
  batch: number;
  sizes: [number, number, number];
  dropout: number;
  phases: Phase[];
  results: { losses: string[] }[];
}

const fixture = JSON.parse(
  readFileSync(new URL("../../nn/test/fixtures/training.json", import.meta.url), "utf8"),
) as { training: TrainingCase[] };

function float32OfHex(word: string): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, Number.parseInt(word, 16));
  return view.getFloat32(0);
}

function makeOptimizer(phase: Phase, params: Tensor[]): optim.Optimizer<{ lr: number }> {
  const o = phase.options as Record<string, never> & { lr: number };
  if (phase.kind === "SGD") return new optim.SGD(params, o);
  return phase.kind === "Adam" ? new optim.Adam(params, o) : new optim.AdamW(params, o);
}

afterAll(() => useDeterministicAlgorithms(false));

describe.each(devices)("training parity with PyTorch on %s", (device) => {
  for (const deterministic of [false, true]) {
    for (const c of fixture.training) {
      it(`${c.name} (deterministic: ${deterministic})`, async () => {
        useDeterministicAlgorithms(deterministic);
        manualSeed(c.seed);
        const [nIn, hidden, classes] = c.sizes;
        const x = randn([c.batch, nIn]).to(device);
        const y = randint(0, classes, [c.batch]).to(device);
        const model = new nn.Sequential(new nn.Linear(nIn, hidden), new nn.ReLU(), new nn.Dropout(c.dropout), new nn.Linear(hidden, classes)).to(device);
        for (const [p, phase] of c.phases.entries()) {
          const optimizer = makeOptimizer(phase, model.parameters());
          // Schedulers refuse unknown options, so the fixture's `kind` tag is not passed on.
          const { kind, ...schedulerOptions } = phase.scheduler ?? { kind: undefined };
          const scheduler =
            kind === undefined
              ? undefined
              : kind === "StepLR"
                ? new optim.StepLR(optimizer, schedulerOptions as { stepSize: number })
                : new optim.CosineAnnealingLR(optimizer, schedulerOptions as { tMax: number });
          const losses: number[] = [];
          for (let step = 0; step < phase.steps; step++) {
            optimizer.zeroGrad();
            const loss = nn.functional.crossEntropy(model.forward(x), y);
            loss.backward();
            optimizer.step();
            scheduler?.step();
            losses.push((await loss.item()) as number);
          }
          const want = c.results[p]!.losses.map(float32OfHex);
          losses.forEach((got, i) => {
            expect(Math.abs(got - want[i]!), `phase ${p + 1} step ${i}: ${got} vs PyTorch ${want[i]}`).toBeLessThanOrEqual(1e-5 * Math.abs(want[i]!));
          });
        }
      });
    }
  }
});
