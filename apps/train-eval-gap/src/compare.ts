// Bitwise comparison of two float32 result arrays: how far apart they are in absolute terms, in
// units in the last place, and whether the difference is large enough to change a prediction.
// This file only compares numbers that are already on the host; it runs no tensor ops, so the
// comparison itself cannot depend on the deterministic flag it is judging.

/** How two float32 arrays of the same length differ. */
export interface Gap {
  /** Largest |a − b| over all elements (0 when bitwise identical). */
  maxAbsDiff: number;
  /** Elements whose float32 bit patterns differ (+0 and −0 count as different, NaN = NaN). */
  differingElements: number;
  /** Elements compared. */
  totalElements: number;
  /** Largest distance in float32 units in the last place (adjacent floats are 1 apart). */
  maxUlp: number;
}

/** A Gap between two sets of logits, plus how many rows get a different argmax. */
export interface LogitGap extends Gap {
  changedPredictions: number;
}

const scratch = new DataView(new ArrayBuffer(4));

/** The float32 bit pattern of `x`, as an unsigned 32-bit integer. */
export function float32Bits(x: number): number {
  scratch.setFloat32(0, x, true);
  return scratch.getUint32(0, true);
}

/**
 * Maps a float32 bit pattern onto a line where adjacent floats are adjacent integers: positive
 * floats keep their pattern, negative ones are mirrored below zero, so −0 and +0 are both 0 and the
 * smallest subnormals of either sign are ±1. The result fits exactly in a double.
 */
function orderedBits(bits: number): number {
  return bits >= 0x80000000 ? -(bits - 0x80000000) : bits;
}

/** Distance between two float32 values in ulps (Infinity if either is NaN and the other is not). */
export function ulpDistance(a: number, b: number): number {
  const aNaN = Number.isNaN(a);
  const bNaN = Number.isNaN(b);
  if (aNaN || bNaN) return aNaN && bNaN ? 0 : Infinity;
  return Math.abs(orderedBits(float32Bits(a)) - orderedBits(float32Bits(b)));
}

/** Compares two arrays element by element on their float32 bit patterns. */
export function compareArrays(a: Float32Array, b: Float32Array): Gap {
  if (a.length !== b.length) throw new Error(`cannot compare arrays of ${a.length} and ${b.length} elements`);
  // Reading both arrays as integers compares bit patterns directly, without rounding surprises.
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
    if (diff > maxAbsDiff || Number.isNaN(diff)) maxAbsDiff = Number.isNaN(diff) ? Infinity : diff;
    const ulps = Math.abs(orderedBits(aBits[i]!) - orderedBits(bBits[i]!));
    if (ulps > maxUlp) maxUlp = ulps;
  }
  return { maxAbsDiff, differingElements, totalElements: a.length, maxUlp };
}

/** Every per-element |a − b| (zeros included), for the histogram. */
export function absoluteDifferences(a: Float32Array, b: Float32Array): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = Math.abs(a[i]! - b[i]!);
  return out;
}

/** The index of the largest value in each row of `classes` values (first one wins on ties, like argmax). */
export function predictions(logits: Float32Array, classes: number): Int32Array {
  const rows = logits.length / classes;
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[r * classes + c]! > logits[r * classes + best]!) best = c;
    out[r] = best;
  }
  return out;
}

/** Compares two [rows, classes] logit arrays, counting rows whose predicted class differs. */
export function compareLogits(a: Float32Array, b: Float32Array, classes: number): LogitGap {
  const gap = compareArrays(a, b);
  const pa = predictions(a, classes);
  const pb = predictions(b, classes);
  let changedPredictions = 0;
  for (let i = 0; i < pa.length; i++) if (pa[i] !== pb[i]) changedPredictions++;
  return { ...gap, changedPredictions };
}

/** Fraction of rows whose predicted class equals the label. */
export function accuracy(logits: Float32Array, labels: Uint8Array, classes: number): number {
  const predicted = predictions(logits, classes);
  let correct = 0;
  for (let i = 0; i < predicted.length; i++) if (predicted[i] === labels[i]) correct++;
  return predicted.length === 0 ? 0 : correct / predicted.length;
}

/** True when no element differs. */
export function isBitwiseEqual(gap: Gap): boolean {
  return gap.differingElements === 0;
}
