// The small pure parts of doctor.ts: how many test images the doctor gets, and the line wrapping of
// the explanations. (The doctor's numbers themselves are checked end to end in cli.test.ts.)
import { describe, expect, it } from "vitest";
import { doctorImageCount, explanations, wrap } from "./doctor.js";

describe("doctorImageCount", () => {
  it("takes a multiple of both batch sizes, at most the limit unless one multiple is larger", () => {
    expect(doctorImageCount(500, 16, 1, 64)).toBe(64);
    expect(doctorImageCount(24, 16, 1, 64)).toBe(16);
    expect(doctorImageCount(500, 16, 3, 32)).toBe(48); // lcm(16, 3) = 48 > 32
    expect(doctorImageCount(500, 12, 8, 64)).toBe(48); // lcm 24
  });

  it("is 0 when the test set is smaller than one common multiple", () => {
    expect(doctorImageCount(10, 16, 1, 64)).toBe(0);
  });
});

describe("explanations", () => {
  it("name the batch sizes compared, and every source", () => {
    const texts = explanations(1, 16);
    expect(Object.keys(texts)).toEqual(["mode", "batchStats", "kernels", "threads", "device", "combined"]);
    expect(texts.kernels).toContain("batches of 1 and of 16");
    expect(texts.combined).toContain("at batch 16 against an eval-mode forward at batch 1");
  });

  it("wrap to the width with the indent, without losing a word", () => {
    const text = explanations(1, 16).kernels;
    const lines = wrap(text, 60, "    ");
    expect(lines.every((l) => l.length <= 60 && l.startsWith("    "))).toBe(true);
    expect(lines.map((l) => l.trim()).join(" ")).toBe(text);
  });
});
