// The devices the op suites run on. "cpu" always; "webgpu" when the lockstep package exposes a
// WebGPU backend (`webgpu.init()`) and this machine has an adapter. When it does not, the suites
// print why and run on cpu only, unless REQUIRE_WEBGPU is set (CI), where a missing adapter fails.
import * as lockstep from "lockstep";

interface WebGPUEntry {
  init(): Promise<unknown>;
}

async function webgpuStatus(): Promise<{ available: boolean; reason: string }> {
  const webgpu = (lockstep as unknown as { webgpu?: WebGPUEntry }).webgpu;
  if (webgpu === undefined || typeof webgpu.init !== "function") {
    return { available: false, reason: "the lockstep package does not export a webgpu backend yet" };
  }
  try {
    await webgpu.init();
    return { available: true, reason: "" };
  } catch (error) {
    return { available: false, reason: `webgpu.init() failed: ${(error as Error).message}` };
  }
}

const status = await webgpuStatus();
if (!status.available) {
  if (process.env.REQUIRE_WEBGPU) throw new Error(`REQUIRE_WEBGPU is set but WebGPU is unavailable: ${status.reason}`);
  console.info(`op suite: skipping device 'webgpu' (${status.reason})`);
}

/** Devices every op suite is parameterised by (`describe.each(devices)`). */
export const devices: string[] = ["cpu", ...(status.available ? ["webgpu"] : [])];

/**
 * Why a fixture case cannot run on `device`, or undefined when it can: WebGPU has no float64, and
 * index values on the GPU are not read back for a range check (an out-of-range index reads 0).
 */
export function unsupportedOn(device: string, fixtureCase: unknown): string | undefined {
  if (device === "cpu") return undefined;
  const text = JSON.stringify(fixtureCase);
  if (text.includes('"float64"')) return "float64 is CPU-only";
  const c = fixtureCase as { op?: string; torchMessage?: string | null };
  if (["gather", "scatter", "indexSelect"].includes(c.op ?? "") && /out of (range|bounds)/.test(c.torchMessage ?? "")) {
    return "index values on the GPU are not range-checked";
  }
  return undefined;
}
