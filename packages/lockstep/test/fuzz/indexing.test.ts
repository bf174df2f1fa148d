// Indexing and joining: gather/indexSelect/scatter with in-range indices give what a JS reference
// picks; out-of-range indices are an IndexError with the inputs unchanged (checked on the CPU,
// where index values are readable synchronously; WebGPU's device-side check is tested with the
// backend). cat/stack of random lists give the reference concatenation or a LockstepError;
// list elements that are not tensors are refused by position.
import * as L from "lockstep";
import type { Tensor } from "lockstep";
import { describe, expect, it } from "vitest";
import { devices } from "../devices.js";
import { anyValueArb, dataFor, expectRefused, fc, float32On, make, nonEmptyShapeArb, runsOn } from "./support.js";

function strides(shape: readonly number[]): number[] {
  return shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
}

function unravel(flat: number, shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    out[d] = flat % shape[d]!;
    flat = Math.floor(flat / shape[d]!);
  }
  return out;
}

const dot = (idx: readonly number[], st: readonly number[]) => idx.reduce((a, v, i) => a + v * st[i]!, 0);

describe.each(devices)("indexing and joining properties on %s", (device) => {
  const cpu = device === "cpu";

  it("gather and indexSelect: the reference picks for in-range indices, IndexError with nothing changed otherwise", async () => {
    const arb = nonEmptyShapeArb(3, 4).chain((shape) =>
      fc.record({
        shape: fc.constant(shape),
        data: dataFor(shape, float32On(device)),
        dim: fc.integer({ min: 0, max: shape.length - 1 }),
        outOfRange: cpu ? fc.boolean() : fc.constant(false),
        picks: fc.array(fc.nat(), { minLength: 1, maxLength: 12 }),
      }),
    );
    await fc.assert(
      fc.asyncProperty(arb, async ({ shape, data, dim, outOfRange, picks }) => {
        const size = shape[dim]!;
        const x = make(data, shape, device);
        // indexSelect: a 1-D index along dim.
        const sel = picks.slice(0, 4).map((p, i) => (outOfRange && i === 0 ? (p % 2 === 0 ? size + (p % 3) : -1 - (p % 3)) : p % size));
        const index = L.tensor(Int32Array.from(sel), { device });
        if (outOfRange) {
          const e = await expectRefused(() => x.indexSelect(dim, index), [x, index], L.IndexError);
          expect(e.message).toMatch(/index out of range/);
        } else {
          const out = x.indexSelect(dim, index);
          const outShape = shape.map((s, i) => (i === dim ? sel.length : s));
          expect([...out.shape]).toEqual(outShape);
          const got = Array.from(await out.data());
          const st = strides(shape);
          got.forEach((v, flat) => {
            const idx = unravel(flat, outShape);
            idx[dim] = sel[idx[dim]!]!;
            expect(Object.is(v, data[dot(idx, st)]) || (Number.isNaN(v) && Number.isNaN(data[dot(idx, st)]!))).toBe(true);
          });
        }
        // gather: an index of x's shape (sizes ≤ x's), values along dim.
        const gShape = shape.map((s, i) => (i === dim ? 1 + (picks[0]! % 3) : s));
        const gCount = gShape.reduce((a, b) => a * b, 1);
        const values = Array.from({ length: gCount }, (_, i) => picks[i % picks.length]! % size);
        if (outOfRange) values[gCount - 1] = size + 1;
        const gIndex = L.tensor(Int32Array.from(values), { device }).reshape(gShape);
        if (outOfRange) {
          const e = await expectRefused(() => x.gather(dim, gIndex), [x, gIndex], L.IndexError);
          expect(e.message).toContain(`index ${size + 1} is out of bounds for dimension ${dim} with size ${size}`);
          const src = L.zerosLike(gIndex, { dtype: "float32" });
          await expectRefused(() => x.scatter(dim, gIndex, src), [x, gIndex, src], L.IndexError);
          return;
        }
        const out = x.gather(dim, gIndex);
        const got = Array.from(await out.data());
        const st = strides(shape);
        got.forEach((v, flat) => {
          const idx = unravel(flat, gShape);
          idx[dim] = values[flat]!;
          const want = data[dot(idx, st)]!;
          expect(Object.is(v, want) || (Number.isNaN(v) && Number.isNaN(want))).toBe(true);
        });
        // scatter (out of place): later writes win; x itself is untouched.
        const before = Array.from(await x.data());
        const src = L.tensor(Float32Array.from(values.map((_, i) => i + 0.5)), { device }).reshape(gShape);
        const scattered = Array.from(await x.scatter(dim, gIndex, src).data());
        const want = [...data];
        for (let flat = 0; flat < gCount; flat++) {
          const idx = unravel(flat, gShape);
          idx[dim] = values[flat]!;
          want[dot(idx, st)] = flat + 0.5;
        }
        scattered.forEach((v, i) => expect(Object.is(v, Math.fround(want[i]!)) || (Number.isNaN(v) && Number.isNaN(want[i]!))).toBe(true));
        expect(Array.from(await x.data())).toEqual(before);
      }),
      { numRuns: runsOn(device, 80) },
    );
  });

  it("index arguments that are not int32 tensors are refused by name (LockstepTypeError / DTypeError)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(anyValueArb, fc.constantFrom("float32", "bool")), async (bad) => {
        const x = make([1, 2, 3, 4], [2, 2], device);
        const index = typeof bad === "string" && (bad === "float32" || bad === "bool") ? L.zeros([2, 2], { dtype: bad, device }) : bad;
        const cls = index instanceof L.Tensor ? L.DTypeError : L.LockstepTypeError;
        await expectRefused(() => x.gather(0, index as Tensor), [x], cls);
        await expectRefused(() => x.indexSelect(0, index as Tensor), [x], cls);
        await expectRefused(() => x.scatter(0, index as Tensor, 1), [x], cls);
      }),
      { numRuns: runsOn(device, 40) },
    );
  });

  it("cat and stack of random tensor lists: the reference concatenation, or a LockstepError naming the position", async () => {
    const arb = fc.record({
      shapes: fc.array(fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 0, maxLength: 3 }), { minLength: 0, maxLength: 3 }),
      dim: fc.integer({ min: -3, max: 3 }),
      junkAt: fc.option(fc.tuple(fc.nat(), anyValueArb), { nil: undefined }),
      stack: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(arb, async ({ shapes, dim, junkAt, stack }) => {
        const tensors = shapes.map((s, i) => make(Array.from({ length: s.reduce((a, b) => a * b, 1) }, (_, j) => i * 100 + j), s, device));
        const list: unknown[] = [...tensors];
        if (junkAt !== undefined && list.length > 0) list[junkAt[0] % list.length] = junkAt[1];
        const run = () => (stack ? L.stack(list as Tensor[], dim) : L.cat(list as Tensor[], dim));
        const live = tensors.filter((t) => list.includes(t));
        let out: Tensor;
        try {
          out = run();
        } catch (error) {
          if (!(error instanceof L.LockstepError)) throw error;
          await expectRefused(run, live);
          if (list.some((v) => !(v instanceof L.Tensor))) expect(error).toBeInstanceOf(L.LockstepTypeError);
          return;
        }
        expect(list.every((v) => v instanceof L.Tensor)).toBe(true);
        // Reference: stack = cat of unsqueezed; cat skips 1-D empty tensors like PyTorch.
        const parts = stack ? tensors.map((t) => ({ shape: (() => { const s = [...t.shape]; s.splice(dim < 0 ? dim + t.ndim + 1 : dim, 0, 1); return s; })(), t })) : tensors.map((t) => ({ shape: [...t.shape], t }));
        const kept = stack ? parts : parts.filter((p) => !(p.shape.length === 1 && p.shape[0] === 0));
        if (kept.length === 0) return;
        const rank = kept[0]!.shape.length;
        const d = dim < 0 ? dim + rank : dim;
        const outShape = [...kept[0]!.shape];
        outShape[d] = kept.reduce((a, p) => a + p.shape[d]!, 0);
        expect([...out.shape]).toEqual(outShape);
        const want: number[] = [];
        const outer = outShape.slice(0, d).reduce((a, b) => a * b, 1);
        const inner = outShape.slice(d + 1).reduce((a, b) => a * b, 1);
        const datas = await Promise.all(kept.map(async (p) => Array.from(await p.t.data())));
        for (let o = 0; o < outer; o++) {
          kept.forEach((p, pi) => {
            const chunk = p.shape[d]! * inner;
            want.push(...datas[pi]!.slice(o * chunk, (o + 1) * chunk));
          });
        }
        expect(Array.from(await out.data())).toEqual(want);
      }),
      { numRuns: runsOn(device, 120) },
    );
  });
});
