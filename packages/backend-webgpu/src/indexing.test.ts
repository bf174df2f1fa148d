// cat, indexSelect, gather and scatter on webgpu: exact against the CPU backend, with index
// tensors on the GPU and strided inputs.
import { cat, gather, indexSelect, scatter, stack } from "@lockstep/core";
import { tensor } from "@lockstep/core";
import { describe, expect, it } from "vitest";
import { available, cpu, expectSameOnBoth, integers, uniform } from "./test-support/gpu.js";

describe.runIf(available)("indexing kernels on webgpu match the CPU backend", () => {
  const x = () => cpu(uniform(3 * 4 * 5, 51), [3, 4, 5]);

  it("cat along each dim, with strided and int/bool inputs", async () => {
    const y = cpu(uniform(3 * 2 * 5, 52), [3, 2, 5]);
    await expectSameOnBoth((on) => [
      cat([on(x()), on(x())], 0),
      cat([on(x()), on(y), on(x()).narrow(1, 1, 2)], 1),
      cat([on(x()).permute(0, 2, 1), on(y).permute(0, 2, 1)], 2),
      stack([on(x()).narrow(0, 0, 1), on(x()).narrow(0, 2, 1)], 0),
      cat([on(cpu([1, 2], [2], "int32")), on(cpu([3], [1], "int32"))]),
      cat([on(cpu([1, 0], [2], "bool")), on(cpu([1], [1], "bool"))]),
    ]);
  });

  it("indexSelect along each dim, repeated indices, strided input", async () => {
    const index = cpu([2, 0, 2, 1], [4], "int32");
    await expectSameOnBoth((on) => [
      indexSelect(on(x()), 0, on(cpu([2, 0, 2], [3], "int32"))),
      indexSelect(on(x()), 1, on(index)),
      indexSelect(on(x()), 2, on(cpu([4, 0], [2], "int32"))),
      indexSelect(on(x()).permute(2, 1, 0), 0, on(index)),
      indexSelect(on(cpu([7], [])), 0, on(cpu([0, 0], [2], "int32"))),
      indexSelect(on(x()), 1, on(cpu([], [0], "int32"))),
    ]);
  });

  it("gather along each dim, with a strided index", async () => {
    const rows = cpu(integers(3 * 2 * 5, 53, 0, 4), [3, 2, 5], "int32");
    const big = cpu(integers(4 * 4 * 5, 54, 0, 3), [4, 4, 5], "int32");
    await expectSameOnBoth((on) => [
      gather(on(x()), 1, on(rows)),
      gather(on(x()), 0, on(big).narrow(0, 0, 2)),
      gather(on(x()), 2, on(cpu(integers(3 * 4 * 2, 55, 0, 5), [3, 4, 2], "int32"))),
      gather(on(x()).permute(1, 0, 2), 0, on(big).permute(1, 0, 2).narrow(1, 0, 3)),
      gather(on(cpu([5, 6, 7], [3])), 0, on(cpu([2, 2, 0, 1], [4], "int32"))),
    ]);
  });

  it("scatter: later writes win with repeated indices, scalar and strided sources", async () => {
    const index = cpu([0, 2, 0, 1, 1, 1, 2, 0, 2, 2], [2, 5], "int32");
    const src = cpu(uniform(2 * 5, 56), [2, 5]);
    const base = cpu(uniform(3 * 5, 57), [3, 5]);
    await expectSameOnBoth((on) => [
      scatter(on(base), 0, on(index), on(src)),
      scatter(on(base), 0, on(index), 9.5),
      scatter(on(base), 1, on(cpu([4, 4, 0, 3, 3, 3], [2, 3], "int32")), on(cpu(uniform(12, 58), [3, 4]))),
      scatter(on(base).t(), 1, on(index).t(), on(src).t()),
      scatter(on(cpu([1, 2, 3, 4], [4], "int32")), 0, on(cpu([3, 3, 0], [3], "int32")), on(cpu([7, 8, 9], [3], "int32"))),
    ]);
  });

  it("a 0-d index into a 1-d tensor addresses that element, as in PyTorch", async () => {
    const x = tensor([1, 2, 3]).to("webgpu");
    const i = tensor([2], { dtype: "int32" }).reshape([]).to("webgpu");
    expect(await gather(x, 0, i).toArray()).toBe(3);
    expect(await scatter(x, 0, i, tensor(9).to("webgpu")).toArray()).toEqual([1, 2, 9]);
  });
});
