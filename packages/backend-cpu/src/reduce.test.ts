// The deterministic float32 sum's tree, checked against an independent statement of it: the
// reduced elements are cut into blocks of SUM_BLOCK summed one by one; the block count m is
// written in binary, each 1 bit (high to low) owns the next 2^j blocks, combined as a perfect
// pairwise tree; the groups are then added from the last (smallest) to the first. Also: a running
// sum of 2.0s no longer stops at 2^25.
import { describe, expect, it } from "vitest";
import { SUM_BLOCK, treeSum } from "./reduce.js";

const f = Math.fround;

function reference(values: Float32Array): number {
  const blocks: number[] = [];
  for (let start = 0; start < values.length; start += SUM_BLOCK) {
    let acc = 0;
    for (let i = start; i < Math.min(start + SUM_BLOCK, values.length); i++) acc = f(acc + values[i]!);
    blocks.push(acc);
  }
  const perfect = (from: number, size: number): number =>
    size === 1 ? blocks[from]! : f(perfect(from, size / 2) + perfect(from + size / 2, size / 2));
  const groups: number[] = [];
  let from = 0;
  for (let bit = 31; bit >= 0; bit--) {
    const size = 2 ** bit;
    if (blocks.length & size) {
      groups.push(perfect(from, size));
      from += size;
    }
  }
  if (groups.length === 0) return 0;
  let total = groups[groups.length - 1]!;
  for (let g = groups.length - 2; g >= 0; g--) total = f(groups[g]! + total);
  return total;
}

function wideValues(n: number, seed: number): Float32Array {
  let s = seed;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  return Float32Array.from({ length: n }, () => (next() - 0.5) * 2 ** Math.floor(next() * 40 - 20));
}

describe("treeSum", () => {
  it("equals the reference tree bit for bit for every length up to 40 blocks and some long ones", () => {
    const lengths = [...Array.from({ length: SUM_BLOCK * 40 + 1 }, (_, i) => i), 100_003, 262_145];
    for (const n of lengths) {
      const values = wideValues(n, n + 1);
      const offsets = Int32Array.from({ length: n }, (_, i) => i);
      expect(Object.is(treeSum(values, 0, offsets), reference(values)), `length ${n}`).toBe(true);
    }
  });

  it("reads through base and offsets (strided rows)", () => {
    const values = wideValues(3000, 7);
    const offsets = Int32Array.from({ length: 1000 }, (_, i) => 3 * i);
    const picked = Float32Array.from({ length: 1000 }, (_, i) => values[1 + 3 * i]!);
    expect(treeSum(values, 1, offsets)).toBe(reference(picked));
  });

  it("sums 2^24 + 1000 twos exactly, where a running float32 sum stalls at 2^25", () => {
    const n = 2 ** 24 + 1000;
    // One stored 2.0 read n times (every offset 0): the tree only sees the sequence of values.
    const values = Float32Array.of(2);
    let running = 0;
    for (let i = 0; i < n; i++) running = f(running + 2);
    expect(running).toBe(2 ** 25);
    expect(treeSum(values, 0, new Int32Array(n))).toBe(2 * n);
  }, 60_000);
});
