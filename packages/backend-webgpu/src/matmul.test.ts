// matmul on webgpu is bit-for-bit the CPU kernel's sequential float32 sum (DESIGN.md rules 1, 4
// and 6), for every layout of the operands, and batch invariant.
import { useDeterministicAlgorithms, type Tensor } from "@lockstep/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { adapterInfo, available, bits, cpu, expectSameOnBoth, integers, mismatch, uniform, wideValues } from "./test-support/gpu.js";

// With the flag off the CPU may pick its fast (blocked, unrolled) matmul; the bitwise promise is
// between the deterministic kernels.
beforeEach(() => useDeterministicAlgorithms(true));
afterEach(() => useDeterministicAlgorithms(false));

async function expectBitwise(build: (on: (t: Tensor) => Tensor) => Tensor): Promise<void> {
  const want = build((t) => t);
  const got = build((t) => t.to("webgpu"));
  expect(got.shape).toEqual(want.shape);
  const [g, w] = [bits(await got.data()), bits(await want.data())];
  expect(mismatch(g, w, "exact")).toBeUndefined();
}

describe.runIf(available)("matmul on webgpu equals the CPU bit for bit", () => {
  it("the start-up self-test found CPU ≡ GPU for matmul and sum on this adapter", () => {
    expect(adapterInfo!.selfTest).toMatchObject({ matmul: true, sum: true, subnormals: true });
  });

  const shapes: [number, number, number][] = [
    [1, 1, 1],
    [5, 1, 7],
    [3, 768, 4],
    [17, 33, 19],
    [16, 16, 16],
    [1, 300, 1],
    [40, 7, 2],
  ];
  for (const [m, k, n] of shapes) {
    it(`[${m}×${k}] · [${k}×${n}] over wide magnitudes`, async () => {
      const a = cpu(wideValues(m * k, m * 1000 + k), [m, k]);
      const b = cpu(wideValues(k * n, n * 1000 + k + 1), [k, n]);
      await expectBitwise((on) => on(a).matmul(on(b)));
    });
  }

  it("K = 768 with uniform inputs, as in a transformer layer", async () => {
    const a = cpu(uniform(8 * 768, 31), [8, 768]);
    const b = cpu(uniform(768 * 6, 32, -0.05, 0.05), [768, 6]);
    await expectBitwise((on) => on(a).matmul(on(b)));
  });

  it("transposed and sliced operands", async () => {
    const a = cpu(wideValues(20 * 9, 33), [20, 9]);
    const b = cpu(wideValues(11 * 20, 34), [11, 20]);
    await expectBitwise((on) => on(a).t().matmul(on(b).t())); // [9×20]·[20×11]
    await expectBitwise((on) => on(a).slice(0, 1, 20, 2).t().matmul(on(b).t().slice(0, 0, 20, 2))); // strided rows
    await expectBitwise((on) => on(a).narrow(1, 2, 5).matmul(on(b).narrow(0, 3, 5).narrow(1, 0, 5))); // offsets
  });

  it("the layouts of a Linear layer's training step: x·Wᵀ, gᵀ·x and g·W at batch 16, 7 and 1", async () => {
    for (const m of [16, 7, 1]) {
      const x = cpu(uniform(m * 300, 50 + m), [m, 300]);
      const w = cpu(uniform(70 * 300, 51, -0.1, 0.1), [70, 300]);
      const g = cpu(wideValues(m * 70, 52 + m), [m, 70]);
      await expectBitwise((on) => on(x).matmul(on(w).t())); // forward
      await expectBitwise((on) => on(g).t().matmul(on(x))); // weight gradient, K = m
      await expectBitwise((on) => on(g).matmul(on(w))); // input gradient
    }
  });

  it("batched, with broadcast (stride-0) batch dims", async () => {
    const a = cpu(wideValues(4 * 1 * 5 * 9, 35), [4, 1, 5, 9]);
    const b = cpu(wideValues(3 * 9 * 6, 36), [3, 9, 6]);
    await expectBitwise((on) => on(a).matmul(on(b))); // → [4, 3, 5, 6]
    const w = cpu(wideValues(9 * 6, 37), [9, 6]);
    await expectBitwise((on) => on(a).matmul(on(w))); // weight shared by every batch
    await expectBitwise((on) => on(a).permute(1, 0, 2, 3).expand(2, 4, 5, 9).matmul(on(w)));
  });

  it("vectors: dot product, matrix·vector, vector·matrix", async () => {
    const v = cpu(wideValues(50, 38), [50]);
    const m = cpu(wideValues(50 * 3, 39), [50, 3]);
    await expectBitwise((on) => on(v).matmul(on(v)));
    await expectBitwise((on) => on(m).t().matmul(on(v)));
    await expectBitwise((on) => on(v).matmul(on(m)));
  });

  it("int32 matmul wraps like int32", async () => {
    const a = cpu(integers(6 * 5, 40, -(2 ** 20), 2 ** 20), [6, 5], "int32");
    const b = cpu(integers(5 * 4, 41, -(2 ** 20), 2 ** 20), [5, 4], "int32");
    await expectSameOnBoth((on) => on(a).matmul(on(b)));
  });

  it("empty dims: K = 0 gives zeros, M = 0 gives an empty result", async () => {
    await expectSameOnBoth((on) => [
      on(cpu([], [3, 0])).matmul(on(cpu([], [0, 2]))),
      on(cpu([], [0, 4])).matmul(on(cpu(uniform(8, 42), [4, 2]))),
    ]);
  });

  it("is batch invariant: row i of a batch equals the row computed alone (batch 1..17, 64)", async () => {
    const w = cpu(uniform(24 * 10, 43), [24, 10]).to("webgpu");
    const x = cpu(uniform(64 * 24, 44), [64, 24]).to("webgpu");
    const full = bits(await x.matmul(w).data());
    for (const batch of [1, 2, 3, 5, 8, 13, 16, 17, 64]) {
      const part = bits(await x.narrow(0, 0, batch).matmul(w).data());
      expect(mismatch(part, full.subarray(0, batch * 10), "exact")).toBeUndefined();
    }
    const alone = bits(await x.narrow(0, 37, 1).matmul(w).data());
    expect(mismatch(alone, full.subarray(370, 380), "exact")).toBeUndefined();
  });

  it("runs the same way twice (deterministic run to run)", async () => {
    const a = cpu(uniform(33 * 70, 45), [33, 70]).to("webgpu");
    const b = cpu(uniform(70 * 21, 46), [70, 21]).to("webgpu");
    expect(bits(await a.matmul(b).data())).toEqual(bits(await a.matmul(b).data()));
  });
});
