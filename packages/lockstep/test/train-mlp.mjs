// Trains a small MLP with Dropout and AdamW in deterministic mode and prints the SHA-256 of its
// final weights. Run as a script (`node train-mlp.mjs <device> <steps>`) by run-to-run.test.ts,
// once per process, against the built `lockstep` package; the test also imports `train` to get
// the same run in its own process. Plain JavaScript so that node runs it without a build step.
import { createHash } from "node:crypto";
import { pathToFileURL } from "node:url";
import * as lockstep from "lockstep";

const { manualSeed, nn, optim, randint, randn, useDeterministicAlgorithms, webgpu } = lockstep;

/** SHA-256 (hex) of every parameter's float32 bytes, in parameter order, after `steps` steps on `device`. */
export async function train(device, steps) {
  useDeterministicAlgorithms(true);
  if (device === "webgpu") await webgpu.init();
  manualSeed(11);
  const model = new nn.Sequential(
    new nn.Linear(10, 32),
    new nn.GELU(),
    new nn.Dropout(0.2),
    new nn.Linear(32, 32),
    new nn.LayerNorm(32),
    new nn.Tanh(),
    new nn.Dropout(0.1),
    new nn.Linear(32, 4),
  ).to(device);
  const x = randn([24, 10]).to(device);
  const y = randint(0, 4, [24], { dtype: "int32" }).to(device);
  const optimizer = new optim.AdamW(model.parameters(), { lr: 5e-3 });
  for (let step = 0; step < steps; step++) {
    lockstep.scope(() => {
      optimizer.zeroGrad();
      nn.functional.crossEntropy(model.forward(x), y).backward();
      optimizer.step();
    });
  }
  const hash = createHash("sha256");
  for (const p of model.parameters()) {
    const values = Float32Array.from(await p.data());
    hash.update(new Uint8Array(values.buffer));
  }
  useDeterministicAlgorithms(false);
  return hash.digest("hex");
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [device = "cpu", steps = "20"] = process.argv.slice(2);
  const sha256 = await train(device, Number(steps));
  console.log(JSON.stringify({ device, steps: Number(steps), sha256 }));
  // Dawn's teardown at exit is not needed for the answer; leave at once.
  process.exit(0);
}
