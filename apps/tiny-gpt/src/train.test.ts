// A few training steps on the CPU and, when an adapter exists, on WebGPU: with the deterministic
// flag on, the loss curves' hashes (and the sampled text) are equal. Plus the hash's definition,
// checked against an independent computation.
import { createHash } from "node:crypto";
import { useDeterministicAlgorithms, webgpu } from "lockstep";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCorpus } from "./data.js";
import { lossCurveSha256, run, type RunResult } from "./train.js";

const corpus = loadCorpus();
const settings = { steps: 3, batch: 4, seed: 7, sampleLength: 12, progress: false };
const hasWebGPU = await webgpu.isAvailable().catch(() => false);
if (!hasWebGPU) {
  // CI sets REQUIRE_WEBGPU=1 so that a missing adapter fails instead of skipping the comparison.
  if (process.env.REQUIRE_WEBGPU === "1") throw new Error("REQUIRE_WEBGPU=1 but no WebGPU adapter was found");
  console.info("tiny-gpt: no WebGPU adapter, the CPU ≡ WebGPU check is skipped");
}

describe("tiny-gpt, deterministic flag on", () => {
  let cpu: RunResult;
  beforeAll(async () => {
    useDeterministicAlgorithms(true);
    cpu = await run(corpus, { ...settings, device: "cpu" });
  }, 120_000);
  afterAll(() => {
    useDeterministicAlgorithms(false);
    webgpu.destroy();
  });

  it("the hash is SHA-256 of the losses' float32 bits, little-endian, in step order", () => {
    const bytes = Buffer.alloc(4 * cpu.losses.length);
    cpu.losses.forEach((v, i) => bytes.writeFloatLE(v, 4 * i));
    expect(cpu.lossCurveSha256).toBe(createHash("sha256").update(bytes).digest("hex"));
    expect(lossCurveSha256([1, 2])).not.toBe(lossCurveSha256([2, 1]));
  });

  it("trains: finite losses, held-out logits batch-invariant, text of the requested length", () => {
    expect(cpu.losses).toHaveLength(settings.steps);
    for (const l of cpu.losses) expect(Number.isFinite(l)).toBe(true);
    expect(cpu.heldOutBatchInvariant).toBe(true);
    expect(cpu.sample.startsWith("And God said")).toBe(true);
    expect(cpu.sample.length).toBe("And God said".length + settings.sampleLength);
  });

  it("the same seed gives the same hash again on the CPU", async () => {
    const again = await run(corpus, { ...settings, device: "cpu" });
    expect(again.lossCurveSha256).toBe(cpu.lossCurveSha256);
    expect(again.sample).toBe(cpu.sample);
  }, 120_000);

  it.runIf(hasWebGPU)("WebGPU gives the CPU's loss-curve hash and sample", async () => {
    await webgpu.init();
    const gpu = await run(corpus, { ...settings, device: "webgpu" });
    expect(gpu.losses).toEqual(cpu.losses);
    expect(gpu.lossCurveSha256).toBe(cpu.lossCurveSha256);
    expect(gpu.sample).toBe(cpu.sample);
    expect(gpu.heldOutBatchInvariant).toBe(true);
  }, 120_000);
});
