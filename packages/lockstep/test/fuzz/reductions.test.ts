// Reductions and matmul on small random shapes against a float64 JS reference (sums within the
// error bound of any float32 summation order; amax/amin/argmax exact), with the flag off and on;
// dims and keepdim of every JS kind are a LockstepError naming the value, with the input unchanged.
import * as L from "lockstep";
import type { Tensor } from "lockstep";
import { afterAll, describe, expect, it } from "vitest";
import { devices } from "../devices.js";
import { anyValueArb, dataFor, expectRefused, fc, finiteArb, make, runsOn, shapeArb, written } from "./support.js";

afterAll(() => L.useDeterministicAlgorithms(false));

const isInt = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v);

/** Reference reduction over one dim (or all), in float64. */
function reduceRef(data: readonly number[], shape: readonly number[], dim: number | undefined, f: (xs: number[]) => number) {
  if (dim === undefined) return { shape: [] as number[], values: [f([...data])] };
  const outer = shape.slice(0, dim).reduce((a, b) => a * b, 1);
  const n = shape[dim]!;
  const inner = shape.slice(dim + 1).reduce((a, b) => a * b, 1);
  const values: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const xs: number[] = [];
      for (let k = 0; k < n; k++) xs.push(data[(o * n + k) * inner + i]!);
      values.push(f(xs));
    }
  }
  return { shape: shape.filter((_, i) => i !== dim), values };
}

/** |float32 sum − exact| ≤ (n − 1)·u·Σ|x| for any order (u = 2^-24), plus the final rounding. */
function sumTolerance(xs: readonly number[]): number {
  const abs = xs.reduce((a, b) => a + Math.abs(b), 0);
  return (xs.length + 1) * 2 ** -24 * abs + 1e-38;
}

describe.each(devices)("reduction and matmul properties on %s", (device) => {
  it("sum/mean/amax/amin/argmax over a dim or all: the float64 reference (sums within the float32 bound), flag off and on", async () => {
    const arb = fc
      .record({ shape: shapeArb(3, 5), deterministic: fc.boolean(), op: fc.constantFrom("sum", "mean", "amax", "amin", "argmax") })
      .chain((c) => fc.tuple(fc.constant(c), dataFor(c.shape, finiteArb), fc.option(fc.integer({ min: 0, max: Math.max(0, c.shape.length - 1) }), { nil: undefined })));
    await fc.assert(
      fc.asyncProperty(arb, async ([{ shape, deterministic, op }, data, dimChoice]) => {
        L.useDeterministicAlgorithms(deterministic);
        const x = make(data, shape, device);
        const dim = shape.length === 0 ? undefined : dimChoice;
        const n = dim === undefined ? data.length : shape[dim]!;
        const run = () => (x as unknown as Record<string, (d?: number) => Tensor>)[op]!(dim);
        if (n === 0 && op !== "sum" && op !== "mean") {
          await expectRefused(run, [x]);
          return;
        }
        const f = {
          sum: (xs: number[]) => xs.reduce((a, b) => a + b, 0),
          mean: (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length,
          amax: (xs: number[]) => Math.max(...xs),
          amin: (xs: number[]) => Math.min(...xs),
          argmax: (xs: number[]) => xs.indexOf(Math.max(...xs)),
        }[op];
        const ref = reduceRef(data, shape, dim, f);
        const out = run();
        expect([...out.shape]).toEqual(ref.shape);
        const got = Array.from(await out.data());
        const groups = reduceRef(data, shape, dim, (xs) => sumTolerance(xs) / (op === "mean" ? Math.max(1, xs.length) : 1)).values;
        got.forEach((v, i) => {
          const want = ref.values[i]!;
          if (op === "sum" || op === "mean") {
            if (Number.isNaN(want)) expect(v).toBeNaN();
            // + 2^-126: deterministic division flushes subnormal results to zero (same answer as WGSL).
            else expect(Math.abs(v - want), `${op}[${i}] = ${v}, float64 ${want}`).toBeLessThanOrEqual(groups[i]! + Math.abs(want) * 2 ** -23 + (op === "mean" ? 2 ** -126 : 0));
          } else if (op === "argmax") {
            expect(v).toBe(want);
          } else {
            expect(Object.is(v, want) || v === want).toBe(true);
          }
        });
      }),
      { numRuns: runsOn(device, 120) },
    );
  });

  it("dim and keepdim of any JS kind: refused (LockstepTypeError naming the value, IndexError out of range), input unchanged", async () => {
    const badDim = fc.oneof(anyValueArb, fc.integer({ min: -6, max: 6 }), fc.array(fc.oneof(fc.integer({ min: -3, max: 3 }), anyValueArb), { maxLength: 3 }));
    await fc.assert(
      fc.asyncProperty(shapeArb(3, 3).chain((s) => dataFor(s).map((d) => ({ s, d }))), badDim, fc.oneof(fc.constant(undefined), fc.boolean(), anyValueArb), fc.constantFrom("sum", "mean", "amax", "softmax", "logsumexp", "var"), async ({ s, d }, dim, keepdim, op) => {
        const x = make(d, s, device);
        const rank = Math.max(s.length, 1);
        const inRange = (v: number) => v >= -rank && v < rank;
        const list = Array.isArray(dim);
        const dims = list ? (dim as unknown[]) : [dim];
        const typeOk =
          (dim === undefined && op !== "softmax" && op !== "logsumexp") ||
          (dims.every(isInt) && (!list || op !== "softmax"));
        const keepOk = keepdim === undefined || typeof keepdim === "boolean" || op === "softmax";
        const run = () =>
          op === "softmax" ? x.softmax(dim as number) : (x as unknown as Record<string, (a: unknown, b: unknown) => Tensor>)[op]!(dim, keepdim);
        if (!typeOk || !keepOk) {
          const e = await expectRefused(run, [x], op === "logsumexp" && dim === undefined ? L.LockstepError : L.LockstepTypeError);
          const bad = !typeOk ? (list ? dims.find((v) => !isInt(v)) : dim) : keepdim;
          if (written(bad) !== "" && typeof bad !== "number" && typeof bad !== "boolean" && bad !== undefined) expect(e.message).toContain(written(bad));
          return;
        }
        const normalized = (dims as number[]).map((v) => (v < 0 ? v + rank : v));
        const valid = dim === undefined || ((dims as number[]).every(inRange) && new Set(normalized).size === normalized.length);
        if (!valid) {
          await expectRefused(run, [x]);
          return;
        }
        try {
          run();
        } catch (error) {
          // Valid arguments may still be refused for the data (amax of an empty dim, mean of int…).
          expect(error).toBeInstanceOf(L.LockstepError);
          await expectRefused(run, [x]);
        }
      }),
      { numRuns: runsOn(device, 150) },
    );
  });

  it("matmul of small random shapes (1-D to 3-D, broadcast batch): the float64 reference within the float32 bound, or ShapeError", async () => {
    const dims = fc.record({ b: fc.integer({ min: 1, max: 2 }), m: fc.integer({ min: 0, max: 3 }), k: fc.integer({ min: 0, max: 4 }), k2: fc.integer({ min: 0, max: 4 }), n: fc.integer({ min: 0, max: 3 }), ra: fc.integer({ min: 1, max: 3 }), rb: fc.integer({ min: 1, max: 3 }) });
    await fc.assert(
      fc.asyncProperty(dims, fc.boolean(), fc.nat(), async ({ b, m, k, k2, n, ra, rb }, deterministic, seed) => {
        L.useDeterministicAlgorithms(deterministic);
        const sa = ra === 1 ? [k] : ra === 2 ? [m, k] : [b, m, k];
        const kb = seed % 4 === 0 ? k2 : k; // sometimes a mismatched inner size
        const sb = rb === 1 ? [kb] : rb === 2 ? [kb, n] : [b, kb, n];
        const gen = (len: number, salt: number) => Array.from({ length: len }, (_, i) => Math.fround(Math.sin(seed + salt * 7 + i * 1.3) * 3));
        const da = gen(sa.reduce((p, q) => p * q, 1), 1);
        const db = gen(sb.reduce((p, q) => p * q, 1), 2);
        const a = make(da, sa, device);
        const bT = make(db, sb, device);
        if (k !== kb) {
          await expectRefused(() => a.matmul(bT), [a, bT], L.ShapeError);
          return;
        }
        const out = a.matmul(bT);
        // Reference: promote both to 3-D [batch, rows, cols], multiply in float64.
        const A = { rows: ra === 1 ? 1 : m, batch: ra === 3 ? b : 1 };
        const B = { cols: rb === 1 ? 1 : n, batch: rb === 3 ? b : 1 };
        const batch = Math.max(A.batch, B.batch);
        const want: number[] = [];
        const tol: number[] = [];
        for (let p = 0; p < batch; p++) {
          for (let i = 0; i < A.rows; i++) {
            for (let j = 0; j < B.cols; j++) {
              let s = 0;
              let abs = 0;
              for (let q = 0; q < k; q++) {
                const x = da[(A.batch === 1 ? 0 : p) * A.rows * k + i * k + q]!;
                const y = db[(B.batch === 1 ? 0 : p) * k * B.cols + q * B.cols + j]!;
                s += x * y;
                abs += Math.abs(x * y);
              }
              want.push(s);
              tol.push((k + 2) * 2 ** -24 * abs + 1e-30);
            }
          }
        }
        const got = Array.from(await out.data());
        expect(got.length).toBe(want.length);
        got.forEach((v, i) => expect(Math.abs(v - want[i]!), `matmul[${i}] ${v} vs ${want[i]}`).toBeLessThanOrEqual(tol[i]!));
        await expectRefused(() => a.matmul(da as never), [a]);
      }),
      { numRuns: runsOn(device, 80) },
    );
  });
});
