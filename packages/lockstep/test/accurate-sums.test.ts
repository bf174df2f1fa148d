// Deterministic sums are a fixed blocked-pairwise tree (DESIGN rule 7), so a deterministic order
// costs no accuracy: long sums stay within 1e-6 of the float64 sum, a running-sum stall at 2^25
// does not happen, and the results are still the same bits for every batch size, thread count and
// device. Reference values are float64 sums computed here from the same float32 data.
import { full, getNumThreads, manualSeed, rand, randn, setNumThreads, tensor, useDeterministicAlgorithms, type Tensor } from "lockstep";
import { afterAll, describe, expect, it } from "vitest";
import { bitsOf } from "./bits.js";
import { devices } from "./devices.js";

const hasWebGPU = devices.includes("webgpu");

function float64Sum(values: Float32Array): { sum: number; absSum: number } {
  let sum = 0;
  let absSum = 0;
  for (const v of values) {
    sum += v;
    absSum += Math.abs(v);
  }
  return { sum, absSum };
}

afterAll(() => useDeterministicAlgorithms(false));

describe.each(devices)("on %s", (device) => {
  it.each([true, false])("full([2 ** 25], 2).mean() is 2 (deterministic=%s)", async (deterministic) => {
    useDeterministicAlgorithms(deterministic);
    const x = full([2 ** 25], 2, { device });
    expect(await x.mean().item()).toBe(2);
    expect(await x.sum().item()).toBe(2 ** 26);
    x.dispose();
  });

  it("10^7 uniform [0, 1) values: the deterministic sum is within 1e-6 relative of the float64 sum", async () => {
    useDeterministicAlgorithms(true);
    manualSeed(1);
    const cpu = rand([1e7]);
    const { sum } = float64Sum(cpu.dataSync() as Float32Array);
    const got = (await cpu.to(device).sum().item()) as number;
    expect(Math.abs(got - sum) / sum).toBeLessThan(1e-6);
  });

  it("10^7 standard normal values: within 1e-6 · Σ|x| of the float64 sum", async () => {
    useDeterministicAlgorithms(true);
    manualSeed(2);
    const cpu = randn([1e7]);
    const { sum, absSum } = float64Sum(cpu.dataSync() as Float32Array);
    const got = (await cpu.to(device).sum().item()) as number;
    expect(Math.abs(got - sum)).toBeLessThan(1e-6 * absSum);
  });

  it("long rows (bias-gradient style sums over the batch) stay batch-invariant per row", async () => {
    useDeterministicAlgorithms(true);
    manualSeed(3);
    const rows = randn([9, 5000]).mul(randn([9, 5000]).mul(3).exp()).to(device);
    const whole = await bitsOf(rows.sum(1));
    for (let b = 1; b <= 9; b++) {
      const part = await bitsOf(rows.narrow(0, 0, b).sum(1));
      expect(Array.from(part)).toEqual(Array.from(whole.slice(0, b)));
    }
  });
});

describe("thread invariance (cpu, flag on)", () => {
  const before = getNumThreads();
  afterAll(() => setNumThreads(before));

  it("1, 2 and 3 threads give the same sums, means and softmax", async () => {
    useDeterministicAlgorithms(true);
    manualSeed(4);
    const x = randn([7, 40000]);
    const results: Uint32Array[][] = [];
    for (const threads of [1, 2, 3]) {
      setNumThreads(threads);
      results.push([await bitsOf(x.sum(1)), await bitsOf(x.mean(0)), await bitsOf(x.softmax(1)), await bitsOf(x.sum())]);
    }
    for (const other of results.slice(1)) other.forEach((bits, i) => expect(Array.from(bits)).toEqual(Array.from(results[0]![i]!)));
  });
});

describe.runIf(hasWebGPU)("CPU ≡ WebGPU (flag on)", () => {
  it("sums of every length from 0 to 300 and some long ones are the same bits on both devices", async () => {
    useDeterministicAlgorithms(true);
    manualSeed(5);
    for (const n of [...Array.from({ length: 301 }, (_, i) => i), 1023, 1024, 1025, 4097, 65537, 1_000_003]) {
      const x = randn([n]).mul(randn([n]).mul(4).exp());
      const [cpu, gpu] = [await bitsOf(x.sum()), await bitsOf(x.to("webgpu").sum())];
      expect(gpu[0], `length ${n}`).toBe(cpu[0]);
    }
  });

  it("reductions over several dims and strided views agree bitwise", async () => {
    useDeterministicAlgorithms(true);
    manualSeed(6);
    const x = randn([6, 70, 33]).mul(10);
    const views: [string, (t: Tensor) => Tensor][] = [
      ["sum over dims 0, 2", (t) => t.sum([0, 2])],
      ["mean over a transposed view", (t) => t.transpose(1, 2).mean(-1)],
      ["var over dim 1", (t) => t.var(1)],
      ["logsumexp over dim 2", (t) => t.logsumexp(2)],
    ];
    for (const [what, f] of views) expect(Array.from(await bitsOf(f(x.to("webgpu")))), what).toEqual(Array.from(await bitsOf(f(x))));
  });

  it("a 2^25-element constant sum is exact on both devices", async () => {
    useDeterministicAlgorithms(true);
    const ones = tensor(new Float32Array(2 ** 25).fill(1));
    expect(await ones.to("webgpu").sum().item()).toBe(2 ** 25);
    expect(await ones.sum().item()).toBe(2 ** 25);
  });
});
