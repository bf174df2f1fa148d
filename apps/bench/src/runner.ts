// Timing: warm-up, interleaved rounds, medians. A "case" is one (library, backend, workload,
// mode, threads) combination that knows how to set itself up and run one finished iteration; this
// file decides when each case runs and for how long, and turns samples into medians. It knows no
// library and prints nothing itself (progress goes through `log`).
//
// The method, per workload:
//   1. set up every case of the workload (allocate inputs, compile, build sessions), untimed;
//   2. warm each case up — at least once (twice when it is quick or compiles on first use), and a
//      quick case keeps being called until it has run for `warmupMs`, so JavaScript engines have
//      optimised its code before timing (a training step runs its library's code paths once per
//      call; two calls leave them in the interpreter) — and estimate its time per call;
//   3. pick, per case, how many calls make one sample (tiny ops are looped so a sample lasts a few
//      milliseconds) and how many samples fit the case's time budget (at least `minReps`; raised
//      after the first sample if the warm-up overestimated);
//   4. run rounds: in every round each case still short of its count takes one sample, in an
//      order shuffled afresh each round, so a burst of machine noise lands on all libraries alike
//      instead of on whichever happened to run during it, and no case always runs right after the
//      same other case (whatever one leaves behind — garbage to collect, threads still spinning,
//      caches full of its data — would otherwise always land on the same neighbour). Cases that
//      differ only in their mode (Lockstep's fast and deterministic) take their samples one right
//      after the other, in a shuffled order: the det ÷ fast table compares them, and two samples
//      taken a few milliseconds apart see the same machine (slow phases here last seconds);
//   5. report the median sample.
import { uniformSource, type Workload } from "./workloads.js";

export type Mode = "fast" | "deterministic" | "default";

/** What a row of the table is about. `threads` is null for GPU backends. */
export interface CaseLabel {
  library: string;
  backend: string;
  workload: Workload;
  mode: Mode;
  threads: number | null;
}

export interface BenchCase extends CaseLabel {
  /** Allocates inputs and builds whatever the library needs (untimed). Throws to skip the case. */
  setup(): Promise<void> | void;
  /** Runs before every warm-up and every sample, untimed: sets global switches (thread count, deterministic flag, active backend). */
  prepare?(): Promise<void> | void;
  /**
   * One iteration, finished: the result is read back (dataSync, await data()) so lazy and
   * asynchronous libraries are timed to completion. Returns the milliseconds it measured itself
   * when the work ran elsewhere (PyTorch times inside Python); otherwise the runner's clock counts.
   */
  run(): Promise<number | void> | number | void;
  /** Frees what `setup` made. */
  teardown?(): Promise<void> | void;
  /**
   * Warm-up calls before timing. Default: two when the first call is quick (under 500 ms), else
   * one. Cases that compile on first use (shaders, jit) ask for two: their first call can take
   * seconds and says nothing about the next ones.
   */
  warmups?: number;
}

/** A library, backend or single case that could not run, and why. */
export interface Skip {
  library: string;
  backend: string;
  workload?: string;
  reason: string;
}

export interface Measurement extends CaseLabel {
  /** Per-call milliseconds of each sample, in the order taken. */
  samples: number[];
  medianMs: number;
  /** Calls per sample (more than one for very quick operations). */
  callsPerSample: number;
}

export interface RunOptions {
  /** Most samples per case. */
  reps: number;
  /** Fewest samples per case, whatever its budget says. */
  minReps: number;
  /** Time a case may spend on samples, in ms; slow cases take fewer samples (never fewer than minReps). */
  caseBudgetMs: number;
  /** A sample of a quick operation loops it until the sample lasts about this long. */
  targetSampleMs: number;
  /** Quick cases keep warming up until their warm-up calls add up to this many ms (0: off). */
  warmupMs?: number;
  log(line: string): void;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * The q-quantile (0 ≤ q ≤ 1) with linear interpolation between the two nearest order statistics
 * (the usual "type 7": q = 0.5 is the median, 0.25 and 0.75 the quartiles).
 */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((x, y) => x - y);
  const at = q * (sorted.length - 1);
  const lo = Math.floor(at);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (at - lo) * (sorted[hi]! - sorted[lo]!);
}

export function caseName(c: CaseLabel): string {
  const parts = [`${c.library} ${c.backend}`];
  if (c.mode !== "default") parts.push(c.mode);
  if (c.threads !== null) parts.push(`${c.threads}T`);
  return parts.join(" ");
}

function message(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n")[0]!.slice(0, 300);
}

/** Times `calls` iterations and returns the per-call milliseconds. */
async function sample(c: BenchCase, calls: number): Promise<number> {
  let total = 0;
  for (let i = 0; i < calls; i++) {
    await c.prepare?.();
    const start = performance.now();
    const reported = await c.run();
    const elapsed = performance.now() - start;
    total += typeof reported === "number" ? reported : elapsed;
  }
  return total / calls;
}

async function safeTeardown(c: BenchCase): Promise<void> {
  try {
    await c.teardown?.();
  } catch {
    // A failed teardown must not stop the run; the process exits at the end anyway.
  }
}

interface Planned {
  c: BenchCase;
  calls: number;
  reps: number;
  samples: number[];
}

function affordableReps(perSampleMs: number, options: RunOptions): number {
  const affordable = Math.floor(options.caseBudgetMs / Math.max(perSampleMs, 1e-3));
  return Math.max(options.minReps, Math.min(options.reps, affordable));
}

/**
 * The most calls one sample loops. High enough that a sample of the quickest calls here (an MLP's
 * inference at batch 1, ~0.05 ms) still lasts `targetSampleMs`: a 100-call cap left those samples
 * at 5 ms, short enough that one hiccup of the machine moved a sample by a fifth.
 */
const MAX_CALLS_PER_SAMPLE = 1000;

/** After the first sample: a case whose warm-up still included compiling gets the samples it can afford. */
function replan(p: Planned, options: RunOptions): void {
  const first = p.samples[0]! * p.calls;
  p.reps = Math.max(p.reps, affordableReps(first, options));
}

/** The rounds' orders come from this seed, so two runs sample their cases in the same orders. */
const ORDER_SEED = 0x5eed;

/** A Fisher–Yates shuffle of a copy of `items`. */
export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * The cases grouped by everything but their mode (library, backend, threads), in order of first
 * appearance: the groups whose members `runWorkload` samples back to back.
 */
function modeSiblings<T extends { c: CaseLabel }>(items: readonly T[]): T[][] {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = `${item.c.library} ${item.c.backend} ${item.c.threads ?? "-"}`;
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [item]);
    else group.push(item);
  }
  return [...groups.values()];
}

/** Runs one workload's cases interleaved; returns their measurements and the cases that failed. */
export async function runWorkload(
  workload: Workload,
  cases: readonly BenchCase[],
  options: RunOptions,
): Promise<{ measurements: Measurement[]; skipped: Skip[] }> {
  const skipped: Skip[] = [];
  const skip = (c: BenchCase, stage: string, error: unknown) => {
    skipped.push({ library: c.library, backend: c.backend, workload: workload.name, reason: `${stage} failed: ${message(error)}` });
    options.log(`  skip ${caseName(c)}: ${stage} failed: ${message(error)}`);
  };

  const ready: BenchCase[] = [];
  for (const c of cases) {
    try {
      await c.setup();
      ready.push(c);
    } catch (error) {
      skip(c, "setup", error);
      await safeTeardown(c);
    }
  }

  const planned: Planned[] = [];
  for (const c of ready) {
    try {
      let estimate = await sample(c, 1);
      const warmups = c.warmups ?? (estimate < 500 ? 2 : 1);
      for (let i = 1; i < warmups; i++) estimate = await sample(c, 1);
      // Time-based: the first calls (compiling) do not count towards it.
      const recent: number[] = [estimate];
      for (let spent = estimate; spent < (options.warmupMs ?? 0) && recent.length < 10_000; spent += recent.at(-1)!) {
        recent.push(await sample(c, 1));
      }
      if (recent.length > 1) estimate = median(recent.slice(-Math.min(recent.length, 9)));
      const calls = Math.max(1, Math.min(MAX_CALLS_PER_SAMPLE, Math.floor(options.targetSampleMs / Math.max(estimate, 1e-3))));
      const reps = affordableReps(estimate * calls, options);
      planned.push({ c, calls, reps, samples: [] });
      options.log(`  warm ${caseName(c)}: ${estimate.toFixed(2)} ms/call → ${reps} samples × ${calls} call(s)`);
    } catch (error) {
      skip(c, "warm-up", error);
      await safeTeardown(c);
    }
  }

  let live = planned.slice();
  const random = uniformSource(ORDER_SEED);
  // p.reps may grow after round 0 (replan), so the loop asks again every round.
  for (let round = 0; live.some((p) => p.samples.length < p.reps); round++) {
    const order = shuffled(modeSiblings(live), random).flatMap((group) => shuffled(group, random));
    for (const p of order) {
      if (p.samples.length >= p.reps) continue;
      try {
        p.samples.push(await sample(p.c, p.calls));
        if (round === 0) replan(p, options);
      } catch (error) {
        skip(p.c, "timed run", error);
        live = live.filter((q) => q !== p);
        await safeTeardown(p.c);
      }
    }
  }

  for (const p of live) await safeTeardown(p.c);
  const measurements = live.map((p) => ({
    library: p.c.library,
    backend: p.c.backend,
    workload: p.c.workload,
    mode: p.c.mode,
    threads: p.c.threads,
    samples: p.samples,
    medianMs: median(p.samples),
    callsPerSample: p.calls,
  }));
  return { measurements, skipped };
}

// ---------------------------------------------------------------------------------------------
// What each peer module hands back.

/** What a peer module is told about the run. */
export interface PeerContext {
  workloads: readonly Workload[];
  /** Whether the user's --filter keeps this library/backend (and workload, when given). */
  wants(library: string, backend: string, workload?: Workload): boolean;
  /** False with --no-webgpu. */
  webgpu: boolean;
  log(line: string): void;
}

/** A peer's cases, the parts it had to skip, and lines for the report (versions, adapters). */
export interface PeerSetup {
  cases: BenchCase[];
  skipped: Skip[];
  notes: string[];
  /** Releases devices, sessions and subprocesses after the run. */
  close?(): Promise<void> | void;
}

/** The cases of `ctx.workloads` that the filter keeps, for one library/backend. */
export function wantedWorkloads(ctx: PeerContext, library: string, backend: string, accept: (w: Workload) => boolean = () => true): Workload[] {
  return ctx.workloads.filter((w) => accept(w) && ctx.wants(library, backend, w));
}
