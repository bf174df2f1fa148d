// Bit-pattern helpers shared by the determinism suites: every bitwise claim compares the float32
// bit patterns of two tensors, never values within a tolerance.
import { createHash } from "node:crypto";
import type { Tensor } from "lockstep";

/** The bit patterns of `t`'s elements, read from any device (float64 as pairs of 32-bit words). */
export async function bitsOf(t: Tensor): Promise<Uint32Array> {
  const data = await t.data();
  return new Uint32Array((t.dtype === "float64" ? Float64Array.from(data) : Float32Array.from(data)).buffer);
}

/**
 * "" when `a` and `b` have the same bit patterns, else how many words differ and the first one.
 * `anyNaN`: every float32 NaN counts as one pattern — for CPU against WebGPU, whose div kernels
 * give 0/0 different NaN signs (x86's default NaN is negative, detmath's WGSL returns 0x7fc00000).
 */
export async function difference(a: Tensor, b: Tensor, anyNaN = false): Promise<string> {
  const [x, y] = await Promise.all([bitsOf(a), bitsOf(b)]);
  if (x.length !== y.length) return `length ${x.length} vs ${y.length}`;
  if (anyNaN) for (const w of [x, y]) w.forEach((v, i) => ((v & 0x7fffffff) > 0x7f800000 ? (w[i] = 0x7fc00000) : 0));
  let count = 0;
  let first = -1;
  for (let i = 0; i < x.length; i++) {
    if (x[i] !== y[i]) {
      count++;
      if (first < 0) first = i;
    }
  }
  return count === 0 ? "" : `${count} of ${x.length} differ, first at ${first}: 0x${x[first]!.toString(16)} vs 0x${y[first]!.toString(16)}`;
}

/** SHA-256 of `t`'s float32 bytes. */
export async function sha256(t: Tensor): Promise<string> {
  return createHash("sha256").update(new Uint8Array(Float32Array.from(await t.data()).buffer)).digest("hex");
}
