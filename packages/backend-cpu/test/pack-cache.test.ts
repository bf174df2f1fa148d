// The pack cache through the public API (dist): a weight multiplied again is kept packed in each
// thread's WebAssembly memory, keyed by core's content stamp. Every in-place write (copy_, add_,
// an optimizer-style update, fill_) and a dispose must make the next product see the new
// contents: each product here is compared bit for bit with the same product on a fresh copy of
// the weight (which has never been cached), in deterministic mode, over 1, 2 and 3 threads.
import { getNumThreads, setNumThreads, tensor, useDeterministicAlgorithms, type Tensor } from "@lockstep/core";
import { afterAll, describe, expect, it } from "vitest";
import "../dist/index.js";

function values(count: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: count }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

const bits = (t: Tensor) => [...new Uint32Array((t.dataSync() as Float32Array).slice().buffer)];

/** x·Wᵀ (the Linear layout) and x·W (a row-major weight), each against a fresh clone of W. */
function expectFresh(x: Tensor, w: Tensor, what: string): void {
  const fresh = w.clone();
  for (const [got, want] of [[x.matmul(w.t()), x.matmul(fresh.t())], [x.narrow(1, 0, w.shape[0]!).matmul(w), x.narrow(1, 0, w.shape[0]!).matmul(fresh)]] as const) {
    expect(bits(got), what).toEqual(bits(want));
  }
}

describe("a cached packed weight after in-place writes and dispose", () => {
  const threadsBefore = getNumThreads();
  afterAll(() => {
    setNumThreads(threadsBefore);
    useDeterministicAlgorithms(false);
  });

  for (const [rows, k, n] of [[1, 768, 256], [16, 300, 200], [64, 600, 520]] as const) {
    for (const threads of [1, 2, 3]) {
      it(`${rows}×${k} · (${n}×${k})ᵀ on ${threads} thread(s)`, () => {
        setNumThreads(threads);
        useDeterministicAlgorithms(true);
        const x = tensor(values(rows * Math.max(k, n), rows + k)).reshape([rows, Math.max(k, n)]).narrow(1, 0, k).contiguous();
        const w = tensor(values(n * k, n + k)).reshape([n, k]);
        const use = (what: string) => {
          // Twice: the second product reads the weight packed by the first.
          expectFresh(x, w, `${what}, first`);
          expectFresh(x, w, `${what}, again`);
        };
        use("initial");
        w.copy_(tensor(values(n * k, 7)).reshape([n, k]));
        use("after copy_");
        w.add_(1);
        use("after add_");
        // An SGD-style update of part of the weight, through a view.
        w.narrow(0, 1, 1).sub_(w.narrow(0, 0, 1).mul(0.5));
        use("after an update through a view");
        w.fill_(0.25);
        use("after fill_");
        // Fast mode may round differently on the cached path, but never uses stale values.
        useDeterministicAlgorithms(false);
        x.matmul(w.t());
        x.matmul(w.t());
        w.mul_(-3);
        const fast = x.matmul(w.t()).dataSync();
        const reference = x.matmul(w.clone().t()).dataSync();
        for (let i = 0; i < fast.length; i++) expect(Math.abs(fast[i]! - reference[i]!)).toBeLessThan(1e-5 * k);
        useDeterministicAlgorithms(true);
        use("after mul_ in fast mode");
        w.dispose();
        // A new weight (possibly reusing the freed memory) of the same shape is not served the old packing.
        const w2 = tensor(values(n * k, 99)).reshape([n, k]);
        expectFresh(x, w2, "a new weight after dispose");
        expectFresh(x, w2, "a new weight after dispose, again");
      }, 60_000);
    }
  }
});

describe("fast mode does not depend on what the cache holds", () => {
  const threadsBefore = getNumThreads();
  afterAll(() => setNumThreads(threadsBefore));
  // A one-row product in fast mode sums in partial sums (not the deterministic order); the first
  // call packs the weight into scratch, later ones find it cached. Both must give the same bits,
  // or a model's output would change between its first and second call on the same input.
  for (const [k, n] of [[768, 768], [784, 256], [37, 29]] as const) {
    for (const threads of [1, 2]) {
      it(`1×${k} · (${n}×${k})ᵀ and 1×${n}·(${n}×${k}) give the same bits on calls 1 to 4, ${threads} thread(s)`, () => {
        setNumThreads(threads);
        useDeterministicAlgorithms(false);
        const x = tensor(values(k, k + 1)).reshape([1, k]);
        const w = tensor(values(n * k, n + 2)).reshape([n, k]);
        const xn = tensor(values(n, n + 3)).reshape([1, n]);
        const first = [bits(x.matmul(w.t())), bits(xn.matmul(w))];
        for (let call = 2; call <= 4; call++) {
          expect(bits(x.matmul(w.t())), `x·Wᵀ call ${call}`).toEqual(first[0]);
          expect(bits(xn.matmul(w)), `x·W call ${call}`).toEqual(first[1]);
        }
      });
    }
  }
});
