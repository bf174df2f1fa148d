// Fused optimizer updates (core's ops/optim.ts): one pass over each parameter that writes the
// parameter and its state in place. Each element goes through the same roundings as the unfused
// sequence of kernels it replaces — every product and sum rounded to float32 on its own, never
// fused — so the bits are those of mul, add, sqrt, div and maximum run one after another, in both
// modes (deterministic mode: detmath's division and square root, as the div and sqrt kernels use).
//
// The float32 and float64 loops are written out separately, each over one typed-array type with
// the rounding inline: a shared loop taking a rounding function would call through a function
// value per operation, and one loop fed both array types leaves V8 with polymorphic element
// accesses — both measured slower than these straight loops.
import { adamCoefficients, sgdCoefficients, type AdamCoefficients as Adam, type KernelFn, type SgdCoefficients as Sgd } from "@lockstep/core";
import { detDiv, detSqrt } from "./detmath.js";
import { simdScaledAdd } from "./elementwise-simd.js";
import { gatherElements, type CpuStorage, type CpuView } from "./storage.js";

const f = Math.fround;
// Stand-ins for an absent state tensor, of the loop's own array type.
const NONE32 = new Float32Array(0);
const NONE64 = new Float64Array(0);

/** The dense elements of an in-place target (core guarantees it is contiguous). */
function elements(view: CpuView): Float32Array | Float64Array {
  const n = view.shape.reduce((a, b) => a * b, 1);
  return view.storage.data.subarray(view.offset, view.offset + n) as Float32Array | Float64Array;
}

/** maximum's NaN rule (elementwise.ts): NaN if either is NaN, else the larger (+0 over −0). */
function maximum(a: number, b: number): number {
  return a !== a || b !== b ? NaN : Math.max(a, b);
}

export const sgdUpdateKernel: KernelFn<"sgdUpdate", CpuStorage> = ([grad], [param, buffer], attrs) => {
  const c = sgdCoefficients(attrs, param!.dtype);
  const p = elements(param!);
  const g = gatherElements(grad!);
  if (p instanceof Float32Array) sgdFloat32(p, g as Float32Array, buffer === undefined ? NONE32 : (elements(buffer) as Float32Array), c);
  else sgdFloat64(p, g as Float64Array, buffer === undefined ? NONE64 : (elements(buffer) as Float64Array), c);
};

// d = ±g; d += p·wd; b = first ? d : b·m + d·(1−dampening); d = nesterov ? d + b·m : b; p += d·(−lr)
function sgdFloat32(param: Float32Array, grad: Float32Array, buffer: Float32Array, c: Sgd): void {
  const { maximize, firstStep, nesterov, dampening, negativeLr } = c;
  const decays = c.weightDecay !== undefined;
  const weightDecay = c.weightDecay ?? 0;
  const hasMomentum = c.momentum !== undefined;
  const momentum = c.momentum ?? 0;
  if (!maximize && !decays && !hasMomentum) {
    // Plain SGD, the common case: in WebAssembly (the mul and add kernels' loops, ~2–3× this JS
    // loop with the copies) when it can; the JS loop has its own body because V8 does not
    // unswitch loops, and the flag tests below cost about as much again as the loop itself.
    if (simdScaledAdd(param, grad, negativeLr)) return;
    for (let i = 0; i < param.length; i++) param[i] = f(param[i]! + f(grad[i]! * negativeLr));
    return;
  }
  for (let i = 0; i < param.length; i++) {
    const p = param[i]!;
    let d = maximize ? -grad[i]! : grad[i]!;
    if (decays) d = f(d + f(p * weightDecay));
    if (hasMomentum) {
      const b = firstStep ? d : f(f(buffer[i]! * momentum) + f(d * dampening));
      buffer[i] = b;
      d = nesterov ? f(d + f(b * momentum)) : b;
    }
    param[i] = f(p + f(d * negativeLr));
  }
}

function sgdFloat64(param: Float64Array, grad: Float64Array, buffer: Float64Array, c: Sgd): void {
  const { maximize, firstStep, nesterov, dampening, negativeLr } = c;
  const decays = c.weightDecay !== undefined;
  const weightDecay = c.weightDecay ?? 0;
  const hasMomentum = c.momentum !== undefined;
  const momentum = c.momentum ?? 0;
  for (let i = 0; i < param.length; i++) {
    const p = param[i]!;
    let d = maximize ? -grad[i]! : grad[i]!;
    if (decays) d = d + p * weightDecay;
    if (hasMomentum) {
      const b = firstStep ? d : buffer[i]! * momentum + d * dampening;
      buffer[i] = b;
      d = nesterov ? d + b * momentum : b;
    }
    param[i] = p + d * negativeLr;
  }
}

export const adamUpdateKernel: KernelFn<"adamUpdate", CpuStorage> = ([grad], [param, expAvg, expAvgSq, maxExpAvgSq], attrs) => {
  const c = adamCoefficients(attrs, param!.dtype);
  const p = elements(param!);
  const g = gatherElements(grad!);
  const m = elements(expAvg!);
  const v = elements(expAvgSq!);
  if (p instanceof Float32Array) {
    const vMax = maxExpAvgSq === undefined ? NONE32 : (elements(maxExpAvgSq) as Float32Array);
    adamFloat32(p, g as Float32Array, m as Float32Array, v as Float32Array, vMax, c);
  } else {
    const vMax = maxExpAvgSq === undefined ? NONE64 : (elements(maxExpAvgSq) as Float64Array);
    adamFloat64(p, g as Float64Array, m as Float64Array, v as Float64Array, vMax, c);
  }
};

// d = ±g; d += p·wd (Adam) or p = p·(1 − lr·wd) (AdamW); m = m·β₁ + d·(1−β₁);
// v = v·β₂ + (d·(1−β₂))·d; s = amsgrad ? (vMax = max(vMax, v)) : v; p += (m / (√s / bc₂ + eps))·(−stepSize)
function adamFloat32(param: Float32Array, grad: Float32Array, expAvg: Float32Array, expAvgSq: Float32Array, maxSq: Float32Array, c: Adam): void {
  const { maximize, amsgrad, deterministic, beta1, oneMinusBeta1, beta2, oneMinusBeta2, biasCorrection2Sqrt, eps, negativeStepSize } = c;
  const l2 = c.weightDecay !== undefined;
  const weightDecay = c.weightDecay ?? 0;
  const decoupled = c.decay !== undefined;
  const decay = c.decay ?? 1;
  for (let i = 0; i < param.length; i++) {
    let p = param[i]!;
    let d = maximize ? -grad[i]! : grad[i]!;
    if (l2) d = f(d + f(p * weightDecay));
    if (decoupled) p = f(p * decay);
    const m = f(f(expAvg[i]! * beta1) + f(d * oneMinusBeta1));
    const v = f(f(expAvgSq[i]! * beta2) + f(f(d * oneMinusBeta2) * d));
    expAvg[i] = m;
    expAvgSq[i] = v;
    let second = v;
    if (amsgrad) maxSq[i] = second = maximum(maxSq[i]!, v);
    let ratio: number;
    if (deterministic) ratio = detDiv(m, f(detDiv(detSqrt(second), biasCorrection2Sqrt) + eps));
    else ratio = f(m / f(f(f(Math.sqrt(second)) / biasCorrection2Sqrt) + eps));
    param[i] = f(p + f(ratio * negativeStepSize));
  }
}

function adamFloat64(param: Float64Array, grad: Float64Array, expAvg: Float64Array, expAvgSq: Float64Array, maxSq: Float64Array, c: Adam): void {
  const { maximize, amsgrad, beta1, oneMinusBeta1, beta2, oneMinusBeta2, biasCorrection2Sqrt, eps, negativeStepSize } = c;
  const l2 = c.weightDecay !== undefined;
  const weightDecay = c.weightDecay ?? 0;
  const decoupled = c.decay !== undefined;
  const decay = c.decay ?? 1;
  for (let i = 0; i < param.length; i++) {
    let p = param[i]!;
    let d = maximize ? -grad[i]! : grad[i]!;
    if (l2) d = d + p * weightDecay;
    if (decoupled) p = p * decay;
    const m = expAvg[i]! * beta1 + d * oneMinusBeta1;
    const v = expAvgSq[i]! * beta2 + d * oneMinusBeta2 * d;
    expAvg[i] = m;
    expAvgSq[i] = v;
    let second = v;
    if (amsgrad) maxSq[i] = second = maximum(maxSq[i]!, v);
    param[i] = p + (m / (Math.sqrt(second) / biasCorrection2Sqrt + eps)) * negativeStepSize;
  }
}
