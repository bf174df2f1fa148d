// The corpus: the Book of Genesis from the King James Version (public domain), shipped in
// data/genesis.txt, one verse per line (see the README for how it was extracted). Characters are
// the tokens; the vocabulary is every character of the text, sorted by code point, so it is the
// same on every machine.
import { readFileSync } from "node:fs";

export const DATA_SOURCE =
  "King James Version (1611), Book of Genesis, from Debian's bible-kjv-text 4.38 (public domain); one verse per line, verse numbers removed";

export interface Corpus {
  text: string;
  /** Sorted distinct characters; a token is an index into this. */
  vocab: string[];
  /** The whole text as token ids. */
  tokens: Int32Array;
  /** Tokens [0, trainEnd) train; [trainEnd, tokens.length) are held out for evaluation. */
  trainEnd: number;
}

export function loadCorpus(url: URL = new URL("../data/genesis.txt", import.meta.url)): Corpus {
  const text = readFileSync(url, "utf8");
  const vocab = [...new Set(text)].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
  const index = new Map(vocab.map((c, i) => [c, i]));
  const tokens = Int32Array.from(text, (c) => index.get(c)!);
  return { text, vocab, tokens, trainEnd: Math.floor(tokens.length * 0.9) };
}

export function encode(corpus: Corpus, text: string): Int32Array {
  const index = new Map(corpus.vocab.map((c, i) => [c, i]));
  return Int32Array.from(text, (c) => {
    const id = index.get(c);
    if (id === undefined) throw new Error(`character ${JSON.stringify(c)} is not in the vocabulary`);
    return id;
  });
}

export function decode(corpus: Corpus, ids: ArrayLike<number>): string {
  return Array.from(ids, (i) => corpus.vocab[i]).join("");
}

/**
 * Inputs and next-character targets for windows of `blockSize` tokens starting at `starts`, as flat
 * row-major [starts.length, blockSize] arrays.
 */
export function windows(tokens: Int32Array, starts: ArrayLike<number>, blockSize: number): { x: Int32Array; y: Int32Array } {
  const x = new Int32Array(starts.length * blockSize);
  const y = new Int32Array(starts.length * blockSize);
  for (let b = 0; b < starts.length; b++) {
    x.set(tokens.subarray(starts[b]!, starts[b]! + blockSize), b * blockSize);
    y.set(tokens.subarray(starts[b]! + 1, starts[b]! + 1 + blockSize), b * blockSize);
  }
  return { x, y };
}
