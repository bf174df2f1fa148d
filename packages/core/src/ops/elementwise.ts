// Elementwise ops: type promotion and broadcasting happen here, once, for every backend; the
// primitive kernels then see inputs of one dtype and one shape (broadcast dims have stride 0).
import { allocateArray, castScalar, isFloating, resultType, type DType, type DataArray } from "../dtype.js";
import { DTypeError, ValueError } from "../errors.js";
import { fromData, makeView, runPrimitive, commonDevice } from "../dispatch.js";
import type { BinaryOp, UnaryOp } from "../primitives.js";
import { broadcastShapes, contiguousStrides, formatShape, shapesEqual, type Shape } from "../shape.js";
import { getBackend } from "../registry.js";
import { Tensor, type Scalar, type TensorLike } from "../tensor.js";
import { isDType } from "../dtype.js";
import {
  checkDTypeArg,
  checkDevice,
  checkNumber,
  checkOptionalTensorLike,
  checkOptions,
  checkSizes,
  checkTensor,
  checkTensorLike,
  checkNumel,
  checkString,
  describeValue,
} from "../validate.js";
import { LockstepTypeError, ShapeError } from "../errors.js";

/** A 0-d tensor holding a JS scalar, on `device`. */
export function scalarTensor(value: Scalar, dtype: DType, device: string): Tensor {
  const data = allocateArray(dtype, 1);
  data[0] = castScalar(value, dtype);
  return fromData(data, dtype, SCALAR_SHAPE, device);
}

/** One frozen `[]` for every 0-d tensor made from a JS scalar, so none copies its shape. */
const SCALAR_SHAPE: Shape = Object.freeze([]);

/**
 * Like torch.broadcast_to: `t` broadcast to `shape` as a stride-0 view (no copy); `t` itself when
 * already that shape. Each dim of `t` must equal the target size or be 1 (PyTorch's expand rule);
 * otherwise a ShapeError, never a view that reads past the storage.
 */
export function broadcastTo(t: Tensor, shape: Shape): Tensor {
  checkTensor("broadcast_to", "input", t);
  const target = checkSizes("broadcast_to", "size", shape);
  if (shapesEqual(t.shape, target)) return t;
  const lead0 = target.length - t.ndim;
  if (lead0 < 0) {
    throw new ShapeError(
      `expand(${formatShape(t.shape)}, size=${formatShape(target)}): the number of sizes provided (${target.length}) ` +
        `must be greater or equal to the number of dimensions in the tensor (${t.ndim})`,
    );
  }
  for (let i = 0; i < target.length; i++) {
    const size = target[i]!;
    if (size < 0) {
      throw new ShapeError(`broadcast_to(): the target size ${formatShape(target)} has a negative size ${size} at dimension ${i}`);
    }
    const own = i < lead0 ? 1 : t.shape[i - lead0]!;
    if (own !== size && own !== 1) {
      throw new ShapeError(
        `The expanded size of the tensor (${size}) must match the existing size (${own}) at non-singleton dimension ${i}.  ` +
          `Target sizes: ${formatShape(target)}.  Tensor sizes: ${formatShape(t.shape)}`,
      );
    }
  }
  checkNumel("broadcast_to", target);
  return broadcastView(t, target);
}

/** broadcastTo without checks, for shapes this file computed itself with broadcastShapes. */
function broadcastView(t: Tensor, shape: Shape): Tensor {
  if (shapesEqual(t.shape, shape)) return t;
  const lead = shape.length - t.ndim;
  // A 0-d operand (every JS scalar) broadcasts with all strides 0: one shared frozen array.
  const strides = t.ndim === 0 ? zeroStrides(shape.length) : shape.map((size, i) => {
    if (i < lead) return 0;
    const own = t.shape[i - lead]!;
    return own === 1 && size !== 1 ? 0 : t.strides[i - lead]!;
  });
  return makeView(t, "expand", { shape: [...shape] }, shape, strides, t.offset);
}

/** Frozen all-zero strides by rank (see broadcastView). */
const ZERO_STRIDES: (readonly number[])[] = [];

function zeroStrides(ndim: number): readonly number[] {
  return (ZERO_STRIDES[ndim] ??= Object.freeze(new Array<number>(ndim).fill(0)));
}

/** Returns `t` in `dtype`, casting only when needed. */
export function cast(t: Tensor, dtype: DType): Tensor {
  checkTensor("to", "input", t);
  checkDTypeArg("to", "dtype", dtype);
  if (t.dtype === dtype) return t;
  return runPrimitive("cast", [t], [{ shape: t.shape, dtype }], {})[0]!;
}

/** The dtype PyTorch's result_type gives: dimensioned tensors first, then 0-d tensors and scalars by category. */
function promote(operands: readonly TensorLike[]): DType {
  // The common cases without the lists: two tensors of one dtype, or a floating tensor and a
  // JS scalar (a scalar never lifts a floating tensor's dtype).
  if (operands.length === 2) {
    const [a, b] = operands;
    if (a instanceof Tensor) {
      if (b instanceof Tensor ? a.dtype === b.dtype : isFloating(a.dtype)) return a.dtype;
    } else if (b instanceof Tensor && isFloating(b.dtype)) {
      return b.dtype;
    }
  }
  const dimensioned: DType[] = [];
  const zeroDim: DType[] = [];
  const scalars: Scalar[] = [];
  for (const o of operands) {
    if (o instanceof Tensor) (o.ndim > 0 ? dimensioned : zeroDim).push(o.dtype);
    else scalars.push(o);
  }
  if (dimensioned.length === 0) return resultType(zeroDim, scalars);
  // 0-d tensors behave like scalars of their dtype: they only win by a higher category.
  let dtype = resultType(dimensioned);
  for (const z of zeroDim) {
    const asScalar: Scalar = z === "bool" ? true : z === "int32" ? 1 : 0.5;
    dtype = resultType([dtype], [asScalar]);
  }
  return resultType([dtype], scalars);
}

/** Converts operands to tensors of `dtype` on one device, broadcast to a common shape. */
export function prepare(operands: readonly TensorLike[], dtype: DType): { inputs: Tensor[]; shape: Shape } {
  // Loops rather than filter/map, and no cast() call (with its argument checks) for an operand
  // already in `dtype`: every elementwise launch comes through here.
  const operandTensors: Tensor[] = [];
  for (let i = 0; i < operands.length; i++) {
    const o = operands[i]!;
    if (o instanceof Tensor) operandTensors.push(o);
  }
  const device = commonDevice(operandTensors);
  const tensors = new Array<Tensor>(operands.length);
  for (let i = 0; i < operands.length; i++) {
    const o = operands[i]!;
    tensors[i] = o instanceof Tensor ? (o.dtype === dtype ? o : cast(o, dtype)) : scalarTensor(o, dtype, device);
  }
  let shape: Shape = tensors[0]!.shape;
  for (let i = 1; i < tensors.length; i++) {
    const own = tensors[i]!.shape;
    if (own.length === 0) continue; // a 0-d operand broadcasts to anything
    if (shape.length === 0) shape = own;
    else if (!shapesEqual(shape, own)) shape = broadcastShapes(shape, own);
  }
  // An operand's own (frozen) shape when it has the result's: the output then shares it.
  for (const t of tensors) {
    if (t.shape !== shape && shapesEqual(t.shape, shape)) {
      shape = t.shape;
      break;
    }
  }
  for (let i = 0; i < tensors.length; i++) tensors[i] = broadcastView(tensors[i]!, shape);
  return { inputs: tensors, shape };
}

/**
 * Checks the two operands of a binary op: each a live Tensor or a number/boolean, at least one a
 * Tensor (PyTorch names them 'input' and 'other').
 */
function operands(fn: string, a: unknown, b: unknown): void {
  checkTensorLike(fn, "input", a);
  checkTensorLike(fn, "other", b);
  if (!(a instanceof Tensor) && !(b instanceof Tensor)) {
    throw new LockstepTypeError(
      `${fn}(): expected at least one Tensor argument, but got ${describeValue(a)} and ${describeValue(b)}`,
    );
  }
}

function binary(op: BinaryOp, a: TensorLike, b: TensorLike, computeDType: DType, outDType = computeDType): Tensor {
  const { inputs, shape } = prepare([a, b], computeDType);
  return runPrimitive(op, inputs, [{ shape, dtype: outDType }], {})[0]!;
}

function unary(op: UnaryOp, x: Tensor, dtype: DType = x.dtype): Tensor {
  checkTensor(op, "input", x);
  const input = cast(x, dtype);
  return runPrimitive(op, [input], [{ shape: x.shape, dtype }], {})[0]!;
}

/** Ops like exp that give floats: ints and bools compute in float32, like PyTorch. */
function floatDType(x: Tensor): DType {
  return isFloating(x.dtype) ? x.dtype : "float32";
}

function scaled(other: TensorLike, alpha: number | undefined, dtype: DType): TensorLike {
  if (alpha === undefined || alpha === 1) return other;
  if (!isFloating(dtype) && !Number.isInteger(alpha)) {
    throw new DTypeError("For integral input tensors, argument alpha must not be a floating point number.");
  }
  return other instanceof Tensor ? mul(other, alpha) : (other as number) * alpha;
}

/** The options add and sub accept (one object, not one per call). */
const ALPHA_OPTION = { alpha: checkNumber };

/**
 * Like torch.add: `a + alpha * b`, broadcasting and promoting dtypes as PyTorch does (bool + bool
 * is logical or). Throws ShapeError when the shapes do not broadcast.
 */
export function add(a: TensorLike, b: TensorLike, options: { alpha?: number } = {}): Tensor {
  operands("add", a, b);
  checkOptions("add", options, ALPHA_OPTION);
  const dtype = promote([a, b]);
  if (dtype === "bool") return logicalOr(a, b);
  return binary("add", a, scaled(b, options.alpha, dtype), dtype);
}

/**
 * Like torch.sub: `a - alpha * b`, with broadcasting and type promotion. Throws DTypeError for two
 * bool operands.
 */
export function sub(a: TensorLike, b: TensorLike, options: { alpha?: number } = {}): Tensor {
  operands("sub", a, b);
  checkOptions("sub", options, ALPHA_OPTION);
  const dtype = promote([a, b]);
  if (dtype === "bool") {
    throw new DTypeError(
      "Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or `logical_xor()` operator instead.",
    );
  }
  return binary("sub", a, scaled(b, options.alpha, dtype), dtype);
}

/**
 * Like torch.mul: elementwise product with broadcasting and type promotion (bool * bool is logical
 * and).
 */
export function mul(a: TensorLike, b: TensorLike): Tensor {
  operands("mul", a, b);
  const dtype = promote([a, b]);
  if (dtype === "bool") return logicalAnd(a, b);
  return binary("mul", a, b, dtype);
}

/** True division: integer operands give float32, like PyTorch's `/`. */
export function div(a: TensorLike, b: TensorLike): Tensor {
  operands("div", a, b);
  const dtype = promote([a, b]);
  return binary("div", a, b, isFloating(dtype) ? dtype : "float32");
}

/**
 * Like torch.pow: `a ** b` elementwise, with broadcasting and type promotion. Throws ValueError for
 * an int32 base and a negative integer exponent.
 */
export function pow(a: TensorLike, b: TensorLike): Tensor {
  operands("pow", a, b);
  const dtype = promote([a, b]);
  if (dtype === "int32" && typeof b === "number" && b < 0) {
    throw new ValueError("Integers to negative integer powers are not allowed.");
  }
  // PyTorch computes these scalar exponents with dedicated kernels; so do we, for the same bits.
  if (a instanceof Tensor && typeof b === "number" && isFloating(dtype) && a.dtype === dtype) {
    if (b === 0.5) return sqrt(a);
    if (b === -0.5) return rsqrt(a);
    if (b === 2) return mul(a, a);
    if (b === 3) return mul(mul(a, a), a);
    if (b === -1) return div(1, a);
    if (b === -2) return div(1, mul(a, a));
  }
  if (dtype === "bool") return binary("pow", a, b, "int32", "int32");
  return binary("pow", a, b, dtype);
}

/** Like torch.maximum: elementwise larger of `a` and `b` (NaN wins), with broadcasting. */
export function maximum(a: Tensor, b: TensorLike): Tensor {
  checkTensor("maximum", "input", a);
  checkTensorLike("maximum", "other", b);
  return binary("maximum", a, b, promote([a, b]));
}

/** Like torch.minimum: elementwise smaller of `a` and `b` (NaN wins), with broadcasting. */
export function minimum(a: Tensor, b: TensorLike): Tensor {
  checkTensor("minimum", "input", a);
  checkTensorLike("minimum", "other", b);
  return binary("minimum", a, b, promote([a, b]));
}

function comparison(op: BinaryOp) {
  return (a: TensorLike, b: TensorLike): Tensor => {
    operands(op, a, b);
    return binary(op, a, b, promote([a, b]), "bool");
  };
}
/** Like torch.eq: bool tensor of `a == b` elementwise, after broadcasting and promotion. */
export const eq = comparison("eq");
/** Like torch.ne: bool tensor of `a != b` elementwise. */
export const ne = comparison("ne");
/** Like torch.lt: bool tensor of `a < b` elementwise. */
export const lt = comparison("lt");
/** Like torch.le: bool tensor of `a <= b` elementwise. */
export const le = comparison("le");
/** Like torch.gt: bool tensor of `a > b` elementwise. */
export const gt = comparison("gt");
/** Like torch.ge: bool tensor of `a >= b` elementwise. */
export const ge = comparison("ge");

/** Like torch.logical_and: bool tensor, true where both operands are non-zero. */
export function logicalAnd(a: TensorLike, b: TensorLike): Tensor {
  operands("logical_and", a, b);
  return binary("logicalAnd", a, b, "bool");
}

/** Like torch.logical_or: bool tensor, true where either operand is non-zero. */
export function logicalOr(a: TensorLike, b: TensorLike): Tensor {
  operands("logical_or", a, b);
  return binary("logicalOr", a, b, "bool");
}

/** Like torch.logical_not: bool tensor, true where `x` is zero. */
export function logicalNot(x: Tensor): Tensor {
  return unary("logicalNot", x, "bool");
}

/** Like torch.neg: `-x`. Throws DTypeError for bool tensors (use logicalNot). */
export function neg(x: Tensor): Tensor {
  checkTensor("neg", "input", x);
  if (x.dtype === "bool") {
    throw new DTypeError(
      "Negation, the `-` operator, on a bool tensor is not supported. If you are trying to invert a mask, use the `~` or `logical_not()` operator instead.",
    );
  }
  return unary("neg", x);
}

/** Like torch.abs: absolute value, same dtype. Throws DTypeError for bool tensors. */
export function abs(x: Tensor): Tensor {
  checkTensor("abs", "input", x);
  if (x.dtype === "bool") throw new DTypeError("abs() is not supported for bool tensors");
  return unary("abs", x);
}

/** Like torch.sign: -1, 0 or 1 by the sign of each element (NaN gives 0), same dtype. */
export function sign(x: Tensor): Tensor {
  checkTensor("sign", "input", x);
  return x.dtype === "bool" ? x : unary("sign", x);
}

/** Like torch.relu: `max(x, 0)` elementwise, same dtype. Throws DTypeError for bool tensors. */
export function relu(x: Tensor): Tensor {
  checkTensor("relu", "input", x);
  if (x.dtype === "bool") throw new DTypeError("Boolean inputs not supported for relu");
  return unary("relu", x);
}

/**
 * relu's gradient given its output: `grad` where `output > 0`, else 0 (NaN gives 0), in grad's
 * dtype — bit for bit `where(gt(output, 0), grad, 0)`, in one kernel. Like PyTorch's
 * threshold_backward(grad, output, 0).
 */
export function reluBackward(grad: Tensor, output: Tensor): Tensor {
  checkTensor("reluBackward", "grad", grad);
  checkTensor("reluBackward", "output", output);
  if (grad.dtype === "bool" || output.dtype === "bool") throw new DTypeError("Boolean inputs not supported for reluBackward");
  if (grad.dtype !== output.dtype) {
    throw new DTypeError(`reluBackward expected grad and output of one dtype, but got ${grad.dtype} and ${output.dtype}`);
  }
  return binary("reluBackward", grad, output, grad.dtype);
}

/** Like torch.exp: `e ** x`; int and bool inputs give float32. */
export const exp = (x: Tensor): Tensor => unary("exp", checkTensor("exp", "input", x), floatDType(x));
/**
 * Like torch.log: natural logarithm (NaN below 0, -Infinity at 0); int and bool inputs give
 * float32.
 */
export const log = (x: Tensor): Tensor => unary("log", checkTensor("log", "input", x), floatDType(x));
/** Like torch.sqrt: square root (NaN below 0); int and bool inputs give float32. */
export const sqrt = (x: Tensor): Tensor => unary("sqrt", checkTensor("sqrt", "input", x), floatDType(x));
/** Like torch.rsqrt: `1 / sqrt(x)`; int and bool inputs give float32. */
export const rsqrt = (x: Tensor): Tensor => unary("rsqrt", checkTensor("rsqrt", "input", x), floatDType(x));
/** Like torch.sigmoid: `1 / (1 + exp(-x))`; int and bool inputs give float32. */
export const sigmoid = (x: Tensor): Tensor => unary("sigmoid", checkTensor("sigmoid", "input", x), floatDType(x));
/** Like torch.tanh: hyperbolic tangent; int and bool inputs give float32. */
export const tanh = (x: Tensor): Tensor => unary("tanh", checkTensor("tanh", "input", x), floatDType(x));
/** Like torch.erf: the Gauss error function; int and bool inputs give float32. */
export const erf = (x: Tensor): Tensor => unary("erf", checkTensor("erf", "input", x), floatDType(x));

/** GELU: `x·Φ(x)` with the exact erf form, or PyTorch's tanh approximation. */
export function gelu(x: Tensor, options: { approximate?: "none" | "tanh" } = {}): Tensor {
  checkTensor("gelu", "input", x);
  checkOptions("gelu", options, { approximate: checkString });
  const approximate = options.approximate ?? "none";
  if (approximate !== "none" && approximate !== "tanh") {
    throw new ValueError(`approximate argument must be either none or tanh, got ${JSON.stringify(approximate)}`);
  }
  if (!isFloating(x.dtype)) throw new DTypeError(`gelu() expects a floating point tensor, got ${x.dtype}`);
  return unary(approximate === "tanh" ? "geluTanh" : "gelu", x);
}

/** Clamps to [min, max]; where min > max every element becomes max, like PyTorch. */
export function clamp(x: Tensor, min?: number | Tensor, max?: number | Tensor): Tensor {
  checkTensor("clamp", "input", x);
  checkOptionalTensorLike("clamp", "min", min);
  checkOptionalTensorLike("clamp", "max", max);
  if (min === undefined && max === undefined) throw new ValueError("At least one of 'min' or 'max' must not be None");
  const dtype = promote([x, ...(min === undefined ? [] : [min]), ...(max === undefined ? [] : [max])]);
  // Two wheres rather than maximum/minimum: the gradient is then 1 at the bounds, as in PyTorch,
  // and NaN still passes through (NaN < min is false).
  let out = cast(x, dtype);
  if (min !== undefined) out = where(lt(out, min), min, out);
  if (max !== undefined) out = where(gt(out, max), max, out);
  return out;
}

/** `a` where `condition` holds, else `b`. */
export function where(condition: Tensor, a: TensorLike, b: TensorLike): Tensor {
  checkTensor("where", "condition", condition);
  checkTensorLike("where", "input", a);
  checkTensorLike("where", "other", b);
  if (condition.dtype !== "bool") {
    throw new DTypeError(`where expected condition to be a boolean tensor, but got a tensor with dtype ${condition.dtype}`);
  }
  const dtype = promote([a, b]);
  // Broadcast in PyTorch's operand order (condition, a, b) so a mismatch is reported the same way.
  broadcastShapes(broadcastShapes(condition.shape, shapeOf(a)), shapeOf(b));
  // Two scalars live on the condition's device (else they would default to the CPU).
  const first = a instanceof Tensor || b instanceof Tensor ? a : scalarTensor(a, dtype, condition.device);
  const { inputs, shape } = withCondition(condition, first, b, dtype);
  return runPrimitive("where", inputs, [{ shape, dtype }], {})[0]!;
}

function shapeOf(x: TensorLike): readonly number[] {
  return x instanceof Tensor ? x.shape : [];
}

function withCondition(condition: Tensor, a: TensorLike, b: TensorLike, dtype: DType) {
  const values = prepare([a, b], dtype);
  const shape = shapesEqual(condition.shape, values.shape) ? values.shape : broadcastShapes(condition.shape, values.shape);
  return {
    inputs: [broadcastView(condition, shape), broadcastView(values.inputs[0]!, shape), broadcastView(values.inputs[1]!, shape)],
    shape,
  };
}

type Target = DType | string | { dtype?: DType; device?: string };

/** `to()`'s one argument: a dtype name, a device name, or `{ dtype, device }` (checked). */
function targetSpec(t: Tensor, target: Target): { dtype?: DType; device?: string } {
  checkTensor("to", "input", t);
  if (typeof target === "string") return isDType(target) ? { dtype: target } : { device: checkDevice("to", "device", target) };
  if (target === null || typeof target !== "object" || Array.isArray(target) || target instanceof Tensor) {
    throw new LockstepTypeError(`to(): argument must be a dtype, a device or { dtype, device }, not ${describeValue(target)}`);
  }
  return checkOptions("to", target, { dtype: checkDTypeArg, device: checkDevice });
}

/** `t.to(dtype)`, `t.to(device)` or `t.to({ dtype, device })`; returns `t` when nothing changes. */
export function to(t: Tensor, target: Target): Tensor {
  const spec = targetSpec(t, target);
  if (spec.device !== undefined && spec.device !== t.device) getBackend(spec.device);
  const out = spec.dtype === undefined ? t : cast(t, spec.dtype);
  if (spec.device === undefined || spec.device === out.device) return out;
  if (out.backend.readSync === undefined) {
    throw new ValueError(
      `moving a tensor from '${out.device}' to '${spec.device}' needs an asynchronous read: use \`await t.toAsync('${spec.device}')\``,
    );
  }
  return upload(out.dataSync(), out, spec.device);
}

/** `to()` for any pair of devices, reading asynchronously when the source needs it. */
export async function toAsync(t: Tensor, target: Target): Promise<Tensor> {
  const spec = targetSpec(t, target);
  if (spec.device !== undefined && spec.device !== t.device) getBackend(spec.device);
  const out = spec.dtype === undefined ? t : cast(t, spec.dtype);
  if (spec.device === undefined || spec.device === out.device) return out;
  return upload(await out.data(), out, spec.device);
}

function upload(data: DataArray, like: Tensor, device: string): Tensor {
  const target = getBackend(device);
  const moved = Tensor.fromStorage(target.upload(data, like.dtype), target, like.shape, contiguousStrides(like.shape));
  // A moved leaf stays a trainable leaf; gradients do not flow across devices (yet).
  return like.requiresGrad && like.isLeaf ? moved.requiresGrad_(true) : moved;
}
