// Bit-pattern helpers shared by the determinism suites: every bitwise claim compares the float32
// bit patterns of two tensors, never values within a tolerance.
import { createHash } from "node:crypto";
import type { Tensor } from "lockstep";

/** The float32 bit patterns of `t`'s elements, read from any device. */
export async function bitsOf(t: Tensor): Promise<Uint32Array> {
  return new Uint32Array(Float32Array.from(await t.data()).buffer);
}

/** "" when `a` and `b` have the same bit patterns, else how many elements differ and the first one. */
export async function difference(a: Tensor, b: Tensor): Promise<string> {
  const [x, y] = await Promise.all([bitsOf(a), bitsOf(b)]);
  if (x.length !== y.length) return `length ${x.length} vs ${y.length}`;
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
