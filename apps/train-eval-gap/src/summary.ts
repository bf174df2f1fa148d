// The results as words: the terminal tables, and the one JSON object `--json` prints. Both are
// built from the same Results, so the terminal, the JSON and the HTML report cannot disagree.
import { nn } from "lockstep";
import type { Gap, LogitGap } from "./compare.js";
import { explanations, verdict, wrap, type DoctorRecord } from "./doctor.js";
import type { Results } from "./experiment.js";

/** A difference as a short string: exactly "0" when bitwise equal, else three significant digits. */
export function formatDiff(value: number): string {
  if (value === 0) return "0";
  if (!Number.isFinite(value)) return String(value);
  return value.toExponential(2);
}

export function formatPercent(value: number): string {
  return `${(100 * value).toFixed(1)} %`;
}

export function flagName(deterministic: boolean): string {
  return deterministic ? "on" : "off";
}

/** A plain-text table: first column left-aligned, the others right-aligned. */
export function textTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  ");
  return [line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

function gapCells(gap: Gap): string[] {
  return [formatDiff(gap.maxAbsDiff), `${gap.differingElements} / ${gap.totalElements}`, String(gap.maxUlp)];
}

/** Rows for the main table: one per backend × flag. Shared with the HTML report. */
export function runTable(results: Results): { headers: string[]; rows: string[][] } {
  const small = results.options.evalBatchSize;
  const large = results.options.batchSize;
  return {
    headers: ["backend", "flag", `accuracy (b${small})`, `max |b${small}−b${large}|`, "differing logits", "max ulp", "changed predictions"],
    rows: results.runs.map((r) => [
      r.backend,
      flagName(r.deterministic),
      formatPercent(r.accuracy),
      ...gapCells(r.batch1VsBatch16),
      `${r.batch1VsBatch16.changedPredictions} / ${results.data.test.count}`,
    ]),
  };
}

export function crossBackendTable(results: Results): { headers: string[]; rows: string[][] } | undefined {
  if (results.cpuVsWebgpu === null) return undefined;
  const rows = results.cpuVsWebgpu.map((c) => [`batch ${c.evalBatchSize}`, flagName(c.deterministic), ...gapCells(c.gap), String(c.gap.changedPredictions)]);
  for (const c of results.seedCpuVsWebgpu ?? []) rows.push([c.experiment, flagName(c.deterministic), ...gapCells(c.gap), "-"]);
  return { headers: ["cpu vs webgpu", "flag", "max |cpu−webgpu|", "differing", "max ulp", "changed predictions"], rows };
}

export function seedTable(results: Results): { headers: string[]; rows: string[][] } {
  return {
    headers: ["experiment", "backend", "flag", "max |b1−full|", "differing outputs", "max ulp"],
    rows: results.seedExperiments.map((r) => [r.experiment, r.backend, flagName(r.deterministic), ...gapCells(r.batch1VsFullBatch)]),
  };
}

function pytorchCheck(results: Results): string {
  const seed = String(results.options.seed);
  const lines = results.seedExperiments
    .filter((r, i, all) => all.findIndex((o) => o.experiment === r.experiment) === i)
    .map((r) => `  ${r.experiment}: weight[0, :4] = [${r.firstWeights.map((v) => v.toPrecision(8)).join(", ")}], x[0, :4] = [${r.firstInputs.map((v) => v.toPrecision(8)).join(", ")}]`);
  return [`Seed experiments (seed ${seed}; PyTorch draws the same numbers after torch.manual_seed(${seed})):`, ...lines].join("\n");
}

/** One sentence per flag-off run, saying whether a gap showed and what that means. */
export function flagOffNotes(results: Results): string[] {
  const small = results.options.evalBatchSize;
  const large = results.options.batchSize;
  return results.runs
    .filter((r) => !r.deterministic)
    .map((r) =>
      r.batch1VsBatch16.differingElements > 0
        ? `${r.backend}, flag off: the fast kernels sum a batch of ${small} in a different order than a batch of ${large}, ` +
          `so ${r.batch1VsBatch16.differingElements} of ${r.batch1VsBatch16.totalElements} logits change and ${r.batch1VsBatch16.changedPredictions} predictions with them.`
        : `${r.backend}, flag off: no gap either; this backend's kernels are batch invariant whatever the flag.`,
    );
}

/** The "where does the gap come from" section: the doctor's table, a verdict and what each row means. */
export function formatDoctor(doctor: DoctorRecord | null): string {
  if (doctor === null) return "\nWhere does the gap come from: skipped (the test set is smaller than one training batch).";
  const { report } = doctor;
  const texts = explanations(report.settings.evalBatch, report.settings.trainBatch);
  const lines = [
    `\nWhere does the gap come from? The trained model on ${doctor.images} test images (${doctor.backend}), one cause switched at a time, then all together`,
    nn.utils.formatDiscrepancyReport(report),
    "",
    ...verdict(report),
    "",
    "What the rows mean:",
    ...report.sources.flatMap((r) => {
      const [first, ...rest] = wrap(texts[r.source], 100, " ".repeat(13));
      return [`  ${r.source.padEnd(10)} ${first!.trimStart()}`, ...rest];
    }),
  ];
  return lines.join("\n");
}

/** Everything a person reads in the terminal, after training. */
export function formatText(results: Results): string {
  const { options } = results;
  const parts: string[] = [];
  parts.push(`Training: ${results.trainingPolicy}.`);
  if (results.weightsIdenticalAcrossBackends !== null) {
    parts.push(`Weights trained on cpu and on webgpu: ${results.weightsIdenticalAcrossBackends ? "bitwise identical" : "DIFFERENT"}.`);
  }
  const main = runTable(results);
  parts.push(
    `\nTest set (${results.data.test.count} images), eval mode: batch ${options.evalBatchSize} vs batch ${options.batchSize}, same weights, per backend and flag\n` +
      textTable(main.headers, main.rows),
  );
  const notes = flagOffNotes(results);
  if (notes.length > 0) parts.push(notes.join("\n"));
  const cross = crossBackendTable(results);
  if (cross !== undefined) parts.push(`\nSame computation on cpu and on webgpu\n${textTable(cross.headers, cross.rows)}`);
  parts.push(formatDoctor(results.doctor));
  const seeds = seedTable(results);
  parts.push(`\n${pytorchCheck(results)}\n${textTable(seeds.headers, seeds.rows)}`);
  parts.push(
    results.problems.length === 0
      ? `\nWith useDeterministicAlgorithms(true) every comparison above is bitwise equal.`
      : `\nNOT bitwise equal with the flag on:\n${results.problems.map((p) => `  - ${p}`).join("\n")}`,
  );
  return parts.join("\n");
}

function gapJson(gap: LogitGap | Gap): Record<string, number> {
  const out: Record<string, number> = {
    maxAbsDiff: gap.maxAbsDiff,
    differingElements: gap.differingElements,
    totalElements: gap.totalElements,
    maxUlp: gap.maxUlp,
  };
  if ("changedPredictions" in gap) out.changedPredictions = gap.changedPredictions;
  return out;
}

/** The object `--json` prints. `runs[].batch1VsBatch16` compares the two eval batch sizes in `settings`. */
export function toJson(results: Results, reportPath: string | null): Record<string, unknown> {
  const { options, data } = results;
  return {
    ok: results.problems.length === 0,
    problems: results.problems,
    settings: {
      backends: results.setup.backends,
      deterministic: options.deterministic,
      epochs: options.epochs,
      batchSize: options.batchSize,
      evalBatchSize: options.evalBatchSize,
      seed: String(options.seed),
      model: options.model,
      threads: results.threads,
      trainSize: data.train.count,
      testSize: data.test.count,
    },
    data: { source: data.source, split: data.split },
    model: results.model,
    modelKind: options.model,
    backendNotes: results.setup.notes,
    trainingPolicy: results.trainingPolicy,
    training: results.training.map((t) => ({
      backend: t.backend,
      steps: t.steps,
      samples: t.samples,
      seconds: t.seconds,
      samplesPerSecond: t.samplesPerSecond,
      finalLoss: t.finalLoss,
      losses: t.losses,
    })),
    weightsIdenticalAcrossBackends: results.weightsIdenticalAcrossBackends,
    runs: results.runs.map((r) => ({
      backend: r.backend,
      deterministic: r.deterministic,
      accuracy: r.accuracy,
      accuracyLargeBatch: r.accuracyLargeBatch,
      batch1VsBatch16: gapJson(r.batch1VsBatch16),
      evalSeconds: r.evalSeconds,
    })),
    cpuVsWebgpu:
      results.cpuVsWebgpu === null
        ? null
        : {
            logits: results.cpuVsWebgpu.map((c) => ({ deterministic: c.deterministic, evalBatchSize: c.evalBatchSize, ...gapJson(c.gap) })),
            seedExperiments: (results.seedCpuVsWebgpu ?? []).map((c) => ({ experiment: c.experiment, deterministic: c.deterministic, ...gapJson(c.gap) })),
          },
    seedExperiments: results.seedExperiments.map((r) => ({
      experiment: r.experiment,
      seed: r.seed,
      backend: r.backend,
      deterministic: r.deterministic,
      batch1VsFullBatch: gapJson(r.batch1VsFullBatch),
      firstWeights: r.firstWeights,
      firstBias: r.firstBias,
      firstInputs: r.firstInputs,
      firstOutputs: r.firstOutputs,
    })),
    sources: results.doctor?.report.sources.map((r) => ({ ...r, explanation: explanations(options.evalBatchSize, options.batchSize)[r.source] })) ?? [],
    doctor:
      results.doctor === null
        ? null
        : { backend: results.doctor.backend, images: results.doctor.images, settings: results.doctor.report.settings, seconds: results.doctor.report.seconds },
    report: reportPath,
    seconds: results.seconds,
  };
}
