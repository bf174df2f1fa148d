// The training worker: Lockstep runs here, off the page's main thread, so the page stays responsive
// while a model trains. WebGPU comes from the worker's own navigator.gpu (Chromium exposes it in
// dedicated workers); without it everything runs on the CPU backend, single-threaded in a browser.
import {
  keep,
  manualSeed,
  nn,
  noGrad,
  optim,
  randperm,
  scope,
  tensor,
  useDeterministicAlgorithms,
  webgpu,
  type Tensor,
} from "lockstep";
import { buildModel } from "./models.js";
import type { CompareResult, Device, DoctorResult, ReadyInfo, Reply, Request, TrainResult, TrainSettings } from "./protocol.js";

const IMAGE = 784;
const MEAN = 0.1307;
const STD = 0.3081;

interface Split {
  images: Float32Array;
  labels: Int32Array;
  count: number;
}

let train: Split | undefined;
let test: Split | undefined;
let devices: Device[] = ["cpu"];
let selfTestPassed: boolean | null = null;
let selfTestDifferences: string[] = [];
let stopRequested = false;
/** The model trained last, for the doctor. */
let current: { model: nn.Module; device: Device; batchSize: number } | undefined;

function post(reply: Reply): void {
  (self as unknown as Worker).postMessage(reply);
}

/** Parses mnist-subset.bin (see scripts/make-data.mjs) and normalises like the example app. */
function parseData(buffer: ArrayBuffer): { train: Split; test: Split } {
  const bytes = new Uint8Array(buffer);
  const view = new DataView(buffer);
  const magic = String.fromCharCode(...bytes.subarray(0, 4));
  if (magic !== "LSMN" || view.getUint32(12, true) !== IMAGE) throw new Error(`mnist-subset.bin: unexpected header '${magic}'`);
  let offset = 16;
  const split = (count: number): Split => {
    const images = new Float32Array(count * IMAGE);
    for (let i = 0; i < count * IMAGE; i++) images[i] = Math.fround((bytes[offset + i]! / 255 - MEAN) / STD);
    offset += count * IMAGE;
    const labels = Int32Array.from(bytes.subarray(offset, offset + count));
    offset += count;
    return { images, labels, count };
  };
  const trainSplit = split(view.getUint32(4, true));
  return { train: trainSplit, test: split(view.getUint32(8, true)) };
}

async function init(data: ArrayBuffer): Promise<ReadyInfo> {
  ({ train, test } = parseData(data));
  let adapter = "navigator.gpu is not available in this browser: training runs on the CPU";
  if ("gpu" in navigator) {
    try {
      const info = await webgpu.init();
      devices = ["cpu", "webgpu"];
      selfTestPassed = info.selfTest.bitwiseMatchesCpu;
      selfTestDifferences = [...info.selfTest.differences];
      adapter = [info.vendor, info.architecture, info.description].filter((s) => s !== "").join(" / ");
    } catch (error) {
      adapter = `WebGPU did not start (${(error as Error).message}): training runs on the CPU`;
    }
  }
  return { devices, adapter, selfTestPassed, selfTestDifferences, train: train.count, test: test.count };
}

function batchOf(split: Split, order: Int32Array, start: number, size: number): { pixels: Float32Array; labels: Int32Array } {
  const pixels = new Float32Array(size * IMAGE);
  const labels = new Int32Array(size);
  for (let i = 0; i < size; i++) {
    const row = order[start + i]!;
    pixels.set(split.images.subarray(row * IMAGE, (row + 1) * IMAGE), i * IMAGE);
    labels[i] = split.labels[row]!;
  }
  return { pixels, labels };
}

function stateTensors(optimizer: optim.SGD): Set<Tensor> {
  const out = new Set<Tensor>();
  for (const entry of optimizer.state.values()) for (const value of Object.values(entry)) if (typeof value !== "number") out.add(value);
  return out;
}

async function accuracy(model: nn.Module, device: Device): Promise<number> {
  const split = test!;
  model.eval();
  let correct = 0;
  const batch = 100;
  for (let start = 0; start < split.count; start += batch) {
    const size = Math.min(batch, split.count - start);
    const predicted = scope(() =>
      noGrad(() => model.forward(tensor(split.images.subarray(start * IMAGE, (start + size) * IMAGE), { device }).reshape([size, IMAGE])).argmax(1)),
    );
    const values = (await predicted.data()) as Int32Array;
    predicted.dispose();
    for (let i = 0; i < size; i++) if (values[i] === split.labels[start + i]) correct++;
  }
  model.train();
  return correct / split.count;
}

/**
 * Trains a fresh model: `manualSeed(seed)`, PyTorch's initial weights built on the CPU, moved to
 * `device`, then SGD with momentum on shuffled batches (one randperm per pass over the data).
 */
async function trainOn(id: number, device: Device, settings: TrainSettings, label: string): Promise<{ result: TrainResult; net: nn.Module }> {
  useDeterministicAlgorithms(settings.deterministic);
  manualSeed(settings.seed);
  const model = buildModel(settings.model).to(device);
  model.train();
  const optimizer = new optim.SGD(model.parameters(), { lr: settings.learningRate, momentum: 0.9 });
  const split = train!;
  const losses: number[] = [];
  const started = performance.now();
  let order: Int32Array = new Int32Array(0);
  let position = split.count;
  let stopped = false;
  try {
    for (let step = 0; step < settings.steps; step++) {
      if (stopRequested) {
        stopped = true;
        break;
      }
      if (position + settings.batchSize > split.count) {
        order = randperm(split.count).dataSync() as Int32Array;
        position = 0;
      }
      const { pixels, labels } = batchOf(split, order, position, settings.batchSize);
      position += settings.batchSize;
      const loss = scope(() => {
        const x = tensor(pixels, { device }).reshape([settings.batchSize, IMAGE]);
        const y = tensor(labels, { device });
        const value = nn.functional.crossEntropy(model.forward(x), y);
        value.backward();
        const before = stateTensors(optimizer);
        optimizer.step();
        optimizer.zeroGrad();
        const after = stateTensors(optimizer);
        for (const t of after) keep(t);
        for (const t of before) if (!after.has(t)) t.dispose();
        return value.detach();
      });
      const value = Number(await loss.item());
      loss.dispose();
      losses.push(value);
      const seconds = (performance.now() - started) / 1000;
      post({ kind: "progress", id, device, step: step + 1, steps: settings.steps, loss: value, samplesPerSecond: ((step + 1) * settings.batchSize) / seconds, label });
    }
  } finally {
    for (const t of stateTensors(optimizer)) t.dispose();
    optimizer.state.clear();
  }
  const seconds = (performance.now() - started) / 1000;
  const result: TrainResult = {
    device,
    model: settings.model,
    deterministic: settings.deterministic,
    steps: losses.length,
    losses,
    seconds,
    samplesPerSecond: (losses.length * settings.batchSize) / Math.max(seconds, 1e-9),
    accuracy: await accuracy(model, device),
    stopped,
  };
  return { result, net: model };
}

function remember(model: nn.Module, device: Device, batchSize: number): void {
  if (current !== undefined && current.model !== model && current.device !== "cpu") {
    for (const t of [...current.model.parameters(), ...current.model.buffers()]) t.dispose();
  }
  current = { model, device, batchSize };
}

async function stateBits(model: nn.Module): Promise<Float32Array[]> {
  return Promise.all([...model.parameters(), ...model.buffers()].filter((t) => t.dtype === "float32").map(async (t) => Float32Array.from((await t.data()) as Float32Array)));
}

async function compare(id: number, settings: TrainSettings): Promise<CompareResult> {
  if (!devices.includes("webgpu")) throw new Error("this browser has no WebGPU adapter: there is no GPU to compare the CPU with");
  const cpu = await trainOn(id, "cpu", settings, "cpu");
  const gpu = await trainOn(id, "webgpu", settings, "webgpu");
  const [a, b] = [await stateBits(cpu.net), await stateBits(gpu.net)];
  let parametersDiffering = 0;
  let parameterElements = 0;
  let maxAbsDiff = 0;
  a.forEach((x, i) => {
    const y = b[i]!;
    const xb = new Uint32Array(x.buffer);
    const yb = new Uint32Array(y.buffer);
    parameterElements += x.length;
    for (let j = 0; j < x.length; j++) {
      if (xb[j] === yb[j]) continue;
      parametersDiffering++;
      maxAbsDiff = Math.max(maxAbsDiff, Math.abs(x[j]! - y[j]!));
    }
  });
  const bits = (v: number[]) => new Uint32Array(Float32Array.from(v).buffer);
  const [la, lb] = [bits(cpu.result.losses), bits(gpu.result.losses)];
  let lossesDiffering = Math.abs(la.length - lb.length);
  for (let j = 0; j < Math.min(la.length, lb.length); j++) if (la[j] !== lb[j]) lossesDiffering++;
  remember(gpu.net, "webgpu", settings.batchSize);
  return {
    model: settings.model,
    deterministic: settings.deterministic,
    steps: settings.steps,
    cpu: cpu.result,
    webgpu: gpu.result,
    lossesDiffering,
    parametersDiffering,
    parameterElements,
    maxAbsDiff,
    selfTestPassed,
  };
}

async function doctor(images: number): Promise<DoctorResult> {
  if (current === undefined) throw new Error("train a model first: the doctor examines the model trained last");
  const { model, device, batchSize } = current;
  const count = Math.max(batchSize, Math.floor(Math.min(images, test!.count) / batchSize) * batchSize);
  const x = tensor(test!.images.subarray(0, count * IMAGE), { device }).reshape([count, IMAGE]);
  try {
    const report = await nn.utils.explainDiscrepancy(model, x, {
      trainBatch: batchSize,
      evalBatch: 1,
      devices: [device, ...devices.filter((d) => d !== device)],
    });
    return { device, images: count, report, table: nn.utils.formatDiscrepancyReport(report) };
  } finally {
    x.dispose();
  }
}

self.onmessage = (event: MessageEvent<Request>) => {
  const request = event.data;
  if (request.kind === "stop") {
    stopRequested = true;
    return;
  }
  stopRequested = false;
  const id = request.kind === "init" ? 0 : request.id;
  const work = async (): Promise<Reply> => {
    switch (request.kind) {
      case "init":
        return { kind: "ready", info: await init(request.data) };
      case "train": {
        const { result, net } = await trainOn(request.id, request.device, request.settings, request.device);
        remember(net, request.device, request.settings.batchSize);
        return { kind: "trained", id: request.id, result };
      }
      case "compare":
        return { kind: "compared", id: request.id, result: await compare(request.id, request.settings) };
      case "doctor":
        return { kind: "doctor", id: request.id, result: await doctor(request.images) };
    }
  };
  work().then(post, (error: unknown) => post({ kind: "error", id, message: error instanceof Error ? `${error.name}: ${error.message}` : String(error) }));
};
