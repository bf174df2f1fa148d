// The page: controls, the live loss plot, and the three result panels. All training happens in
// worker.ts; this file only sends requests and draws what comes back. Every result also lands in
// `window.playground` (and `body[data-busy]` says whether work is running), so a test — or a
// curious reader in the console — can read the numbers the page shows.
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import type { ModelKind } from "./models.js";
import type { CompareResult, Device, DoctorResult, ReadyInfo, Reply, Request, TrainResult, TrainSettings } from "./protocol.js";

interface PlaygroundState {
  ready?: ReadyInfo;
  train?: TrainResult;
  compare?: CompareResult;
  doctor?: DoctorResult;
  errors: string[];
}

const state: PlaygroundState = { errors: [] };
(window as unknown as { playground: PlaygroundState }).playground = state;

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
let nextId = 1;
let lossView: vega.View | undefined;

function setBusy(busy: boolean | "starting"): void {
  document.body.dataset.busy = String(busy);
  const ready = state.ready !== undefined;
  for (const id of ["train", "doctor"]) $<HTMLButtonElement>(id).disabled = busy !== false || !ready;
  $<HTMLButtonElement>("compare").disabled = busy !== false || !ready || !state.ready!.devices.includes("webgpu");
  $<HTMLButtonElement>("stop").disabled = busy !== true;
}

function settings(): TrainSettings {
  return {
    model: $<HTMLSelectElement>("model").value as ModelKind,
    steps: Math.max(1, Number($<HTMLInputElement>("steps").value) | 0),
    batchSize: Math.max(2, Number($<HTMLInputElement>("batch").value) | 0),
    deterministic: $<HTMLInputElement>("deterministic").checked,
    seed: Math.max(0, Number($<HTMLInputElement>("seed").value) | 0),
    learningRate: 0.02,
  };
}

function chosenDevice(): Device {
  const choice = $<HTMLSelectElement>("device").value;
  const available = state.ready?.devices ?? ["cpu"];
  if (choice === "auto") return available.includes("webgpu") ? "webgpu" : "cpu";
  return choice as Device;
}

async function plotLosses(): Promise<void> {
  const spec: TopLevelSpec = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    width: "container",
    height: 220,
    data: { name: "losses" },
    mark: { type: "line", strokeWidth: 1.5 },
    encoding: {
      x: { field: "step", type: "quantitative", title: "training step" },
      y: { field: "loss", type: "quantitative", title: "cross-entropy loss" },
      color: { field: "run", type: "nominal", title: null, legend: { orient: "top" } },
    },
  };
  lossView = new vega.View(vega.parse(compile(spec).spec), { renderer: "svg", container: "#plot", hover: false });
  await lossView.runAsync();
}

function send(request: Request): void {
  worker.postMessage(request);
}

function gapText(r: { differingElements: number; totalElements: number; maxAbsDiff: number } | null): string {
  if (r === null) return "not measured";
  return r.differingElements === 0 ? "0 (bitwise equal)" : `${r.differingElements} / ${r.totalElements} differ, max |Δ| ${r.maxAbsDiff.toExponential(2)}`;
}

function showTrain(result: TrainResult): void {
  $("train-result").innerHTML =
    `${result.stopped ? "Stopped" : "Trained"} the ${result.model.toUpperCase()} on <b>${result.device}</b> for ${result.steps} steps in ` +
    `${result.seconds.toFixed(1)} s (${result.samplesPerSecond.toFixed(0)} samples/s), flag ${result.deterministic ? "on" : "off"}; ` +
    `last loss ${result.losses.at(-1)?.toFixed(4) ?? "-"}, test accuracy (eval mode) <b>${(100 * result.accuracy).toFixed(1)} %</b>.`;
}

function showCompare(r: CompareResult): void {
  const same = r.parametersDiffering === 0 && r.lossesDiffering === 0;
  const verdict = same
    ? `<span class="ok">Bitwise identical</span>: all ${r.steps} losses and all ${r.parameterElements} parameter values.`
    : `<span class="bad">Different bits</span>: ${r.lossesDiffering} of ${r.steps} losses and ${r.parametersDiffering} of ${r.parameterElements} parameter values differ (max |Δ| ${r.maxAbsDiff.toExponential(2)}).`;
  const why = !r.deterministic
    ? same
      ? " With the flag off the devices are free to round differently; here they did not."
      : " With the flag off each device runs its fastest kernels, which round differently; switch the flag on and run again."
    : r.selfTestPassed === false
      ? same
        ? " (This adapter failed Lockstep's start-up self-test, so bitwise agreement is not promised on it; this run matched anyway.)"
        : " This adapter failed Lockstep's start-up self-test, so bitwise agreement is not promised on it."
      : "";
  $("compare-result").innerHTML =
    `${r.model.toUpperCase()}, ${r.steps} steps, flag ${r.deterministic ? "on" : "off"}: ${verdict}${why}` +
    ` <span class="note">(cpu ${r.cpu.seconds.toFixed(1)} s, webgpu ${r.webgpu.seconds.toFixed(1)} s)</span>`;
}

async function showDoctor(d: DoctorResult): Promise<void> {
  const bars = d.report.sources.flatMap((row) =>
    ([["flag off", row.flagOff], ["flag on", row.flagOn]] as const)
      .filter(([, g]) => g !== null)
      .map(([flag, g]) => ({ source: row.source, flag, differing: (100 * g!.differingElements) / Math.max(1, g!.totalElements), label: gapText(g) })),
  );
  const spec: TopLevelSpec = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    width: 380,
    height: { step: 16 },
    data: { values: bars },
    encoding: {
      y: { field: "source", type: "nominal", sort: null, title: null },
      yOffset: { field: "flag", type: "nominal" },
      x: { field: "differing", type: "quantitative", scale: { domain: [0, 100] }, title: "outputs whose bits differ (%)" },
      color: { field: "flag", type: "nominal", scale: { range: ["#d9822b", "#2e8b57"] }, title: "deterministic flag", legend: { orient: "bottom" } },
    },
    layer: [{ mark: "bar" }, { mark: { type: "text", align: "left", dx: 4, fontSize: 10 }, encoding: { text: { field: "label" }, color: { value: "#1b1f24" } } }],
  };
  const container = $("doctor-result");
  container.innerHTML = `<p>${d.images} test images on ${d.device}; measured in ${d.report.seconds.toFixed(1)} s.</p><div id="doctor-plot"></div><pre></pre>`;
  container.querySelector("pre")!.textContent = d.table;
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "svg", container: "#doctor-plot", hover: false });
  await view.runAsync();
}

function runLabel(device: string, deterministic: boolean, model: string): string {
  return `${model} on ${device}, flag ${deterministic ? "on" : "off"}`;
}

worker.onmessage = (event: MessageEvent<Reply>) => {
  const reply = event.data;
  switch (reply.kind) {
    case "ready": {
      state.ready = reply.info;
      $("backend").textContent = `Devices: ${reply.info.devices.join(", ")}. WebGPU: ${reply.info.adapter}` +
        (reply.info.selfTestPassed === null
          ? ""
          : reply.info.selfTestPassed
            ? " (CPU ≡ GPU self-test passed)"
            : ` (CPU ≡ GPU self-test failed on this adapter for: ${reply.info.selfTestDifferences.map((d) => d.split(":")[0]).join(", ")})`);
      if (!reply.info.devices.includes("webgpu")) $<HTMLSelectElement>("device").querySelector<HTMLOptionElement>('option[value="webgpu"]')!.disabled = true;
      setBusy(false);
      break;
    }
    case "progress": {
      const s = settings();
      $<HTMLProgressElement>("progress").value = reply.step / reply.steps;
      $("status").textContent = `${reply.label}: step ${reply.step} / ${reply.steps} · loss ${reply.loss.toFixed(4)} · ${reply.samplesPerSecond.toFixed(0)} samples/s`;
      void lossView?.insert("losses", [{ step: reply.step, loss: reply.loss, run: runLabel(reply.device, s.deterministic, s.model) }]).runAsync();
      break;
    }
    case "trained":
      state.train = reply.result;
      showTrain(reply.result);
      $("status").textContent = "done";
      setBusy(false);
      break;
    case "compared":
      state.compare = reply.result;
      showCompare(reply.result);
      $("status").textContent = "done";
      setBusy(false);
      break;
    case "doctor":
      state.doctor = reply.result;
      void showDoctor(reply.result).finally(() => setBusy(false));
      $("status").textContent = "done";
      break;
    case "error":
      state.errors.push(reply.message);
      $("status").textContent = `error: ${reply.message}`;
      setBusy(false);
      break;
  }
};

function clearPlot(): void {
  lossView?.remove("losses", vega.truthy).run();
}

$("train").addEventListener("click", () => {
  clearPlot();
  setBusy(true);
  send({ kind: "train", id: nextId++, device: chosenDevice(), settings: settings() });
});
$("compare").addEventListener("click", () => {
  clearPlot();
  setBusy(true);
  send({ kind: "compare", id: nextId++, settings: settings() });
});
$("stop").addEventListener("click", () => send({ kind: "stop" }));
$("doctor").addEventListener("click", () => {
  setBusy(true);
  $("status").textContent = "measuring where the gap comes from…";
  send({ kind: "doctor", id: nextId++, images: Number($<HTMLSelectElement>("doctor-images").value) });
});

async function start(): Promise<void> {
  setBusy("starting");
  await plotLosses();
  const [data, meta] = await Promise.all([
    fetch(new URL("./mnist-subset.bin", document.baseURI)).then((r) => r.arrayBuffer()),
    fetch(new URL("./mnist-subset.json", document.baseURI)).then((r) => r.json() as Promise<{ source: string; split: string }>),
  ]);
  $("data-note").textContent = `Data: ${meta.source}; ${meta.split}.`;
  worker.postMessage({ kind: "init", data } satisfies Request, [data]);
}

start().catch((error: Error) => {
  state.errors.push(error.message);
  $("backend").textContent = `Could not start: ${error.message}`;
});
