// Elementwise ops with operands of every JS kind: a number or boolean gives PyTorch's promoted
// dtype and the value an independent JS reference computes (float32 results are the correctly
// rounded double result, so they are compared bit for bit); anything else (string, null,
// undefined, BigInt, object, array, symbol, function) is a LockstepTypeError naming the value,
// with every input unchanged. Tensor-tensor operands broadcast by NumPy rules or give ShapeError.
import * as L from "lockstep";
import type { DType, Tensor } from "lockstep";
import { describe, expect, it } from "vitest";
import { devices } from "../devices.js";
import { anyValueArb, dataFor, expectRefused, f32, fc, float32On, isScalar, make, runsOn, sameValue, shapeArb, written } from "./support.js";

type Binary = "add" | "sub" | "mul" | "div" | "eq" | "lt" | "ge";
const BINARY: Binary[] = ["add", "sub", "mul", "div", "eq", "lt", "ge"];

const category = { bool: 0, int32: 1, float32: 2, float64: 2 } as const;

/** PyTorch's result type for a dimensioned tensor and a JS scalar (Lockstep: int32 for int64). */
function promoted(dtype: DType, v: number | boolean): DType {
  const kind: DType = typeof v === "boolean" ? "bool" : Number.isInteger(v) ? "int32" : "float32";
  return category[kind] > category[dtype] ? kind : dtype;
}

/** A JS value stored into `dtype` (the reference's own cast; int32 range checked by the caller). */
function store(v: number | boolean, dtype: DType): number {
  const n = typeof v === "boolean" ? Number(v) : v;
  if (dtype === "float32") return f32(n);
  if (dtype === "bool") return n !== 0 ? 1 : 0;
  if (dtype === "int32") return Math.trunc(n);
  return n;
}

/** Reference of `a op b` for values already stored in the compute dtype. */
function reference(op: Binary, a: number, b: number, compute: DType): { value: number; dtype: DType } {
  switch (op) {
    case "eq":
      return { value: a === b ? 1 : 0, dtype: "bool" };
    case "lt":
      return { value: a < b ? 1 : 0, dtype: "bool" };
    case "ge":
      return { value: a >= b ? 1 : 0, dtype: "bool" };
    case "div":
      return { value: compute === "float64" ? a / b : f32(a / b), dtype: compute === "float64" ? "float64" : "float32" };
  }
  if (compute === "bool") return { value: op === "add" ? (a || b ? 1 : 0) : a && b ? 1 : 0, dtype: "bool" };
  const exact = op === "add" ? a + b : op === "sub" ? a - b : a * b;
  if (compute === "int32") return { value: exact | 0, dtype: "int32" };
  return { value: f32(exact), dtype: "float32" };
}

const dtypeArb = fc.constantFrom<DType>("float32", "int32", "bool");

/** Values that fit `dtype` exactly, so building the input needs no rounding decision. */
function valuesFor(dtype: DType, device: string): fc.Arbitrary<number> {
  if (dtype === "int32") return fc.integer({ min: -50, max: 50 });
  if (dtype === "bool") return fc.constantFrom(0, 1);
  return float32On(device);
}

function call(op: Binary, a: unknown, b: unknown): Tensor {
  return (L as unknown as Record<Binary, (a: unknown, b: unknown) => Tensor>)[op](a, b);
}

describe.each(devices)("elementwise properties on %s", (device) => {
  it("tensor ⊕ scalar of any JS kind: the reference result, or a LockstepError that names the value and changes nothing", async () => {
    const arb = fc.record({
      op: fc.constantFrom(...BINARY),
      dtype: dtypeArb,
      shape: shapeArb(2, 3),
      scalar: anyValueArb,
      scalarFirst: fc.boolean(),
      method: fc.boolean(),
    }).chain((c) => dataFor(c.shape, valuesFor(c.dtype, device)).map((data) => ({ ...c, data })));
    await fc.assert(
      fc.asyncProperty(arb, async ({ op, dtype, shape, scalar, scalarFirst, method, data }) => {
        const x = make(data, shape, device, dtype);
        const run = () =>
          method && !scalarFirst
            ? (x as unknown as Record<Binary, (o: unknown) => Tensor>)[op](scalar)
            : scalarFirst
              ? call(op, scalar, x)
              : call(op, x, scalar);
        if (!isScalar(scalar)) {
          const error = await expectRefused(run, [x], L.LockstepTypeError);
          if (written(scalar) !== "") expect(error.message).toContain(written(scalar));
          x.dispose();
          return;
        }
        // div computes in float32 when both operands are integral (true division).
        const promotedType = promoted(dtype, scalar);
        const compute: DType = op === "div" && (promotedType === "int32" || promotedType === "bool") ? "float32" : promotedType;
        const s = store(scalar, compute);
        const refusedByDesign =
          (compute === "int32" && (!Number.isFinite(Number(scalar)) || Math.abs(Number(scalar)) > 2 ** 31 - 1)) ||
          (op === "sub" && compute === "bool");
        if (refusedByDesign) {
          await expectRefused(run, [x], compute === "int32" || op === "sub" ? L.DTypeError : L.LockstepError);
          x.dispose();
          return;
        }
        const out = run();
        const want = data.map((v) => {
          const a = store(v, compute);
          return scalarFirst ? reference(op, s, a, compute) : reference(op, a, s, compute);
        });
        expect(out.dtype).toBe(want[0]?.dtype ?? out.dtype);
        expect([...out.shape]).toEqual(shape);
        const got = Array.from(await out.data());
        for (let i = 0; i < got.length; i++) {
          if (!sameValue(got[i]!, want[i]!.value)) {
            expect.fail(`${op}(${scalarFirst ? `${String(scalar)}, x` : `x, ${String(scalar)}`}) [${i}]: x=${data[i]} (${dtype}) → ${got[i]}, reference ${want[i]!.value}`);
          }
        }
        out.dispose();
        x.dispose();
      }),
      { numRuns: runsOn(device, 150) },
    );
  });

  it("tensor ⊕ tensor: NumPy broadcasting with the reference values, or ShapeError with nothing changed", async () => {
    const pair = fc.tuple(shapeArb(3, 3), shapeArb(3, 3)).chain(([sa, sb]) =>
      fc.tuple(fc.constant(sa), fc.constant(sb), dataFor(sa, float32On(device)), dataFor(sb, float32On(device)), fc.constantFrom(...BINARY)),
    );
    await fc.assert(
      fc.asyncProperty(pair, async ([sa, sb, da, db, op]) => {
        const a = make(da, sa, device);
        const b = make(db, sb, device);
        const n = Math.max(sa.length, sb.length);
        const out: number[] = [];
        let ok = true;
        for (let i = 0; i < n; i++) {
          const x = sa[sa.length - n + i] ?? 1;
          const y = sb[sb.length - n + i] ?? 1;
          if (x !== y && x !== 1 && y !== 1) ok = false;
          out.push(x === 1 ? y : x);
        }
        if (!ok) {
          await expectRefused(() => call(op, a, b), [a, b], L.ShapeError);
          return;
        }
        const result = call(op, a, b);
        expect([...result.shape]).toEqual(out);
        const got = Array.from(await result.data());
        const stridesOf = (s: number[]) => s.map((_, i) => s.slice(i + 1).reduce((p, q) => p * q, 1));
        const st = stridesOf(out);
        const sta = stridesOf(sa);
        const stb = stridesOf(sb);
        for (let flat = 0; flat < got.length; flat++) {
          let ia = 0;
          let ib = 0;
          for (let d = 0; d < n; d++) {
            const idx = Math.floor(flat / st[d]!) % out[d]!;
            const da_ = d - (n - sa.length);
            const db_ = d - (n - sb.length);
            if (da_ >= 0 && sa[da_] !== 1) ia += idx * sta[da_]!;
            if (db_ >= 0 && sb[db_] !== 1) ib += idx * stb[db_]!;
          }
          const want = reference(op, da[ia]!, db[ib]!, "float32").value;
          if (!sameValue(got[flat]!, want)) expect.fail(`${op} at ${flat}: ${da[ia]} , ${db[ib]} → ${got[flat]}, reference ${want}`);
        }
      }),
      { numRuns: runsOn(device, 80) },
    );
  });

  it("unary ops: neg and abs exact, exp within 2 ulp of the double result; non-tensors refused", async () => {
    await fc.assert(
      fc.asyncProperty(shapeArb(2, 4).chain((s) => dataFor(s, float32On(device)).map((d) => ({ s, d }))), anyValueArb, async ({ s, d }, junk) => {
        const x = make(d, s, device);
        const neg = Array.from(await x.neg().data());
        const abs = Array.from(await x.abs().data());
        const exp = Array.from(await x.exp().data());
        d.forEach((v, i) => {
          expect(sameValue(neg[i]!, -v), `neg(${v})`).toBe(true);
          expect(sameValue(abs[i]!, Math.abs(v)), `abs(${v})`).toBe(true);
          const want = Math.exp(v);
          if (Number.isNaN(want)) expect(exp[i]).toBeNaN();
          else if (want > 3.4028234663852886e38) expect(exp[i], `exp(${v}) overflows float32`).toBe(Infinity);
          else if (want < 1.2e-38) expect(exp[i]!, `exp(${v}) underflows`).toBeLessThan(1.2e-38);
          else {
            expect(Math.abs(exp[i]! - want) / want, `exp(${v}) = ${exp[i]}, double ${want}`).toBeLessThan(2.5e-7);
          }
        });
        for (const name of ["neg", "abs", "exp", "sqrt", "relu", "sigmoid", "tanh"] as const) {
          await expectRefused(() => (L as unknown as Record<string, (v: unknown) => unknown>)[name]!(junk), [x], L.LockstepTypeError);
        }
      }),
      { numRuns: runsOn(device, 30) },
    );
  });

  it("clamp, where, maskedFill, maximum, pow and to() with an argument of any JS kind: a result, or refused with nothing changed", async () => {
    await fc.assert(
      fc.asyncProperty(anyValueArb, async (v) => {
        const x = make([1.5, -2, 3], [3], device);
        const mask = L.tensor([true, false, true], { device });
        const calls: [string, () => unknown][] = [
          ["clamp", () => x.clamp(v as number)],
          ["clamp(max)", () => x.clamp(undefined, v as number)],
          ["where", () => x.where(mask, v as number)],
          ["maskedFill", () => x.maskedFill(mask, v as number)],
          ["maximum", () => L.maximum(x, v as number)],
          ["pow", () => x.pow(v as number)],
        ];
        for (const [name, call] of calls) {
          if (isScalar(v)) {
            const out = call() as Tensor;
            expect(out.shape, name).toEqual([3]);
          } else if (v === undefined && name === "clamp(max)") {
            await expectRefused(call, [x, mask], L.ValueError); // neither bound given
          } else if (v === undefined && name === "clamp") {
            await expectRefused(call, [x, mask], L.ValueError);
          } else {
            await expectRefused(call, [x, mask], L.LockstepTypeError);
          }
        }
        // to(): a dtype name, a registered device, { dtype, device }; anything else refused.
        const emptySpec = v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype && Object.keys(v).length === 0;
        const valid = ["float32", "int32", "bool", "cpu", device].includes(v as string) || (v === "float64" && device === "cpu") || emptySpec;
        if (valid) expect((x.to(v as string) as Tensor).numel()).toBe(3);
        else await expectRefused(() => x.to(v as string), [x]);
      }),
      { numRuns: runsOn(device, 60) },
    );
  });

  it("full and fill_ with a value of any JS kind: filled exactly, or refused naming the value", async () => {
    await fc.assert(
      fc.asyncProperty(anyValueArb, shapeArb(2, 3), async (value, shape) => {
        if (!isScalar(value)) {
          const e = await expectRefused(() => L.full(shape, value as never, { device }), [], L.LockstepTypeError);
          if (written(value) !== "") expect(e.message).toContain(written(value));
          const t = L.zeros(shape, { device });
          await expectRefused(() => t.fill_(value as never), [t], L.LockstepTypeError);
          return;
        }
        const t = L.full(shape, value, { device });
        expect(t.dtype).toBe(typeof value === "boolean" ? "bool" : "float32");
        const want = store(value, t.dtype);
        for (const v of await t.data()) expect(sameValue(v, want)).toBe(true);
      }),
      { numRuns: runsOn(device, 60) },
    );
  });
});
