// How each fixture op is called in Lockstep: once as a Tensor method and, where `lockstep` exports
// one, once as a function. The fixture's params are PyTorch's arguments under the names the
// generator gave them (dim, keepdim, correction, alpha, approximate, args...).
import * as L from "lockstep";
import type { DType, Tensor } from "lockstep";
import type { OpResult, Operand, Params } from "./fixtures.js";

type Runner = (inputs: Operand[], params: Params) => OpResult | Promise<unknown> | unknown;

const T = (o: Operand): Tensor => o as Tensor;
const TL = (o: Operand): Tensor | number | boolean => o as Tensor | number | boolean;
const dims = (p: Params) => p.dim as number | number[] | undefined;
const dim = (p: Params) => p.dim as number | undefined;
const keepdim = (p: Params) => p.keepdim as boolean | undefined;
const alpha = (p: Params) => (p.alpha === undefined ? undefined : { alpha: p.alpha as number });
const approximate = (p: Params) => (p.approximate === undefined ? undefined : { approximate: p.approximate as "none" | "tanh" });
const correction = (p: Params) => (p.correction === undefined ? undefined : { correction: p.correction as number });
/** The positional arguments of a view op (null, PyTorch's None, becomes undefined). */
const viewArgs = <A extends unknown[] = never[]>(p: Params) =>
  (p.args as (number | number[] | null)[]).map((a) => (a === null ? undefined : a)) as unknown as A;

/** A reduction over optional dims: `x.op()` without a dim, `x.op(dim, keepdim)` with one. */
function reduceMethod(name: "sum" | "mean" | "amax" | "amin" | "prod" | "argmax" | "argmin" | "max" | "min"): Runner {
  return ([x], p) => {
    const t = T(x) as unknown as Record<string, (...a: unknown[]) => unknown>;
    return dims(p) === undefined ? t[name]!() : t[name]!(dims(p), keepdim(p));
  };
}

const castVia: Record<string, (t: Tensor, dtype: DType) => Tensor> = {
  to: (t, dtype) => t.to(dtype),
  float: (t) => t.float(),
  double: (t) => t.double(),
  int: (t) => t.int(),
  bool: (t) => t.bool(),
};

export const methodForms: Record<string, Runner> = {
  neg: ([x]) => T(x).neg(),
  abs: ([x]) => T(x).abs(),
  sign: ([x]) => T(x).sign(),
  relu: ([x]) => T(x).relu(),
  sqrt: ([x]) => T(x).sqrt(),
  exp: ([x]) => T(x).exp(),
  log: ([x]) => T(x).log(),
  rsqrt: ([x]) => T(x).rsqrt(),
  sigmoid: ([x]) => T(x).sigmoid(),
  tanh: ([x]) => T(x).tanh(),
  erf: ([x]) => T(x).erf(),
  logicalNot: ([x]) => T(x).logicalNot(),
  gelu: ([x], p) => T(x).gelu(approximate(p)),
  cast: ([x], p) => castVia[p.via as string]!(T(x), p.dtype as DType),

  add: ([a, b], p) => T(a).add(TL(b), alpha(p)),
  sub: ([a, b], p) => T(a).sub(TL(b), alpha(p)),
  mul: ([a, b]) => T(a).mul(TL(b)),
  div: ([a, b]) => T(a).div(TL(b)),
  pow: ([a, b]) => T(a).pow(TL(b)),
  maximum: ([a, b]) => T(a).maximum(T(b)),
  minimum: ([a, b]) => T(a).minimum(T(b)),
  eq: ([a, b]) => T(a).eq(TL(b)),
  ne: ([a, b]) => T(a).ne(TL(b)),
  lt: ([a, b]) => T(a).lt(TL(b)),
  le: ([a, b]) => T(a).le(TL(b)),
  gt: ([a, b]) => T(a).gt(TL(b)),
  ge: ([a, b]) => T(a).ge(TL(b)),
  logicalAnd: ([a, b]) => T(a).logicalAnd(TL(b)),
  logicalOr: ([a, b]) => T(a).logicalOr(TL(b)),
  clamp: ([x, lo, hi]) => T(x).clamp(lo as number | Tensor | undefined, hi as number | Tensor | undefined),
  where: ([cond, a, b]) => T(a).where(T(cond), TL(b)),
  maskedFill: ([x, mask, value]) => T(x).maskedFill(T(mask), TL(value)),

  sum: reduceMethod("sum"),
  mean: reduceMethod("mean"),
  amax: reduceMethod("amax"),
  amin: reduceMethod("amin"),
  prod: reduceMethod("prod"),
  argmax: reduceMethod("argmax"),
  argmin: reduceMethod("argmin"),
  max: reduceMethod("max"),
  min: reduceMethod("min"),
  var: ([x], p) => T(x).var(dims(p), keepdim(p), correction(p)),
  std: ([x], p) => T(x).std(dims(p), keepdim(p), correction(p)),
  logsumexp: ([x], p) => T(x).logsumexp(dims(p)!, keepdim(p)),
  softmax: ([x], p) => T(x).softmax(dim(p)!),
  logSoftmax: ([x], p) => T(x).logSoftmax(dim(p)!),

  matmul: ([a, b]) => T(a).matmul(T(b)),
  split: ([x], p) => T(x).split(p.split as number | number[], dim(p)),
  chunk: ([x], p) => T(x).chunk(p.chunks as number, dim(p)),

  indexSelect: ([x, i], p) => T(x).indexSelect(dim(p)!, T(i)),
  gather: ([x, i], p) => T(x).gather(dim(p)!, T(i)),
  scatter: ([x, i, src], p) => T(x).scatter(dim(p)!, T(i), TL(src)),

  reshape: ([x], p) => T(x).reshape(...viewArgs(p)),
  view: ([x], p) => T(x).view(...viewArgs(p)),
  expand: ([x], p) => T(x).expand(...viewArgs(p)),
  permute: ([x], p) => T(x).permute(...viewArgs(p)),
  transpose: ([x], p) => T(x).transpose(...viewArgs<[number, number]>(p)),
  t: ([x]) => T(x).t(),
  T: ([x]) => T(x).T,
  narrow: ([x], p) => T(x).narrow(...viewArgs<[number, number, number]>(p)),
  slice: ([x], p) => T(x).slice(...viewArgs<[number, number?, number?, number?]>(p)),
  squeeze: ([x], p) => T(x).squeeze(...viewArgs<[number?]>(p)),
  unsqueeze: ([x], p) => T(x).unsqueeze(...viewArgs<[number]>(p)),
  flatten: ([x], p) => T(x).flatten(...viewArgs<[number?, number?]>(p)),
  contiguous: ([x]) => T(x).contiguous(),
  clone: ([x]) => T(x).clone(),

  item: ([x]) => T(x).item(),
  requiresGrad_: ([x]) => T(x).requiresGrad_(),
};

/** The function forms `lockstep` documents; cat and stack exist only as functions. */
export const functionForms: Record<string, Runner> = {
  add: ([a, b], p) => L.add(TL(a), TL(b), alpha(p)),
  sub: ([a, b], p) => L.sub(TL(a), TL(b), alpha(p)),
  mul: ([a, b]) => L.mul(TL(a), TL(b)),
  div: ([a, b]) => L.div(TL(a), TL(b)),
  pow: ([a, b]) => L.pow(TL(a), TL(b)),
  maximum: ([a, b]) => L.maximum(T(a), T(b)),
  minimum: ([a, b]) => L.minimum(T(a), T(b)),
  eq: ([a, b]) => L.eq(TL(a), TL(b)),
  ne: ([a, b]) => L.ne(TL(a), TL(b)),
  lt: ([a, b]) => L.lt(TL(a), TL(b)),
  le: ([a, b]) => L.le(TL(a), TL(b)),
  gt: ([a, b]) => L.gt(TL(a), TL(b)),
  ge: ([a, b]) => L.ge(TL(a), TL(b)),
  logicalAnd: ([a, b]) => L.logicalAnd(TL(a), TL(b)),
  logicalOr: ([a, b]) => L.logicalOr(TL(a), TL(b)),
  logicalNot: ([x]) => L.logicalNot(T(x)),
  neg: ([x]) => L.neg(T(x)),
  exp: ([x]) => L.exp(T(x)),
  log: ([x]) => L.log(T(x)),
  sqrt: ([x]) => L.sqrt(T(x)),
  rsqrt: ([x]) => L.rsqrt(T(x)),
  abs: ([x]) => L.abs(T(x)),
  sign: ([x]) => L.sign(T(x)),
  relu: ([x]) => L.relu(T(x)),
  sigmoid: ([x]) => L.sigmoid(T(x)),
  tanh: ([x]) => L.tanh(T(x)),
  gelu: ([x], p) => L.gelu(T(x), approximate(p)),
  clamp: ([x, lo, hi]) => L.clamp(T(x), lo as number | Tensor | undefined, hi as number | Tensor | undefined),
  where: ([cond, a, b]) => L.where(T(cond), TL(a), TL(b)),
  sum: ([x], p) => (dims(p) === undefined ? L.sum(T(x)) : L.sum(T(x), dims(p), keepdim(p))),
  mean: ([x], p) => (dims(p) === undefined ? L.mean(T(x)) : L.mean(T(x), dims(p), keepdim(p))),
  matmul: ([a, b]) => L.matmul(T(a), T(b)),
  softmax: ([x], p) => L.softmax(T(x), dim(p)!),
  logSoftmax: ([x], p) => L.logSoftmax(T(x), dim(p)!),
  cat: (ts, p) => L.cat(ts as Tensor[], dim(p)),
  stack: (ts, p) => L.stack(ts as Tensor[], dim(p)),
  split: ([x], p) => L.split(T(x), p.split as number | number[], dim(p)),
  chunk: ([x], p) => L.chunk(T(x), p.chunks as number, dim(p)),
  indexSelect: ([x, i], p) => L.indexSelect(T(x), dim(p)!, T(i)),
  gather: ([x, i], p) => L.gather(T(x), dim(p)!, T(i)),
  scatter: ([x, i, src], p) => L.scatter(T(x), dim(p)!, T(i), TL(src)),
  maskedFill: ([x, mask, value]) => L.maskedFill(T(x), T(mask), TL(value)),
};

export type Form = "method" | "function";

/** The forms an op is tested in: its method, its function, or both. */
export function formsOf(op: string): Form[] {
  const forms: Form[] = [];
  if (op in methodForms) forms.push("method");
  if (op in functionForms) forms.push("function");
  if (forms.length === 0) throw new Error(`no runner for fixture op '${op}'`);
  return forms;
}

export async function runOp(form: Form, op: string, inputs: Operand[], params: Params): Promise<unknown> {
  const runner = (form === "method" ? methodForms : functionForms)[op]!;
  return await runner(inputs, params);
}
