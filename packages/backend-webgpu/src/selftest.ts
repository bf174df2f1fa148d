// The start-up check of DESIGN.md rule 4: shader compilers may fuse a·b + c into one rounding or
// flush subnormals, which would break CPU ≡ GPU bitwise. init() runs a small float32 matmul and
// sum on the device and compares them bit for bit with the sequential Math.fround arithmetic
// the CPU backend uses. The result is reported, not enforced.
import type { View } from "@lockstep/core";
import { webgpuBackend, type WebGPUStorage, type WebGPUView } from "./backend.js";
import type { SelfTestResult } from "./device.js";
import { binaryKernel } from "./elementwise.js";
import { matmulKernel } from "./matmul.js";
import { reduceKernel } from "./reduce.js";

/** Deterministic float32 values spanning 2^-20 … 2^20 with both signs (no subnormals). */
function wideValues(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let state = seed >>> 0;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  for (let i = 0; i < count; i++) out[i] = (next() * 2 - 1) * 2 ** Math.floor(next() * 41 - 20);
  return out;
}

function view(storage: WebGPUStorage, shape: number[]): WebGPUView {
  const strides = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
  return { storage, dtype: storage.dtype, shape, strides, offset: 0 };
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

export async function runSelfTest(): Promise<SelfTestResult> {
  const [m, k, n] = [3, 37, 5];
  const a = wideValues(m * k, 1);
  const b = wideValues(k * n, 2);
  const expectedProduct = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let p = 0; p < k; p++) acc = Math.fround(acc + Math.fround(a[i * k + p]! * b[p * n + j]!));
      expectedProduct[i * n + j] = acc;
    }
  }
  const x = wideValues(2 * 100, 3);
  const expectedSum = new Float32Array(2);
  for (let r = 0; r < 2; r++) {
    let acc = 0;
    for (let i = 0; i < 100; i++) acc = Math.fround(acc + x[r * 100 + i]!);
    expectedSum[r] = acc;
  }
  // 2^-149 (the smallest subnormal) and 2^-127 (a subnormal) times 1 and plus 0.
  const tiny = new Float32Array([2 ** -149, 2 ** -127]);
  const ones = new Float32Array([1, 1]);

  const storages: WebGPUStorage[] = [];
  const upload = (data: Float32Array) => {
    const s = webgpuBackend.upload(data, "float32");
    storages.push(s);
    return s;
  };
  const allocate = (length: number) => {
    const s = webgpuBackend.allocate("float32", length);
    storages.push(s);
    return s;
  };
  try {
    const product = allocate(m * n);
    matmulKernel([view(upload(a), [m, k]), view(upload(b), [k, n])], [view(product, [m, n])], {});
    const sum = allocate(2);
    reduceKernel("sum")([view(upload(x), [2, 100])], [view(sum, [2, 1])], { dims: [1] });
    const scaled = allocate(2);
    binaryKernel("mul")([view(upload(tiny), [2]), view(upload(ones), [2])] as View<WebGPUStorage>[], [view(scaled, [2])], {});
    const [gotProduct, gotSum, gotScaled] = await Promise.all([
      webgpuBackend.read(product),
      webgpuBackend.read(sum),
      webgpuBackend.read(scaled),
    ]);
    return {
      matmul: sameBits(gotProduct as Float32Array, expectedProduct),
      sum: sameBits(gotSum as Float32Array, expectedSum),
      subnormals: sameBits(gotScaled as Float32Array, tiny),
    };
  } finally {
    for (const s of storages) webgpuBackend.release(s);
  }
}
