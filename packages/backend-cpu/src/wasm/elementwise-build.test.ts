import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs build script without type declarations.
import { MODULES, generate } from "../../scripts/build-wasm.mjs";
import { ELEMENTWISE_WASM_BASE64 } from "./elementwise.generated.js";

describe("the committed elementwise WebAssembly module", () => {
  it("is exactly what scripts/build-wasm.mjs assembles from elementwise.wat", async () => {
    const spec = (MODULES as { wat: string }[]).find((m) => m.wat === "elementwise.wat");
    const wat = readFileSync(new URL("./elementwise.wat", import.meta.url), "utf8");
    const committed = readFileSync(new URL("./elementwise.generated.ts", import.meta.url), "utf8");
    expect(await generate(wat, spec)).toBe(committed);
  });

  it("is valid with SIMD and small enough for synchronous compilation on a browser main thread (4 KiB)", () => {
    const bytes = Buffer.from(ELEMENTWISE_WASM_BASE64, "base64");
    expect(WebAssembly.validate(bytes)).toBe(true);
    expect(bytes.length).toBeLessThanOrEqual(4096);
  });
});
