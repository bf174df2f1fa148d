import { describe, expect, it } from "vitest";
import { ValueError } from "@lockstep/core";
import { DEFAULT_GENERATOR_SEED, Generator, LEGACY_STATE_BYTES, STATE_BYTES, normalizeSeed } from "./generator.js";
import { scalarNormal } from "./sampling.js";

const draws = (g: Generator, n: number) => Array.from({ length: n }, () => g.random());

describe("seeding", () => {
  it("starts a new generator at PyTorch's fixed seed 67280421310721", () => {
    const g = new Generator();
    expect(g.initialSeed()).toBe(67280421310721n);
    expect(DEFAULT_GENERATOR_SEED).toBe(0x3d30f19cd101n);
    expect(draws(g, 3)).toEqual(draws(new Generator().manualSeed(4053586177), 3));
  });

  it("truncates floats, wraps negatives to 64 bits and keeps all 64 bits as the initial seed", () => {
    expect(normalizeSeed(3.7)).toBe(3n);
    expect(normalizeSeed(-3.7)).toBe(18446744073709551613n);
    expect(normalizeSeed(-1)).toBe(18446744073709551615n);
    expect(normalizeSeed(-(2n ** 63n))).toBe(2n ** 63n);
    expect(normalizeSeed(2n ** 64n - 1n)).toBe(2n ** 64n - 1n);
    expect(new Generator().manualSeed(2 ** 32 + 5).initialSeed()).toBe(4294967301n);
  });

  it("uses only the low 32 bits for the stream: 2^32 + 5 draws like 5", () => {
    expect(draws(new Generator().manualSeed(2 ** 32 + 5), 5)).toEqual(draws(new Generator().manualSeed(5), 5));
    expect(draws(new Generator().manualSeed(0xdeadbeefcafebaben), 5)).toEqual(
      draws(new Generator().manualSeed(0xcafebabe), 5),
    );
  });

  it("rejects seeds Python's int() or the 64-bit range would reject, naming the value", () => {
    const g = new Generator().manualSeed(9);
    const before = g.getState();
    expect(() => g.manualSeed(NaN)).toThrow(/NaN/);
    expect(() => g.manualSeed(Infinity)).toThrow(/infinity.*Infinity/);
    expect(() => g.manualSeed(2n ** 64n)).toThrow(/Overflow when unpacking long: seed 18446744073709551616/);
    expect(() => g.manualSeed(-(2n ** 63n) - 1n)).toThrow(/-9223372036854775809/);
    expect(() => g.manualSeed(2 ** 64)).toThrow(ValueError);
    expect(() => g.manualSeed("42" as never)).toThrow(/string "42"/);
    expect(g.getState()).toEqual(before);
  });

  it("seeds nondeterministically with a full 64-bit value and reports it", () => {
    const g = new Generator();
    const s = g.seed();
    expect(typeof s).toBe("bigint");
    expect(s >= 0n && s < 2n ** 64n).toBe(true);
    expect(g.initialSeed()).toBe(s);
    expect(draws(g, 4)).toEqual(draws(new Generator().manualSeed(s), 4));
  });

  it("clears a cached normal value when reseeded", () => {
    const g = new Generator().manualSeed(1);
    scalarNormal(g, 0, 1);
    expect(g.normalCache).not.toBeUndefined();
    g.manualSeed(1);
    expect(g.normalCache).toBeUndefined();
  });
});

describe("state blob", () => {
  it("lays out seed, counters and words like torch.get_rng_state() right after seeding", () => {
    const blob = new Generator().manualSeed(0).getState();
    const view = new DataView(blob.buffer);
    expect(blob.length).toBe(STATE_BYTES);
    expect(view.getBigUint64(0, true)).toBe(0n);
    expect(view.getInt32(8, true)).toBe(1); // left
    expect(view.getInt32(12, true)).toBe(1); // seeded
    expect(view.getBigUint64(16, true)).toBe(0n); // next
    expect([24, 32, 40, 48].map((at) => view.getBigUint64(at, true))).toEqual([0n, 1n, 1812433255n, 1900727105n]);
    expect(view.getInt32(5040, true)).toBe(0); // no cached normal
  });

  it("round-trips the stream exactly, including a pending cached normal", () => {
    const g = new Generator().manualSeed(42);
    draws(g, 7);
    scalarNormal(g, 0, 1);
    const blob = g.getState();
    expect(new DataView(blob.buffer).getInt32(5040, true)).toBe(1);
    const h = new Generator().setState(blob);
    expect(h.initialSeed()).toBe(42n);
    expect(scalarNormal(h, 0, 1)).toBe(scalarNormal(g, 0, 1)); // the cached value first
    expect(draws(h, 1000)).toEqual(draws(g, 1000));
    expect(h.getState()).toEqual(g.getState());
  });

  it("accepts PyTorch's older 5048-byte layout and keeps only the low 32 bits of each word", () => {
    const g = new Generator().manualSeed(3);
    draws(g, 10);
    const blob = g.getState();
    blob[24 + 8 * 5 + 4] = 0xff; // high half of word 5: PyTorch ignores it
    const legacy = blob.slice(0, LEGACY_STATE_BYTES);
    const h = new Generator().setState(legacy);
    expect(draws(h, 700)).toEqual(draws(g, 700));
  });

  it("rejects a malformed state with a message naming the value, leaving the generator unchanged", () => {
    const g = new Generator().manualSeed(11);
    draws(g, 5);
    const good = g.getState();
    const expectRejected = (state: Uint8Array, message: RegExp) => {
      expect(() => g.setState(state)).toThrow(ValueError);
      expect(() => g.setState(state)).toThrow(message);
      expect(g.getState()).toEqual(good);
    };
    expectRejected(good.slice(0, 5000), /size to be 5000/);
    const patch = (write: (v: DataView) => void) => {
      const copy = good.slice();
      write(new DataView(copy.buffer));
      return copy;
    };
    expectRejected(patch((v) => v.setInt32(12, 0, true)), /'seeded' flag is 0/);
    expectRejected(patch((v) => v.setInt32(8, 0, true)), /left is 0/);
    expectRejected(patch((v) => v.setInt32(8, 625, true)), /left is 625/);
    expectRejected(patch((v) => v.setBigUint64(16, 625n, true)), /next is 625/);
    expectRejected(patch((v) => v.setBigUint64(16, 2n ** 64n - 1n, true)), /next is 18446744073709551615/);
    expect(() => g.setState([1, 2, 3] as never)).toThrow(/Uint8Array.*got Array/);
    const expected = draws(new Generator().setState(good), 3);
    expect(draws(g, 3)).toEqual(expected);
  });

  it("clones into an independent generator with the same future", () => {
    const g = new Generator().manualSeed(5);
    const c = g.clone();
    expect(draws(c, 10)).toEqual(draws(g, 10));
    draws(c, 1);
    expect(c.getState()).not.toEqual(g.getState());
  });

  it("is recognised across package copies by its brand, not by instanceof", () => {
    expect(Generator.isGenerator(new Generator())).toBe(true);
    expect(Generator.isGenerator({ engine: {} })).toBe(false);
    expect(Object.prototype.toString.call(new Generator())).toBe("[object Generator]");
  });
});
