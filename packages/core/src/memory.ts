// memory(device): what a device's memory holds, for watching a training loop stay flat. Devices
// whose memory the garbage collector does not see (webgpu) report it through their backend.
import type { MemoryInfo } from "./backend.js";
import { NotImplementedError } from "./errors.js";
import { getBackend } from "./registry.js";
import { checkDevice } from "./validate.js";

/**
 * Bytes in use, bytes pooled and live storages on `device`, like torch.cuda.memory_allocated
 * and friends in one call. Throws DeviceError for an unregistered device and NotImplementedError
 * for a backend that does not track memory (the CPU, whose arrays the garbage collector frees).
 */
export function memory(device: string): MemoryInfo {
  const backend = getBackend(checkDevice("memory", "device", device));
  if (backend.memory === undefined) {
    throw new NotImplementedError(
      `device '${device}' does not report memory: its storages are ordinary arrays that the garbage collector frees`,
    );
  }
  return backend.memory();
}
