import { describe, expect, it } from "vitest";
import { MT19937, MT_STATE_WORDS } from "./mt19937.js";

describe("MT19937", () => {
  it("produces the reference outputs of the standard Mersenne Twister", () => {
    const engine = new MT19937();
    engine.seed(5489);
    expect(engine.nextUint32()).toBe(3499211612);
    // C++ requires the 10000th output of a default-seeded std::mt19937 to be 4123659995.
    for (let i = 2; i < 10000; i++) engine.nextUint32();
    expect(engine.nextUint32()).toBe(4123659995);
  });

  it("keeps PyTorch's left/next counters: the first draw regenerates the block", () => {
    const engine = new MT19937();
    engine.seed(0);
    expect([engine.left, engine.next]).toEqual([1, 0]);
    expect(Array.from(engine.words.subarray(0, 4))).toEqual([0, 1, 1812433255, 1900727105]);
    engine.nextUint32();
    expect([engine.left, engine.next]).toEqual([624, 1]);
    for (let i = 1; i < MT_STATE_WORDS; i++) engine.nextUint32();
    expect([engine.left, engine.next]).toEqual([1, 624]);
    engine.nextUint32();
    expect([engine.left, engine.next]).toEqual([624, 1]);
  });

  it("builds 64-bit draws high word first and unit uniforms from the low bits", () => {
    const a = new MT19937();
    const b = new MT19937();
    a.seed(7);
    b.seed(7);
    const high = b.nextUint32();
    const low = b.nextUint32();
    expect(a.nextUint64()).toBe((BigInt(high) << 32n) | BigInt(low));
    const third = b.nextUint32();
    expect(a.nextU24()).toBe((third & 0xffffff) / 2 ** 24);
    const [h, l] = [b.nextUint32(), b.nextUint32()];
    expect(a.nextU53()).toBe(Number(((BigInt(h) << 32n) | BigInt(l)) & ((1n << 53n) - 1n)) / 2 ** 53);
  });

  it("copies words and counters so that two engines continue identically", () => {
    const a = new MT19937();
    a.seed(123);
    for (let i = 0; i < 700; i++) a.nextUint32();
    const b = new MT19937();
    b.copyFrom(a);
    for (let i = 0; i < 1000; i++) expect(b.nextUint32()).toBe(a.nextUint32());
  });
});
