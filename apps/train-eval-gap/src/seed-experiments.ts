// The two experiments of the thread that started Lockstep, rerun as they were posted there:
//
//   torch.manual_seed(seed)
//   linear = torch.nn.Linear(4, 8)        # and Linear(768, 768)
//   x = torch.rand(16, 4)                 # and rand(128, 768)
//   full = linear(x)
//   alone = torch.cat([linear(x[i:i+1]) for i in range(len(x))])
//   (full - alone).abs().max(), (full != alone).sum()
//
// `manualSeed(s)`, then `new nn.Linear(...)`, then `rand(...)` draws exactly PyTorch's CPU numbers
// for the same seed, so the weights and inputs here are the ones PyTorch would use; the first few
// of each are reported so that claim can be checked by eye. Both are drawn on the CPU and copied to
// the backend under test, so every backend and flag sees the same numbers.
import { cat, manualSeed, nn, noGrad, rand, scope, type Tensor } from "lockstep";
import { compareArrays, type Gap } from "./compare.js";
import { withDeterministic } from "./evaluate.js";

export interface SeedExperimentSpec {
  name: string;
  inFeatures: number;
  outFeatures: number;
  rows: number;
  /** The PyTorch lines that draw the same weights and inputs. */
  pytorch: string;
}

export const SEED_EXPERIMENTS: readonly SeedExperimentSpec[] = [
  { name: "Linear(4, 8) on rand([16, 4])", inFeatures: 4, outFeatures: 8, rows: 16, pytorch: "torch.nn.Linear(4, 8); torch.rand(16, 4)" },
  {
    name: "Linear(768, 768) on rand([128, 768])",
    inFeatures: 768,
    outFeatures: 768,
    rows: 128,
    pytorch: "torch.nn.Linear(768, 768); torch.rand(128, 768)",
  },
];

export interface SeedExperimentResult {
  experiment: string;
  seed: string;
  backend: string;
  deterministic: boolean;
  /** Every row computed alone (batch 1) against the same rows of one full-batch call. */
  batch1VsFullBatch: Gap;
  /** For holding against PyTorch: `linear.weight[0, :4]`, `linear.bias[:4]`, `x[0, :4]`, `linear(x)[0, :4]`. */
  firstWeights: number[];
  firstBias: number[];
  firstInputs: number[];
  firstOutputs: number[];
  /** The full-batch output, kept for the cross-backend comparison (not written to JSON). */
  fullOutput: Float32Array;
}

function head(values: Float32Array, count = 4): number[] {
  return Array.from(values.subarray(0, count));
}

/** Draws the experiment's weights and inputs exactly as PyTorch would for `seed`, on the CPU. */
function draw(spec: SeedExperimentSpec, seed: number | bigint): { linear: nn.Linear; x: Tensor } {
  manualSeed(seed);
  const linear = new nn.Linear(spec.inFeatures, spec.outFeatures);
  const x = rand([spec.rows, spec.inFeatures]);
  return { linear, x };
}

export async function runSeedExperiment(
  spec: SeedExperimentSpec,
  seed: number | bigint,
  backend: string,
  deterministic: boolean,
): Promise<SeedExperimentResult> {
  const { linear: cpuLinear, x: cpuX } = draw(spec, seed);
  const firstWeights = head((await cpuLinear.weight.data()) as Float32Array);
  const firstBias = head((await cpuLinear.bias!.data()) as Float32Array);
  const firstInputs = head((await cpuX.data()) as Float32Array);
  const linear = cpuLinear.to(backend);
  const x = cpuX.to(backend);
  const [full, alone] = await withDeterministic(deterministic, async () => {
    const [fullT, aloneT] = scope(() =>
      noGrad(() => {
        const rows: Tensor[] = [];
        for (let i = 0; i < spec.rows; i++) rows.push(linear.forward(x.narrow(0, i, 1)));
        return [linear.forward(x), cat(rows, 0)];
      }),
    );
    const out = [(await fullT!.data()) as Float32Array, (await aloneT!.data()) as Float32Array] as const;
    fullT!.dispose();
    aloneT!.dispose();
    return out;
  });
  if (backend !== "cpu") {
    for (const p of linear.parameters()) p.dispose();
    x.dispose();
  }
  return {
    experiment: spec.name,
    seed: String(seed),
    backend,
    deterministic,
    batch1VsFullBatch: compareArrays(alone, full),
    firstWeights,
    firstBias,
    firstInputs,
    firstOutputs: head(full),
    fullOutput: full,
  };
}
