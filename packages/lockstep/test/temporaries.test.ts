// A convolution without a graph to record frees its temporaries (the padded input and the columns,
// tens of MB for a batch of images) before it returns, instead of leaving them to the garbage
// collector — and what it returns stays usable in every way, including in-place ops recorded by
// autograd, which reach back to the base of a view. Counted on WebGPU, whose backend reports live
// storages; in its own file (own process) so that other tests' tensors stay out of the counts.
import { memory, nn, noGrad, randn, tensor } from "lockstep";
import { describe, expect, it } from "vitest";
import { devices } from "./devices.js";

const hasWebGPU = devices.includes("webgpu");

describe.runIf(hasWebGPU)("a convolution's temporaries (webgpu storage counts)", () => {
  it("without a graph, only the output's storage outlives the call", () => {
    const x = randn([2, 3, 9, 9]).to("webgpu");
    const w = randn([4, 3, 3, 3]).to("webgpu");
    const before = memory("webgpu");
    const y = noGrad(() => nn.functional.conv2d(x, w, undefined, { padding: 1, stride: 2 }));
    expect(y.shape).toEqual([2, 4, 5, 5]);
    expect(memory("webgpu").tensors).toBe(before.tensors + 1);
    y.dispose();
  });
});

describe.each(devices)("a convolution's result on %s", (device) => {
  // Frozen arguments (nothing requires grad), so the call frees its temporaries; then an in-place
  // add of a trainable tensor, recorded by autograd, and a backward through it. The gradient of
  // sum(y + r) with respect to r is all ones.
  for (const withBias of [false, true]) {
    for (const batched of [true, false]) {
      it(`takes an in-place op recorded by autograd (bias: ${withBias}, batched: ${batched})`, async () => {
        const x = randn(batched ? [2, 3, 8, 8] : [3, 8, 8]).to(device);
        const w = randn([4, 3, 3, 3]).to(device);
        const b = withBias ? randn([4]).to(device) : undefined;
        const y = nn.functional.conv2d(x, w, b, { padding: 1 });
        const r = randn(y.shape).to(device).requiresGrad_();
        y.add_(r);
        y.sum().backward();
        const ones = tensor(new Float32Array(r.shape.reduce((p, s) => p * s, 1)).fill(1)).reshape(r.shape);
        expect(await r.grad!.toArray()).toEqual(await ones.toArray());
      });
    }
  }

  it("a reshape that has to copy returns a tensor that takes in-place ops recorded by autograd", async () => {
    // The copy is the base of the returned view; an in-place op on the view reaches back to it.
    const x = randn([3, 4]).to(device).requiresGrad_();
    const y = x.mul(2).t().reshape([12]);
    y.mul_(3);
    y.sum().backward();
    expect(await x.grad!.toArray()).toEqual([[6, 6, 6, 6], [6, 6, 6, 6], [6, 6, 6, 6]]);
  });

  it("with a graph keeps the columns for backward: the weight gradient arrives", async () => {
    const x = randn([2, 3, 9, 9]).to(device).requiresGrad_();
    const w = randn([4, 3, 3, 3]).to(device).requiresGrad_();
    const y = nn.functional.conv2d(x, w, undefined, { padding: 1 });
    y.sum().backward();
    expect(x.grad?.shape).toEqual([2, 3, 9, 9]);
    // With a gradient of ones, w.grad[o, c, 1, 1] (the centre tap, never in the padding) is the
    // sum of x[:, c] over the batch and the image.
    const wg = (await w.grad!.toArray()) as number[][][][];
    const xs = (await x.detach().sum([0, 2, 3]).toArray()) as number[];
    for (let c = 0; c < 3; c++) expect(wg[0]![c]![1]![1]!).toBeCloseTo(xs[c]!, 3);
  });
});
