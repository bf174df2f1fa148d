// The dispatcher: every op that touches data goes through `runPrimitive`, every view through
// `makeView`. Both hand the result to the autograd layer (when one is installed, grad mode is on
// and an input requires grad), so autograd sees exactly the primitives and nothing else.
import type { Backend, Storage, View } from "./backend.js";
import type { DType } from "./dtype.js";
import { DeviceError, NotImplementedError, OutOfMemoryError } from "./errors.js";
import type { Primitive, PrimitiveAttrs } from "./primitives.js";
import { getBackend, selectKernel } from "./registry.js";
import { contiguousStrides, numel, type Shape } from "./shape.js";
import { state } from "./state.js";
import { Tensor } from "./tensor.js";

/** The device all `tensors` live on; an error naming two devices when they differ. */
export function commonDevice(tensors: readonly Tensor[], fallback = "cpu"): string {
  let device: string | undefined;
  for (const t of tensors) {
    t.assertLive();
    if (device === undefined) device = t.device;
    else if (t.device !== device) {
      throw new DeviceError(
        `Expected all tensors to be on the same device, but found at least two devices, ${device} and ${t.device}!`,
      );
    }
  }
  return device ?? fallback;
}

/** Device memory for an output; a RangeError from the allocator becomes an OutOfMemoryError naming the size. */
function allocate(backend: Backend, dtype: DType, shape: Shape): Storage {
  try {
    return backend.allocate(dtype, numel(shape));
  } catch (error) {
    if (error instanceof RangeError) {
      throw new OutOfMemoryError(
        `not enough memory on '${backend.device}' for a ${dtype} tensor of shape [${shape.join(", ")}]: ${error.message}`,
      );
    }
    throw error;
  }
}

function shouldRecord(inputs: readonly Tensor[]): boolean {
  if (!state.gradEnabled || state.autograd === undefined) return false;
  for (let i = 0; i < inputs.length; i++) if (inputs[i]!.requiresGrad) return true;
  return false;
}

/**
 * Refuses, before any work, a view whose base got a new autograd history from an in-place op
 * after the view was taken: PyTorch rebases such views (CopySlices), Lockstep does not, and using
 * the stale history would give silently wrong gradients.
 */
function checkViewHistories(inputs: readonly Tensor[]): void {
  if (!state.gradEnabled || state.autograd === undefined) return;
  for (const t of inputs) {
    if (t.hasStaleViewHistory) {
      throw new NotImplementedError(
        `a view (shape [${t.shape.join(", ")}]) of a tensor that was modified in place with autograd after the view was ` +
          "taken cannot be used while grad mode is on: PyTorch would rebase the view's history, Lockstep does not. " +
          "Take the view again after the in-place operation (or use noGrad()).",
      );
    }
  }
}

/** Shape and dtype of one output that `runPrimitive` allocates. */
export interface OutputSpec {
  /** Output shape. */
  shape: Shape;
  /** Output dtype. */
  dtype: DType;
}

/** Runs a primitive's kernel on fresh contiguous outputs. */
export function runPrimitive<P extends Primitive>(
  op: P,
  inputs: readonly Tensor[],
  outputs: readonly OutputSpec[],
  attrs: PrimitiveAttrs[P],
  device?: string,
): Tensor[] {
  checkViewHistories(inputs);
  const dev = device ?? commonDevice(inputs);
  const backend = getBackend(dev);
  const kernel = selectKernel(op, dev);
  // Plain loops, not map(): this runs for every launch, and the closures and their calls showed
  // in profiles of small ops.
  const outTensors = new Array<Tensor>(outputs.length);
  const outViews = new Array<View>(outputs.length);
  for (let i = 0; i < outputs.length; i++) {
    const o = outputs[i]!;
    const t = Tensor.fromStorage(allocate(backend, o.dtype, o.shape), backend, o.shape);
    outTensors[i] = t;
    outViews[i] = t.storageView;
  }
  const inViews = new Array<View>(inputs.length);
  for (let i = 0; i < inputs.length; i++) inViews[i] = inputs[i]!.storageView;
  kernel.run(inViews, outViews, attrs);
  if (shouldRecord(inputs)) state.autograd!.record(op, inputs, outTensors, attrs);
  return outTensors;
}

/** View ops: metadata only, sharing storage. Autograd sees them under these names. */
export interface ViewAttrs {
  /** A new shape over the same elements (reshape, view, flatten, squeeze, unsqueeze). */
  reshape: { shape: number[] };
  /** Reordered dims (permute, transpose, T). */
  permute: { dims: number[] };
  /** Size-1 dims broadcast to `shape` with stride 0 (expand, broadcastTo). */
  expand: { shape: number[] };
  /** Elements start, start + step, ... before end along dim (slice, narrow, split, chunk). */
  slice: { dim: number; start: number; end: number; step: number };
  /** The same elements under a new tensor handle (identity view). */
  alias: Record<string, never>;
  /**
   * Sliding windows along dim (unfold): dim becomes the window count, a new last dim of `size`
   * walks each window. Windows may overlap, so the view reads elements more than once.
   */
  unfold: { dim: number; size: number; step: number };
}
/** Name of a view op (a key of ViewAttrs). */
export type ViewOp = keyof ViewAttrs;

/**
 * A tensor viewing `base`'s storage with the given shape, strides and offset (in elements),
 * recorded for autograd as view op `op`. No data is copied. The building block of every view op.
 */
export function makeView<V extends ViewOp>(
  base: Tensor,
  op: V,
  attrs: ViewAttrs[V],
  shape: Shape,
  strides: readonly number[],
  offset: number,
): Tensor {
  checkViewHistories([base]);
  const out = base.aliasWith(shape, strides, offset);
  if (shouldRecord([base])) state.autograd!.record(op, [base], [out], attrs);
  return out;
}

/** A new tensor on `device` holding `data` (already converted to `dtype`). */
export function fromData(data: ArrayLike<number>, dtype: DType, shape: Shape, device: string): Tensor {
  const backend: Backend = getBackend(device);
  const array = toArrayOf(data, dtype);
  const storage: Storage = backend.upload(array, dtype);
  return Tensor.fromStorage(storage, backend, shape, contiguousStrides(shape));
}

function toArrayOf(data: ArrayLike<number>, dtype: DType) {
  switch (dtype) {
    case "float32":
      return data instanceof Float32Array ? data : Float32Array.from(data);
    case "float64":
      return data instanceof Float64Array ? data : Float64Array.from(data);
    case "int32":
      return data instanceof Int32Array ? data : Int32Array.from(data);
    case "bool":
      return data instanceof Uint8Array ? data : Uint8Array.from(data);
  }
}
