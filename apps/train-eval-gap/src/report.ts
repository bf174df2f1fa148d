// The HTML report: one self-contained file (no scripts, no network) with the training-loss curve,
// a histogram of the per-element |batch-1 − batch-16| logit differences on a log scale, and the
// tables from the terminal. Plots are Vega-Lite specs compiled to Vega and rendered to SVG in Node
// (`renderer: "none"` needs no canvas), then inlined.
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { explanations, verdict, type DoctorRecord } from "./doctor.js";
import type { Results } from "./experiment.js";
import { crossBackendTable, flagName, flagOffNotes, formatDiff, formatPercent, runTable, seedTable } from "./summary.js";

/** Steps averaged by the smoothed loss line. */
const SMOOTHING_WINDOW = 20;
/** Histogram bins per power of ten. */
const BINS_PER_DECADE = 4;

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export function lossCurveSpec(results: Results): TopLevelSpec {
  const values = results.training.flatMap((t) => t.losses.map((loss, step) => ({ step: step + 1, loss, backend: t.backend })));
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    width: 640,
    height: 260,
    data: { values },
    encoding: {
      x: { field: "step", type: "quantitative", title: `training step (batch ${results.options.batchSize})`, axis: { tickMinStep: 1 } },
      color: { field: "backend", type: "nominal", title: "backend" },
      strokeDash: { field: "backend", type: "nominal", title: "backend" },
    },
    layer: [
      { mark: { type: "line", opacity: 0.3, strokeWidth: 1 }, encoding: { y: { field: "loss", type: "quantitative", title: "cross-entropy loss" } } },
      {
        transform: [{ window: [{ op: "mean", field: "loss", as: "smoothed" }], frame: [-(SMOOTHING_WINDOW - 1), 0], groupby: ["backend"], sort: [{ field: "step" }] }],
        mark: { type: "line", strokeWidth: 2.5 },
        encoding: { y: { field: "smoothed", type: "quantitative", title: "cross-entropy loss" } },
      },
    ],
  };
}

export interface HistogramBin {
  run: string;
  low: number;
  high: number;
  count: number;
}

/**
 * Bins the nonzero differences of each run into equal widths of log10|d|. Zeros cannot sit on a
 * log axis; they are counted separately and named in the caption instead.
 */
export function histogramBins(results: Results): { bins: HistogramBin[]; zeros: { run: string; zeros: number; total: number }[] } {
  const bins: HistogramBin[] = [];
  const zeros: { run: string; zeros: number; total: number }[] = [];
  for (const r of results.runs) {
    const run = `${r.backend}, flag ${flagName(r.deterministic)}`;
    const counts = new Map<number, number>();
    let zeroCount = 0;
    for (const d of r.differences) {
      if (d === 0) {
        zeroCount++;
        continue;
      }
      const bin = Math.floor(Math.log10(d) * BINS_PER_DECADE);
      counts.set(bin, (counts.get(bin) ?? 0) + 1);
    }
    zeros.push({ run, zeros: zeroCount, total: r.differences.length });
    for (const [bin, count] of [...counts].sort((a, b) => a[0] - b[0])) {
      bins.push({ run, low: 10 ** (bin / BINS_PER_DECADE), high: 10 ** ((bin + 1) / BINS_PER_DECADE), count });
    }
  }
  return { bins, zeros };
}

export function histogramSpec(bins: HistogramBin[], results: Results): TopLevelSpec {
  const small = results.options.evalBatchSize;
  const large = results.options.batchSize;
  // Ticks on whole powers of ten only; Vega's default log ticks crowd every 1-9 multiple.
  const lowest = Math.floor(Math.log10(Math.min(...bins.map((b) => b.low))));
  const highest = Math.ceil(Math.log10(Math.max(...bins.map((b) => b.high))));
  const decades = Array.from({ length: highest - lowest + 1 }, (_, i) => 10 ** (lowest + i));
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    data: { values: bins },
    facet: { row: { field: "run", type: "nominal", title: null } },
    spec: {
      width: 640,
      height: 160,
      mark: { type: "bar", stroke: "white", strokeWidth: 0.5 },
      encoding: {
        x: {
          field: "low",
          type: "quantitative",
          scale: { type: "log", domain: [decades[0]!, decades[decades.length - 1]!] },
          axis: { format: ".0e", values: decades, grid: true },
          title: `|logit(batch ${small}) − logit(batch ${large})| per element (log scale)`,
        },
        x2: { field: "high" },
        y: { field: "count", type: "quantitative", title: "logits" },
        // Bars rise from zero; without y2 Vega-Lite draws a ranged x with a thin band at y.
        y2: { datum: 0 },
        color: { field: "run", type: "nominal", legend: null },
      },
    },
    resolve: { scale: { x: "shared" } },
  };
}

export interface SourceBar {
  source: string;
  flag: string;
  /** Share of output elements whose bits differ, in percent. */
  differing: number;
  label: string;
}

/** One bar per source and flag setting: the share of outputs that differ, labelled with max |Δ|. */
export function sourceBars(doctor: DoctorRecord): SourceBar[] {
  const bars: SourceBar[] = [];
  for (const row of doctor.report.sources) {
    for (const [flag, gap] of [["flag off", row.flagOff], ["flag on", row.flagOn]] as const) {
      if (gap === null) continue;
      bars.push({
        source: row.source,
        flag,
        differing: (100 * gap.differingElements) / Math.max(1, gap.totalElements),
        label: gap.differingElements === 0 ? "0 (bitwise equal)" : `max |Δ| ${formatDiff(gap.maxAbsDiff)}, ${gap.changedPredictions} predictions changed`,
      });
    }
  }
  return bars;
}

export function sourcesSpec(bars: SourceBar[]): TopLevelSpec {
  const order = ["mode", "batchStats", "kernels", "threads", "device", "combined"];
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    width: 460,
    height: { step: 22 },
    data: { values: bars },
    encoding: {
      y: { field: "source", type: "nominal", sort: order, title: null, axis: { labelFontSize: 13 } },
      yOffset: { field: "flag", type: "nominal", sort: ["flag off", "flag on"] },
      x: { field: "differing", type: "quantitative", scale: { domain: [0, 100] }, title: "outputs whose bits differ (%)" },
      color: { field: "flag", type: "nominal", sort: ["flag off", "flag on"], scale: { range: ["#d9822b", "#2e8b57"] }, title: "deterministic flag", legend: { orient: "bottom" } },
    },
    layer: [
      { mark: { type: "bar" } },
      { mark: { type: "text", align: "left", dx: 4, fontSize: 10, color: "#1b1f24" }, encoding: { text: { field: "label", type: "nominal" }, color: { value: "#1b1f24" } } },
    ],
  };
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function htmlTable(table: { headers: string[]; rows: string[][] }, highlight?: (row: string[]) => "zero" | "gap" | undefined): string {
  const head = `<tr>${table.headers.map((h) => `<th>${escapeHtml(h)}</th>`).join("")}</tr>`;
  const body = table.rows
    .map((row) => {
      const mark = highlight?.(row);
      return `<tr${mark ? ` class="${mark}"` : ""}>${row.map((cell) => `<td>${escapeHtml(cell)}</td>`).join("")}</tr>`;
    })
    .join("\n");
  return `<table>\n<thead>${head}</thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}

/** Colours a row by whether it reports a gap: the differing-count column decides. */
function byDiffering(column: number): (row: string[]) => "zero" | "gap" {
  return (row) => (row[column]!.startsWith("0 /") || row[column] === "0" ? "zero" : "gap");
}

const STYLE = `
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 980px; color: #1b1f24; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; } h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #d0d7de; }
.lead { color: #57606a; margin-top: 0; }
table { border-collapse: collapse; margin: 0.6rem 0; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #d0d7de; padding: 0.25rem 0.6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f6f8fa; }
tr.zero td { background: #eefbf0; } tr.gap td { background: #fff4e5; }
figure { margin: 0.8rem 0; } figcaption { color: #57606a; font-size: 0.9rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.1rem 1rem; } dt { font-weight: 600; } dd { margin: 0; }
.verdict { padding: 0.6rem 1rem; border-radius: 6px; } .ok { background: #eefbf0; } .bad { background: #ffebe9; }
code { background: #f6f8fa; padding: 0 0.25rem; border-radius: 3px; }
`;

function gapCell(gap: { maxAbsDiff: number; differingElements: number; totalElements: number; changedPredictions: number } | null): string {
  if (gap === null) return "not measured";
  return gap.differingElements === 0 ? "0" : `${formatDiff(gap.maxAbsDiff)} (${gap.differingElements} / ${gap.totalElements}; ${gap.changedPredictions} predictions)`;
}

async function doctorSection(doctor: DoctorRecord | null, small: number, large: number): Promise<string> {
  const title = `<h2 id="where">Where does the gap come from?</h2>`;
  if (doctor === null) return `${title}\n<p>Skipped: the test set is smaller than one training batch.</p>`;
  const { report } = doctor;
  const svg = await renderSvg(sourcesSpec(sourceBars(doctor)));
  const texts = explanations(small, large);
  const rows = report.sources
    .map((r) => `<tr class="${(r.flagOn?.differingElements ?? 0) === 0 && (r.flagOff?.differingElements ?? 0) === 0 ? "zero" : "gap"}"><td>${escapeHtml(r.source)}</td><td style="text-align:left">${escapeHtml(r.compares)}</td><td>${escapeHtml(gapCell(r.flagOff))}</td><td>${escapeHtml(gapCell(r.flagOn))}</td><td style="text-align:left">${escapeHtml(texts[r.source])}${r.note ? ` <em>(${escapeHtml(r.note)})</em>` : ""}</td></tr>`)
    .join("\n");
  return `<section id="sources">
${title}
<p>You trained with batch ${large} and evaluate with batch ${small}, and the outputs differ. Several causes can be behind that at once; Lockstep can switch each one off exactly, so <code>nn.utils.explainDiscrepancy</code> measures them one at a time on the trained model (${doctor.images} test images, ${escapeHtml(doctor.backend)}), then all together, under both flag settings.</p>
<figure>${svg}<figcaption>Share of the ${doctor.images} × 10 logits whose bits change when only that cause changes; labels give the largest absolute change. ${report.sources.some((r) => r.effect === "notMeasured") ? "Rows without bars were not measured here (e.g. the device row with one backend)." : ""}</figcaption></figure>
<ul>${verdict(report).map((v) => `<li>${escapeHtml(v)}</li>`).join("")}</ul>
<table>
<thead><tr><th>source</th><th style="text-align:left">compares</th><th>flag off: max |Δ|</th><th>flag on: max |Δ|</th><th style="text-align:left">what it means</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
</section>`;
}

/** Writes the report into `directory` and returns its absolute path. */
export async function writeReport(results: Results, directory: string): Promise<string> {
  const { options, data } = results;
  const small = options.evalBatchSize;
  const large = options.batchSize;
  const lossSvg = await renderSvg(lossCurveSpec(results));
  const { bins, zeros } = histogramBins(results);
  const histogramSvg = bins.length > 0 ? await renderSvg(histogramSpec(bins, results)) : "<p>No logit differs between the two batch sizes in any run: nothing to plot.</p>";
  const zeroNotes = zeros
    .map((z) => `${escapeHtml(z.run)}: ${z.zeros} of ${z.total} differences are exactly 0${z.zeros === z.total ? " (all of them; not drawn)" : ""}`)
    .join("; ");
  const cross = crossBackendTable(results);
  const doctorHtml = await doctorSection(results.doctor, small, large);
  const seedFirst = results.seedExperiments.filter((r, i, all) => all.findIndex((o) => o.experiment === r.experiment) === i);
  const verdict =
    results.problems.length === 0
      ? `<p class="verdict ok">With <code>useDeterministicAlgorithms(true)</code> every comparison is bitwise equal.</p>`
      : `<div class="verdict bad"><p>Not bitwise equal with the flag on:</p><ul>${results.problems.map((p) => `<li>${escapeHtml(p)}</li>`).join("")}</ul></div>`;
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Lockstep: train/eval batch gap</title>
<style>${STYLE}</style>
</head>
<body>
<h1>Train with batch ${large}, evaluate with batch ${small}</h1>
<p class="lead">Does a model give the same logits for an image whether it is evaluated alone or in a batch of ${large}? Lockstep, with and without <code>useDeterministicAlgorithms(true)</code>.</p>
${verdict}
<h2>Setup</h2>
<dl>
<dt>Data</dt><dd>${escapeHtml(data.source)}; ${data.train.count} training and ${data.test.count} test images</dd>
<dt>Split</dt><dd>${escapeHtml(data.split)}</dd>
<dt>Model</dt><dd>${escapeHtml(results.model)}</dd>
<dt>Training</dt><dd>${escapeHtml(results.trainingPolicy)}; ${options.epochs} epoch(s), seed ${escapeHtml(String(options.seed))}</dd>
<dt>Backends</dt><dd>${results.setup.notes.map(escapeHtml).join("<br>")}</dd>
<dt>CPU threads</dt><dd>${results.threads}</dd>
${results.weightsIdenticalAcrossBackends === null ? "" : `<dt>Weights</dt><dd>trained on cpu and on webgpu: ${results.weightsIdenticalAcrossBackends ? "bitwise identical" : "different"}</dd>`}
</dl>
<h2>Batch ${small} vs batch ${large} on the test set</h2>
${htmlTable(runTable(results), byDiffering(4))}
<ul>${flagOffNotes(results).map((note) => `<li>${escapeHtml(note)}</li>`).join("")}${results.options.deterministic.includes(true) ? `<li>Flag on: each output's reduction order depends only on the reduced length, never on the batch size.</li>` : ""}</ul>
<h2>Training loss</h2>
<figure>${lossSvg}<figcaption>Cross-entropy of each training batch (thin) and its ${SMOOTHING_WINDOW}-step moving average (thick)${results.weightsIdenticalAcrossBackends ? "; the backends' curves coincide because training with the flag on is bitwise identical on both" : ""}.</figcaption></figure>
<h2>Per-element differences, batch ${small} vs batch ${large}</h2>
<figure>${histogramSvg}<figcaption>Histogram of |logit(batch ${small}) − logit(batch ${large})| over all ${data.test.count} × 10 logits, on a log scale (${BINS_PER_DECADE} bins per decade). ${zeroNotes}.</figcaption></figure>
${doctorHtml}
${cross === undefined ? "" : `<h2>CPU vs WebGPU</h2>\n${htmlTable(cross, byDiffering(3))}`}
<h2>The seed thread's experiments</h2>
<p>Each row of <code>x</code> through the layer alone, against the same rows of one full-batch call. After <code>manualSeed(${escapeHtml(String(options.seed))})</code> Lockstep draws PyTorch's numbers for <code>torch.manual_seed(${escapeHtml(String(options.seed))})</code>:</p>
<ul>${seedFirst.map((r) => `<li>${escapeHtml(r.experiment)}: <code>weight[0, :4] = [${r.firstWeights.map((v) => v.toPrecision(8)).join(", ")}]</code>, <code>x[0, :4] = [${r.firstInputs.map((v) => v.toPrecision(8)).join(", ")}]</code></li>`).join("\n")}</ul>
${htmlTable(seedTable(results), byDiffering(4))}
<p style="color:#57606a;font-size:0.85rem">Accuracy column: predictions from batch-${small} evaluation (batch ${large}: ${results.runs.map((r) => `${r.backend}/${flagName(r.deterministic)} ${formatPercent(r.accuracyLargeBatch)}`).join(", ")}). Largest differences: ${results.runs.map((r) => `${r.backend}/${flagName(r.deterministic)} ${formatDiff(r.batch1VsBatch16.maxAbsDiff)}`).join(", ")}. Generated in ${results.seconds.toFixed(1)} s.</p>
</body>
</html>
`;
  const dir = resolve(directory);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, "index.html");
  writeFileSync(path, html);
  return path;
}
