// @lockstep/core: dtypes, shapes, the Tensor handle, the dispatcher and kernel registry, the
// backend contract and the global flags. Backends and the umbrella package build on this.
// Declares Symbol.dispose for projects whose lib lacks it (the Tensor type uses it).
import "./disposable.js";
export { VERSION } from "./version.js";
export * from "./errors.js";
export {
  type DType,
  type DataArray,
  type DataArrayOf,
  DTYPES,
  allocateArray,
  bytesPerElement,
  castScalar,
  isFloating,
  promoteTypes,
  resultType,
} from "./dtype.js";
export {
  type Shape,
  broadcastShapes,
  contiguousStrides,
  formatShape,
  isContiguous,
  normalizeDim,
  numel,
} from "./shape.js";
export type { Backend, MemoryInfo, Storage, View } from "./backend.js";
export { memory } from "./memory.js";
export {
  type Kernel,
  type KernelFn,
  getBackend,
  hasKernel,
  listKernels,
  registerBackend,
  registerKernel,
  selectKernel,
} from "./registry.js";
export {
  BINARY_OPS,
  COMPARISON_OPS,
  REDUCE_OPS,
  UNARY_OPS,
  type BinaryOp,
  type Primitive,
  type PrimitiveAttrs,
  type ReduceOp,
  type UnaryOp,
} from "./primitives.js";
export { state, extensionState, type AutogradHooks, type LockstepState, type RandomHooks } from "./state.js";
export { copy_, fill_, zero_, checkInPlaceAllowed } from "./ops/inplace.js";
export {
  type AdamCoefficients,
  type AdamUpdateAttrs,
  type SgdCoefficients,
  type SgdUpdateAttrs,
  adamCoefficients,
  adamUpdate_,
  sgdCoefficients,
  sgdUpdate_,
} from "./ops/optim.js";
export { type CrossEntropyAttrs, crossEntropyBackward, crossEntropyIndices } from "./ops/losses.js";
export {
  areDeterministicAlgorithmsEnabled,
  getNumThreads,
  isDeterministicAlgorithmsWarnOnlyEnabled,
  setNumThreads,
  useDeterministicAlgorithms,
} from "./flags.js";
export { commonDevice, fromData, makeView, runPrimitive, type OutputSpec, type ViewAttrs, type ViewOp } from "./dispatch.js";
export { Tensor, type GradNode, type NestedArray, type RandomOptions, type Scalar, type TensorLike } from "./tensor.js";
export { scope, keep } from "./scope.js";
export {
  MAX_NESTING,
  MAX_NUMEL,
  type OptionChecker,
  TENSOR_OPTION_KEYS,
  checkBool,
  checkDTypeArg,
  checkDevice,
  checkDim,
  checkDims,
  checkFunction,
  checkInt,
  checkNumber,
  checkNumel,
  checkObject,
  checkOptionalBool,
  checkOptionalDim,
  checkOptionalTensorLike,
  checkOptions,
  checkScalar,
  checkShape,
  checkSizes,
  checkString,
  checkTensor,
  checkTensorLike,
  checkTensorList,
  describeValue,
  formatValue,
  typeName,
} from "./validate.js";
export {
  type TensorOptions,
  arange,
  empty,
  emptyLike,
  eye,
  full,
  fullLike,
  linspace,
  ones,
  onesLike,
  tensor,
  zeros,
  zerosLike,
} from "./creation.js";
export {
  abs,
  add,
  broadcastTo,
  cast,
  clamp,
  div,
  eq,
  erf,
  exp,
  ge,
  gelu,
  gt,
  le,
  log,
  logicalAnd,
  logicalNot,
  logicalOr,
  lt,
  maximum,
  minimum,
  mul,
  ne,
  neg,
  pow,
  relu,
  reluBackward,
  rsqrt,
  sigmoid,
  sign,
  sqrt,
  sub,
  tanh,
  where,
} from "./ops/elementwise.js";
export {
  type ValuesIndices,
  type VarOptions,
  amax,
  amin,
  argmax,
  argmin,
  logSoftmax,
  logsumexp,
  max,
  mean,
  min,
  prod,
  softmax,
  std,
  sum,
  variance as var,
} from "./ops/reduce.js";
export { fusedLinear, matmul } from "./ops/linalg.js";
export { cat, chunk, split, stack } from "./ops/join.js";
export { gather, indexSelect, maskedFill, scatter } from "./ops/indexing.js";
export {
  contiguous,
  expand,
  flatten,
  narrow,
  permute,
  reshape,
  slice,
  squeeze,
  transpose,
  unfold,
  unsqueeze,
  view,
} from "./ops/views.js";
export { type TensorJSON } from "./tensor.js";
export { add_, sub_, mul_, div_, pow_, clamp_ } from "./ops/arithmetic-inplace.js";
export { type IndexItem, type Slice, index, indexPut_, maskedSelect, select } from "./ops/advanced-indexing.js";
export { type SortOptions, type TopkOptions, argsort, sort, topk } from "./ops/sorting.js";
export { cumsum, flip, oneHot, repeat, roll, tile } from "./ops/shaping.js";
