// Which backends a run uses. The CPU is always there; WebGPU needs an adapter (a GPU, or Mesa's
// software Vulkan in Node), so `--backend all` takes it when present and says why when not, while
// `--backend webgpu` without an adapter is an error rather than a silent CPU-only run.
import { webgpu } from "lockstep";

export type BackendName = "cpu" | "webgpu";
export type BackendChoice = BackendName | "all";

export interface BackendSetup {
  backends: BackendName[];
  /** One line per backend: what it runs on, or why it was skipped. */
  notes: string[];
  /** The WebGPU adapter, when one was started. */
  webgpuAdapter?: { description: string; selfTestPassed: boolean };
}

export class BackendUnavailableError extends Error {
  override name = "BackendUnavailableError";
}

export async function setUpBackends(choice: BackendChoice): Promise<BackendSetup> {
  const backends: BackendName[] = [];
  const notes: string[] = [];
  if (choice !== "webgpu") {
    backends.push("cpu");
    notes.push("cpu: TypeScript kernels");
  }
  if (choice === "cpu") return { backends, notes };
  let available = false;
  let reason = "no WebGPU adapter found (no GPU, and no software Vulkan driver such as Mesa's lavapipe)";
  try {
    available = await webgpu.isAvailable();
  } catch (error) {
    reason = `WebGPU could not be probed: ${(error as Error).message}`;
  }
  if (!available) {
    if (choice === "webgpu") throw new BackendUnavailableError(`--backend webgpu: ${reason}`);
    notes.push(`webgpu: skipped, ${reason}`);
    return { backends, notes };
  }
  const info = await webgpu.init();
  const selfTestPassed = info.selfTest.bitwiseMatchesCpu;
  const description = [info.vendor, info.architecture, info.description].filter((s) => s !== "").join(" / ");
  backends.push("webgpu");
  notes.push(
    `webgpu: ${description} (${info.source}); start-up self-test: ` +
      (selfTestPassed
        ? "every deterministic kernel it checks matches the CPU bit for bit"
        : `differs from the CPU on this adapter (${info.selfTest.differences.join(", ")})`),
  );
  return { backends, notes, webgpuAdapter: { description, selfTestPassed } };
}

/** Releases the GPU device, if one was started, so the process can exit promptly. */
export function tearDownBackends(): void {
  webgpu.destroy();
}
