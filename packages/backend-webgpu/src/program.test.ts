// Pure helpers that need no GPU: they run on every machine.
import { describe, expect, it } from "vitest";
import { pooledSize } from "./buffers.js";
import { collapseDims, offsetCode } from "./program.js";

describe("collapseDims", () => {
  it("merges a contiguous tensor of any rank into one dim", () => {
    expect(collapseDims([2, 3, 4], [[12, 4, 1], [12, 4, 1]])).toEqual({ shape: [24], strides: [[1], [1]] });
  });

  it("keeps dims where any operand jumps (transposed, sliced, broadcast)", () => {
    expect(collapseDims([2, 3], [[3, 1], [1, 2]])).toEqual({ shape: [2, 3], strides: [[3, 1], [1, 2]] });
    expect(collapseDims([4, 5, 6], [[30, 6, 1], [0, 6, 1]])).toEqual({ shape: [4, 30], strides: [[30, 1], [0, 1]] });
    expect(collapseDims([3, 4], [[8, 2]])).toEqual({ shape: [12], strides: [[2]] });
  });

  it("drops size-1 dims and gives rank 1 for a single element", () => {
    expect(collapseDims([1, 5, 1], [[99, 1, 7]])).toEqual({ shape: [5], strides: [[1]] });
    expect(collapseDims([], [[]])).toEqual({ shape: [1], strides: [[0]] });
  });
});

describe("offsetCode", () => {
  it("walks the dims from the last, with no modulo for the first", () => {
    const code = offsetCode(2, 1, [3], ["p"]);
    expect(code).toContain("let c1 = rem % info[2u];");
    expect(code).toContain("let c0 = rem;");
    expect(code).toContain("p = p + c0 * info[3u];");
  });
});

describe("pooledSize", () => {
  it("rounds to 256-byte classes so similar sizes share pooled buffers", () => {
    expect(pooledSize(4, 1 << 27)).toBe(256);
    expect(pooledSize(257, 1 << 27)).toBe(512);
    expect(pooledSize(4096, 1 << 27)).toBe(4096);
  });

  it("never rounds past the binding limit", () => {
    expect(pooledSize(1000, 1000)).toBe(1000);
    expect(pooledSize(999, 1000)).toBe(1000);
  });
});
