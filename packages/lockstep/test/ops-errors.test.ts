// Mistakes PyTorch rejects are rejected here too, with the error class Lockstep gives that kind of
// mistake and PyTorch's message (fixtures/errors.json records what PyTorch raised on the very same
// inputs), and a failed call leaves its inputs exactly as they were.
import * as L from "lockstep";
import { describe, expect, it } from "vitest";
import { devices, unsupportedOn } from "./devices.js";
import { buildInput, disposeAll, expectLockstepError, loadFixture, snapshot, thrownBy, type ErrorCase, type Operand } from "./fixtures.js";
import { formsOf, runOp } from "./runners.js";

const fixture = loadFixture<ErrorCase>("errors.json");

describe.each(devices)("errors on %s match PyTorch", (device) => {
  for (const c of fixture.cases) {
    it.skipIf(unsupportedOn(device, c) !== undefined)(`${c.id}: ${c.torchMessage.slice(0, 80)}`, async () => {
      const inputs: Operand[] = c.inputs.map((spec) => buildInput(spec, device));
      const before = await snapshot(inputs);
      try {
        for (const form of formsOf(c.op)) {
          const error = await thrownBy(() => runOp(form, c.op, inputs, c.params));
          expectLockstepError(error, c, `${form} form`);
        }
        for (const t of inputs) if (t !== undefined && typeof t === "object") expect(t.isDisposed).toBe(false);
        expect(await snapshot(inputs), "a failed op leaves its inputs unchanged").toEqual(before);
      } finally {
        disposeAll(inputs);
      }
    });
  }
});

describe("error classes", () => {
  it("all derive from LockstepError and Error", () => {
    for (const name of ["ShapeError", "IndexError", "DTypeError", "DeviceError", "DisposedError", "ValueError",
      "DeterminismError", "NotImplementedError"]) {
      const cls = (L as unknown as Record<string, new (m: string) => Error>)[name]!;
      const e = new cls("m");
      expect(e).toBeInstanceOf(L.LockstepError);
      expect(e).toBeInstanceOf(Error);
      expect(e.name).toBe(name);
    }
  });

  it("a disposed tensor refuses to be used and says so", async () => {
    const t = L.tensor([1.5, 2.5]);
    t.dispose();
    expect(t.isDisposed).toBe(true);
    expect(await thrownBy(() => t.add(1))).toBeInstanceOf(L.DisposedError);
    expect(await thrownBy(() => t.data())).toBeInstanceOf(L.DisposedError);
    expect(t.toString()).toBe("tensor(<disposed>)");
  });
});
