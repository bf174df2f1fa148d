// relu's gradient is one primitive, reluBackward(grad, output) = output > 0 ? grad : 0, instead of
// gt then where: it must give the bits of that unfused pair on every device, in both modes
// (±0, ±inf, NaN and subnormal outputs and gradients, int32, broadcast and transposed operands),
// CPU ≡ WebGPU, and relu's gradient must be unchanged.
import { grad, gt, reluBackward, tensor, useDeterministicAlgorithms, where, DTypeError, type Tensor } from "lockstep";
import { afterEach, describe, expect, it } from "vitest";
import { difference } from "./bits.js";
import { devices } from "./devices.js";

afterEach(() => useDeterministicAlgorithms(false));

const unfused = (g: Tensor, y: Tensor) => where(gt(y, 0), g, 0);

/** Outputs and gradients with every special value, paired each with each. */
function specials(): { g: number[]; y: number[] } {
  const values = [0, -0, 1, -1, 1e-45, -1e-45, 3.5e38, -3.5e38, Infinity, -Infinity, NaN, 0.3, -2.5e-20];
  const g: number[] = [];
  const y: number[] = [];
  for (const a of values) for (const b of values) g.push(a), y.push(b);
  return { g, y };
}

describe.each(devices)("reluBackward on %s", (device) => {
  for (const deterministic of [true, false]) {
    it(`equals where(gt(output, 0), grad, 0) bit for bit (${deterministic ? "deterministic" : "fast"} mode)`, async () => {
      useDeterministicAlgorithms(deterministic);
      const { g, y } = specials();
      const gt_ = tensor(g).to(device);
      const yt = tensor(y).to(device);
      expect(await difference(reluBackward(gt_, yt), unfused(gt_, yt))).toBe("");
      // Transposed and broadcast operands.
      const g2 = tensor(g.slice(0, 156)).reshape([12, 13]).to(device);
      const y2 = tensor(y.slice(13, 169)).reshape([13, 12]).to(device);
      expect(await difference(reluBackward(g2, y2.t()), unfused(g2, y2.t()))).toBe("");
      const row = tensor(y.slice(0, 13)).to(device);
      expect(await difference(reluBackward(g2, row.expand(12, 13)), unfused(g2, row.expand(12, 13)))).toBe("");
    });
  }

  it("works on int32 and rejects bool or mixed dtypes", async () => {
    const g = tensor(Int32Array.from([5, -7, 9, 2 ** 30])).to(device);
    const y = tensor(Int32Array.from([1, 0, -3, 4])).to(device);
    expect(Array.from(await reluBackward(g, y).data())).toEqual([5, 0, 0, 2 ** 30]);
    expect(await difference(reluBackward(g, y), unfused(g, y))).toBe("");
    expect(() => reluBackward(g, y.float())).toThrow(DTypeError);
    expect(() => reluBackward(g.gt(0), y.gt(0))).toThrow(DTypeError);
  });

  it("relu's gradient is the unfused one's, and reluBackward has its own (linear in grad)", async () => {
    const x = tensor([-2, -0, 0, 1e-40, 3, NaN, -Infinity, Infinity, 0.5]).to(device).requiresGrad_();
    const w = tensor([1, 2, 3, 4, 5, 6, 7, 8, -0]).to(device);
    const y = x.relu();
    const [dx] = grad(y.mul(w).sum(), x);
    expect(await difference(dx!, unfused(w, y.detach()))).toBe("");
    // d(sum(reluBackward(g, y) · v))/dg = reluBackward(v, y); y gets no gradient (piecewise constant).
    const g = w.detach().requiresGrad_();
    const out = y.detach().requiresGrad_();
    const v = tensor([9, 8, 7, 6, 5, 4, 3, 2, 1]).to(device);
    reluBackward(g, out).mul(v).sum().backward();
    expect(await difference(g.grad!, unfused(v, out.detach()))).toBe("");
    expect(out.grad).toBeUndefined();
  });
});

describe.runIf(devices.includes("webgpu"))("reluBackward: CPU ≡ WebGPU", () => {
  it("the same bits on both (deterministic mode)", async () => {
    useDeterministicAlgorithms(true);
    const { g, y } = specials();
    const cpu = reluBackward(tensor(g), tensor(y));
    const gpu = reluBackward(tensor(g).to("webgpu"), tensor(y).to("webgpu"));
    expect(await difference(cpu, gpu)).toBe("");
  });
});
