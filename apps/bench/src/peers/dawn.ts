// WebGPU in Node for every peer at once: Dawn (the `webgpu` package) installed as the browser
// globals tfjs-webgpu, jax-js and Lockstep look for (`navigator.gpu`, `GPUBufferUsage`, …), so
// all three share one Dawn instance and one adapter. Not used with --no-webgpu.
//
// The object `create([])` returns must stay referenced while any device lives (if it is garbage
// collected, Dawn's instance dies and the next mapAsync segfaults): it is kept in `keepAlive`.

export interface DawnSetup {
  /** One line describing the adapter, e.g. "mesa / software / llvmpipe …". */
  adapter: string;
}

interface DawnGpu {
  requestAdapter(): Promise<{ info: Record<string, unknown> } | null>;
}

let keepAlive: unknown;
let installed: Promise<DawnSetup> | undefined;

async function install(): Promise<DawnSetup> {
  const name = "webgpu";
  const dawn = (await import(name)) as { create(options: string[]): DawnGpu; globals: Record<string, unknown> };
  Object.assign(globalThis, dawn.globals);
  const gpu = dawn.create([]);
  keepAlive = gpu;
  const g = globalThis as unknown as { navigator?: Record<string, unknown> };
  // Node 20 has no `navigator`; jax-js reads navigator.userAgent when its WebGPU backend loads.
  if (g.navigator === undefined) g.navigator = { userAgent: `Node.js ${process.version}` };
  Object.defineProperty(g.navigator, "gpu", { value: gpu, configurable: true, enumerable: true });
  const adapter = await gpu.requestAdapter();
  if (adapter === null) {
    throw new Error("Dawn found no WebGPU adapter (no GPU, and no software Vulkan driver such as Mesa's lavapipe)");
  }
  const info = adapter.info;
  const parts = [info.vendor, info.architecture, info.device, info.description].filter((s) => typeof s === "string" && s !== "");
  return { adapter: parts.join(" / ") || "unnamed adapter" };
}

/** Installs Dawn's globals once; rejects with the reason WebGPU is unavailable. */
export function installDawn(): Promise<DawnSetup> {
  installed ??= install();
  return installed;
}
