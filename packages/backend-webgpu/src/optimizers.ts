// Fused optimizer updates in WGSL (core's ops/optim.ts): one dispatch per parameter that writes
// the parameter and its state in place, instead of one dispatch per elementwise op.
//
// Same bits as the unfused kernels, which round every result to f32 by storing it: here every
// + − × result passes through detmath's `o()` (an OR with a zero the compiler cannot see), so no
// product can be fused into an add and no chain regrouped (DESIGN.md, rule 6) — in both modes,
// since the fast elementwise kernels do not fuse across dispatches either. Division and square
// root are the ones the div and sqrt kernels use in the current mode: detmath's with the flag on,
// the builtin-based fastmath's (and WGSL's `/`) with it off. Scalars are the CPU's coefficients
// (core's sgdCoefficients/adamCoefficients), read from the metadata buffer as f32 bits.
import { adamCoefficients, sgdCoefficients, type KernelFn } from "@lockstep/core";
import { contextOf, type WebGPUStorage, type WebGPUView } from "./backend.js";
import { CONSTANTS_BINDING, PRELUDE, constantsBuffer, deterministicExpression } from "./detmath.js";
import { EXACT_HELPERS } from "./elementwise.js";
import { FAST_MATH } from "./fastmath.js";
import { FLOAT_HELPERS, bindings, linearMain, runShader, workgroupsFor } from "./program.js";

const bits = new Uint32Array(1);
const asFloat = new Float32Array(bits.buffer);

function f32Bits(x: number): number {
  asFloat[0] = x;
  return bits[0]!;
}

interface Update {
  /** Names of the in-place operands, in binding order (the first is the parameter). */
  targets: readonly string[];
  /** Scalars, read in WGSL as `scalar(i)` (i counts from 0). */
  scalars: readonly number[];
  /**
   * WGSL of one element's update; `d` starts as the gradient, `x_<target>` indexes a target. It
   * is also the pipeline key: it is all that differs between the kernels' shaders.
   */
  body: string;
  /** WGSL functions the body calls beyond `o()` and the float helpers. */
  helpers: string;
}

/** One dispatch running `update.body` for every element; all operands are contiguous (core checks). */
function runUpdate(grad: WebGPUView, targets: readonly WebGPUView[], update: Update): void {
  const count = targets[0]!.shape.reduce((a, b) => a * b, 1);
  if (count === 0) return;
  const ctx = contextOf(targets[0]!.storage);
  contextOf(grad.storage);
  const n = targets.length;
  // info: count, the targets' offsets, the gradient's offset, then the scalars' f32 bits.
  const info = new Uint32Array(2 + n + update.scalars.length);
  info[0] = count;
  targets.forEach((t, j) => (info[1 + j] = t.offset));
  info[1 + n] = grad.offset;
  info.set(update.scalars.map(f32Bits), 2 + n);
  const scalarsAt = 2 + n;
  runShader(ctx, {
    key: `optim:${update.targets.join(",")}:${update.body}`,
    source: () => `${bindings(
      update.targets.map((name) => [name, "f32"]),
      [["grad", "f32"], [CONSTANTS_BINDING, "u32"]],
    )}
${FLOAT_HELPERS}
${update.helpers}
fn scalar(i: u32) -> f32 { return bitcast<f32>(info[${scalarsAt}u + i]); }
${linearMain()}
  if (index >= info[0]) { return; }
${PRELUDE}
${update.targets.map((name, j) => `  let x_${name} = info[${1 + j}u] + index;`).join("\n")}
  var d = grad[info[${1 + n}u] + index];
${update.body}
}`,
    outputs: targets.map((t) => t.storage.buffer),
    inputs: [grad.storage.buffer, constantsBuffer(ctx)],
    info,
    workgroups: workgroupsFor(count),
  });
}

/** `x · scalar(i)` as add(…, { alpha }) computes it: no product when the factor is exactly 1. */
function alpha(x: string, factor: number, i: number): string {
  return factor === 1 ? x : `o(${x} * scalar(${i}u))`;
}

/** The neg kernel's expression: flips the sign bit, NaN included. */
const NEG = "bitcast<f32>(bitcast<u32>(d) ^ 0x80000000u)";

// o() and the deterministic division and square root: detmath's chunks (sqrt pulls in core and div).
const DETMATH = deterministicExpression("sqrt")!.helpers;

export const sgdUpdateKernel: KernelFn<"sgdUpdate", WebGPUStorage> = ([grad], targets, attrs) => {
  const c = sgdCoefficients(attrs, "float32");
  // scalar(0) = −lr, (1) = weight decay, (2) = momentum, (3) = 1 − dampening.
  const lines: string[] = [];
  if (c.maximize) lines.push(`d = ${NEG};`);
  lines.push("let p = param[x_param];");
  if (c.weightDecay !== undefined) lines.push(`d = o(d + ${alpha("p", c.weightDecay, 1)});`);
  if (c.momentum !== undefined) {
    if (c.firstStep) lines.push("let b = d;");
    else lines.push(`let b = o(o(buffer[x_buffer] * scalar(2u)) + ${alpha("d", c.dampening, 3)});`);
    lines.push("buffer[x_buffer] = b;");
    lines.push(c.nesterov ? `d = o(d + ${alpha("b", c.momentum, 2)});` : "d = b;");
  }
  lines.push(`param[x_param] = o(p + ${alpha("d", c.negativeLr, 0)});`);
  runUpdate(grad!, targets, {
    targets: c.momentum === undefined ? ["param"] : ["param", "buffer"],
    scalars: [c.negativeLr, c.weightDecay ?? 0, c.momentum ?? 0, c.dampening],
    body: lines.map((l) => `  ${l}`).join("\n"),
    helpers: DETMATH,
  });
};

export const adamUpdateKernel: KernelFn<"adamUpdate", WebGPUStorage> = ([grad], targets, attrs) => {
  const c = adamCoefficients(attrs, "float32");
  // scalar(0) = −step size, (1) = weight decay, (2) = 1 − lr·wd, (3) = β₁, (4) = 1 − β₁, (5) = β₂,
  // (6) = 1 − β₂, (7) = √(bias correction 2), (8) = eps.
  const lines: string[] = [];
  if (c.maximize) lines.push(`d = ${NEG};`);
  lines.push("var p = param[x_param];");
  if (c.weightDecay !== undefined) lines.push(`d = o(d + ${alpha("p", c.weightDecay, 1)});`);
  if (c.decay !== undefined) lines.push("p = o(p * scalar(2u));");
  lines.push(
    `let m = o(o(exp_avg[x_exp_avg] * scalar(3u)) + ${alpha("d", c.oneMinusBeta1, 4)});`,
    "let v = o(o(exp_avg_sq[x_exp_avg_sq] * scalar(5u)) + o(o(d * scalar(6u)) * d));",
    "exp_avg[x_exp_avg] = m;",
    "exp_avg_sq[x_exp_avg_sq] = v;",
    "var second = v;",
  );
  if (c.amsgrad) lines.push("second = max_f32(max_exp_avg_sq[x_max_exp_avg_sq], v);", "max_exp_avg_sq[x_max_exp_avg_sq] = second;");
  if (c.deterministic) lines.push("let ratio = det_div(m, o(det_div(det_sqrt(second), scalar(7u)) + scalar(8u)));");
  else lines.push("let ratio = o(m / o(o(o(sqrt_f32(second)) / scalar(7u)) + scalar(8u)));");
  lines.push(`param[x_param] = o(p + ${alpha("ratio", c.negativeStepSize, 0)});`);
  runUpdate(grad!, targets, {
    targets: c.amsgrad ? ["param", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"] : ["param", "exp_avg", "exp_avg_sq"],
    scalars: [
      c.negativeStepSize,
      c.weightDecay ?? 0,
      c.decay ?? 1,
      c.beta1,
      c.oneMinusBeta1,
      c.beta2,
      c.oneMinusBeta2,
      c.biasCorrection2Sqrt,
      c.eps,
    ],
    body: lines.map((l) => `  ${l}`).join("\n"),
    helpers: EXACT_HELPERS + DETMATH + (c.deterministic ? "" : FAST_MATH),
  });
};
