// Training that can stop after any step, save a checkpoint, and go on in another process: a small
// MLP with Dropout, AdamW under OneCycleLR, a shuffled DataLoader (default generator), deterministic
// mode. Run as a script by resume.test.ts:
//   node resume-training.mjs <checkpoint> <out.json> <steps>
// loads the checkpoint into freshly built (differently seeded) objects, trains up to <steps> and
// writes the losses and the final weights' bits as JSON. Plain JavaScript against the built
// `lockstep` package, as an application would run it.
import { writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import * as lockstep from "lockstep";

const { manualSeed, nn, optim, randint, randn, useDeterministicAlgorithms, getRngState, setRngState } = lockstep;

export const TOTAL_STEPS = 10;

/** Fresh data, model, optimizer, scheduler and loader; `seed` sets the default generator first. */
export function build(seed) {
  useDeterministicAlgorithms(true);
  manualSeed(0);
  const x = randn([20, 4]);
  const y = randint(0, 3, [20], { dtype: "int32" });
  manualSeed(seed);
  const model = new nn.Sequential(new nn.Linear(4, 16), new nn.ReLU(), new nn.Dropout(0.3), new nn.Linear(16, 3));
  const optimizer = new optim.AdamW(model.parameters(), { lr: 0.01 });
  const scheduler = new optim.OneCycleLR(optimizer, { maxLr: 0.05, totalSteps: TOTAL_STEPS });
  const loader = new nn.data.DataLoader(new nn.data.TensorDataset(x, y), { batchSize: 6, shuffle: true });
  return { model, optimizer, scheduler, loader, step: 0 };
}

/** Trains from `run.step` up to `until` steps; returns the losses (as float32 bit patterns). */
export function train(run, until) {
  const { model, optimizer, scheduler, loader } = run;
  const losses = [];
  model.train();
  while (run.step < until) {
    for (const [xb, yb] of loader) {
      const loss = nn.functional.crossEntropy(model.forward(xb), yb);
      loss.backward();
      optimizer.step();
      scheduler.step();
      optimizer.zeroGrad();
      losses.push(new Uint32Array(Float32Array.of(loss.itemSync()).buffer)[0]);
      if (++run.step === until) return losses;
    }
  }
  return losses;
}

/** Everything needed to go on: state dicts, the loader's position and the default generator. */
export function checkpointOf(run) {
  return {
    model: run.model.stateDict(),
    optimizer: run.optimizer.stateDict(),
    scheduler: run.scheduler.stateDict(),
    loader: run.loader.stateDict(),
    rng: getRngState(),
    step: run.step,
  };
}

/** Restores a checkpoint into a run from `build`. */
export function restore(run, checkpoint) {
  run.model.loadStateDict(checkpoint.model);
  run.optimizer.loadStateDict(checkpoint.optimizer);
  run.scheduler.loadStateDict(checkpoint.scheduler);
  run.loader.loadStateDict(checkpoint.loader);
  setRngState(checkpoint.rng);
  run.step = checkpoint.step;
}

/** The bits of every parameter, in order. */
export function weightBits(model) {
  return model.parameters().map((p) => Array.from(new Uint32Array(Float32Array.from(p.dataSync()).buffer)));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [path, out, steps] = process.argv.slice(2);
  const run = build(12345);
  restore(run, await nn.load(path));
  const losses = train(run, Number(steps));
  writeFileSync(out, JSON.stringify({ losses, weights: weightBits(run.model), epoch: run.loader.epoch }));
}
