// Error classes for user mistakes. Each message names the values involved, worded like PyTorch's
// so that a message seen in a PyTorch forum post reads the same here. Throwing one of these must
// leave every tensor, module and generator as it was: check first, then change.

/** Base class of every error Lockstep throws on bad input. */
export class LockstepError extends Error {
  /**
   * The class name ("ShapeError", ...), as `error.name` reports it; catch by class with
   * `instanceof`.
   */
  override name = "LockstepError";
}

/** Shapes that cannot broadcast, multiply, reshape or concatenate. */
export class ShapeError extends LockstepError {
  override name = "ShapeError";
}

/** A dimension or index outside its valid range. */
export class IndexError extends LockstepError {
  override name = "IndexError";
}

/** A dtype an op does not accept, or a value the dtype cannot hold. */
export class DTypeError extends LockstepError {
  override name = "DTypeError";
}

/** Tensors on different devices, or a device without a registered backend. */
export class DeviceError extends LockstepError {
  override name = "DeviceError";
}

/** Use of a tensor after `dispose()`. */
export class DisposedError extends LockstepError {
  override name = "DisposedError";
}

/** An argument that is the wrong kind of value (ragged nested arrays, negative sizes, …). */
export class ValueError extends LockstepError {
  override name = "ValueError";
}

/** An op has no deterministic kernel while `useDeterministicAlgorithms(true)` is in force. */
export class DeterminismError extends LockstepError {
  override name = "DeterminismError";
}

/** An op with no kernel at all on a device. */
export class NotImplementedError extends LockstepError {
  override name = "NotImplementedError";
}

/**
 * An argument of the wrong JavaScript type: a string, `null`, `undefined`, a BigInt or an object
 * where a number, boolean, size list, dim or Tensor is expected. PyTorch raises `TypeError` for
 * these; Lockstep's class is named `LockstepTypeError` so that it does not shadow the built-in
 * `TypeError`, and it derives from LockstepError like every other Lockstep error. The message
 * names the argument and shows the value as it was written (`"2"`, `2n`, `null`, `[2, 2.5]`).
 */
export class LockstepTypeError extends LockstepError {
  override name = "LockstepTypeError";
}

/** An allocation the host or device cannot satisfy (the size is valid but too large to hold). */
export class OutOfMemoryError extends LockstepError {
  override name = "OutOfMemoryError";
}
