// Views and shape ops with arguments of every kind: a valid call gives a view whose elements are
// the ones an independent JS reference picks (row-major reads of the source data); an invalid one
// (wrong kind, out of range, impossible size) is a LockstepError with the source unchanged — never
// a view with a negative or fractional size, or one that reads past its storage.
import * as L from "lockstep";
import type { Tensor } from "lockstep";
import { describe, expect, it } from "vitest";
import { devices } from "../devices.js";
import { anyValueArb, dataFor, expectRefused, fc, float32On, make, runsOn, shapeArb } from "./support.js";

/** Integers around the interesting range, plus bad values of every kind. */
const argArb = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: -4, max: 4 }) },
  { weight: 1, arbitrary: fc.constantFrom(0.5, 2.5, Number.NaN, Number.POSITIVE_INFINITY, -0) },
  { weight: 1, arbitrary: anyValueArb },
);

const isInt = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v);

function strided(shape: readonly number[]): number[] {
  return shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
}

/** Row-major elements of a view described by (shape, strides, offset) over flat `data`. */
function read(data: readonly number[], shape: readonly number[], strides: readonly number[], offset: number): number[] {
  const n = shape.reduce((a, b) => a * b, 1);
  const out: number[] = [];
  for (let flat = 0; flat < n; flat++) {
    let pos = offset;
    let rest = flat;
    for (let d = shape.length - 1; d >= 0; d--) {
      pos += (rest % shape[d]!) * strides[d]!;
      rest = Math.floor(rest / shape[d]!);
    }
    out.push(data[pos]!);
  }
  return out;
}

async function expectValues(t: Tensor, want: readonly number[]): Promise<void> {
  const got = Array.from(await t.data());
  expect(got.length).toBe(want.length);
  got.forEach((v, i) => expect(Object.is(v, want[i]) || (Number.isNaN(v) && Number.isNaN(want[i]))).toBe(true));
}

describe.each(devices)("shape and view properties on %s", (device) => {
  const source = shapeArb(3, 4).chain((shape) => dataFor(shape, float32On(device)).map((data) => ({ shape, data })));

  it("every view a call returns reads only inside its storage, with non-negative integer sizes", async () => {
    const calls = ["reshape", "view", "expand", "permute", "transpose", "narrow", "slice", "squeeze", "unsqueeze", "flatten", "unfold", "broadcastTo", "split", "chunk", "t", "T"] as const;
    await fc.assert(
      fc.asyncProperty(source, fc.constantFrom(...calls), fc.array(argArb, { maxLength: 4 }), async ({ shape, data }, op, args) => {
        const x = make(data, shape, device);
        const run = (): unknown => {
          const m = x as unknown as Record<string, (...a: unknown[]) => unknown>;
          if (op === "broadcastTo") return L.broadcastTo(x, args as number[]);
          if (op === "T") return x.T;
          return m[op]!(...args);
        };
        let result: unknown;
        try {
          result = run();
        } catch (error) {
          if (!(error instanceof L.LockstepError)) throw error;
          // A refused call must leave the source as it was.
          await expectRefused(run, [x]);
          return;
        }
        const outs = (Array.isArray(result) ? result : [result]) as Tensor[];
        for (const out of outs) {
          expect(out.shape.every((s) => Number.isSafeInteger(s) && s >= 0), `shape ${out.shape}`).toBe(true);
          if (out.numel() > 0) {
            // The farthest element the view can touch stays inside the source storage.
            let last = out.offset;
            let first = out.offset;
            out.shape.forEach((s, i) => {
              const step = out.strides[i]! * (s - 1);
              if (step > 0) last += step;
              else first += step;
            });
            expect(first).toBeGreaterThanOrEqual(0);
            expect(last).toBeLessThan(Math.max(1, data.length));
            // A stride-0 view may be huge (expand(2 ** 30)); its bounds are checked above, its values only when small.
            if (out.numel() <= 4096) await expectValues(out, read(data, out.shape, out.strides, out.offset));
          }
        }
      }),
      { numRuns: runsOn(device, 250) },
    );
  });

  it("reshape to any size list: the same row-major elements, or a LockstepError (type, -1 rules, size mismatch)", async () => {
    await fc.assert(
      fc.asyncProperty(source, fc.array(argArb, { maxLength: 3 }), async ({ shape, data }, target) => {
        const x = make(data, shape, device).transpose(0, -1).contiguous().transpose(0, -1); // same values, maybe not contiguous
        const numel = data.length;
        const ints = target.every(isInt);
        const minusOnes = ints ? (target as number[]).filter((v) => v === -1).length : 0;
        const known = ints ? (target as number[]).filter((v) => v !== -1).reduce((a, b) => a * b, 1) : 0;
        const fits =
          ints &&
          (target as number[]).every((v) => v >= -1) &&
          minusOnes <= 1 &&
          (minusOnes === 1 ? known !== 0 && numel % known === 0 : known === numel);
        if (!fits) {
          await expectRefused(() => x.reshape(target as number[]), [x], ints ? L.LockstepError : L.LockstepTypeError);
          return;
        }
        const out = x.reshape(target as number[]);
        expect(out.numel()).toBe(numel);
        const xs = Array.from(await x.data());
        await expectValues(out, xs);
      }),
      { numRuns: runsOn(device, 120) },
    );
  });

  it("expand: only size-1 dims grow, -1 keeps, anything else (negative, fractional, NaN, non-number) is refused", async () => {
    await fc.assert(
      fc.asyncProperty(source, fc.array(argArb, { maxLength: 4 }), async ({ shape, data }, sizes) => {
        const x = make(data, shape, device);
        const lead = sizes.length - shape.length;
        let ok = sizes.every(isInt) && lead >= 0;
        if (ok) {
          sizes.forEach((s, i) => {
            const v = s as number;
            if (i < lead) ok &&= v >= 0;
            else {
              const own = shape[i - lead]!;
              ok &&= v === -1 || v === own || (own === 1 && v >= 0);
            }
          });
        }
        const want = ok ? sizes.map((s, i) => (s === -1 ? shape[i - lead]! : s === 0 ? 0 : (s as number))) : []; // -0 is 0
        if (!ok || want.reduce((a, b) => a * b, 1) > 2 ** 31 - 1) {
          // Too many elements to index with int32 is a ValueError, even for a stride-0 view.
          await expectRefused(() => x.expand(sizes as number[]), [x], ok ? L.ValueError : L.LockstepError);
          return;
        }
        const out = x.expand(sizes as number[]);
        expect([...out.shape]).toEqual(want);
        const strides = strided(shape);
        const outStrides = want.map((_, i) => (i < lead || shape[i - lead] === 1 ? 0 : strides[i - lead]!));
        if (out.numel() <= 4096) await expectValues(out, read(data, want, outStrides, 0));
      }),
      { numRuns: runsOn(device, 120) },
    );
  });

  it("slice(dim, start, end, step): Python slice semantics for integers (±Infinity clamp), refused otherwise", async () => {
    const boundArb = fc.oneof(argArb, fc.constantFrom(undefined, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY));
    await fc.assert(
      fc.asyncProperty(source, argArb, boundArb, boundArb, fc.oneof(fc.integer({ min: 1, max: 3 }), argArb), async ({ shape, data }, dim, start, end, step) => {
        const x = make(data, shape, device);
        const rank = Math.max(shape.length, 1);
        const bound = (v: unknown) => v === undefined || isInt(v) || v === Infinity || v === -Infinity;
        const ok = isInt(dim) && dim >= -rank && dim < rank && bound(start) && bound(end) && (step === undefined || (isInt(step) && step > 0)) && shape.length > 0;
        const run = () => x.slice(dim as number, start as number, end as number, step as number);
        if (!ok) {
          await expectRefused(run, [x]);
          return;
        }
        const d = (dim as number) < 0 ? (dim as number) + shape.length : (dim as number);
        const size = shape[d]!;
        const clampIndex = (i: number) => Math.min(Math.max(i < 0 ? i + size : i, 0), size);
        const s = clampIndex((start as number | undefined) ?? 0);
        const e = Math.max(clampIndex((end as number | undefined) ?? Infinity), s);
        const picked: number[] = [];
        const by = (step as number | undefined) ?? 1;
        for (let i = s; i < e; i += by) picked.push(i);
        const out = run();
        expect(out.shape[d]).toBe(picked.length);
        const strides = strided(shape);
        const outStrides = [...strides];
        outStrides[d] = strides[d]! * by;
        await expectValues(out, read(data, out.shape, outStrides, picked.length > 0 ? s * strides[d]! : 0));
      }),
      { numRuns: runsOn(device, 120) },
    );
  });
});
