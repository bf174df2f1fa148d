// Two copies of @lockstep/core in one process (two installed versions, a bundle beside
// node_modules) must share one global state: the determinism flag set through one copy is seen by
// the other, and so are registered backends. This test loads the built package and a copy of its
// dist folder from a temporary directory: two module instances, two Tensor classes, one state.
// It needs `npm run build` in packages/core first (turbo's test task depends on build).
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

type Core = typeof import("@lockstep/core");

const dist = fileURLToPath(new URL("../dist", import.meta.url));
let dir: string;
let first: Core;
let second: Core;

/** A fresh copy of dist under the temp dir, imported as its own module instance. */
async function importCopy(name: string, version?: string): Promise<Core> {
  const target = join(dir, name);
  // Only the JavaScript: the copy's source maps would point at sources that are not beside it.
  cpSync(dist, target, { recursive: true, filter: (path) => !path.endsWith(".map") });
  for (const file of readdirSync(target, { recursive: true, encoding: "utf8" })) {
    if (!file.endsWith(".js")) continue;
    const path = join(target, file);
    writeFileSync(path, readFileSync(path, "utf8").replace(/^\/\/# sourceMappingURL=.*$/m, ""));
  }
  if (version !== undefined) {
    writeFileSync(join(target, "version.js"), `export const VERSION = ${JSON.stringify(version)};\n`);
  }
  return (await import(pathToFileURL(join(target, "index.js")).href)) as Core;
}

beforeAll(async () => {
  if (!existsSync(join(dist, "index.js"))) throw new Error(`build @lockstep/core first: ${dist}/index.js is missing`);
  dir = mkdtempSync(join(tmpdir(), "lockstep-two-copies-"));
  first = (await import("@lockstep/core")) as Core;
  second = await importCopy("copy");
});

afterAll(() => {
  first?.useDeterministicAlgorithms(false);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("two copies of @lockstep/core", () => {
  it("are separate module instances", () => {
    expect(second).not.toBe(first);
    expect(second.Tensor).not.toBe(first.Tensor);
    expect(second.useDeterministicAlgorithms).not.toBe(first.useDeterministicAlgorithms);
  });

  it("share one determinism flag, whichever copy sets it", () => {
    expect(first.areDeterministicAlgorithmsEnabled()).toBe(false);
    expect(second.areDeterministicAlgorithmsEnabled()).toBe(false);

    first.useDeterministicAlgorithms(true);
    expect(second.areDeterministicAlgorithmsEnabled()).toBe(true);

    second.useDeterministicAlgorithms(false);
    expect(first.areDeterministicAlgorithmsEnabled()).toBe(false);

    second.useDeterministicAlgorithms(true, { warnOnly: true });
    expect(first.areDeterministicAlgorithmsEnabled()).toBe(true);
    expect(first.isDeterministicAlgorithmsWarnOnlyEnabled()).toBe(true);

    first.useDeterministicAlgorithms(false);
    expect(second.areDeterministicAlgorithmsEnabled()).toBe(false);
    expect(second.isDeterministicAlgorithmsWarnOnlyEnabled()).toBe(false);
  });

  it("share the thread count and the backend registry", () => {
    const threads = first.getNumThreads();
    second.setNumThreads(3);
    expect(first.getNumThreads()).toBe(3);
    first.setNumThreads(threads);
    expect(second.getNumThreads()).toBe(threads);

    const backend = {
      device: "two-copies-test",
      allocate: () => ({ device: "two-copies-test", dtype: "float32" as const, length: 0 }),
      upload: () => ({ device: "two-copies-test", dtype: "float32" as const, length: 0 }),
      write: () => {},
      read: async () => new Float32Array(0),
      release: () => {},
    };
    second.registerBackend(backend);
    expect(first.getBackend("two-copies-test")).toBe(backend);
  });

  it("share the state object itself", () => {
    expect(second.state).toBe(first.state);
  });

  it("loading a third copy of the same version does not warn", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    try {
      const third = await importCopy("same-version");
      expect(third.state).toBe(first.state);
      expect(warn).not.toHaveBeenCalled();
    } finally {
      warn.mockRestore();
    }
  });

  it("a copy of another version attaches to the same state and warns once", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    try {
      const other = await importCopy("other-version", "0.0.0-two-copies-test");
      expect(other.state).toBe(first.state);
      expect(other.VERSION).toBe("0.0.0-two-copies-test");
      other.useDeterministicAlgorithms(true);
      expect(first.areDeterministicAlgorithmsEnabled()).toBe(true);
      first.useDeterministicAlgorithms(false);
      expect(other.areDeterministicAlgorithmsEnabled()).toBe(false);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0]![0])).toContain("two different versions of @lockstep/core");
    } finally {
      warn.mockRestore();
    }
  });
});
