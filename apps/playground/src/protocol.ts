// Messages between the page (main.ts) and the training worker (worker.ts). Everything here is plain
// data: it crosses postMessage by structured clone.
import type { nn } from "lockstep";
import type { ModelKind } from "./models.js";

export type Device = "cpu" | "webgpu";

export interface TrainSettings {
  model: ModelKind;
  steps: number;
  batchSize: number;
  deterministic: boolean;
  seed: number;
  learningRate: number;
}

export type Request =
  | { kind: "init"; data: ArrayBuffer }
  | { kind: "train"; id: number; device: Device; settings: TrainSettings }
  | { kind: "compare"; id: number; settings: TrainSettings }
  | { kind: "doctor"; id: number; images: number }
  | { kind: "stop" };

export interface ReadyInfo {
  devices: Device[];
  /** The WebGPU adapter in words, or why there is none. */
  adapter: string;
  /** Whether the adapter passed Lockstep's start-up CPU ≡ GPU self-test; null without WebGPU. */
  selfTestPassed: boolean | null;
  /** What the self-test found different on this adapter (e.g. subnormals flushed to zero). */
  selfTestDifferences: string[];
  train: number;
  test: number;
}

export interface TrainResult {
  device: Device;
  model: ModelKind;
  deterministic: boolean;
  steps: number;
  losses: number[];
  seconds: number;
  samplesPerSecond: number;
  /** Test accuracy in eval mode after training. */
  accuracy: number;
  stopped: boolean;
}

export interface CompareResult {
  model: ModelKind;
  deterministic: boolean;
  steps: number;
  cpu: TrainResult;
  webgpu: TrainResult;
  /** Training losses whose float32 bits differ between the devices. */
  lossesDiffering: number;
  /** Parameter (and buffer) elements after training whose bits differ, of `parameterElements`. */
  parametersDiffering: number;
  parameterElements: number;
  maxAbsDiff: number;
  selfTestPassed: boolean | null;
}

export interface DoctorResult {
  device: Device;
  images: number;
  report: nn.utils.DiscrepancyReport;
  table: string;
}

export type Reply =
  | { kind: "ready"; info: ReadyInfo }
  | { kind: "progress"; id: number; device: Device; step: number; steps: number; loss: number; samplesPerSecond: number; label: string }
  | { kind: "trained"; id: number; result: TrainResult }
  | { kind: "compared"; id: number; result: CompareResult }
  | { kind: "doctor"; id: number; result: DoctorResult }
  | { kind: "error"; id: number; message: string };
