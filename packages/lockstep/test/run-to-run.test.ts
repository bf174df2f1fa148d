// Run-to-run: two separate node processes training the same MLP (Dropout, AdamW, deterministic
// mode) print the same SHA-256 of the final weights, and it equals the run inside this process.
// On webgpu too when there is an adapter — and, CPU ≡ GPU, the same hash as on the CPU.
// The child processes import the built package (dist), as an application would.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { devices } from "./devices.js";
import { train } from "./train-mlp.mjs";

const script = fileURLToPath(new URL("./train-mlp.mjs", import.meta.url));
const STEPS = 25;

/** The hash a fresh `node train-mlp.mjs` process prints. */
function hashInChildProcess(device: string): string {
  const output = execFileSync(process.execPath, [script, device, String(STEPS)], { encoding: "utf8" });
  const line = output.trim().split("\n").pop()!;
  return (JSON.parse(line) as { sha256: string }).sha256;
}

describe("the same training in two processes gives the same weights", () => {
  const hashes = new Map<string, string>();

  for (const device of devices) {
    it(`${device}: two processes and this one agree on the SHA-256`, async () => {
      const first = hashInChildProcess(device);
      const second = hashInChildProcess(device);
      expect(second).toBe(first);
      expect(await train(device, STEPS)).toBe(first);
      hashes.set(device, first);
    });
  }

  it.runIf(devices.includes("webgpu"))("cpu and webgpu train to the same bits", () => {
    expect(hashes.get("webgpu")).toBe(hashes.get("cpu"));
  });
});
