// The start-up check behind `capabilities().bitwiseMatchesCpu` (DESIGN.md, rule 4): whether, on
// this adapter, the deterministic kernels give the CPU backend's bits. A driver may fuse a·b + c,
// flush subnormals or reorder arithmetic, and nothing in WebGPU says so; this file finds out by
// running small canonical computations on both backends with useDeterministicAlgorithms(true) and
// comparing bit patterns: a matmul and a sum over wide magnitudes, subnormal arithmetic, every
// function of the deterministic math library on inputs that reach each of its branches, and a
// tiny MLP's forward and backward (matmul, GELU, a layer norm, log-softmax, a picked loss, every
// parameter gradient).
//
// It changes nothing a user can see: no random generator is drawn from, the deterministic flag
// and grad mode are restored, and every tensor it makes is disposed. Without a CPU backend (this
// package used alone) only the matmul, sum and subnormal checks run, against the CPU's arithmetic
// written out here; without autograd the MLP check runs forward only. Either is reported.
import { scope, state, tensor, type Tensor } from "@lockstep/core";
import type { SelfTestResult } from "./device.js";

/** Deterministic float32 values spanning 2^-20 … 2^20 with both signs (no subnormals). */
function wideValues(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let s = seed >>> 0;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  for (let i = 0; i < count; i++) out[i] = (next() * 2 - 1) * 2 ** Math.floor(next() * 41 - 20);
  return out;
}

function fromBits(bits: number): number {
  return new Float32Array(new Uint32Array([bits >>> 0]).buffer)[0]!;
}

const f = Math.fround;

/** Inputs that reach every branch of the library: ±0, subnormals, ±inf, NaN, and each boundary. */
const EDGES = [
  0, -0, fromBits(1), -fromBits(0x7fffff), 2 ** -126, 1e-30, 1e-7, 0.3, 0.5, 0.625, f(0.625 - 2 ** -25), 1, 1.5, 2,
  3.999, 4, 6, 8.9, 9, 9.5, 20, 88.7, f(88.72283935546875), 88.8, -87.3, f(-87.33654022216797), -87.4, -100, 1e30,
  3.4028234663852886e38, Infinity, -Infinity, NaN, f(Math.SQRT1_2), fromBits(0x3f3504f3), fromBits(0x3f3504f2),
];
const UNARY_INPUTS = Float32Array.from([...EDGES, ...EDGES.map((x) => -x), ...wideValues(64, 7).map((x) => x / 2 ** 12)]);

const UNARY_CHECKS: Record<string, (t: Tensor) => Tensor> = {
  exp: (t) => t.exp(),
  log: (t) => t.log(),
  sqrt: (t) => t.sqrt(),
  rsqrt: (t) => t.rsqrt(),
  sigmoid: (t) => t.sigmoid(),
  tanh: (t) => t.tanh(),
  erf: (t) => t.erf(),
  gelu: (t) => t.gelu(),
  geluTanh: (t) => t.gelu({ approximate: "tanh" }),
};

const POW_BASES = [2, -2, 0.5, 0, -0, 1.7, 3, -3, 10, Infinity, NaN, 1, 0.9, 123.4, -1, 2 ** -60];
const POW_EXPONENTS = [3, -3, 0.5, -0.5, 2.3, -1.7, 0, 65, -65.5, 1e10, 7, 2, -2, 0.1, Infinity, -4];

interface Check {
  name: string;
  /** Tensors computed on the CPU and on webgpu, compared pairwise. */
  cpu: Tensor[];
  gpu: Tensor[];
  /** Names of the compared tensors, for the report. */
  parts: string[];
}

/** Runs `build` on both devices: `on` places an input (given on the CPU) on that device. */
function both(name: string, build: (on: (t: Tensor) => Tensor) => Record<string, Tensor>): Check {
  const cpu = build((t) => t);
  const gpu = build((t) => t.to("webgpu"));
  return { name, cpu: Object.values(cpu), gpu: Object.values(gpu), parts: Object.keys(cpu) };
}

/**
 * A two-layer MLP (Linear, GELU, layer norm, Linear, log-softmax, mean picked loss) forward and,
 * with autograd loaded, backward: the loss and every parameter gradient.
 */
function mlp(on: (t: Tensor) => Tensor, withGrad: boolean): { outputs: Record<string, Tensor>; grads: Tensor[] } {
  const parameter = (data: Float32Array, shape: number[]) => {
    const t = on(tensor(data).reshape(shape)).detach();
    return withGrad ? t.requiresGrad_() : t;
  };
  const w1 = parameter(wideValues(6 * 8, 11).map((v) => v / 2 ** 16), [6, 8]);
  const b1 = parameter(wideValues(8, 12).map((v) => v / 2 ** 18), [8]);
  const w2 = parameter(wideValues(8 * 3, 13).map((v) => v / 2 ** 16), [8, 3]);
  const b2 = parameter(wideValues(3, 14).map((v) => v / 2 ** 18), [3]);
  const x = on(tensor(wideValues(4 * 6, 15).map((v) => v / 2 ** 14)).reshape([4, 6]));
  const targets = on(tensor(Int32Array.from([0, 2, 1, 2])));
  const h = x.matmul(w1).add(b1).gelu();
  const centered = h.sub(h.mean(1, true));
  const normalized = centered.mul(centered.mul(centered).mean(1, true).add(1e-5).rsqrt());
  const logProbs = normalized.matmul(w2).add(b2).logSoftmax(1);
  const loss = logProbs.gather(1, targets.unsqueeze(1)).neg().mean();
  const outputs: Record<string, Tensor> = { "log-probabilities": logProbs, loss };
  const grads: Tensor[] = [];
  if (withGrad) {
    loss.backward();
    const named = { "grad w1": w1, "grad b1": b1, "grad w2": w2, "grad b2": b2 };
    for (const [name, p] of Object.entries(named)) {
      // Gradients outlive the scope (autograd keeps them); they are disposed after reading.
      grads.push(p.grad!);
      outputs[name] = p.grad!;
    }
  }
  return { outputs, grads };
}

/** The checks that need the CPU backend: every op through core, the flag on, on both devices. */
function checksAgainstCpu(withGrad: boolean, keepAlive: Tensor[]): Check[] {
  const checks: Check[] = [];
  const [m, k, n] = [3, 37, 5];
  const a = tensor(wideValues(m * k, 1)).reshape([m, k]);
  const b = tensor(wideValues(k * n, 2)).reshape([k, n]);
  checks.push(both("matmul", (on) => ({ product: on(a).matmul(on(b)) })));
  const rows = tensor(wideValues(2 * 100, 3)).reshape([2, 100]);
  checks.push(both("sum", (on) => ({ sum: on(rows).sum(1) })));
  const tiny = tensor(Float32Array.from([2 ** -149, 2 ** -127, -(2 ** -140)]));
  checks.push(both("subnormals", (on) => ({ "times one": on(tiny).mul(1), "plus zero": on(tiny).add(0) })));
  const x = tensor(UNARY_INPUTS);
  for (const [name, run] of Object.entries(UNARY_CHECKS)) checks.push(both(name, (on) => ({ [name]: run(on(x)) })));
  const numerators = tensor(Float32Array.from([...UNARY_INPUTS.slice(0, 40), 3.4e38, 1.5 * 2 ** -126, 1]));
  const denominators = tensor(Float32Array.from([...UNARY_INPUTS.slice(30, 70), 0.5, 1.5, 3]));
  checks.push(both("div", (on) => ({ div: on(numerators).div(on(denominators)) })));
  // Every base with every exponent, as two flat lists (the 1-D kernel is the one training uses).
  const bases = tensor(Float32Array.from(POW_EXPONENTS.flatMap(() => POW_BASES)));
  const exponents = tensor(Float32Array.from(POW_EXPONENTS.flatMap((e) => POW_BASES.map(() => e))));
  checks.push(both("pow", (on) => ({ pow: on(bases).pow(on(exponents)) })));
  const cpuMlp = mlp((t) => t, withGrad);
  const gpuMlp = mlp((t) => t.to("webgpu"), withGrad);
  keepAlive.push(...cpuMlp.grads, ...gpuMlp.grads);
  checks.push({
    name: withGrad ? "MLP forward/backward" : "MLP forward",
    cpu: Object.values(cpuMlp.outputs),
    gpu: Object.values(gpuMlp.outputs),
    parts: Object.keys(cpuMlp.outputs),
  });
  return checks;
}

/** matmul and sum expected as the CPU computes them, for when no CPU backend is registered. */
function checksWithoutCpu(): Check[] {
  const [m, k, n] = [3, 37, 5];
  const a = wideValues(m * k, 1);
  const b = wideValues(k * n, 2);
  const product = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let p = 0; p < k; p++) acc = f(acc + f(a[i * k + p]! * b[p * n + j]!));
      product[i * n + j] = acc;
    }
  }
  const rows = wideValues(2 * 100, 3);
  const sums = new Float32Array(2);
  for (let r = 0; r < 2; r++) for (let i = 0; i < 100; i++) sums[r] = f(sums[r]! + rows[r * 100 + i]!);
  const tiny = Float32Array.from([2 ** -149, 2 ** -127, -(2 ** -140)]);
  const gpu = (data: Float32Array, shape: number[]) => tensor(data, { device: "webgpu" }).reshape(shape);
  const expected = (data: Float32Array) => tensor(data, { device: "webgpu" });
  return [
    { name: "matmul", cpu: [expected(product)], gpu: [gpu(a, [m, k]).matmul(gpu(b, [k, n])).reshape([-1])], parts: ["product"] },
    { name: "sum", cpu: [expected(sums)], gpu: [gpu(rows, [2, 100]).sum(1)], parts: ["sum"] },
    { name: "subnormals", cpu: [expected(tiny)], gpu: [gpu(tiny, [3]).mul(1)], parts: ["times one"] },
  ];
}

function isNaNBits(bits: number): boolean {
  return (bits & 0x7fffffff) > 0x7f800000;
}

/** A line describing how `got` differs from `want` (NaN equals NaN), or undefined when equal. */
function describeDifference(name: string, want: Float32Array, got: Float32Array): string | undefined {
  const w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length);
  let count = 0;
  let first = -1;
  for (let i = 0; i < w.length; i++) {
    if (w[i] === g[i] || (isNaNBits(w[i]!) && isNaNBits(g[i]!))) continue;
    if (first < 0) first = i;
    count++;
  }
  if (count === 0) return undefined;
  const hex = (bits: number) => `0x${bits.toString(16).padStart(8, "0")}`;
  return (
    `${name}: ${count} of ${w.length} values differ (first at index ${first}: ` +
    `cpu ${want[first]} ${hex(w[first]!)}, webgpu ${got[first]} ${hex(g[first]!)})`
  );
}

async function asFloat32(t: Tensor): Promise<Float32Array> {
  return Float32Array.from(await t.data());
}

const FAILED: SelfTestResult = {
  bitwiseMatchesCpu: false,
  differences: [],
  checks: [],
  skipped: [],
  matmul: false,
  sum: false,
  subnormals: false,
  milliseconds: 0,
};

/** Runs every check and reports; never throws for a mismatch (a device error still propagates). */
export async function runSelfTest(): Promise<SelfTestResult> {
  const started = performance.now();
  const hasCpu = state.backends.has("cpu");
  const withGrad = hasCpu && state.autograd !== undefined;
  const saved = { deterministic: state.deterministic, warnOnly: state.warnOnly, gradEnabled: state.gradEnabled };
  const gradients: Tensor[] = [];
  let checks: Check[];
  state.deterministic = true;
  state.warnOnly = false;
  state.gradEnabled = true;
  try {
    // Everything made while building is freed when the scope closes, except the compared results.
    checks = scope(() => (hasCpu ? checksAgainstCpu(withGrad, gradients) : checksWithoutCpu()));
  } catch (error) {
    for (const t of gradients) t.dispose();
    const reason = `the self-test could not run: ${error instanceof Error ? error.message : String(error)}`;
    return { ...FAILED, differences: [reason], milliseconds: Math.round(performance.now() - started) };
  } finally {
    Object.assign(state, saved);
  }
  const differences: string[] = [];
  const passed = new Map<string, boolean>();
  try {
    // One wait for every read: each read alone would be a submit and a round trip.
    const everything = await Promise.all(checks.map((c) => Promise.all([...c.cpu, ...c.gpu].map(asFloat32))));
    checks.forEach((check, c) => {
      const results = everything[c]!;
      let ok = true;
      check.parts.forEach((part, i) => {
        const label = check.parts.length > 1 ? `${check.name} (${part})` : check.name;
        const line = describeDifference(label, results[i]!, results[i + check.parts.length]!);
        if (line !== undefined) {
          differences.push(line);
          ok = false;
        }
      });
      passed.set(check.name, ok);
    });
  } finally {
    for (const check of checks) for (const t of [...check.cpu, ...check.gpu]) t.dispose();
    for (const t of gradients) t.dispose();
  }
  const skipped: string[] = [];
  if (!hasCpu) {
    skipped.push("the math library and MLP checks: no CPU backend is registered (import 'lockstep' or '@lockstep/backend-cpu')");
  } else if (!withGrad) {
    skipped.push("the MLP backward check: @lockstep/autograd is not loaded");
  }
  return {
    matmul: passed.get("matmul") === true,
    sum: passed.get("sum") === true,
    subnormals: passed.get("subnormals") === true,
    bitwiseMatchesCpu: differences.length === 0,
    differences,
    checks: checks.map((c) => c.name),
    skipped,
    milliseconds: Math.round(performance.now() - started),
  };
}
