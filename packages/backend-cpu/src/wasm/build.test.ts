import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs build script without type declarations.
import { generate } from "../../scripts/build-wasm.mjs";
import { GEMM_WASM_BASE64 } from "./kernels.generated.js";

describe("the committed WebAssembly module", () => {
  it("is exactly what scripts/build-wasm.mjs assembles from gemm.wat", async () => {
    const wat = readFileSync(new URL("./gemm.wat", import.meta.url), "utf8");
    const committed = readFileSync(new URL("./kernels.generated.ts", import.meta.url), "utf8");
    expect(await generate(wat)).toBe(committed);
  });

  it("is valid with SIMD and small enough for synchronous compilation on a browser main thread (4 KiB)", () => {
    const bytes = Buffer.from(GEMM_WASM_BASE64, "base64");
    expect(WebAssembly.validate(bytes)).toBe(true);
    expect(bytes.length).toBeLessThanOrEqual(4096);
  });
});
