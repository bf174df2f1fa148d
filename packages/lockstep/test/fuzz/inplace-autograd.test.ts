// In-place ops, autograd misuse and global flags. In-place writes land exactly where a JS
// reference says and bump the version counter once; a refused one (non-broadcastable source, a
// value of the wrong kind, a leaf or a view of a leaf that requires grad) changes neither values
// nor version. Autograd misuse (backward twice, backward of a non-scalar without a gradient,
// the grad of a non-leaf) is a LockstepError that leaves `.grad` as it was. Flags given bad values
// stay as they were.
import * as L from "lockstep";
import type { Tensor } from "lockstep";
import { afterEach, describe, expect, it } from "vitest";
import { devices } from "../devices.js";
import { anyValueArb, dataFor, expectRefused, fc, float32On, isScalar, make, runsOn, shapeArb, written } from "./support.js";

afterEach(() => {
  L.useDeterministicAlgorithms(false);
  L.setGradEnabled(true);
});

describe.each(devices)("in-place properties on %s", (device) => {
  it("copy_ from a tensor of any shape: broadcast into the target (version + 1), or ShapeError with nothing changed", async () => {
    const arb = fc.tuple(shapeArb(3, 3), shapeArb(3, 3)).chain(([t, s]) => fc.tuple(fc.constant(t), fc.constant(s), dataFor(t, float32On(device)), dataFor(s, float32On(device))));
    await fc.assert(
      fc.asyncProperty(arb, async ([ts, ss, td, sd]) => {
        const target = make(td, ts, device).clone();
        const source = make(sd, ss, device);
        const lead = ts.length - ss.length;
        const fits = lead >= 0 && ss.every((s, i) => s === ts[lead + i] || s === 1);
        if (!fits) {
          await expectRefused(() => target.copy_(source), [target, source], L.ShapeError);
          return;
        }
        const version = target.version;
        target.copy_(source);
        expect(target.version).toBe(version + 1);
        const got = Array.from(await target.data());
        const n = got.length;
        for (let flat = 0; flat < n; flat++) {
          let rest = flat;
          let pos = 0;
          let stride = 1;
          for (let d = ts.length - 1; d >= 0; d--) {
            const i = rest % ts[d]!;
            rest = Math.floor(rest / ts[d]!);
            const sd_ = d - lead;
            if (sd_ >= 0) {
              if (ss[sd_] !== 1) pos += i * stride;
              stride *= ss[sd_]!;
            }
          }
          const want = sd[pos]!;
          expect(Object.is(got[flat], want) || (Number.isNaN(got[flat]!) && Number.isNaN(want))).toBe(true);
        }
      }),
      { numRuns: runsOn(device, 120) },
    );
  });

  it("fill_/copy_ with a value of any JS kind: filled and version + 1, or LockstepError naming it with nothing changed", async () => {
    await fc.assert(
      fc.asyncProperty(anyValueArb, fc.constantFrom("float32", "int32", "bool"), async (value, dtype) => {
        const t = L.zeros([2, 2], { dtype: dtype as "float32", device });
        const version = t.version;
        const int32Bad = dtype === "int32" && typeof value === "number" && (!Number.isFinite(value) || Math.abs(Math.trunc(value)) > 2 ** 31 - 1);
        if (!isScalar(value) || int32Bad) {
          const e = await expectRefused(() => t.fill_(value as never), [t], isScalar(value) ? L.DTypeError : L.LockstepTypeError);
          if (written(value) !== "" && !isScalar(value)) expect(e.message).toContain(written(value));
          await expectRefused(() => t.copy_(value as never), [t]);
          return;
        }
        t.fill_(value);
        expect(t.version).toBe(version + 1);
        const n = Number(value);
        const want = dtype === "bool" ? (n !== 0 ? 1 : 0) : dtype === "int32" ? Math.trunc(n) + 0 : Math.fround(n); // + 0: int32 has no -0
        for (const v of await t.data()) expect(Object.is(v, want) || (Number.isNaN(v) && Number.isNaN(want))).toBe(true);
      }),
      { numRuns: runsOn(device, 80) },
    );
  });

  it("in-place writes to a leaf that requires grad, or to any view of one, are refused in grad mode and allowed under noGrad", async () => {
    const views: ((w: Tensor) => Tensor)[] = [
      (w) => w,
      (w) => w.slice(0, 0, 1),
      (w) => w.view(-1),
      (w) => w.transpose(0, 1),
      (w) => w.narrow(1, 1, 1).unsqueeze(0),
      (w) => w.expand(2, 2),
      (w) => w.split(1)[0]!,
    ];
    const writes: ((v: Tensor) => unknown)[] = [(v) => v.fill_(3), (v) => v.zero_(), (v) => v.copy_(7), (v) => v.copy_(L.ones([1], { device }))];
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: views.length - 1 }), fc.integer({ min: 0, max: writes.length - 1 }), async (vi, wi) => {
        const w = L.tensor([[1, 2], [3, 4]], { device, requiresGrad: true });
        const view = views[vi]!(w);
        const e = await expectRefused(() => writes[wi]!(view), [w, view]);
        expect(e.message).toMatch(vi === 0 ? /^a leaf Variable that requires grad/ : /view of a leaf Variable that requires grad/);
        // The same write is fine with grad mode off (how optimizers and initialisers write).
        L.noGrad(() => writes[wi]!(views[vi]!(w)));
        // A detached alias is not a view in autograd's sense: writing through it is allowed.
        w.detach().fill_(0);
      }),
      { numRuns: runsOn(device, 28) },
    );
  });
});

describe("autograd misuse and flags (cpu)", () => {
  it("backward twice, backward of a non-scalar, wrong gradient arguments: LockstepError, .grad unchanged", async () => {
    await fc.assert(
      fc.asyncProperty(dataFor([3], fc.double({ min: -3, max: 3, noNaN: true }).map(Math.fround)), anyValueArb, async (data, junk) => {
        const w = L.tensor(data, { requiresGrad: true });
        const hidden = w.mul(w);
        const y = hidden.sum();
        // grad() with respect to a tensor the output does not use: refused, nothing accumulated.
        const unused = L.tensor([1.5], { requiresGrad: true });
        await expectRefused(() => L.grad(y, [unused]), [w, unused]);
        y.backward();
        const grad = w.grad!;
        // The grad of a non-leaf is not kept (PyTorch: None) unless retainGrad() asked for it.
        expect(hidden.grad).toBeUndefined();
        expect(Array.from(grad.dataSync())).toEqual(data.map((v) => Math.fround(2 * v)));
        // Second backward through freed buffers.
        await expectRefused(() => y.backward(), [w, grad]);
        expect(w.grad).toBe(grad);
        // Non-scalar output without a gradient.
        const z = w.mul(2);
        await expectRefused(() => z.backward(), [w, grad]);
        // A gradient of the wrong kind.
        if (!(junk === undefined)) await expectRefused(() => w.mul(2).sum().backward(junk as never), [w, grad]);
        // Options of the wrong kind.
        await expectRefused(() => w.mul(2).sum().backward(undefined, { retainGraph: "yes" } as never), [w, grad]);
        expect(w.grad).toBe(grad);
      }),
      { numRuns: 25 },
    );
  });

  it("requiresGrad_ with non-booleans, on int tensors, or to false on a non-leaf: refused, tensor unchanged", async () => {
    await fc.assert(
      fc.asyncProperty(anyValueArb, async (v) => {
        const x = L.tensor([1.5, 2.5]);
        if (typeof v === "boolean" || v === undefined) {
          x.requiresGrad_(v as boolean | undefined);
          expect(x.requiresGrad).toBe(v ?? true);
        } else {
          await expectRefused(() => x.requiresGrad_(v as never), [x], L.LockstepTypeError);
        }
        const i = L.tensor(new Int32Array([1, 2]));
        await expectRefused(() => i.requiresGrad_(true), [i], L.DTypeError);
        const leaf = L.tensor([1.5], { requiresGrad: true });
        const nonLeaf = leaf.mul(2);
        await expectRefused(() => nonLeaf.requiresGrad_(false), [leaf, nonLeaf]);
      }),
      { numRuns: 30 },
    );
  });

  it("useDeterministicAlgorithms and setNumThreads with values of any kind: set as asked, or refused with every flag unchanged", async () => {
    await fc.assert(
      fc.asyncProperty(fc.boolean(), anyValueArb, fc.oneof(fc.constant(undefined), fc.boolean(), anyValueArb), anyValueArb, async (start, mode, warnOnly, threads) => {
        L.useDeterministicAlgorithms(start);
        const options = warnOnly === undefined ? undefined : { warnOnly };
        if (typeof mode === "boolean" && (warnOnly === undefined || typeof warnOnly === "boolean")) {
          L.useDeterministicAlgorithms(mode, options as never);
          expect(L.areDeterministicAlgorithmsEnabled()).toBe(mode);
          expect(L.isDeterministicAlgorithmsWarnOnlyEnabled()).toBe(warnOnly === true);
        } else {
          const e = await expectRefused(() => L.useDeterministicAlgorithms(mode as never, options as never), [], L.LockstepTypeError);
          const bad = typeof mode !== "boolean" ? mode : warnOnly;
          if (written(bad) !== "" && typeof bad !== "number") expect(e.message).toContain(written(bad));
        }
        const previous = L.getNumThreads();
        if (typeof threads === "number" && Number.isInteger(threads) && threads >= 1) {
          L.setNumThreads(threads);
          expect(L.getNumThreads()).toBe(threads);
          L.setNumThreads(previous);
        } else {
          await expectRefused(() => L.setNumThreads(threads as never), []);
        }
      }),
      { numRuns: 60 },
    );
  });
});
