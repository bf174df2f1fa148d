// Turning measurements into the report: the markdown table (with ratios against a reference peer
// and Lockstep's deterministic/fast ratio), and the JSON document. Pure formatting: no timing.
import { quantile, type Measurement, type Skip } from "./runner.js";
import type { Workload } from "./workloads.js";

/** A row of the JSON output (the field names are part of the CLI's contract). */
export interface ResultRow {
  library: string;
  backend: string;
  workload: string;
  mode: string;
  threads: number | null;
  median_ms: number;
  gflops: number;
}

export interface SoakSummary {
  steps: number;
  seconds: number;
  checkpoints: { step: number; bytesInUse: number; bytesPooled?: number; tensors?: number }[];
  firstLoss: number;
  lastLoss: number;
  flat: boolean;
}

export interface Report {
  machine: string[];
  settings: string;
  notes: string[];
  workloads: readonly Workload[];
  measurements: Measurement[];
  skipped: Skip[];
  soak?: SoakSummary | { skipped: string };
  seconds: number;
}

interface PeerKey {
  library: string;
  backend: string;
  threads?: number;
}

/**
 * The peer each row is compared with, first one present wins: tfjs on wasm for CPU rows (the
 * established in-browser CPU path), tfjs on webgpu for WebGPU rows.
 */
const CPU_REFERENCES: readonly PeerKey[] = [
  { library: "tfjs", backend: "wasm" },
  { library: "jax-js", backend: "wasm" },
  { library: "onnxruntime", backend: "cpu", threads: 1 },
  { library: "pytorch", backend: "cpu", threads: 1 },
];
const GPU_REFERENCES: readonly PeerKey[] = [
  { library: "tfjs", backend: "webgpu" },
  { library: "jax-js", backend: "webgpu" },
];

const LIBRARY_ORDER = ["lockstep", "tfjs", "jax-js", "onnxruntime", "pytorch"];
const MODE_ORDER = ["fast", "deterministic", "default"];

function isGpu(backend: string): boolean {
  return backend === "webgpu";
}

export function gflops(m: Measurement): number {
  return m.workload.flops / (m.medianMs * 1e6);
}

export function toRow(m: Measurement): ResultRow {
  return {
    library: m.library,
    backend: m.backend,
    workload: m.workload.name,
    mode: m.mode,
    threads: m.threads,
    median_ms: Number(m.medianMs.toPrecision(6)),
    gflops: Number(gflops(m).toPrecision(4)),
  };
}

function peerName(k: PeerKey): string {
  return `${k.library} ${k.backend}${k.threads === undefined ? "" : ` ${k.threads}T`}`;
}

/** The reference measurement for a row's workload and device class, if any peer ran it. */
export function referenceFor(m: Measurement, all: readonly Measurement[]): Measurement | undefined {
  const candidates = isGpu(m.backend) ? GPU_REFERENCES : CPU_REFERENCES;
  for (const key of candidates) {
    const found = all.find(
      (r) =>
        r.workload.name === m.workload.name &&
        r.library === key.library &&
        r.backend === key.backend &&
        (key.threads === undefined || r.threads === key.threads),
    );
    if (found !== undefined) return found;
  }
  return undefined;
}

function sortKey(m: Measurement, workloads: readonly Workload[]): (string | number)[] {
  return [
    workloads.findIndex((w) => w.name === m.workload.name),
    isGpu(m.backend) ? 1 : 0,
    LIBRARY_ORDER.indexOf(m.library),
    m.backend,
    MODE_ORDER.indexOf(m.mode),
    m.threads ?? 0,
  ];
}

export function sortMeasurements(measurements: readonly Measurement[], workloads: readonly Workload[]): Measurement[] {
  return [...measurements].sort((a, b) => {
    const ka = sortKey(a, workloads);
    const kb = sortKey(b, workloads);
    for (let i = 0; i < ka.length; i++) {
      if (ka[i]! < kb[i]!) return -1;
      if (ka[i]! > kb[i]!) return 1;
    }
    return 0;
  });
}

/** Three significant digits, without exponent notation. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return "–";
  if (ms >= 100) return ms.toFixed(0);
  if (ms >= 10) return ms.toFixed(1);
  if (ms >= 1) return ms.toFixed(2);
  return ms.toFixed(3);
}

/**
 * How far a row's samples scatter: half their interquartile range as a percentage of the median
 * ("±12%": the middle half of the samples lies within about 12 % of the median). "–" with fewer
 * than 4 samples, where quartiles say little.
 */
export function formatSpread(samples: readonly number[], median: number): string {
  if (samples.length < 4 || !(median > 0)) return "–";
  const half = (quantile(samples, 0.75) - quantile(samples, 0.25)) / 2;
  return `±${Math.round((100 * half) / median)}%`;
}

function formatRatio(r: number): string {
  return Number.isFinite(r) ? `${r.toFixed(2)}×` : "–";
}

function markdownTable(header: string[], rows: string[][], rightAligned: boolean[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (rightAligned[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(" | ")} |`;
  const rule = `|${widths.map((w, i) => (rightAligned[i] ? `${"-".repeat(w + 1)}:` : `${"-".repeat(w + 2)}`)).join("|")}|`;
  return [line(header), rule, ...rows.map(line)].join("\n");
}

function mainTable(sorted: readonly Measurement[]): string {
  const header = ["library", "backend", "workload", "mode", "threads", "median ms", "spread", "GFLOP/s", "time vs ref", "samples"];
  const rows = sorted.map((m) => {
    const ref = referenceFor(m, sorted);
    const ratio = ref === undefined ? Number.NaN : m.medianMs / ref.medianMs;
    const ratioText = ref === m ? "1.00× (ref)" : formatRatio(ratio);
    const samples = m.callsPerSample > 1 ? `${m.samples.length}×${m.callsPerSample}` : `${m.samples.length}`;
    return [
      m.library,
      m.backend,
      m.workload.name,
      m.mode === "default" ? "–" : m.mode,
      m.threads === null ? "–" : String(m.threads),
      formatMs(m.medianMs),
      formatSpread(m.samples, m.medianMs),
      gflops(m).toFixed(2),
      ratioText,
      samples,
    ];
  });
  return markdownTable(header, rows, [false, false, false, false, true, true, true, true, true, true]);
}

/** Lockstep's price of determinism: deterministic median ÷ fast median, per backend, shape and thread count. */
function determinismTable(sorted: readonly Measurement[]): string | undefined {
  const rows: string[][] = [];
  for (const det of sorted) {
    if (det.library !== "lockstep" || det.mode !== "deterministic") continue;
    const fast = sorted.find(
      (m) => m.library === "lockstep" && m.mode === "fast" && m.backend === det.backend && m.workload.name === det.workload.name && m.threads === det.threads,
    );
    if (fast === undefined) continue;
    rows.push([
      det.backend,
      det.workload.name,
      det.threads === null ? "–" : String(det.threads),
      formatMs(fast.medianMs),
      formatMs(det.medianMs),
      formatRatio(det.medianMs / fast.medianMs),
    ]);
  }
  if (rows.length === 0) return undefined;
  return markdownTable(["backend", "workload", "threads", "fast ms", "deterministic ms", "det / fast"], rows, [false, false, true, true, true, true]);
}

function referenceLegend(sorted: readonly Measurement[]): string {
  const used = new Map<string, Set<string>>();
  for (const m of sorted) {
    const ref = referenceFor(m, sorted);
    const key = isGpu(m.backend) ? "WebGPU rows" : "CPU rows";
    if (!used.has(key)) used.set(key, new Set());
    used.get(key)!.add(ref === undefined ? "none ran" : peerName({ library: ref.library, backend: ref.backend }));
  }
  const parts = [...used].map(([kind, refs]) => `${kind}: ${[...refs].join(", ")}`);
  return (
    `"time vs ref" is this row's median divided by the reference peer's median for the same workload ` +
    `(below 1× = faster than the reference). Reference — ${parts.join("; ") || "none"}. ` +
    `Preferred references: ${CPU_REFERENCES.map(peerName).join(" → ")} for CPU, ${GPU_REFERENCES.map(peerName).join(" → ")} for WebGPU.`
  );
}

function soakSection(soak: NonNullable<Report["soak"]>): string {
  if ("skipped" in soak) return `### WebGPU memory soak\n\nSkipped: ${soak.skipped}`;
  const rows = soak.checkpoints.map((c) => [
    String(c.step),
    String(c.bytesInUse),
    c.bytesPooled === undefined ? "–" : String(c.bytesPooled),
    c.tensors === undefined ? "–" : String(c.tensors),
  ]);
  // Flat means: every checkpoint after the first step shows the same bytesInUse.
  const after = soak.checkpoints.slice(1).map((c) => c.bytesInUse);
  const low = Math.min(...after);
  const high = Math.max(...after);
  const verdict =
    after.length === 0
      ? "no checkpoint after the first step"
      : low === high
        ? `flat at ${high} bytes`
        : `NOT flat: between ${low} and ${high} bytes across checkpoints (start ${soak.checkpoints[0]!.bytesInUse})`;
  return [
    "### WebGPU memory soak",
    "",
    `${soak.steps} SGD steps of the MLP at batch 16 on Lockstep webgpu, each inside \`scope\`, in ${soak.seconds.toFixed(1)} s ` +
      `(${(soak.steps / soak.seconds).toFixed(1)} steps/s); loss ${soak.firstLoss.toFixed(4)} → ${soak.lastLoss.toFixed(4)}. bytesInUse: ${verdict}.`,
    "",
    markdownTable(["step", "bytesInUse", "bytesPooled", "live storages"], rows, [true, true, true, true]),
  ].join("\n");
}

export function renderMarkdown(report: Report): string {
  const sorted = sortMeasurements(report.measurements, report.workloads);
  const out: string[] = [];
  out.push("## Lockstep benchmark", "");
  out.push(...report.machine.map((l) => `- ${l}`));
  out.push(`- ${report.settings}`);
  for (const note of report.notes) out.push(`- ${note}`);
  out.push("");
  if (sorted.length > 0) {
    out.push(mainTable(sorted), "", referenceLegend(sorted), "");
    const det = determinismTable(sorted);
    if (det !== undefined) out.push("### Lockstep: deterministic vs fast", "", det, "");
  } else {
    out.push("No case ran.", "");
  }
  if (report.skipped.length > 0) {
    out.push("### Skipped", "");
    for (const s of report.skipped) out.push(`- ${s.library} ${s.backend}${s.workload === undefined ? "" : ` (${s.workload})`}: ${s.reason}`);
    out.push("");
  }
  if (report.soak !== undefined) out.push(soakSection(report.soak), "");
  out.push(`Total time: ${report.seconds.toFixed(1)} s.`);
  return out.join("\n") + "\n";
}

export function renderJson(report: Report): string {
  const sorted = sortMeasurements(report.measurements, report.workloads);
  return (
    JSON.stringify(
      {
        results: sorted.map(toRow),
        skipped: report.skipped,
        notes: report.notes,
        machine: report.machine,
        ...(report.soak === undefined ? {} : { soak: report.soak }),
        seconds: Number(report.seconds.toFixed(2)),
      },
      null,
      2,
    ) + "\n"
  );
}
