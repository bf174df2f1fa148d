// Grad mode: noGrad/enableGrad for sync and async functions, restored on return, throw and settle.
import { describe, expect, it } from "vitest";
import { tensor } from "@lockstep/core";
import { enableGrad, isGradEnabled, noGrad, setGradEnabled } from "../src/index.js";
import "./helpers.js";

describe("grad mode", () => {
  it("records nothing inside noGrad, and restores the mode after", () => {
    const a = tensor([1, 2], { requiresGrad: true });
    const y = noGrad(() => {
      expect(isGradEnabled()).toBe(false);
      return a.mul(2);
    });
    expect(isGradEnabled()).toBe(true);
    expect(y.requiresGrad).toBe(false);
    expect(y.gradFn).toBeUndefined();
  });

  it("enableGrad records again inside noGrad", () => {
    const a = tensor([1, 2], { requiresGrad: true });
    const y = noGrad(() => enableGrad(() => a.mul(2)));
    expect(y.gradFn?.name).toBe("MulBackward0");
  });

  it("restores the mode when the function throws", () => {
    expect(() =>
      noGrad(() => {
        throw new Error("boom");
      }),
    ).toThrow("boom");
    expect(isGradEnabled()).toBe(true);
  });

  it("keeps the mode across awaits of an async function and restores it when the promise settles", async () => {
    const a = tensor([1, 2], { requiresGrad: true });
    const pending = noGrad(async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return a.mul(2);
    });
    expect(isGradEnabled()).toBe(false);
    const y = await pending;
    expect(y.requiresGrad).toBe(false);
    expect(isGradEnabled()).toBe(true);

    await expect(
      noGrad(async () => {
        await Promise.resolve();
        throw new Error("late");
      }),
    ).rejects.toThrow("late");
    expect(isGradEnabled()).toBe(true);

    const z = await noGrad(() => enableGrad(async () => a.mul(3)));
    expect(z.requiresGrad).toBe(true);
  });

  it("setGradEnabled switches the mode until changed back", () => {
    setGradEnabled(false);
    try {
      expect(tensor([1], { requiresGrad: true }).mul(2).requiresGrad).toBe(false);
    } finally {
      setGradEnabled(true);
    }
    expect(() => setGradEnabled(1 as unknown as boolean)).toThrow(/expects a boolean/);
  });
});
