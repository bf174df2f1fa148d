// Printing: `toString()` (CPU) and `await format()` (any device) give PyTorch's str(t), taken from
// PyTorch itself in fixtures/format.json. Lockstep writes `dtype=int32` where PyTorch writes
// `dtype=torch.int32`; that prefix is the only change made to PyTorch's text.
import { matmul, tensor } from "lockstep";
import { describe, expect, it } from "vitest";
import { devices, unsupportedOn } from "./devices.js";
import { buildTensor, loadFixture, type FormatCase } from "./fixtures.js";

/** toBe with both strings shown in full (vitest shortens long strings in its diff line). */
function expectSameText(got: string, expected: string): void {
  if (got !== expected) expect.fail(`printed form differs from PyTorch's\nexpected:\n${expected}\ngot:\n${got}`);
}

const cases = loadFixture<FormatCase>("format.json").cases;

function lockstepSpelling(torchString: string): string {
  return torchString.replace(/dtype=torch\./g, "dtype=");
}

describe("toString", () => {
  it("prints a matmul result like PyTorch", () => {
    const t = tensor([[1, 2], [3, 4]]).matmul(tensor([[1], [1]]));
    expect(t.toString()).toBe("tensor([[3.],\n        [7.]])");
    expect(matmul(tensor([[1, 2], [3, 4]]), tensor([[1], [1]])).toString()).toBe("tensor([[3.],\n        [7.]])");
  });

  it("works in a template string", () => {
    expect(`${tensor([1.5, -2.25])}`).toBe("tensor([ 1.5000, -2.2500])");
  });

  for (const c of cases) {
    it(`${c.id}: ${JSON.stringify(lockstepSpelling(c.torchString)).slice(0, 70)}`, () => {
      const t = buildTensor(c.input, "cpu");
      expectSameText(t.toString(), lockstepSpelling(c.torchString));
    });
  }
});

describe.each(devices)("format() on %s", (device) => {
  for (const c of cases) {
    it.skipIf(unsupportedOn(device, c) !== undefined)(c.id, async () => {
      const t = buildTensor(c.input, device);
      const expected = lockstepSpelling(c.torchString);
      // PyTorch puts device='…' after the values and size, before dtype=.
      const deviceSuffix = `, device='${device}'`;
      const withDevice =
        device === "cpu"
          ? expected
          : expected.includes(", dtype=")
            ? expected.replace(", dtype=", `${deviceSuffix}, dtype=`)
            : expected.replace(/\)$/, `${deviceSuffix})`);
      expectSameText(await t.format(), withDevice);
    });
  }
});
