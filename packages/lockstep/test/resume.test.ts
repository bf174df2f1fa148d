// Checkpoints resume bit for bit: training N steps equals training k steps, saving (model,
// optimizer, scheduler, DataLoader position, default generator), loading into fresh objects in a
// NEW node process and training N − k more — with shuffling and dropout on. The child imports the
// built package (dist).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { manualSeed, nn } from "lockstep";
import { afterAll, describe, expect, it } from "vitest";
import { TOTAL_STEPS, build, checkpointOf, restore, train, weightBits } from "./resume-training.mjs";

const script = fileURLToPath(new URL("./resume-training.mjs", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "lockstep-resume-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("a checkpoint resumes training bit for bit in another process", () => {
  const full = build(7);
  const fullLosses = train(full, TOTAL_STEPS);
  const fullWeights = weightBits(full.model);

  // k = 5 stops mid-epoch (4 batches per epoch), k = 8 at an epoch boundary.
  for (const k of [5, 8]) {
    it(`stop after ${k} of ${TOTAL_STEPS} steps, resume in a new process`, async () => {
      const first = build(7);
      const head = train(first, k);
      const path = join(dir, `step-${k}.safetensors`);
      await nn.save(checkpointOf(first), path);
      const out = join(dir, `out-${k}.json`);
      execFileSync(process.execPath, [script, path, out, String(TOTAL_STEPS)], { encoding: "utf8" });
      const resumed = JSON.parse(readFileSync(out, "utf8")) as { losses: number[]; weights: number[][]; epoch: number };
      expect([...head, ...resumed.losses]).toEqual(fullLosses);
      expect(resumed.weights).toEqual(fullWeights);
      expect(resumed.epoch).toBe(full.loader.epoch);
    });
  }

  it("the comparison is sensitive: resuming with another generator state or loader position differs", async () => {
    const first = build(7);
    train(first, 5);
    const saved = await nn.loadBytes(await nn.saveBytes(checkpointOf(first)));
    const otherRng = build(12345);
    restore(otherRng, saved);
    manualSeed(1);
    expect(train(otherRng, TOTAL_STEPS)).not.toEqual(fullLosses.slice(5));
    const otherPosition = build(12345);
    restore(otherPosition, { ...(saved as object), loader: { ...(saved as { loader: object }).loader, position: 0, batchIndex: 0 } });
    expect(train(otherPosition, TOTAL_STEPS)).not.toEqual(fullLosses.slice(5));
  });
});
