// getNumThreads() starts at the logical cores available, also on Node 20, which has no navigator
// (before, it fell back to 1 there and the CPU worker pool never ran unless setNumThreads was called).
import { availableParallelism } from "node:os";
import { afterEach, describe, expect, it, vi } from "vitest";
import { getNumThreads, setNumThreads } from "../src/index.js";
import { defaultThreads } from "../src/state.js";

const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;

describe("default thread count", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("is the hardware concurrency (navigator) or os.availableParallelism()", () => {
    expect(defaultThreads()).toBe(nav?.hardwareConcurrency ?? availableParallelism());
    expect(defaultThreads()).toBeGreaterThanOrEqual(1);
  });

  it("is what getNumThreads() reports before setNumThreads is called", () => {
    expect(getNumThreads()).toBe(defaultThreads());
    setNumThreads(1);
    expect(getNumThreads()).toBe(1);
    setNumThreads(defaultThreads());
  });

  it("prefers navigator.hardwareConcurrency, and falls back to Node's os module without it", () => {
    vi.stubGlobal("navigator", { hardwareConcurrency: 7 });
    expect(defaultThreads()).toBe(7);
    vi.stubGlobal("navigator", undefined);
    expect(defaultThreads()).toBe(availableParallelism());
  });

  it("is 1 where neither exists (a browser without the property, or an older runtime)", () => {
    vi.stubGlobal("navigator", {});
    vi.stubGlobal("process", { ...process, getBuiltinModule: undefined });
    expect(defaultThreads()).toBe(1);
  });
});
