// The train/eval discrepancy doctor. "My model gives different outputs in training (batch 16) and
// in evaluation (batch 1)" usually has several causes at once, and Lockstep can switch each one
// off exactly: module mode (dropout, BatchNorm), BatchNorm's batch statistics, kernels whose
// rounding depends on the batch size, the CPU thread count, and the device. This file runs the
// same rows through the model in configurations that differ in one of those at a time (and then
// in all of them), under the deterministic flag off and on, and compares the outputs bit for bit.
//
// Measuring must leave no trace: every module's training flag, every tensor field (parameters
// and buffers, also when a layer replaces a buffer instead of updating it in place), the buffer
// values (BatchNorm's running statistics move in training mode), the deterministic flag, the
// thread count and the default generator are restored after each pass and again at the end, also
// when a pass throws. Every check of the arguments runs before anything is touched.
import { noGrad } from "@lockstep/autograd";
import {
  DTypeError,
  DeviceError,
  Tensor,
  ValueError,
  areDeterministicAlgorithmsEnabled,
  cat,
  getBackend,
  getNumThreads,
  isDeterministicAlgorithmsWarnOnlyEnabled,
  keep,
  scope,
  setNumThreads,
  useDeterministicAlgorithms,
} from "@lockstep/core";
import { getRngState, setRngState } from "@lockstep/random";
import { Dropout } from "../layers/container.js";
import { Module, type AnyModule } from "../module.js";

/** The causes of a train/eval gap the doctor can switch on and off one at a time. */
export type DiscrepancySource = "mode" | "batchStats" | "kernels" | "threads" | "device" | "combined";

/** How two sets of outputs differ, compared on their float32 bit patterns. */
export interface OutputGap {
  /** Largest |a − b| over all elements (0 when bitwise identical; Infinity when one side is NaN). */
  maxAbsDiff: number;
  /** Elements whose bit patterns differ (+0 vs −0 counts; NaN vs NaN does not). */
  differingElements: number;
  /** Elements compared. */
  totalElements: number;
  /** Largest distance in float32 units in the last place (neighbouring floats are 1 apart). */
  maxUlp: number;
  /** Rows whose argmax over the last dimension differs. */
  changedPredictions: number;
  /** Rows compared (elements / size of the last dimension). */
  totalPredictions: number;
}

/**
 * One row of the report. `effect` says how to read the numbers: `"measured"` — both sides ran and
 * were compared; `"absent"` — the model has nothing this source could change (no BatchNorm
 * layers, or a thread count that only CPU kernels read), so the two configurations are the same
 * and the gaps are zero without running; `"notMeasured"` — the comparison was not possible here
 * (one device given), gaps are null and `note` says why.
 */
export interface SourceRow {
  /** Which cause this row isolates. */
  source: DiscrepancySource;
  /** The two configurations compared, in words ("train() vs eval(), batch 16"). */
  compares: string;
  /** See the interface's description. */
  effect: "measured" | "absent" | "notMeasured";
  /** Why a row is absent or not measured, or what to keep in mind reading it. */
  note?: string;
  /** The gap with `useDeterministicAlgorithms(false)`; null when not measured under that flag. */
  flagOff: OutputGap | null;
  /** The gap with `useDeterministicAlgorithms(true)`; null when not measured under that flag. */
  flagOn: OutputGap | null;
}

/** What `explainDiscrepancy` found; plain data, so it survives JSON and `postMessage`. */
export interface DiscrepancyReport {
  /** One row per source, in the order mode, batchStats, kernels, threads, device, combined. */
  sources: SourceRow[];
  /** The settings the rows were measured with. */
  settings: {
    /** Rows of the input (its first dimension). */
    rows: number;
    /** Output shape of the whole input. */
    outputShape: number[];
    trainBatch: number;
    evalBatch: number;
    /** The input's device first, then the device it was compared with (if any). */
    devices: string[];
    /** Thread counts compared: the one in force, then the other. */
    threads: [number, number];
    /** Flag settings measured. */
    flags: boolean[];
    /** Dropout and BatchNorm-like layers found, by dotted name. */
    modeLayers: string[];
    /** Layers that normalise with batch statistics in training mode, by dotted name. */
    batchNormLayers: string[];
  };
  /** Seconds the measurement took. */
  seconds: number;
}

/** Options of `explainDiscrepancy`. */
export interface ExplainDiscrepancyOptions {
  /** Batch size used in training: the input is cut into batches of this many rows. Default: all rows. */
  trainBatch?: number;
  /** Batch size used in evaluation. Default 1. */
  evalBatch?: number;
  /**
   * Devices to compare: the input's device and at most one other (`["cpu", "webgpu"]`). Default:
   * the input's device only, so the device row is not measured.
   */
  devices?: readonly string[];
  /**
   * Thread count compared with the one in force (`getNumThreads()`). Default: 1, or 2 when 1
   * is in force.
   */
  threads?: number;
  /** Flag settings to measure under. Default `[false, true]`. */
  flags?: readonly boolean[];
}

/** One forward configuration. */
interface Config {
  mode: "train" | "eval" | "batchStats";
  batch: number;
  threads: number;
  device: string;
}

function orderedBits(bits: number): number {
  // Neighbouring floats become neighbouring integers; −0 and +0 are both 0.
  return bits >= 0x80000000 ? -(bits - 0x80000000) : bits;
}

function argmaxRows(values: Float32Array, width: number): Int32Array {
  const rows = width === 0 ? 0 : values.length / width;
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < width; c++) if (values[r * width + c]! > values[r * width + best]!) best = c;
    out[r] = best;
  }
  return out;
}

/**
 * Compares two float32 output arrays of the same [rows, …, width] shape bit for bit. Exported for
 * apps that compare outputs they computed themselves the same way the doctor does.
 */
export function compareOutputs(a: Float32Array, b: Float32Array, width: number): OutputGap {
  if (a.length !== b.length) throw new ValueError(`compareOutputs: arrays of ${a.length} and ${b.length} elements`);
  const aBits = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const bBits = new Uint32Array(b.buffer, b.byteOffset, b.length);
  let maxAbsDiff = 0;
  let differingElements = 0;
  let maxUlp = 0;
  for (let i = 0; i < a.length; i++) {
    if (aBits[i] === bBits[i]) continue;
    const x = a[i]!;
    const y = b[i]!;
    if (Number.isNaN(x) && Number.isNaN(y)) continue;
    differingElements++;
    const diff = Math.abs(x - y);
    maxAbsDiff = Number.isNaN(diff) ? Infinity : Math.max(maxAbsDiff, diff);
    const ulps = Number.isNaN(x) || Number.isNaN(y) ? Infinity : Math.abs(orderedBits(aBits[i]!) - orderedBits(bBits[i]!));
    maxUlp = Math.max(maxUlp, ulps);
  }
  const pa = argmaxRows(a, width);
  const pb = argmaxRows(b, width);
  let changedPredictions = 0;
  for (let i = 0; i < pa.length; i++) if (pa[i] !== pb[i]) changedPredictions++;
  return { maxAbsDiff, differingElements, totalElements: a.length, maxUlp, changedPredictions, totalPredictions: pa.length };
}

function zeroGap(elements: number, width: number): OutputGap {
  return { maxAbsDiff: 0, differingElements: 0, totalElements: elements, maxUlp: 0, changedPredictions: 0, totalPredictions: width === 0 ? 0 : elements / width };
}

/** True for layers that normalise with batch statistics in training mode (BatchNorm*, InstanceNorm with running stats). */
function usesBatchStatistics(module: AnyModule): boolean {
  // Duck-typed so the doctor does not depend on which norm layers exist: PyTorch's _NormBase
  // layers are the ones with track_running_stats.
  return typeof (module as { trackRunningStats?: unknown }).trackRunningStats === "boolean";
}

function checkBatch(name: string, value: unknown, rows: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new ValueError(`explainDiscrepancy: ${name} must be a positive integer, got ${String(value)}`);
  }
  if (value > rows || rows % value !== 0) {
    throw new ValueError(
      `explainDiscrepancy: ${name} ${value} does not divide the input's ${rows} rows; give a multiple of ${value} rows ` +
        `(e.g. the first ${Math.floor(rows / value) * value || value}) so every row is computed in a full batch`,
    );
  }
  return value;
}

/**
 * Everything a measurement may change, saved so that it can be put back: module modes, tensor
 * fields (by identity), buffer contents, the flag, the thread count and the default generator.
 */
class SavedState {
  readonly modes: [AnyModule, boolean][] = [];
  readonly fields: [Record<string, unknown>, string, Tensor][] = [];
  readonly buffers: [Tensor, Tensor][] = [];
  readonly deterministic = areDeterministicAlgorithmsEnabled();
  readonly warnOnly = isDeterministicAlgorithmsWarnOnlyEnabled();
  readonly threads = getNumThreads();
  readonly rng = getRngState();

  constructor(model: AnyModule) {
    for (const [, module] of model.namedModules()) {
      this.modes.push([module, module.training]);
      for (const [key, value] of Object.entries(module)) if (value instanceof Tensor) this.fields.push([module as unknown as Record<string, unknown>, key, value]);
    }
    noGrad(() => {
      for (const b of model.buffers()) this.buffers.push([b, keep(b.clone())]);
    });
  }

  /** Puts the model back (modes, fields, buffer values); flags and generator too when `all`. */
  restore(all: boolean): void {
    for (const [module, training] of this.modes) module.training = training;
    for (const [module, key, value] of this.fields) module[key] = value;
    noGrad(() => {
      for (const [target, saved] of this.buffers) if (!target.isDisposed) target.copy_(saved);
    });
    setRngState(this.rng);
    if (all) {
      useDeterministicAlgorithms(this.deterministic, { warnOnly: this.warnOnly });
      setNumThreads(this.threads);
    }
  }

  dispose(): void {
    for (const [, saved] of this.buffers) saved.dispose();
  }
}

/**
 * Measures how much each possible cause of a train/eval gap changes a model's outputs on `input`
 * (batch dimension first): module mode (`train()` vs `eval()`: dropout, BatchNorm), BatchNorm's
 * batch statistics vs its running statistics, kernels whose rounding depends on the batch size
 * (`evalBatch` vs `trainBatch` rows per forward), the CPU thread count, the device, and all of
 * them at once — each under `useDeterministicAlgorithms(false)` and `(true)`. The model, the flag,
 * the thread count and the default generator are exactly as before when it returns or throws;
 * every training-mode pass starts from the same generator state, so all of them draw the same
 * dropout masks. Print the result with `formatDiscrepancyReport`.
 *
 * Throws ValueError for batch sizes that do not divide the input's rows or a bad option,
 * DeviceError when the model and the input are on different devices or a device is not
 * available, DTypeError for non-float32 outputs.
 */
export async function explainDiscrepancy(
  model: AnyModule,
  input: Tensor,
  options: ExplainDiscrepancyOptions = {},
): Promise<DiscrepancyReport> {
  const started = performance.now();
  if (!(model instanceof Module)) throw new ValueError(`explainDiscrepancy: model must be an nn.Module, got ${String(model)}`);
  if (!(input instanceof Tensor)) throw new ValueError(`explainDiscrepancy: input must be a Tensor, got ${String(input)}`);
  if (input.shape.length === 0 || input.shape[0] === 0) {
    throw new ValueError(`explainDiscrepancy: input needs a batch dimension with at least one row, got shape [${input.shape.join(", ")}]`);
  }
  const rows = input.shape[0]!;
  const trainBatch = checkBatch("trainBatch", options.trainBatch ?? rows, rows);
  const evalBatch = checkBatch("evalBatch", options.evalBatch ?? 1, rows);
  const flags = [...(options.flags ?? [false, true])];
  if (flags.length === 0 || flags.some((f) => typeof f !== "boolean")) {
    throw new ValueError(`explainDiscrepancy: flags must be a non-empty list of booleans, got ${JSON.stringify(options.flags)}`);
  }
  const home = input.device;
  for (const [name, t] of [...model.namedParameters(), ...model.namedBuffers()]) {
    if (t.device !== home) {
      throw new DeviceError(
        `explainDiscrepancy: the model is on ${t.device} ('${name}') but the input is on ${home}; move one of them (model.to("${home}") or input.to("${t.device}"))`,
      );
    }
  }
  const devices = [...(options.devices ?? [home])];
  if (!devices.includes(home)) {
    throw new DeviceError(`explainDiscrepancy: devices [${devices.join(", ")}] must include the input's device ${home}`);
  }
  const others = [...new Set(devices.filter((d) => d !== home))];
  if (others.length > 1) throw new ValueError(`explainDiscrepancy: compare the input's device with one other device, got [${devices.join(", ")}]`);
  for (const d of others) getBackend(d); // throws DeviceError naming the device and how to register it
  const other = others[0];
  const current = getNumThreads();
  const otherThreads = options.threads ?? (current === 1 ? 2 : 1);
  if (!Number.isInteger(otherThreads) || otherThreads < 1) {
    throw new ValueError(`explainDiscrepancy: threads must be a positive integer, got ${String(options.threads)}`);
  }

  const modules = [...model.namedModules()];
  const modeLayers = modules.filter(([, m]) => (m instanceof Dropout && m.p > 0) || usesBatchStatistics(m)).map(([n]) => n || "(model)");
  const batchNormLayers = modules.filter(([, m]) => usesBatchStatistics(m)).map(([n]) => n || "(model)");

  const saved = new SavedState(model);
  let outputShape: number[] = [];
  let width = 0;
  try {
    /** Outputs of the whole input under one configuration, on the host. */
    const run = async (config: Config, deterministic: boolean): Promise<Float32Array> => {
      saved.restore(false);
      // The caller's warnOnly carries over: an op without a deterministic kernel then warns in the
      // flag-on passes instead of ending the measurement.
      useDeterministicAlgorithms(deterministic, { warnOnly: saved.warnOnly });
      setNumThreads(config.threads);
      model.train(config.mode !== "eval");
      if (config.mode === "batchStats") {
        for (const [, m] of modules) m.training = usesBatchStatistics(m);
      }
      const moved: Tensor[] = [];
      try {
        if (config.device !== home) {
          // The model's own tensors stay untouched: its fields point at device copies for this
          // pass and at the originals again in restore().
          for (const [module, key, value] of saved.fields) {
            // Detached first: a parameter's copy must not start an autograd graph.
            const detached = value.detach();
            const copy = keep(await detached.toAsync(config.device));
            detached.dispose();
            moved.push(copy);
            module[key] = copy;
          }
        }
        return await scope(async () => {
          const x = config.device === home ? input : await input.toAsync(config.device);
          const outputs = noGrad(() => {
            const parts: Tensor[] = [];
            for (let start = 0; start < rows; start += config.batch) {
              const out = model.forward(x.narrow(0, start, config.batch));
              if (!(out instanceof Tensor)) throw new ValueError(`explainDiscrepancy: the model's forward must return a Tensor, got ${String(out)}`);
              parts.push(out);
            }
            return parts.length === 1 ? parts[0]! : cat(parts, 0);
          });
          if (outputs.dtype !== "float32") throw new DTypeError(`explainDiscrepancy compares float32 outputs; the model returned ${outputs.dtype}`);
          outputShape = [...outputs.shape];
          width = outputs.shape.length < 2 ? 1 : outputs.shape[outputs.shape.length - 1]!;
          return (await outputs.data()) as Float32Array;
        });
      } finally {
        saved.restore(false);
        for (const t of moved) t.dispose();
      }
    };

    // Each configuration runs once per flag; rows that share a side reuse it.
    const cache = new Map<string, Float32Array>();
    const outputs = async (config: Config, deterministic: boolean): Promise<Float32Array> => {
      const key = JSON.stringify([config, deterministic]);
      let value = cache.get(key);
      if (value === undefined) {
        value = await run(config, deterministic);
        cache.set(key, value);
      }
      return value;
    };
    const evalAt = (batch: number, threads = current, device = home): Config => ({ mode: "eval", batch, threads, device });
    const measure = async (a: Config, b: Config, row: Omit<SourceRow, "flagOff" | "flagOn">): Promise<SourceRow> => {
      const gaps: Record<"flagOff" | "flagOn", OutputGap | null> = { flagOff: null, flagOn: null };
      for (const deterministic of flags) {
        const [x, y] = [await outputs(a, deterministic), await outputs(b, deterministic)];
        gaps[deterministic ? "flagOn" : "flagOff"] = compareOutputs(x, y, width);
      }
      return { ...row, ...gaps };
    };
    const absent = (row: Omit<SourceRow, "flagOff" | "flagOn">): SourceRow => {
      const elements = outputShape.reduce((n, s) => n * s, 1);
      const gap = () => zeroGap(elements, width);
      return { ...row, flagOff: flags.includes(false) ? gap() : null, flagOn: flags.includes(true) ? gap() : null };
    };

    const sources: SourceRow[] = [];
    sources.push(
      await measure({ mode: "train", batch: trainBatch, threads: current, device: home }, evalAt(trainBatch), {
        source: "mode",
        compares: `train() vs eval(), batch ${trainBatch}`,
        effect: "measured",
        ...(modeLayers.length === 0 ? { note: "no Dropout or BatchNorm layers found: any gap comes from a layer of your own that reads `training`" } : {}),
      }),
    );
    const batchStatsRow = {
      source: "batchStats" as const,
      compares: `batch vs running statistics, batch ${trainBatch}`,
    };
    sources.push(
      batchNormLayers.length === 0
        ? absent({ ...batchStatsRow, effect: "absent", note: "no BatchNorm layers" })
        : await measure({ mode: "batchStats", batch: trainBatch, threads: current, device: home }, evalAt(trainBatch), {
            ...batchStatsRow,
            effect: "measured",
          }),
    );
    const untracked = modules.filter(([, m]) => usesBatchStatistics(m) && !(m as { trackRunningStats?: boolean }).trackRunningStats).map(([n]) => n);
    sources.push(
      await measure(evalAt(evalBatch), evalAt(trainBatch), {
        source: "kernels",
        compares: `batch ${evalBatch} vs batch ${trainBatch}, eval()`,
        effect: "measured",
        ...(untracked.length > 0
          ? { note: `${untracked.join(", ")} keep no running statistics, so they normalise with the batch's statistics in eval() too: their outputs depend on the batch, whatever the flag` }
          : {}),
      }),
    );
    const threadsRow = { source: "threads" as const, compares: `${current} vs ${otherThreads} threads, batch ${evalBatch}, eval()` };
    sources.push(
      home !== "cpu"
        ? absent({ ...threadsRow, effect: "absent", note: `the thread count only affects CPU kernels; the input is on ${home}` })
        : otherThreads === current
          ? absent({ ...threadsRow, effect: "absent", note: "the same thread count on both sides" })
          : await measure(evalAt(evalBatch), evalAt(evalBatch, otherThreads), { ...threadsRow, effect: "measured" }),
    );
    const deviceRow = { source: "device" as const, compares: other === undefined ? `${home} only` : `${home} vs ${other}, batch ${evalBatch}, eval()` };
    sources.push(
      other === undefined
        ? { ...deviceRow, effect: "notMeasured", note: `one device given; pass devices: ["${home}", "<other>"] to compare`, flagOff: null, flagOn: null }
        : await measure(evalAt(evalBatch), evalAt(evalBatch, current, other), { ...deviceRow, effect: "measured" }),
    );
    const side = (mode: string, batch: number, device: string, threads: number) =>
      `${mode} b${batch}` + (other ? ` ${device}` : "") + (home === "cpu" ? ` ${threads} thread${threads === 1 ? "" : "s"}` : "");
    const evalSide = evalAt(evalBatch, home === "cpu" ? otherThreads : current, other ?? home);
    sources.push(
      await measure({ mode: "train", batch: trainBatch, threads: current, device: home }, evalSide, {
        source: "combined",
        compares: `${side("train()", trainBatch, home, current)} vs ${side("eval()", evalBatch, other ?? home, home === "cpu" ? otherThreads : current)}`,
        effect: "measured",
      }),
    );
    return {
      sources,
      settings: { rows, outputShape, trainBatch, evalBatch, devices: other ? [home, other] : [home], threads: [current, otherThreads], flags, modeLayers, batchNormLayers },
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    saved.restore(true);
    saved.dispose();
  }
}

function formatNumber(x: number): string {
  if (x === 0) return "0";
  if (!Number.isFinite(x)) return String(x);
  return x >= 1e-3 && x < 1e4 ? x.toPrecision(3) : x.toExponential(2);
}

/**
 * The report as a text table: one line per source and flag setting, with max |Δ|, differing
 * elements, max ulp and changed predictions, followed by the notes.
 */
export function formatDiscrepancyReport(report: DiscrepancyReport): string {
  const header = ["source", "compares", "flag", "max |Δ|", "differing", "max ulp", "changed predictions"];
  const lines: string[][] = [];
  const notes: string[] = [];
  for (const row of report.sources) {
    if (row.note) notes.push(`${row.source}: ${row.note}`);
    const measured = ([[false, row.flagOff], [true, row.flagOn]] as const).filter(([, g]) => g !== null);
    if (measured.length === 0) {
      lines.push([row.source, row.compares, "", "not measured", "", "", ""]);
      continue;
    }
    measured.forEach(([flag, gap], i) => {
      const g = gap!;
      lines.push([
        i === 0 ? row.source : "",
        i === 0 ? row.compares : "",
        flag ? "on" : "off",
        formatNumber(g.maxAbsDiff),
        `${g.differingElements} / ${g.totalElements}`,
        String(g.maxUlp),
        `${g.changedPredictions} / ${g.totalPredictions}`,
      ]);
    });
  }
  const widths = header.map((h, c) => Math.max(h.length, ...lines.map((l) => l[c]!.length)));
  const right = new Set([3, 4, 5, 6]);
  const fmt = (cells: string[]) => cells.map((cell, c) => (right.has(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join("  ").trimEnd();
  const out = [fmt(header), widths.map((w) => "-".repeat(w)).join("  "), ...lines.map(fmt)];
  if (notes.length > 0) out.push("", ...notes.map((n) => `note: ${n}`));
  return out.join("\n");
}
