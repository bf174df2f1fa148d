// GPU memory: a long loop inside scope() must hold memory flat and reuse pooled buffers; buffers
// are reused only after their commands were submitted; dropped storages return when collected.
// In its own file (own process) so that no other test's garbage is collected during the loop.
import { scope, tensor, type Tensor } from "@lockstep/core";
import { describe, expect, it } from "vitest";
import { peekContext } from "./device.js";
import { memory, webgpuBackend } from "./index.js";
import { available, cpu, uniform } from "./test-support/gpu.js";

describe.runIf(available)("webgpu memory", () => {
  function step(w: Tensor, x: Tensor): Tensor {
    return x.matmul(w).relu().sub(x.mean(1, true)).exp().sum(1);
  }

  it("200 iterations of ops inside scope() keep bytesInUse flat and reuse pooled buffers", async () => {
    const w = cpu(uniform(16 * 16, 61, -0.1, 0.1), [16, 16]).to("webgpu");
    const x = cpu(uniform(8 * 16, 62), [8, 16]).to("webgpu");
    const before = memory();
    let warm = { total: 0, created: 0 };
    for (let i = 0; i < 220; i++) {
      const total = scope(() => step(w, x).sum());
      if (i % 20 === 0) await total.data();
      total.dispose();
      if (i === 20) warm = { total: memory().bytesInUse + memory().bytesPooled, created: peekContext()!.pool.created };
    }
    const after = memory();
    expect(after.bytesInUse).toBe(before.bytesInUse);
    expect(after.tensors).toBe(before.tensors);
    // No buffer created after the warm-up: every allocation came from the pool.
    expect(peekContext()!.pool.created).toBe(warm.created);
    expect(after.bytesInUse + after.bytesPooled).toBe(warm.total);
    w.dispose();
    x.dispose();
  });

  it("a storage dropped without dispose() goes back to the pool when garbage collected", async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (gc === undefined) return; // needs node --expose-gc (set in vitest.config.ts)
    const collect = async () => {
      for (let i = 0; i < 5; i++) {
        gc();
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    await collect(); // earlier tests' dropped tensors first
    const before = memory();
    (() => {
      for (let i = 0; i < 5; i++) tensor(new Float32Array(300)).to("webgpu");
    })();
    expect(memory().tensors).toBe(before.tensors + 5);
    await collect();
    expect(memory().tensors).toBe(before.tensors);
    expect(memory().bytesInUse).toBe(before.bytesInUse);
  });

  it("an async scope frees its tensors after the await", async () => {
    const x = tensor([1, 2, 3]).to("webgpu");
    const before = memory().tensors;
    const result = await scope(async () => {
      const y = x.exp().add(1);
      await y.data();
      return y.sum();
    });
    expect(memory().tensors).toBe(before + 1);
    expect(await result.item()).toBeCloseTo(Math.E + Math.E ** 2 + Math.E ** 3 + 3, 4);
  });

  it("dispatches are submitted in bounded batches even without reads", () => {
    const ctx = peekContext()!;
    const x = tensor([1, 2, 3]).to("webgpu");
    const submits = ctx.batch.submits;
    scope(() => {
      let y = x;
      for (let i = 0; i < 3 * ctx.batch.maxDispatches; i++) y = y.add(1);
    });
    expect(ctx.batch.submits - submits).toBeGreaterThanOrEqual(3);
  });

  it("a released buffer is reused only after the commands that used it are submitted", () => {
    const ctx = peekContext()!;
    const a = tensor(new Float32Array(1237)).to("webgpu");
    const b = a.add(1); // recorded: b's buffer is in the open command encoder
    const buffer = b.storageView.storage;
    const submits = ctx.batch.submits;
    b.dispose();
    expect(ctx.batch.recording).toBe(true);
    const c = webgpuBackend.allocate("float32", 1237); // same size: must submit before reusing
    expect(ctx.batch.submits).toBe(submits + 1);
    expect(c.buffer).toBe((buffer as typeof c).buffer);
    webgpuBackend.release(c);
  });
});
