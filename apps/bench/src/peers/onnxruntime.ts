// onnxruntime-node cases (CPU execution provider, inference only: ONNX Runtime does not train).
// Each workload is a tiny ONNX model built in memory (see onnx-model.ts); one session per thread
// count, with intra-op threads 1 and 2. Spinning is turned off: ORT's pool threads otherwise keep
// a core busy after each run, which would slow whichever library the round-robin runs next.
import type { BenchCase, PeerContext, PeerSetup, Skip } from "../runner.js";
import { wantedWorkloads } from "../runner.js";
import { matmulInputs, mlpBatch, mlpWeights, type Workload } from "../workloads.js";
import { matmulModel, mlpModel } from "./onnx-model.js";
import { convInputs } from "../workloads.js";
import { convModel } from "./onnx-model.js";

type Ort = typeof import("onnxruntime-node");
type Session = import("onnxruntime-node").InferenceSession;
type OrtTensor = import("onnxruntime-node").Tensor;

const LIBRARY = "onnxruntime";
const BACKEND = "cpu";
const THREADS = [1, 2] as const;

function modelFor(w: Workload): { bytes: Uint8Array; feeds: Record<string, { data: Float32Array; dims: number[] }> } | undefined {
  if (w.kind === "matmul") {
    const inputs = matmulInputs(w);
    return {
      bytes: matmulModel(w.m, w.k, w.n),
      feeds: { A: { data: inputs.a, dims: [w.m, w.k] }, B: { data: inputs.b, dims: [w.k, w.n] } },
    };
  }
  if (w.kind === "mlp-inference") {
    const batch = mlpBatch(w.batch);
    return { bytes: mlpModel(w.batch, mlpWeights()), feeds: { x: { data: batch.x, dims: [w.batch, batch.x.length / w.batch] } } };
  }
  if (w.kind === "conv2d") {
    const inputs = convInputs(w);
    return {
      bytes: convModel(w.batch, w.inChannels, w.size, w.outChannels, w.kernel, w.padding),
      feeds: {
        X: { data: inputs.x, dims: [w.batch, w.inChannels, w.size, w.size] },
        W: { data: inputs.weight, dims: [w.outChannels, w.inChannels, w.kernel, w.kernel] },
      },
    };
  }
  return undefined; // training: not something ONNX Runtime does
}

function ortCase(ort: Ort, w: Workload, threads: number): BenchCase | undefined {
  const spec = modelFor(w);
  if (spec === undefined) return undefined;
  let session: Session | undefined;
  let feeds: Record<string, OrtTensor> = {};
  return {
    library: LIBRARY,
    backend: BACKEND,
    workload: w,
    mode: "default",
    threads,
    async setup() {
      session = await ort.InferenceSession.create(spec.bytes, {
        executionProviders: ["cpu"],
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionMode: "sequential",
        graphOptimizationLevel: "all",
        extra: { session: { intra_op: { allow_spinning: "0" }, inter_op: { allow_spinning: "0" } } },
      });
      feeds = Object.fromEntries(Object.entries(spec.feeds).map(([name, f]) => [name, new ort.Tensor("float32", f.data, f.dims)]));
    },
    async run() {
      const outputs = await session!.run(feeds);
      for (const out of Object.values(outputs)) {
        void (out.data as Float32Array)[0]; // the data lives on the CPU already; touch it anyway
        out.dispose?.();
      }
    },
    async teardown() {
      await session?.release();
    },
  };
}

export async function onnxruntimePeer(ctx: PeerContext): Promise<PeerSetup> {
  const cases: BenchCase[] = [];
  const skipped: Skip[] = [];
  const notes: string[] = [];
  const workloads = wantedWorkloads(ctx, LIBRARY, BACKEND);
  if (workloads.length === 0) return { cases, skipped, notes };
  let ort: Ort;
  try {
    ort = (await import("onnxruntime-node")) as Ort;
  } catch (error) {
    skipped.push({ library: LIBRARY, backend: BACKEND, reason: `cannot load onnxruntime-node: ${error instanceof Error ? error.message : String(error)}` });
    return { cases, skipped, notes };
  }
  notes.push(`onnxruntime-node ${ort.env.versions?.node ?? ort.env.versions?.common ?? ""} cpu EP, models built in memory (MatMul; Gemm+Relu; Conv), inference only, spinning off`);
  for (const w of workloads) {
    if (w.kind === "mlp-train") continue;
    if (w.kind === "cnn-train") continue; // training: not something ONNX Runtime does
    if (w.kind === "transformer-train") continue;
    for (const threads of THREADS) {
      const c = ortCase(ort, w, threads);
      if (c !== undefined) cases.push(c);
    }
  }
  return { cases, skipped, notes };
}
