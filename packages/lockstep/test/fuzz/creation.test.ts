// Creation with sizes, fill values and options of every JS kind: valid ones give the shape,
// dtype and values asked for; anything else is a LockstepError (LockstepTypeError for the wrong
// kind, ValueError for a negative or too large size) that names the bad value — never a
// RangeError from a typed array, a stack overflow or a NaN-filled tensor.
import * as L from "lockstep";
import { describe, expect, it } from "vitest";
import { devices } from "../devices.js";
import { anyValueArb, expectRefused, fc, isScalar, runsOn, sameValue, written } from "./support.js";

/** Size lists mixing valid sizes with every kind of bad element. */
const sizeElementArb = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 4 }) },
  { weight: 1, arbitrary: fc.integer({ min: -3, max: -1 }) },
  { weight: 1, arbitrary: fc.constantFrom(2 ** 31, 2 ** 40, 1e300) },
  { weight: 2, arbitrary: anyValueArb },
);
const sizesArb = fc.array(sizeElementArb, { maxLength: 3 });

function sizesValid(sizes: readonly unknown[]): "ok" | "type" | "value" {
  for (const s of sizes) if (typeof s !== "number" || !Number.isSafeInteger(s)) return "type";
  if ((sizes as number[]).some((s) => s < 0)) return "value";
  if ((sizes as number[]).reduce((a, b) => a * b, 1) > 2 ** 31 - 1) return "value";
  return "ok";
}

describe.each(devices)("creation properties on %s", (device) => {
  it("zeros/ones/full/empty with any size list: the shape asked for, or a LockstepError naming the bad size", async () => {
    await fc.assert(
      fc.asyncProperty(sizesArb, fc.constantFrom("zeros", "ones", "empty", "full"), async (sizes, op) => {
        const create = () =>
          op === "full" ? L.full(sizes as number[], 2.5, { device }) : (L as unknown as Record<string, (s: unknown, o: unknown) => L.Tensor>)[op]!(sizes, { device });
        const validity = sizesValid(sizes);
        if (validity !== "ok") {
          const e = await expectRefused(create, [], validity === "type" ? L.LockstepTypeError : L.ValueError);
          if (validity === "type") {
            const bad = sizes.find((s) => typeof s !== "number" || !Number.isSafeInteger(s));
            if (written(bad) !== "" && typeof bad !== "number") expect(e.message).toContain(written(bad));
          }
          return;
        }
        // Valid but huge (a size drawn from the doubles): creating it would only test the host's memory.
        if ((sizes as number[]).reduce((p, q) => p * q, 1) > 1e6) return;
        const t = create();
        expect([...t.shape]).toEqual((sizes as number[]).map((s) => (s === 0 ? 0 : s))); // a -0 size is 0
        expect(t.device).toBe(device);
        const want = op === "full" ? 2.5 : op === "ones" ? 1 : 0;
        for (const v of await t.data()) expect(v).toBe(want);
        t.dispose();
      }),
      { numRuns: runsOn(device, 120) },
    );
  });

  it("options of any kind: valid keys with valid values work, anything else is refused before allocating", async () => {
    const optionsArb = fc.oneof(
      fc.record({ dtype: fc.constantFrom("float32", "int32", "bool", "float16", 5, null) }, { requiredKeys: [] }),
      fc.record({ requiresGrad: fc.oneof(fc.boolean(), anyValueArb) }, { requiredKeys: [] }),
      fc.record({ dtyp: fc.constant("float32") }),
      anyValueArb,
    );
    await fc.assert(
      fc.asyncProperty(optionsArb, async (options) => {
        const o = options as Record<string, unknown>;
        const plain = o !== null && typeof o === "object" && !Array.isArray(o) && [Object.prototype, null].includes(Object.getPrototypeOf(o));
        const keysOk = plain && Object.keys(o).every((k) => ["dtype", "requiresGrad"].includes(k) && (k !== "dtype" || ["float32", "int32", "bool", undefined].includes(o[k] as string)) && (k !== "requiresGrad" || o[k] === undefined || typeof o[k] === "boolean"));
        const gradOk = !(plain && o.requiresGrad === true && (o.dtype === "int32" || o.dtype === "bool"));
        const call = () => L.zeros([2], { ...(plain ? o : {}), device, ...(plain ? {} : { bogus: options }) } as never);
        if (options === undefined) return;
        if (!plain || !keysOk || !gradOk) {
          // Passed as given (not spread: a getter in it must not run before Lockstep sees the key).
          await expectRefused(() => L.zeros([2], options as never), []);
          return;
        }
        const t = call();
        expect(t.dtype).toBe((o.dtype as string | undefined) ?? "float32");
        expect(t.requiresGrad).toBe(o.requiresGrad === true);
      }),
      { numRuns: runsOn(device, 80) },
    );
  });

  it("tensor() from nested arrays holding any JS values: the values, or LockstepTypeError naming the first bad one", async () => {
    const leafArb = fc.oneof({ weight: 8, arbitrary: fc.double({ noNaN: false }) }, { weight: 1, arbitrary: anyValueArb });
    const nestedArb = fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })).chain(([r, c]) =>
      fc.array(fc.array(leafArb, { minLength: c, maxLength: c }), { minLength: r, maxLength: r }),
    );
    await fc.assert(
      fc.asyncProperty(nestedArb, async (rows) => {
        const flat = rows.flat();
        const bad = flat.find((v) => !isScalar(v));
        if (flat.some((v) => Array.isArray(v))) {
          // Deeper nesting: fine when rectangular (e.g. [[[]]] is shape [1, 1, 0]), else refused.
          let t: L.Tensor | undefined;
          try {
            t = L.tensor(rows as never, { device });
          } catch {
            await expectRefused(() => L.tensor(rows as never, { device }), []);
            return;
          }
          expect(t.shape.slice(0, 2)).toEqual([rows.length, rows[0]!.length]);
          return;
        }
        if (bad !== undefined || flat.some((v) => v === undefined)) {
          const e = await expectRefused(() => L.tensor(rows as never, { device }), [], L.LockstepTypeError);
          if (written(bad) !== "") expect(e.message).toContain(written(bad));
          return;
        }
        const allBool = flat.every((v) => typeof v === "boolean");
        const t = L.tensor(rows as never, { device });
        expect(t.dtype).toBe(allBool ? "bool" : "float32");
        const got = Array.from(await t.data());
        flat.forEach((v, i) => expect(sameValue(got[i]!, allBool ? Number(v) : Math.fround(Number(v)))).toBe(true));
      }),
      { numRuns: runsOn(device, 80) },
    );
  });

  it("tensor() from every typed array: values kept exactly (small integer arrays become int32), BigInt arrays refused", async () => {
    const kinds = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array] as const;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: kinds.length - 1 }), fc.array(fc.integer({ min: -300, max: 70000 }), { maxLength: 5 }), async (k, values) => {
        const Kind = kinds[k]!;
        if (device !== "cpu" && Kind === Float64Array) return;
        const data = Kind.from(values);
        const stored = Array.from(data as ArrayLike<number>);
        const call = () => L.tensor(data, { device });
        if (stored.some((v) => v > 2 ** 31 - 1)) {
          await expectRefused(call, [], L.DTypeError);
          return;
        }
        const t = call();
        const want = Kind === Float32Array ? "float32" : Kind === Float64Array ? "float64" : "int32";
        expect(t.dtype).toBe(want);
        expect(Array.from(await t.data())).toEqual(stored);
        const asBool = L.tensor(data, { dtype: "bool", device });
        expect(Array.from(await asBool.data())).toEqual(stored.map((v) => (v !== 0 ? 1 : 0)));
      }),
      { numRuns: runsOn(device, 60) },
    );
    await expectRefused(() => L.tensor(new BigInt64Array([1n]) as never), [], L.LockstepTypeError);
  });

  it("arange/linspace/eye with arguments of any kind: a tensor of the right length, or a LockstepError", async () => {
    await fc.assert(
      fc.asyncProperty(anyValueArb, anyValueArb, async (a, b) => {
        // Valid but huge lengths would only test the host's memory.
        if ((typeof a === "number" && Math.abs(a) > 3000) || (typeof b === "number" && Math.abs(b) > 3000)) return;
        for (const call of [() => L.arange(a as number, { device }), () => L.linspace(0, 1, a as number, { device }), () => L.eye(a as number, b as number, { device })]) {
          let t: L.Tensor | undefined;
          try {
            t = call();
          } catch (error) {
            expect(error, String(error)).toBeInstanceOf(L.LockstepError);
            continue;
          }
          expect(t.numel()).toBeLessThanOrEqual(2 ** 31 - 1);
          expect(t.shape.every((s) => Number.isSafeInteger(s) && s >= 0)).toBe(true);
          t.dispose();
        }
      }),
      { numRuns: runsOn(device, 80) },
    );
  });
});
