// The experiment from start to finish, without any printing: load the data, train once per
// backend, evaluate the same weights under each flag setting with the small and the large eval
// batch, compare everything bitwise, and rerun the seed thread's two Linear experiments.
//
// Why train once per backend, with the flag on, and evaluate under both flags: the flag is a
// property of the kernels, not of the weights. Evaluating one set of weights under both settings
// means the flag-off and flag-on rows differ only in the evaluation kernels, so a gap can only come
// from batch size × kernel choice — not from two trainings that drifted apart. Training with the
// flag on also makes the weights trained on the CPU and on WebGPU bitwise identical, which this
// file checks, so the CPU-vs-WebGPU comparison tests evaluation on identical weights too.
import { Generator, getNumThreads, randperm, setNumThreads } from "lockstep";
import { setUpBackends, type BackendName, type BackendSetup } from "./backends.js";
import { absoluteDifferences, accuracy, compareArrays, compareLogits, type Gap, type LogitGap } from "./compare.js";
import { CLASSES, loadMnist, type MnistSubsets } from "./data.js";
import { evaluateLogits, withDeterministic } from "./evaluate.js";
import type { Options } from "./options.js";
import { SEED_EXPERIMENTS, runSeedExperiment, type SeedExperimentResult } from "./seed-experiments.js";
import { MODEL_DESCRIPTIONS, parameterValues, train } from "./train.js";
import { DOCTOR_IMAGES, doctorProblems, runDoctor, type DoctorRecord } from "./doctor.js";

export const TRAINING_POLICY =
  "trained once per backend with the deterministic flag on (batch size as given, dropout active); " +
  "each flag setting then evaluates those same weights in eval mode, so flag-off and flag-on rows differ only in the evaluation kernels";

export interface TrainingRecord {
  backend: BackendName;
  losses: number[];
  steps: number;
  samples: number;
  seconds: number;
  samplesPerSecond: number;
  finalLoss: number;
}

export interface RunRecord {
  backend: BackendName;
  deterministic: boolean;
  /** Accuracy of the small-batch (default batch 1) predictions. */
  accuracy: number;
  accuracyLargeBatch: number;
  batch1VsBatch16: LogitGap;
  evalSeconds: { small: number; large: number };
  /** Per-element |small − large| over all logits, for the histogram. */
  differences: Float64Array;
  logits: { small: Float32Array; large: Float32Array };
}

export interface CrossBackendRecord {
  deterministic: boolean;
  evalBatchSize: number;
  gap: LogitGap;
}

export interface SeedCrossBackendRecord {
  experiment: string;
  deterministic: boolean;
  gap: Gap;
}

export interface Results {
  options: Options;
  threads: number;
  data: MnistSubsets;
  model: string;
  setup: BackendSetup;
  trainingPolicy: string;
  training: TrainingRecord[];
  /** Whether every backend's trained weights are bitwise equal to the CPU's; null with one backend. */
  weightsIdenticalAcrossBackends: boolean | null;
  runs: RunRecord[];
  cpuVsWebgpu: CrossBackendRecord[] | null;
  seedExperiments: SeedExperimentResult[];
  seedCpuVsWebgpu: SeedCrossBackendRecord[] | null;
  /** "Where does the gap come from": the discrepancy doctor on the first backend's model; null when the test set is too small. */
  doctor: DoctorRecord | null;
  /** Deterministic comparisons that were not bitwise equal; empty when Lockstep kept its promise. */
  problems: string[];
  seconds: number;
}

function find<T extends { backend: string; deterministic: boolean }>(list: T[], backend: string, deterministic: boolean): T | undefined {
  return list.find((r) => r.backend === backend && r.deterministic === deterministic);
}

/** Runs everything the options ask for. `log` receives progress lines meant for a human. */
export async function runExperiment(options: Options, log: (line: string) => void): Promise<Results> {
  const started = performance.now();
  if (options.threads !== undefined) setNumThreads(options.threads);
  const setup = await setUpBackends(options.backend);
  for (const note of setup.notes) log(`  ${note}`);

  // A generator of its own for the split, so the split does not move the training stream.
  const splitGenerator = new Generator().manualSeed(options.seed);
  const data = loadMnist({
    trainSize: options.trainSize,
    testSize: options.testSize,
    seed: options.seed,
    permutation: (n) => randperm(n, { generator: splitGenerator }).dataSync() as Int32Array,
  });

  const training: TrainingRecord[] = [];
  const runs: RunRecord[] = [];
  const weights = new Map<BackendName, Float32Array>();
  let doctor: DoctorRecord | null = null;
  for (const backend of setup.backends) {
    const trained = await withDeterministic(true, () =>
      train(data.train, { model: options.model, device: backend, epochs: options.epochs, batchSize: options.batchSize, seed: options.seed, progress: options.progress }),
    );
    training.push({
      backend,
      losses: trained.losses,
      steps: trained.steps,
      samples: trained.samples,
      seconds: trained.seconds,
      samplesPerSecond: trained.samplesPerSecond,
      finalLoss: trained.losses[trained.losses.length - 1] ?? NaN,
    });
    log(`  trained on ${backend}: ${trained.steps} steps in ${trained.seconds.toFixed(1)} s (${trained.samplesPerSecond.toFixed(0)} samples/s), last loss ${trained.losses.at(-1)?.toFixed(4)}`);
    weights.set(backend, await parameterValues(trained.model));

    for (const deterministic of options.deterministic) {
      const [small, large] = await withDeterministic(deterministic, async () => [
        await evaluateLogits(trained.model, data.test, options.evalBatchSize, backend),
        await evaluateLogits(trained.model, data.test, options.batchSize, backend),
      ]);
      runs.push({
        backend,
        deterministic,
        accuracy: accuracy(small!.logits, data.test.labels, CLASSES),
        accuracyLargeBatch: accuracy(large!.logits, data.test.labels, CLASSES),
        batch1VsBatch16: compareLogits(small!.logits, large!.logits, CLASSES),
        evalSeconds: { small: small!.seconds, large: large!.seconds },
        differences: absoluteDifferences(small!.logits, large!.logits),
        logits: { small: small!.logits, large: large!.logits },
      });
      log(`  evaluated on ${backend}, flag ${deterministic ? "on" : "off"}: batch ${options.evalBatchSize} in ${small!.seconds.toFixed(1)} s, batch ${options.batchSize} in ${large!.seconds.toFixed(1)} s`);
    }
    if (backend === setup.backends[0]) {
      const doctorStarted = performance.now();
      doctor = await runDoctor(trained.model, data.test, {
        backend,
        devices: setup.backends,
        batchSize: options.batchSize,
        evalBatchSize: options.evalBatchSize,
        flags: options.deterministic,
        maxImages: DOCTOR_IMAGES[options.model],
      });
      log(`  where the gap comes from: ${doctor === null ? "skipped, the test set is smaller than one batch" : `${doctor.images} test images`} in ${((performance.now() - doctorStarted) / 1000).toFixed(1)} s`);
    }
    if (backend !== "cpu") for (const t of [...trained.model.parameters(), ...trained.model.buffers()]) t.dispose();
  }

  const seedExperiments: SeedExperimentResult[] = [];
  const seedStarted = performance.now();
  for (const spec of SEED_EXPERIMENTS) {
    for (const backend of setup.backends) {
      for (const deterministic of options.deterministic) {
        seedExperiments.push(await runSeedExperiment(spec, options.seed, backend, deterministic));
      }
    }
  }
  log(`  seed experiments in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s`);

  const cpuWeights = weights.get("cpu");
  const webgpuWeights = weights.get("webgpu");
  const both = cpuWeights !== undefined && webgpuWeights !== undefined;
  const weightsIdenticalAcrossBackends = both ? compareArrays(cpuWeights, webgpuWeights).differingElements === 0 : null;

  let cpuVsWebgpu: CrossBackendRecord[] | null = null;
  let seedCpuVsWebgpu: SeedCrossBackendRecord[] | null = null;
  if (both) {
    cpuVsWebgpu = [];
    seedCpuVsWebgpu = [];
    for (const deterministic of options.deterministic) {
      const cpu = find(runs, "cpu", deterministic)!;
      const gpu = find(runs, "webgpu", deterministic)!;
      cpuVsWebgpu.push({ deterministic, evalBatchSize: options.evalBatchSize, gap: compareLogits(cpu.logits.small, gpu.logits.small, CLASSES) });
      cpuVsWebgpu.push({ deterministic, evalBatchSize: options.batchSize, gap: compareLogits(cpu.logits.large, gpu.logits.large, CLASSES) });
      for (const spec of SEED_EXPERIMENTS) {
        const pick = (backend: string) => seedExperiments.find((r) => r.experiment === spec.name && r.backend === backend && r.deterministic === deterministic)!;
        seedCpuVsWebgpu.push({ experiment: spec.name, deterministic, gap: compareArrays(pick("cpu").fullOutput, pick("webgpu").fullOutput) });
      }
    }
  }

  const problems: string[] = [];
  for (const run of runs) {
    if (run.deterministic && run.batch1VsBatch16.differingElements > 0) {
      problems.push(`${run.backend}, flag on: ${run.batch1VsBatch16.differingElements} logits differ between batch ${options.evalBatchSize} and batch ${options.batchSize}`);
    }
  }
  for (const r of seedExperiments) {
    if (r.deterministic && r.batch1VsFullBatch.differingElements > 0) {
      problems.push(`${r.experiment} on ${r.backend}, flag on: ${r.batch1VsFullBatch.differingElements} outputs differ between batch 1 and the full batch`);
    }
  }
  if (doctor !== null) problems.push(...doctorProblems(doctor, setup.webgpuAdapter?.selfTestPassed ?? false));
  // Across backends the promise holds only where the adapter's start-up self-test passed; where it
  // failed Lockstep has already warned, so a difference is reported but not counted as a failure.
  if (setup.webgpuAdapter?.selfTestPassed) {
    if (weightsIdenticalAcrossBackends === false) problems.push("weights trained on cpu and webgpu with the flag on differ");
    for (const c of cpuVsWebgpu ?? []) {
      if (c.deterministic && c.gap.differingElements > 0) problems.push(`cpu vs webgpu, flag on, batch ${c.evalBatchSize}: ${c.gap.differingElements} logits differ`);
    }
    for (const c of seedCpuVsWebgpu ?? []) {
      if (c.deterministic && c.gap.differingElements > 0) problems.push(`cpu vs webgpu, flag on, ${c.experiment}: ${c.gap.differingElements} outputs differ`);
    }
  }

  return {
    options,
    threads: getNumThreads(),
    data,
    model: MODEL_DESCRIPTIONS[options.model],
    setup,
    trainingPolicy: TRAINING_POLICY,
    training,
    weightsIdenticalAcrossBackends,
    runs,
    cpuVsWebgpu,
    seedExperiments,
    seedCpuVsWebgpu,
    doctor,
    problems,
    seconds: (performance.now() - started) / 1000,
  };
}
