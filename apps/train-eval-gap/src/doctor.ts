// "Where does the gap come from": Lockstep's discrepancy doctor (nn.utils.explainDiscrepancy) on
// the trained model and the first test images. It switches one cause of a train/eval gap at a
// time — module mode, BatchNorm's batch statistics, batch-size-dependent kernels, the thread count,
// the device — and then all of them, under each flag setting, and compares the outputs bit for
// bit. The texts below say what each row means to someone who asked "why does my model give
// different outputs at batch 16 in training and batch 1 in evaluation?".
import { nn, tensor } from "lockstep";
import { IMAGE_SIZE, type Split } from "./data.js";

type Report = nn.utils.DiscrepancyReport;
type Source = nn.utils.DiscrepancySource;

/**
 * At most this many test images go through the doctor (each configuration runs them all): 64 for
 * the MLP, 32 for the CNN, whose batch-1 passes cost about ten times more.
 */
export const DOCTOR_IMAGES = { mlp: 64, cnn: 32 } as const;

/**
 * What each row measures and what to do about it, in plain words, for eval batch `small` and
 * training batch `large`.
 */
export function explanations(small: number, large: number): Record<Source, string> {
  return {
    mode:
      "train() against eval() on the same batch. Dropout zeroes random activations while training and does nothing in " +
      "eval(); BatchNorm switches from the batch's statistics to its running ones. These are two different functions by " +
      "design, so no flag removes this gap: call model.eval() before evaluating, model.train() before training.",
    batchStats:
      "BatchNorm alone in training mode (everything else in eval). In training BatchNorm normalises each channel with the " +
      "mean and variance of the batch in hand; in eval() with the running averages it collected. With batch 1 the batch " +
      "statistics are those of a single image: effectively another model. eval() uses the running statistics, which do " +
      "not depend on the batch.",
    kernels:
      `The same images in batches of ${small} and of ${large}, same weights, eval() both times. With the flag off the fast ` +
      `kernels sum a ${small}-row product in a different order than a ${large}-row one (like every BLAS: GEMV for one row, ` +
      "GEMM for more), so the last bits move. This is the gap the original question was about; " +
      "useDeterministicAlgorithms(true) fixes each output's summation order whatever the batch size, and the row drops " +
      "to exactly zero.",
    threads:
      "One thread count against another. Fast kernels may split a long sum across threads and add the partial sums, so " +
      "the thread count can change the last bits (in Lockstep only for long one-row products). Deterministic kernels " +
      "share out whole outputs, never one sum, so the flag-on row is zero.",
    device:
      "The CPU against WebGPU. Different code on different hardware; with the flag on both run the same summation orders " +
      "and Lockstep's own exp/log/tanh, so the bits agree wherever the adapter passed the start-up self-test.",
    combined:
      `Everything at once, as in the question: a training-mode forward at batch ${large} against an eval-mode forward at ` +
      `batch ${small} (with the other thread count and device). With the flag on, what is left is the mode part: the ` +
      "model meant to behave differently while training, which eval() takes care of.",
  };
}

/** Breaks `text` into lines of at most `width` characters, each starting with `indent`. */
export function wrap(text: string, width: number, indent: string): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  if (line !== "") lines.push(indent + line);
  return lines;
}

export interface DoctorRecord {
  /** Device the model and images were on. */
  backend: string;
  /** Test images measured. */
  images: number;
  report: Report;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * How many test images the doctor uses: a multiple of both batch sizes (every image computed in a
 * full batch), at most `most` unless one such multiple is larger; 0 when the test set is
 * smaller than that multiple.
 */
export function doctorImageCount(testSize: number, batchSize: number, evalBatchSize: number, most: number): number {
  const step = (batchSize / gcd(batchSize, evalBatchSize)) * evalBatchSize;
  const limit = Math.min(testSize, Math.max(most, step));
  return Math.floor(limit / step) * step;
}

/** Runs the doctor on `model` (on `backend`) with the first images of `test`. */
export async function runDoctor(
  model: nn.Module,
  test: Split,
  options: { backend: string; devices: string[]; batchSize: number; evalBatchSize: number; flags: boolean[]; maxImages: number },
): Promise<DoctorRecord | null> {
  const images = doctorImageCount(test.count, options.batchSize, options.evalBatchSize, options.maxImages);
  if (images === 0) return null;
  const x = tensor(test.images.subarray(0, images * IMAGE_SIZE), { device: options.backend }).reshape([images, IMAGE_SIZE]);
  try {
    const report = await nn.utils.explainDiscrepancy(model, x, {
      trainBatch: options.batchSize,
      evalBatch: options.evalBatchSize,
      devices: [options.backend, ...options.devices.filter((d) => d !== options.backend)],
      flags: options.flags,
    });
    return { backend: options.backend, images, report };
  } finally {
    x.dispose();
  }
}

/** Sources whose outputs differ under a flag setting, largest max |Δ| first. */
export function activeSources(report: Report, flag: boolean): { source: Source; maxAbsDiff: number }[] {
  return report.sources
    .filter((r) => r.source !== "combined")
    .map((r) => ({ source: r.source, gap: flag ? r.flagOn : r.flagOff }))
    .filter((r) => r.gap !== null && r.gap.differingElements > 0)
    .map((r) => ({ source: r.source, maxAbsDiff: r.gap!.maxAbsDiff }))
    .sort((a, b) => b.maxAbsDiff - a.maxAbsDiff);
}

/** One sentence per measured flag setting: which sources move the outputs. */
export function verdict(report: Report): string[] {
  return report.settings.flags.map((flag) => {
    const active = activeSources(report, flag);
    const list = active.map((a) => `${a.source} (max |Δ| ${a.maxAbsDiff.toExponential(1)})`).join(", ");
    return `Flag ${flag ? "on" : "off"}: ${active.length === 0 ? "no source changes the outputs." : `the outputs move because of ${list}.`}`;
  });
}

/** Flag-on rows that must be zero by Lockstep's promise but are not (device only where the self-test passed). */
export function doctorProblems(record: DoctorRecord, webgpuSelfTestPassed: boolean): string[] {
  const problems: string[] = [];
  for (const row of record.report.sources) {
    const mustBeZero = row.source === "kernels" || row.source === "threads" || (row.source === "device" && webgpuSelfTestPassed);
    if (mustBeZero && row.flagOn !== null && row.flagOn.differingElements > 0) {
      problems.push(`where-the-gap-comes-from, flag on: the ${row.source} row (${row.compares}) has ${row.flagOn.differingElements} differing outputs`);
    }
  }
  return problems;
}
