// A long training loop on webgpu holds GPU memory flat when each step runs inside `scope`:
// temporaries die with the scope, autograd keeps the gradients it stores in `.grad` (freed by the
// next zeroGrad), and the optimizer keeps its state tensors and updates them in place. Nothing a
// later step or the caller needs is freed: gradients and optimizer state stay readable after the
// loop. In its own file (own process) so that other tests' tensors do not move the numbers.
import { NotImplementedError, manualSeed, memory, nn, optim, randint, randn, scope, useDeterministicAlgorithms, webgpu, type Tensor } from "lockstep";
import { afterAll, describe, expect, it } from "vitest";
import { devices } from "./devices.js";

const hasWebGPU = devices.includes("webgpu");
if (!hasWebGPU) console.info("webgpu-memory: skipped, no WebGPU adapter (set REQUIRE_WEBGPU=1 to make that an error)");

const STEPS = 220;

afterAll(() => useDeterministicAlgorithms(false));

describe.runIf(hasWebGPU)("webgpu memory over a training loop", () => {
  it("memory(device) reports webgpu's pool and says why the CPU has none", () => {
    expect(memory("webgpu")).toEqual(webgpu.memory());
    expect(() => memory("cpu")).toThrow(NotImplementedError);
  });

  for (const deterministic of [true, false]) {
    it(`${STEPS} AdamW steps inside scope keep bytesInUse flat (deterministic: ${deterministic})`, async () => {
      useDeterministicAlgorithms(deterministic);
      manualSeed(5);
      const model = new nn.Sequential(
        new nn.Linear(16, 64),
        new nn.GELU(),
        new nn.Dropout(0.1),
        new nn.LayerNorm(64),
        new nn.Linear(64, 8),
      ).to("webgpu");
      const x = randn([32, 16]).to("webgpu");
      const y = randint(0, 8, [32], { dtype: "int32" }).to("webgpu");
      const optimizer = new optim.AdamW(model.parameters(), { lr: 1e-3 });
      const samples = new Map<number, ReturnType<typeof memory>>();
      const losses: number[] = [];
      for (let step = 1; step <= STEPS; step++) {
        const loss: Tensor = scope(() => {
          optimizer.zeroGrad();
          const value = nn.functional.crossEntropy(model.forward(x), y);
          value.backward();
          optimizer.step();
          return value;
        });
        if (step % 20 === 0) losses.push((await loss.item()) as number);
        loss.dispose();
        if (step === 10 || step === 100 || step === STEPS) samples.set(step, memory("webgpu"));
      }
      const at10 = samples.get(10)!;
      const at100 = samples.get(100)!;
      const atEnd = samples.get(STEPS)!;
      console.info(
        `webgpu memory (deterministic: ${deterministic}): step 10 ${JSON.stringify(at10)}, ` +
          `step 100 ${JSON.stringify(at100)}, step ${STEPS} ${JSON.stringify(atEnd)}`,
      );
      expect(atEnd.bytesInUse).toBe(at10.bytesInUse);
      expect(atEnd.tensors).toBe(at10.tensors);
      expect(at100.bytesInUse).toBe(at10.bytesInUse);
      // The pool does not grow either: every allocation after warm-up is a reused buffer.
      expect(atEnd.bytesInUse + atEnd.bytesPooled).toBeLessThanOrEqual(at10.bytesInUse + at10.bytesPooled);
      expect(losses[losses.length - 1]!).toBeLessThan(losses[0]!);
      // What outlives the steps is still usable: the last gradients and the optimizer's moments.
      for (const p of model.parameters()) {
        expect(p.grad!.isDisposed).toBe(false);
        await p.grad!.data();
        for (const value of Object.values(optimizer.state.get(p)!)) {
          if (typeof value !== "number") expect(value.isDisposed).toBe(false);
        }
      }
      // zeroGrad frees what autograd stored.
      const grads = model.parameters().map((p) => p.grad!);
      optimizer.zeroGrad();
      expect(grads.every((g) => g.isDisposed)).toBe(true);
      // Free the rest now, so that the next loop's numbers do not move when the collector runs.
      for (const p of model.parameters()) {
        for (const value of Object.values(optimizer.state.get(p)!)) if (typeof value !== "number") value.dispose();
        p.dispose();
      }
      x.dispose();
      y.dispose();
    });
  }
});
