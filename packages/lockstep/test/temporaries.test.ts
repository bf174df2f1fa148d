// Temporaries that only an op itself can see are freed with its result, not left to the garbage
// collector: a reshape that has to copy (its copy is reachable only through the returned view),
// and a convolution run without a graph (the padded input and the columns, tens of MB for a batch
// of images). Counted on WebGPU, whose backend reports live storages; the release path is core's
// and the same on every device. In its own file (own process) so other tests' tensors stay out.
import { memory, nn, noGrad, randn } from "lockstep";
import { describe, expect, it } from "vitest";
import { devices } from "./devices.js";

const hasWebGPU = devices.includes("webgpu");

describe.runIf(hasWebGPU)("temporaries freed with the result (webgpu storage counts)", () => {
  it("disposing the view a copying reshape returns frees the copy", () => {
    const x = randn([4, 6, 5]).to("webgpu");
    const before = memory("webgpu");
    const r = x.permute([2, 1, 0]).reshape([5, 24]);
    expect(memory("webgpu").tensors).toBe(before.tensors + 1);
    r.dispose();
    expect(memory("webgpu").tensors).toBe(before.tensors);
    expect(memory("webgpu").bytesInUse).toBe(before.bytesInUse);
    x.dispose();
  });

  it("a convolution without a graph keeps only its output", () => {
    const x = randn([2, 3, 9, 9]).to("webgpu");
    const w = randn([4, 3, 3, 3]).to("webgpu");
    const b = randn([4]).to("webgpu");
    const before = memory("webgpu");
    const y = noGrad(() => nn.functional.conv2d(x, w, b, { padding: 1, stride: 2 }));
    expect(y.shape).toEqual([2, 4, 5, 5]);
    expect(memory("webgpu").tensors).toBe(before.tensors + 1);
    y.dispose();
    expect(memory("webgpu").bytesInUse).toBe(before.bytesInUse);
  });

  it("with a graph the columns stay for backward, and the gradients still arrive", async () => {
    const x = randn([2, 3, 9, 9]).to("webgpu").requiresGrad_();
    const w = randn([4, 3, 3, 3]).to("webgpu").requiresGrad_();
    const y = nn.functional.conv2d(x, w, undefined, { padding: 1 });
    y.sum().backward();
    expect(x.grad?.shape).toEqual([2, 3, 9, 9]);
    expect(w.grad?.shape).toEqual([4, 3, 3, 3]);
    // Each weight-gradient element is Σ over batch and positions of the input under that tap:
    // with a gradient of ones, w.grad[o, c, 1, 1] (the centre tap, never in the padding) is x[:, c].sum().
    const wg = (await w.grad!.toArray()) as number[][][][];
    const xs = (await x.detach().sum([0, 2, 3]).toArray()) as number[];
    for (let c = 0; c < 3; c++) expect(wg[0]![c]![1]![1]!).toBeCloseTo(xs[c]!, 3);
  });
});
