// The kernel registry: kernels keyed by (op, device). Each kernel says whether it is deterministic
// and batch-invariant; `selectKernel` applies the global flag.
import type { Backend, Storage, View } from "./backend.js";
import { DeterminismError, DeviceError, NotImplementedError } from "./errors.js";
import type { Primitive, PrimitiveAttrs } from "./primitives.js";
import { state } from "./state.js";

/**
 * A kernel's body: reads `inputs` and writes the preallocated `outputs` (conventions in
 * primitives.ts). It does not validate; core has checked shapes and dtypes before calling.
 */
export type KernelFn<P extends Primitive = Primitive, S extends Storage = Storage> = (
  inputs: readonly View<S>[],
  outputs: readonly View<S>[],
  attrs: PrimitiveAttrs[P],
) => void;

/**
 * One implementation of a primitive on one device, with the guarantees it makes. Register with
 * `registerKernel`.
 */
export interface Kernel<P extends Primitive = Primitive, S extends Storage = Storage> {
  /** The primitive it implements. */
  op: P;
  /** The device whose storages it reads and writes ("cpu", "webgpu"). */
  device: string;
  /**
   * Same inputs give the same bits on every run, every thread count and every backend: the kernel
   * follows the shared fixed-order implementation (DESIGN.md, "Deterministic kernels").
   */
  deterministic: boolean;
  /** A row's result does not depend on the other rows of the batch (fixed reduction order per output). */
  batchInvariant: boolean;
  /** The kernel body. */
  run: KernelFn<P, S>;
}

/**
 * Installs `backend` for its device, replacing an earlier one for the same device. Importing
 * `lockstep` registers "cpu".
 */
export function registerBackend(backend: Backend): void {
  state.backends.set(backend.device, backend);
}

/** The backend registered for `device`. Throws DeviceError when there is none. */
export function getBackend(device: string): Backend {
  const backend = state.backends.get(device);
  if (backend === undefined) {
    const known = [...state.backends.keys()].join(", ") || "none";
    throw new DeviceError(
      `no backend is registered for device '${device}' (registered: ${known}). ` +
        (device === "webgpu"
          ? "Call `await webgpu.init()` from 'lockstep' first."
          : "Import 'lockstep' (or a backend package) to register one."),
    );
  }
  return backend;
}

/**
 * Adds a kernel. A later registration for the same (op, device, deterministic, batchInvariant)
 * replaces the earlier one, so loading a backend twice is harmless.
 */
export function registerKernel<P extends Primitive, S extends Storage>(kernel: Kernel<P, S>): void {
  let byDevice = state.kernels.get(kernel.op);
  if (byDevice === undefined) state.kernels.set(kernel.op, (byDevice = new Map()));
  const list = byDevice.get(kernel.device) ?? [];
  const same = (k: Kernel) => k.deterministic === kernel.deterministic && k.batchInvariant === kernel.batchInvariant;
  byDevice.set(kernel.device, [...list.filter((k) => !same(k)), kernel as unknown as Kernel]);
}

function isInvariant(k: { deterministic: boolean; batchInvariant: boolean }): boolean {
  return k.deterministic && k.batchInvariant;
}

/** True when some kernel for `op` is registered on `device` (whatever its guarantees). */
export function hasKernel(op: Primitive, device: string): boolean {
  return (state.kernels.get(op)?.get(device)?.length ?? 0) > 0;
}

/**
 * Picks the kernel for (op, device). Flag on: one that is deterministic and batch-invariant, else
 * an error (or, with warnOnly, a warning once per op and the fast kernel). Flag off: a kernel that
 * gives up invariance exists only because it is faster, so it is preferred when registered.
 */
export function selectKernel<P extends Primitive>(op: P, device: string): Kernel<P> {
  const list = (state.kernels.get(op)?.get(device) ?? []) as unknown as Kernel<P>[];
  if (list.length === 0) throw new NotImplementedError(`'${op}' has no kernel on device '${device}'`);
  const invariant = list.find(isInvariant);
  if (state.deterministic) {
    if (invariant !== undefined) return invariant;
    const message =
      `${op} on device '${device}' does not have a deterministic implementation, but you set ` +
      "'useDeterministicAlgorithms(true)'. You can turn off determinism just for this operation, or you can " +
      "use the 'warnOnly: true' option, if that's acceptable for your application.";
    if (!state.warnOnly) throw new DeterminismError(message);
    const key = `${op}@${device}`;
    if (!state.warned.has(key)) {
      state.warned.add(key);
      console.warn(`lockstep: ${message}`);
    }
  }
  return list.find((k) => !isInvariant(k)) ?? invariant ?? list[0]!;
}

/** Every registered (op, device) pair, for tests that check coverage. */
export function listKernels(): { op: string; device: string; deterministic: boolean; batchInvariant: boolean }[] {
  const out = [];
  for (const [op, byDevice] of state.kernels) {
    for (const [device, list] of byDevice) {
      for (const k of list) out.push({ op, device, deterministic: k.deterministic, batchInvariant: k.batchInvariant });
    }
  }
  return out;
}
