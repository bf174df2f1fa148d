// The README's usage example must work as written: extract it and run it in a fresh Node process
// from the repository root, where `lockstep` resolves to this workspace package.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../..", import.meta.url));
const readme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8");

describe("README", () => {
  it("the usage example runs and prints what the comments say", () => {
    const start = readme.indexOf("```ts\nimport { manualSeed, nn, optim");
    expect(start, "usage example not found in README.md").toBeGreaterThanOrEqual(0);
    const code = readme.slice(start + "```ts\n".length, readme.indexOf("```", start + 5));
    const output = execFileSync(process.execPath, ["--input-type=module", "-e", code], { cwd: root, encoding: "utf8" });
    expect(output.startsWith("tensor([[3.],\n        [7.]])\n")).toBe(true);
    const logits = JSON.parse(output.split("\n")[2]!.replace(/ /g, "")) as number[][];
    expect(logits).toHaveLength(1);
    expect(logits[0]).toHaveLength(3);
  });
});
