import { readFileSync } from "node:fs";
import { describe, expect, it, vi } from "vitest";
// @ts-expect-error: a plain .mjs build script without type declarations.
import { generate } from "../../scripts/build-wasm.mjs";
import { GEMM_WASM_BASE64 } from "./kernels.generated.js";

describe("the committed WebAssembly module", () => {
  it("is exactly what scripts/build-wasm.mjs assembles from gemm.wat", async () => {
    const wat = readFileSync(new URL("./gemm.wat", import.meta.url), "utf8");
    const committed = readFileSync(new URL("./kernels.generated.ts", import.meta.url), "utf8");
    expect(await generate(wat)).toBe(committed);
  });

  it("is valid with SIMD", () => {
    expect(WebAssembly.validate(Buffer.from(GEMM_WASM_BASE64, "base64"))).toBe(true);
  });

  it("still runs where synchronous compilation of it is refused (old Chrome main threads: 4 KiB)", async () => {
    // The module is about 4 KiB (now just under, earlier just over). Chrome refused synchronous
    // compilation of modules over 4 KiB on its main thread until it raised the limit to 8 MiB,
    // and some WebViews still do: instance.ts then compiles asynchronously and the JS kernels
    // (same bits) run until that is done. The fake refuses any size, so the fallback stays tested.
    vi.resetModules();
    const Module = WebAssembly.Module;
    const refusing = function (bytes: BufferSource) {
      if (bytes.byteLength > 0) throw new RangeError("WebAssembly.Compile is disallowed on the main thread, if the buffer size is larger than 4KB.");
      return new Module(bytes);
    } as unknown as typeof WebAssembly.Module;
    WebAssembly.Module = refusing;
    try {
      const { gemmInstance } = await import("./instance.js");
      expect(gemmInstance()).toBeUndefined();
      await vi.waitFor(() => expect(gemmInstance()).toBeDefined());
    } finally {
      WebAssembly.Module = Module;
      vi.resetModules();
    }
  });
});
