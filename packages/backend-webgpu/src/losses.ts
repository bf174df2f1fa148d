// Fused cross-entropy on class indices in WGSL (core's ops/losses.ts): the loss in one dispatch
// per row plus, for "mean" and "sum", one single-thread dispatch reducing the rows; the logits'
// gradient in one dispatch per row. One thread owns a row and walks its classes in order, as the
// unfused amax and sum kernels do.
//
// Same bits as the unfused kernels, in both modes: every + − × result passes through detmath's
// `o()` (as in optimizers.ts), so nothing is fused or regrouped across what were separate
// dispatches; the maximum is the amax kernel's loop, sums are the reduce kernel's float32 tree
// (reduce.ts), and exp, log and division are detmath's with the flag on, fastmath's and WGSL's
// `/` with it off. Additions of a zero that the unfused kernels make (a one-element sum starting
// from +0) are written as selects, so no compiler can drop them and keep a −0.
//
// The target is checked like gather checks its index (indexing.ts): one outside [0, C) reads 0
// and is reported at the next read as gather's IndexError.
import type { KernelFn } from "@lockstep/core";
import { contextOf, type WebGPUStorage, type WebGPUView } from "./backend.js";
import { pooledSize } from "./buffers.js";
import { CONSTANTS_BINDING, PRELUDE, constantsBuffer, library } from "./detmath.js";
import { FAST_MATH } from "./fastmath.js";
import { ERROR_BINDING, checkIndexWgsl, errorBuffer } from "./indexing.js";
import { FLOAT_HELPERS, bindings, linearMain, runShader, workgroupsFor } from "./program.js";
import { SUM_BLOCK } from "./reduce.js";

// info, shared by the kernels: 0 rows, 1 classes, 2 logits' offset, 3 row stride, 4 class
// stride, 5 target's offset, 6 its stride, 7 the ignore index (i32 bits); the backward adds
// 8 grad's offset, 9 grad's stride, 10 count's offset, 11 the output's offset.
function layout(logits: WebGPUView, target: WebGPUView, ignoreIndex: number, extra: number): Uint32Array {
  const info = new Uint32Array(8 + extra);
  info.set([logits.shape[0]!, logits.shape[1]!, logits.offset, logits.strides[0]!, logits.strides[1]!]);
  info.set([target.offset, target.strides[0]!, ignoreIndex >>> 0], 5);
  return info;
}

/** exp, log and ÷ of the mode, and the WGSL they need (detmath's `core` chunk gives `o()` in both). */
function math(deterministic: boolean): { exp: string; log: string; div: (a: string, b: string) => string; helpers: string } {
  return deterministic
    ? { exp: "det_exp", log: "det_log", div: (a, b) => `det_div(${a}, ${b})`, helpers: library(["exp", "log", "div"]) }
    : { exp: "exp_f32", log: "log_f32", div: (a, b) => `o(${a} / ${b})`, helpers: library(["core"]) + FAST_MATH };
}

/** WGSL setting `target` to the reduce kernel's float32 tree sum of `value` (an expression of j) over j < `count`. */
function treeSum(target: string, count: string, value: string): string {
  return `  {
    var stack: array<f32, 64>;
    var depth = 0u;
    var blocks = 0u;
    var inBlock = 0u;
    var acc = 0.0;
    for (var j = 0u; j < ${count}; j = j + 1u) {
      acc = o(acc + ${value});
      inBlock = inBlock + 1u;
      if (inBlock == ${SUM_BLOCK}u || j + 1u == ${count}) {
        blocks = blocks + 1u;
        for (var m = countTrailingZeros(blocks); m > 0u; m = m - 1u) {
          depth = depth - 1u;
          acc = o(stack[depth] + acc);
        }
        stack[depth] = acc;
        depth = depth + 1u;
        acc = 0.0;
        inBlock = 0u;
      }
    }
    if (depth > 0u) {
      depth = depth - 1u;
      acc = stack[depth];
      while (depth > 0u) {
        depth = depth - 1u;
        acc = o(stack[depth] + acc);
      }
    }
    ${target} = acc;
  }`;
}

/** WGSL of one row's softmax statistics (`row_max`, `shifted`, `row_sum_exp`) and the target's class. */
function rowCode(exp: string): string {
  return `
fn logit(i: u32, j: u32) -> f32 { return x[info[2] + i * info[3] + j * info[4]]; }
// The amax kernel: from the first element, each larger one; the first NaN wins and stops.
fn row_max(i: u32) -> f32 {
  var m = logit(i, 0u);
  for (var j = 1u; j < info[1]; j = j + 1u) {
    if (is_nan(m)) { break; }
    let v = logit(i, j);
    if (v > m || is_nan(v)) { m = v; }
  }
  return m;
}
fn shifted(i: u32, j: u32, m: f32) -> f32 { return o(logit(i, j) - m); }
fn row_sum_exp(i: u32, m: f32) -> f32 {
  var s = 0.0;
${treeSum("s", "info[1]", `${exp}(shifted(i, j, m))`)}
  return s;
}
fn target_of(i: u32) -> i32 { return labels[info[5] + i * info[6]]; }
fn kept(t: i32) -> bool { return t != bitcast<i32>(info[7]); }
// The neg kernel: flips the sign bit.
fn negate(v: f32) -> f32 { return bitcast<f32>(bitcast<u32>(v) ^ 0x80000000u); }
// +0 + v, as a sum kernel computes it: v, except that −0 becomes +0.
fn plus_zero(v: f32) -> f32 { return select(v, 0.0, (bitcast<u32>(v) & 0x7fffffffu) == 0u); }`;
}

const LOGITS_BINDINGS: [string, string][] = [["x", "f32"], ["labels", "i32"]];

export const crossEntropyKernel: KernelFn<"crossEntropy", WebGPUStorage> = ([logits, target], [out, count], attrs) => {
  const { ignoreIndex, reduction, deterministic } = attrs;
  const ctx = contextOf(out!.storage);
  contextOf(logits!.storage);
  contextOf(target!.storage);
  const rows = logits!.shape[0]!;
  if (rows === 0) return;
  const m = math(deterministic);
  const mode = deterministic ? "det" : "fast";
  const submit = () => ctx.batch.submit();
  // "none" writes the per-row losses straight into the output; the others into a temporary.
  const losses = reduction === "none" ? out!.storage.buffer : ctx.pool.acquire(pooledSize(rows * 4, ctx.limits.maxStorageBufferBindingSize), submit);
  const info = layout(logits!, target!, ignoreIndex, 1);
  info[8] = reduction === "none" ? out!.offset : 0;
  runShader(ctx, {
    key: `crossEntropy:rows:${mode}`,
    source: () => `${bindings([["losses", "f32"], ERROR_BINDING], [...LOGITS_BINDINGS, [CONSTANTS_BINDING, "u32"]])}
${FLOAT_HELPERS}
${m.helpers}
${checkIndexWgsl(2, 1)}
${rowCode(m.exp)}
${linearMain()}
  if (index >= info[0]) { return; }
${PRELUDE}
  let m = row_max(index);
  let log_sum = ${m.log}(row_sum_exp(index, m));
  let t = target_of(index);
  let keep = kept(t);
  // gather(logSoftmax, where(keep, t, 0)): the kept target's log-probability, 0 out of range.
  let k = wrap_index(select(0, t, keep), info[1]);
  var picked = 0.0;
  if (k != 0xffffffffu) { picked = o(shifted(index, k, m) - log_sum); }
  losses[info[8] + index] = select(0.0, negate(picked), keep);
}`,
    outputs: [losses, errorBuffer(ctx)],
    inputs: [logits!.storage.buffer, target!.storage.buffer, constantsBuffer(ctx)],
    info,
    workgroups: workgroupsFor(rows),
  });
  if (reduction === "none") return;
  // The sum kernel over the losses; mean divides by keep.float().sum(), an integer count.
  const mean = reduction === "mean";
  const reduceInfo = layout(logits!, target!, ignoreIndex, 2);
  reduceInfo[8] = out!.offset;
  reduceInfo[9] = mean ? count!.offset : 0;
  runShader(ctx, {
    key: `crossEntropy:${reduction}:${mode}`,
    source: () => `${bindings(mean ? [["out", "f32"], ["count", "i32"]] : [["out", "f32"]], [["losses", "f32"], ["labels", "i32"], [CONSTANTS_BINDING, "u32"]])}
${FLOAT_HELPERS}
${m.helpers}
fn target_of(i: u32) -> i32 { return labels[info[5] + i * info[6]]; }
${linearMain()}
  if (index >= 1u) { return; }
${PRELUDE}
  var total = 0.0;
${treeSum("total", "info[0]", "losses[j]")}
${mean
  ? `  var kept = 0u;
  for (var i = 0u; i < info[0]; i = i + 1u) {
    if (target_of(i) != bitcast<i32>(info[7])) { kept = kept + 1u; }
  }
  count[info[9]] = i32(kept);
  out[info[8]] = ${m.div("total", "f32(kept)")};`
  : "  out[info[8]] = total;"}
}`,
    outputs: mean ? [out!.storage.buffer, count!.storage.buffer] : [out!.storage.buffer],
    inputs: [losses, target!.storage.buffer, constantsBuffer(ctx)],
    info: reduceInfo,
    workgroups: 1,
  });
  ctx.pool.release(losses);
};

export const crossEntropyBackwardKernel: KernelFn<"crossEntropyBackward", WebGPUStorage> = (
  [logits, target, grad, count],
  [out],
  attrs,
) => {
  const { ignoreIndex, reduction, deterministic } = attrs;
  const ctx = contextOf(out!.storage);
  for (const v of [logits!, target!, grad!, ...(count === undefined ? [] : [count])]) contextOf(v.storage);
  const rows = logits!.shape[0]!;
  if (rows === 0) return;
  const m = math(deterministic);
  const mean = reduction === "mean";
  const info = layout(logits!, target!, ignoreIndex, 4);
  info.set([grad!.offset, grad!.shape.length === 0 ? 0 : grad!.strides[0]!, mean ? count!.offset : 0, out!.offset], 8);
  // mean's backward: div(g, count) (every thread computes the same quotient), then sum's expand.
  const upstream = mean ? m.div("grad[info[8]]", "f32(count[info[10]])") : reduction === "sum" ? "grad[info[8]]" : "grad[info[8] + index * info[9]]";
  const inputs: [string, string][] = [...LOGITS_BINDINGS, ["grad", "f32"], ...(mean ? [["count", "i32"] as [string, string]] : [])];
  runShader(ctx, {
    key: `crossEntropyBackward:${reduction}:${deterministic ? "det" : "fast"}`,
    source: () => `${bindings([["out", "f32"]], [...inputs, [CONSTANTS_BINDING, "u32"]])}
${FLOAT_HELPERS}
${m.helpers}
${rowCode(m.exp)}
${linearMain()}
  if (index >= info[0]) { return; }
${PRELUDE}
  let c = info[1];
  let m = row_max(index);
  let s = row_sum_exp(index, m);
  let t = target_of(index);
  let keep = kept(t);
  let at = select(0, t, keep);
  let hit = at >= 0 && u32(at) < c;
  // where(keep, g, 0) → neg → gather's scatter-add (a one-element sum from +0).
  let picked = plus_zero(negate(select(0.0, ${upstream}, keep)));
  // logSoftmax: −(row sum of G) ÷ Σ exp, G being ±0 except at the target.
  let scale = ${m.div("select(0.0, plus_zero(negate(picked)), hit)", "s")};
  let base = info[11] + index * c;
  for (var j = 0u; j < c; j = j + 1u) {
    let direct = select(0.0, picked, hit && j == u32(at));
    out[base + j] = o(direct + o(scale * ${m.exp}(shifted(index, j, m))));
  }
}`,
    outputs: [out!.storage.buffer],
    inputs: [logits!.storage.buffer, target!.storage.buffer, grad!.storage.buffer, ...(mean ? [count!.storage.buffer] : []), constantsBuffer(ctx)],
    info,
    workgroups: workgroupsFor(rows),
  });
};
