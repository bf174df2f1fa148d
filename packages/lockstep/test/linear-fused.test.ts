// nn.functional.linear with a bias is one primitive (core's `linear`: matmul + bias in one kernel)
// where the device has it. It must give the bits of the two ops it replaced — x.matmul(wᵀ) then
// add(bias) — for the output and for the gradients of x, weight and bias, on every device, in
// both modes (float32; float64 and int32 on the CPU), with 2-D and 3-D inputs, transposed and
// sliced operands, special values, and shapes that are not multiples of the GPU tile; and CPU ≡
// WebGPU with the flag on. Shapes or dtypes it does not cover take the two ops.
import { fusedLinear, nn, tensor, useDeterministicAlgorithms, type Tensor } from "lockstep";
import { afterEach, describe, expect, it } from "vitest";
import { difference } from "./bits.js";
import { devices } from "./devices.js";

afterEach(() => useDeterministicAlgorithms(false));

/** Seeded values in [-1, 1) with a few specials (±0, a subnormal, a huge value) mixed in. */
function values(n: number, seed: number, specials = true): number[] {
  let s = seed >>> 0;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out.push(s / 2 ** 31 - 1);
  }
  if (specials && n > 8) [out[1], out[3], out[5], out[7]] = [0, -0, 1e-41, 3e37];
  return out;
}

const unfused = (x: Tensor, w: Tensor, b: Tensor) => x.matmul(w.t()).add(b);

/** Output and gradients (x, weight, bias) of `f` with a fixed upstream gradient. */
async function run(f: typeof unfused, x: Tensor, w: Tensor, b: Tensor, upstream: Tensor): Promise<Tensor[]> {
  const [xl, wl, bl] = [x, w, b].map((t) => t.detach().requiresGrad_());
  const out = f(xl!, wl!, bl!);
  out.mul(upstream).sum().backward();
  return [out.detach(), xl!.grad!, wl!.grad!, bl!.grad!];
}

async function expectSame(a: Tensor[], b: Tensor[]): Promise<void> {
  const names = ["output", "x.grad", "weight.grad", "bias.grad"];
  for (let i = 0; i < a.length; i++) expect(`${names[i]}: ${await difference(a[i]!, b[i]!)}`).toBe(`${names[i]}: `);
}

describe.each(devices)("fused linear on %s", (device) => {
  const on = (t: Tensor) => t.to(device);
  for (const deterministic of [true, false]) {
    const mode = deterministic ? "deterministic" : "fast";
    it(`nn.functional.linear equals matmul then add, forward and backward (${mode} mode)`, async () => {
      useDeterministicAlgorithms(deterministic);
      for (const [batch, inF, outF] of [[16, 784 / 4, 40], [1, 7, 3], [17, 33, 70], [5, 12, 1]] as const) {
        const x = on(tensor(values(batch * inF, batch + inF)).reshape([batch, inF]));
        const w = on(tensor(values(outF * inF, outF, false)).reshape([outF, inF]));
        const b = on(tensor(values(outF, 7 * outF)));
        const g = on(tensor(values(batch * outF, 99, false)).reshape([batch, outF]));
        expect(fusedLinear(x, w, b)).toBeDefined();
        await expectSame(await run(nn.functional.linear, x, w, b, g), await run(unfused, x, w, b, g));
      }
    });

    it(`3-D input, transposed weight and sliced bias (${mode} mode)`, async () => {
      useDeterministicAlgorithms(deterministic);
      const x = on(tensor(values(3 * 10 * 9, 5)).reshape([3, 10, 9]));
      const wT = on(tensor(values(9 * 6, 6, false)).reshape([9, 6])).t(); // [6, 9], column-major
      const b = on(tensor(values(12, 8)).reshape([6, 2])).select(1, 1); // stride 2
      const g = on(tensor(values(3 * 10 * 6, 9, false)).reshape([3, 10, 6]));
      await expectSame(await run(nn.functional.linear, x, wT, b, g), await run(unfused, x, wT, b, g));
      // A transposed input.
      const xT = on(tensor(values(9 * 10, 10)).reshape([9, 10])).t();
      await expectSame(await run(nn.functional.linear, xT, wT, b, g.select(0, 0)), await run(unfused, xT, wT, b, g.select(0, 0)));
    });
  }

  it("nn.Linear forward and backward match the two ops, and NaN / ±inf biases pass through", async () => {
    useDeterministicAlgorithms(true);
    const layer = new nn.Linear(5, 4).to(device);
    const x = on(tensor(values(3 * 5, 11)).reshape([3, 5]));
    const b = on(tensor([NaN, Infinity, -Infinity, -0]));
    const w = layer.weight.detach();
    const g = on(tensor(values(12, 12, false)).reshape([3, 4]));
    await expectSame(await run(nn.functional.linear, x, w, b, g), await run(unfused, x, w, b, g));
    const y = layer.call(x);
    expect(y.gradFn?.name).toBe("AddmmBackward0");
    // PyTorch 1.13: F.linear on a [5, 2, 4] input gives ViewBackward0 (flatten, addmm, view back).
    expect(layer.call(on(tensor(values(2 * 3 * 5, 13)).reshape([2, 3, 5]))).gradFn?.name).toBe("ViewBackward0");
    expect(await difference(y, unfused(x, w, layer.bias!.detach()))).toBe("");
  });

  it("other shapes, dtypes and devices take the two ops (1-D input, no bias, another bias dtype or device); int32 fuses", async () => {
    const w = on(tensor(values(12, 1, false)).reshape([3, 4]));
    const b = on(tensor(values(3, 2, false)));
    expect(fusedLinear(on(tensor(values(4, 3, false))), w, b)).toBeUndefined();
    expect(await difference(nn.functional.linear(on(tensor(values(4, 3, false))), w, b), unfused(on(tensor(values(4, 3, false))), w, b))).toBe("");
    expect(await difference(nn.functional.linear(on(tensor(values(8, 4, false)).reshape([2, 4])), w), on(tensor(values(8, 4, false)).reshape([2, 4])).matmul(w.t()))).toBe("");
    const xi = on(tensor(Int32Array.from([1, -2, 3, 4, 5, 6, -7, 8]), { dtype: "int32" }).reshape([2, 4]));
    const wi = on(tensor(Int32Array.from([2 ** 30, 3, 1, 1, 0, 0, 0, 1, -1, 2, 3, 4]), { dtype: "int32" }).reshape([3, 4]));
    const bi = on(tensor(Int32Array.from([2 ** 30, -5, 7]), { dtype: "int32" }));
    expect(fusedLinear(xi, wi, bi)).toBeDefined();
    expect(await difference(fusedLinear(xi, wi, bi)!, xi.matmul(wi.t()).add(bi))).toBe("");
    // A float64 bias on the CPU (float32 input), a bias on another device elsewhere.
    const other = device === "cpu" ? b.double() : tensor(values(3, 2, false));
    expect(fusedLinear(on(tensor(values(8, 4, false)).reshape([2, 4])), w, other)).toBeUndefined();
  });
});

describe("fused linear on cpu in float64", () => {
  it("equals matmul then add, forward and backward", async () => {
    const x = tensor(values(6 * 5, 21)).reshape([6, 5]).double();
    const w = tensor(values(4 * 5, 22, false)).reshape([4, 5]).double();
    const b = tensor(values(4, 23, false)).double();
    const g = tensor(values(24, 24, false)).reshape([6, 4]).double();
    await expectSame(await run(nn.functional.linear, x, w, b, g), await run(unfused, x, w, b, g));
  });
});

describe.runIf(devices.includes("webgpu"))("fused linear: CPU ≡ WebGPU", () => {
  it("the same output and gradients on both (deterministic mode)", async () => {
    useDeterministicAlgorithms(true);
    const x = tensor(values(16 * 100, 31)).reshape([16, 100]);
    const w = tensor(values(70 * 100, 32, false)).reshape([70, 100]);
    const b = tensor(values(70, 33));
    const g = tensor(values(16 * 70, 34, false)).reshape([16, 70]);
    const cpu = await run(nn.functional.linear, x, w, b, g);
    const gpu = await run(nn.functional.linear, x.to("webgpu"), w.to("webgpu"), b.to("webgpu"), g.to("webgpu"));
    await expectSame(cpu, gpu);
  });
});
