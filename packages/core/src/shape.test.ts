import { describe, expect, it } from "vitest";
import { IndexError, ShapeError, ValueError } from "./errors.js";
import { broadcastShapes, contiguousStrides, inferReshape, isContiguous, normalizeDim, viewStrides } from "./shape.js";

describe("shape arithmetic", () => {
  it("broadcasts by NumPy rules and names the clashing sizes", () => {
    expect(broadcastShapes([2, 1, 3], [4, 1])).toEqual([2, 4, 3]);
    expect(broadcastShapes([], [5])).toEqual([5]);
    expect(() => broadcastShapes([2, 3], [2, 4])).toThrow(ShapeError);
    expect(() => broadcastShapes([2, 3], [2, 4])).toThrow(
      "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1",
    );
  });

  it("wraps negative dims and reports out-of-range dims like PyTorch", () => {
    expect(normalizeDim(-1, 3)).toBe(2);
    expect(() => normalizeDim(2, 2)).toThrow(IndexError);
    expect(() => normalizeDim(2, 2)).toThrow("Dimension out of range (expected to be in range of [-2, 1], but got 2)");
  });

  it("infers -1 in reshape and rejects sizes that do not fit", () => {
    expect(inferReshape([2, 6], [3, -1])).toEqual([3, 4]);
    expect(() => inferReshape([2, 6], [5, -1])).toThrow("shape '[5, -1]' is invalid for input of size 12");
    expect(() => inferReshape([2, 6], [-1, -1])).toThrow(ValueError);
  });

  it("finds view strides when memory allows and refuses when it does not", () => {
    // A transposed 2x3 cannot be flattened without a copy; splitting a dim can.
    expect(viewStrides([3, 2], [1, 3], [6])).toBeUndefined();
    expect(viewStrides([6], [1], [2, 3])).toEqual([3, 1]);
    expect(viewStrides([4, 6], [6, 1], [2, 2, 6])).toEqual([12, 6, 1]);
    expect(isContiguous([2, 3], contiguousStrides([2, 3]))).toBe(true);
    expect(isContiguous([3, 2], [1, 3])).toBe(false);
  });
});
