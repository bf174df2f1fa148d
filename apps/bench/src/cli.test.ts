// The CLI's contract, checked on a tiny run of the built program: flags, exit codes and the JSON
// shape. Speed is never asserted here (apps/bench measures it; a test must not).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const CLI = fileURLToPath(new URL("../dist/cli.js", import.meta.url));

function bench(args: string[]) {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 170_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("bench CLI", () => {
  it("has been built (turbo runs build before test)", () => {
    expect(existsSync(CLI)).toBe(true);
  });

  it("prints one JSON document with a row per case for a quick matmul run", () => {
    const run = bench(["--quick", "--json", "--filter", "matmul", "--no-python", "--no-webgpu", "--sizes", "small"]);
    expect(run.status, run.stderr).toBe(0);
    const doc = JSON.parse(run.stdout) as { results: Record<string, unknown>[]; skipped: { library: string; reason: string }[] };
    expect(Array.isArray(doc.results)).toBe(true);
    expect(doc.results.length).toBeGreaterThan(0);
    for (const row of doc.results) {
      expect(Object.keys(row).sort()).toEqual(["backend", "gflops", "library", "median_ms", "mode", "threads", "workload"]);
      expect(row.workload).toMatch(/^matmul \d+x\d+x\d+$/);
      expect(typeof row.library).toBe("string");
      expect(typeof row.backend).toBe("string");
      expect(["fast", "deterministic", "default"]).toContain(row.mode);
      expect(row.threads === null || (typeof row.threads === "number" && row.threads >= 1)).toBe(true);
      expect(typeof row.median_ms).toBe("number");
      expect(row.median_ms as number).toBeGreaterThan(0);
      expect(typeof row.gflops).toBe("number");
    }
    // Lockstep runs in both modes with 1 and 2 threads for every shape.
    const lockstep = doc.results.filter((r) => r.library === "lockstep" && r.workload === "matmul 1x64x64");
    expect(lockstep.map((r) => `${r.mode}/${r.threads}`).sort()).toEqual(["deterministic/1", "deterministic/2", "fast/1", "fast/2"]);
    // --no-webgpu and --no-python show up as skips with their reason, not as rows.
    expect(doc.results.some((r) => r.backend === "webgpu" || r.library === "pytorch")).toBe(false);
    expect(doc.skipped.some((s) => s.library === "pytorch" && s.reason === "--no-python")).toBe(true);
  }, 180_000);

  it("rejects an unknown flag with the usage text and exit code 2", () => {
    const run = bench(["--no-such-flag"]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("Usage: npm run bench");
    expect(run.stdout).toBe("");
  });

  it("rejects a malformed --reps with exit code 2", () => {
    expect(bench(["--reps", "zero"]).status).toBe(2);
  });
});
