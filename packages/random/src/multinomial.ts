// torch.multinomial, reproducing PyTorch 1.13's CPU stream (no MKL):
// - without replacement: the exponential race. q = empty_like(probs)
//   .exponential_(1) draws one 53-bit uniform u per element in q's memory order (row-major, or
//   column-major for a transposed matrix, whose layout empty_like keeps) and stores
//   -log(1 - u) (double log, then rounded to the dtype); the samples are the top `numSamples` of
//   probs / q along the last dim (argmax for one sample).
// - with replacement (one sample too): per row, the running sum of the probabilities in
//   the dtype, each divided by the total, the last set to 1; per sample one 53-bit uniform u and
//   a binary search for the first cumulative value that is not below u.
// Everything happens on the host (the draws always do): probabilities are read synchronously,
// so they must live on a device the CPU can read. Every argument and value is checked before the
// first draw, so a refused call leaves the generator as it was.
import { DTypeError, LockstepTypeError, NotImplementedError, Tensor, ValueError, fromData } from "@lockstep/core";
import { log as correctlyRoundedLog } from "./correctly-rounded.js";
import { resolveGenerator } from "./default-generator.js";
import type { Generator } from "./generator.js";

/** Options of `multinomial`. */
export interface MultinomialOptions {
  /** Draw with replacement (default false). */
  replacement?: boolean;
  /** Draw from this generator instead of the default one. */
  generator?: Generator;
}

function rowValues(probs: Tensor): { data: Float32Array | Float64Array; rows: number; n: number } {
  const readSync = probs.backend.readSync;
  if (readSync === undefined) {
    throw new NotImplementedError(
      `multinomial() needs probabilities the CPU can read synchronously; '${probs.device}' cannot (use await probs.toAsync("cpu"))`,
    );
  }
  const data = probs.dataSync() as Float32Array | Float64Array;
  const n = probs.shape[probs.ndim - 1]!;
  return { data, rows: probs.ndim === 2 ? probs.shape[0]! : 1, n };
}

/** Index of the first largest value (the race's winner), like argmax. */
function argmaxRow(values: Float32Array | Float64Array, start: number, n: number): number {
  let best = 0;
  for (let j = 1; j < n; j++) if (values[start + j]! > values[start + best]!) best = j;
  return best;
}

/** Indices of the k largest values, largest first; equal values in index order. */
function topkRow(values: Float32Array | Float64Array, start: number, n: number, k: number): number[] {
  const order = Array.from({ length: n }, (_, j) => j);
  order.sort((a, b) => values[start + b]! - values[start + a]! || a - b);
  return order.slice(0, k);
}

/**
 * Like torch.multinomial: `numSamples` int32 category indices per row of `probs` (1-D or 2-D,
 * float32 or float64, non-negative, not necessarily normalized), drawn from PyTorch's CPU stream
 * after the same seed. Throws ValueError for bad probabilities (negative, infinite, NaN, an
 * all-zero row) or too many samples without replacement.
 */
export function multinomial(probs: Tensor, numSamples: number, options: MultinomialOptions = {}): Tensor {
  if (!(probs instanceof Tensor)) throw new LockstepTypeError(`multinomial(): argument 'input' must be Tensor, not ${typeof probs}`);
  probs.assertLive();
  if (typeof numSamples !== "number" || !Number.isSafeInteger(numSamples)) {
    throw new LockstepTypeError(`multinomial(): argument 'num_samples' must be int, not ${String(numSamples)}`);
  }
  if (options === null || typeof options !== "object") throw new LockstepTypeError("multinomial(): options must be an object");
  for (const key of Object.keys(options)) {
    if (key !== "replacement" && key !== "generator") {
      throw new LockstepTypeError(`multinomial() got an unexpected keyword argument '${key}' (accepted: replacement, generator)`);
    }
  }
  const replacement = options.replacement ?? false;
  if (typeof replacement !== "boolean") throw new LockstepTypeError(`multinomial(): argument 'replacement' must be bool, not ${String(replacement)}`);
  if (probs.dtype !== "float32" && probs.dtype !== "float64") {
    throw new DTypeError(`multinomial only supports floating-point dtypes for input, got: ${probs.dtype}`);
  }
  if (probs.ndim !== 1 && probs.ndim !== 2) {
    throw new ValueError(`prob_dist must be 1 or 2 dim, got a tensor of shape [${probs.shape.join(", ")}]`);
  }
  const generator = resolveGenerator(options.generator, "multinomial");
  const { data, rows, n } = rowValues(probs);
  if (n <= 0) throw new ValueError("multinomial(): prob_dist must have at least one category");
  if (numSamples <= 0) throw new ValueError(`cannot sample n_sample <= 0 samples (got ${numSamples})`);
  if (!replacement && numSamples > n) {
    throw new ValueError(`cannot sample n_sample > prob_dist.size(-1) samples without replacement (n_sample=${numSamples}, size=${n})`);
  }
  const f32 = probs.dtype === "float32";
  const round = f32 ? Math.fround : (x: number) => x;
  const out = new Int32Array(rows * numSamples);

  if (!replacement) {
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      if (!(v >= 0 && v < Infinity)) throw new ValueError(`probability tensor contains either \`inf\`, \`nan\` or element < 0 (found ${v} at flat index ${i})`);
    }
    for (let r = 0; r < rows; r++) {
      let any = false;
      for (let j = 0; j < n; j++) if (data[r * n + j]! !== 0) any = true;
      if (!any) throw new ValueError(`invalid multinomial distribution (sum of probabilities <= 0) in row ${r}`);
    }
    const engine = generator.engine;
    const ratio = f32 ? new Float32Array(data.length) : new Float64Array(data.length);
    // Draw every q first (exponential_ fills the whole tensor, in empty_like(probs)'s memory
    // order: column by column for a transposed matrix), then divide.
    const columnMajor = probs.ndim === 2 && rows > 1 && n > 1 && probs.strides[0] === 1 && probs.strides[1] === rows;
    for (let k = 0; k < data.length; k++) {
      const i = columnMajor ? (k % rows) * n + Math.floor(k / rows) : k;
      ratio[i] = round(-correctlyRoundedLog(1 - engine.nextU53()));
    }
    for (let i = 0; i < data.length; i++) ratio[i] = data[i]! / ratio[i]!;
    for (let r = 0; r < rows; r++) {
      if (numSamples === 1) out[r] = argmaxRow(ratio, r * n, n);
      else out.set(topkRow(ratio, r * n, n, numSamples), r * numSamples);
    }
  } else {
    const cum = f32 ? new Float32Array(n) : new Float64Array(n);
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      if (!(v >= 0)) throw new ValueError(`invalid multinomial distribution (encountering probability entry < 0): ${v} at flat index ${i}`);
      if (!Number.isFinite(v)) {
        throw new ValueError(`invalid multinomial distribution (encountering probability entry = infinity or NaN): ${v} at flat index ${i}`);
      }
    }
    for (let r = 0; r < rows; r++) {
      let total = 0;
      for (let j = 0; j < n; j++) total = round(total + data[r * n + j]!);
      if (!(total > 0)) throw new ValueError(`invalid multinomial distribution (sum of probabilities <= 0) in row ${r}`);
    }
    const engine = generator.engine;
    for (let r = 0; r < rows; r++) {
      let total = 0;
      for (let j = 0; j < n; j++) {
        total = round(total + data[r * n + j]!);
        cum[j] = total;
      }
      for (let j = 0; j < n; j++) cum[j] = cum[j]! / total;
      cum[n - 1] = 1;
      for (let s = 0; s < numSamples; s++) {
        const u = engine.nextU53();
        let lo = 0;
        let hi = n;
        while (hi - lo > 0) {
          const mid = lo + ((hi - lo) >> 1);
          if (cum[mid]! < u) lo = mid + 1;
          else hi = mid;
        }
        out[r * numSamples + s] = lo;
      }
    }
  }
  return fromData(out, "int32", probs.ndim === 2 ? [rows, numSamples] : [numSamples], probs.device);
}
