// Without any WebGPU adapter, init() must fail with an error that says how to get one, and the CPU
// backend must keep working. Simulated in a child process whose Vulkan loader finds no driver.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const dist = fileURLToPath(new URL("../dist/index.js", import.meta.url));
const cpu = fileURLToPath(new URL("../../backend-cpu/dist/index.js", import.meta.url));
const core = fileURLToPath(new URL("../../core/dist/index.js", import.meta.url));

const script = `
const webgpu = await import(${JSON.stringify(dist)});
await import(${JSON.stringify(cpu)});
const core = await import(${JSON.stringify(core)});
const available = await webgpu.isAvailable();
let message = "no error";
let name = "";
try { await webgpu.init(); } catch (error) { message = error.message; name = error.name; }
const sum = core.tensor([1, 2, 3]).sum().itemSync();
console.log(JSON.stringify({ available, name, message, sum }));
`;

describe("no adapter", () => {
  it("init() explains how to install one, and the CPU keeps working", () => {
    const output = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
      env: { ...process.env, VK_ICD_FILENAMES: "/nonexistent/icd.json", VK_DRIVER_FILES: "/nonexistent/icd.json" },
      encoding: "utf8",
    });
    const result = JSON.parse(output.trim().split("\n").pop()!) as { available: boolean; name: string; message: string; sum: number };
    expect(result.available).toBe(false);
    expect(result.name).toBe("DeviceError");
    expect(result.message).toMatch(/mesa-vulkan-drivers libvulkan1/);
    expect(result.sum).toBe(6);
  });
});
