// DataLoader, like torch.utils.data.DataLoader (single process): batches of a dataset in order or
// shuffled — and shuffled exactly as PyTorch 1.13 shuffles after the same manual_seed. Its random
// draws are PyTorch's, in PyTorch's order:
//   * creating an iterator draws the workers' base seed, one 64-bit number, from `generator` or the
//     default generator (`torch.empty((), dtype=torch.int64).random_(generator=...)`), shuffled or not;
//   * the first batch of a shuffled epoch draws the sampler's order: without a generator, a seed
//     R64 mod 2^63 from the default generator seeds a fresh Generator for `randperm(n)`; with one,
//     `randperm(n, generator)`; and when the order runs out RandomSampler draws one more
//     (discarded) `randperm(n)` from that generator.
// So a Lockstep run and a PyTorch run seeded alike see the same batches, and dropout in between draws
// the same masks. The position (epoch, batches taken, the epoch's order) is a state dict, so a
// checkpoint can resume mid-epoch.
import { Tensor, ValueError, LockstepError } from "@lockstep/core";
import { Generator, defaultGenerator, randperm } from "@lockstep/random";
import { defaultCollate, type Collated } from "./collate.js";
import type { DatasetLike } from "./dataset.js";

/** Options of `DataLoader` (torch's keyword arguments, camelCased). */
export interface DataLoaderOptions<T, B> {
  /** Items per batch; default 1. */
  batchSize?: number;
  /** Reshuffle the order every epoch; default false. */
  shuffle?: boolean;
  /** Drop the last batch when it would be smaller than batchSize; default false. */
  dropLast?: boolean;
  /** Generator for the shuffle (and the base seed); default: the default generator, as PyTorch. */
  generator?: Generator;
  /** Builds a batch from a list of items; default `defaultCollate`. */
  collate?: (items: T[]) => B;
}

/** A DataLoader's position, for checkpoints: plain values only. */
export interface DataLoaderStateDict {
  /** Epochs iterated to the end. */
  epoch: number;
  /** Whether an epoch was in progress. */
  inProgress: boolean;
  /** Batches yielded in the epoch in progress. */
  batchIndex: number;
  /** Items of the epoch's order consumed so far. */
  position: number;
  /** Whether RandomSampler's trailing randperm was drawn already. */
  trailingDrawn: boolean;
  /** The RandomSampler seed of the epoch in progress (decimal), without a generator. */
  samplerSeed: string | null;
  /** The epoch's order, when shuffled with a generator (its seed is not recoverable). */
  order: number[] | null;
  /** State of `generator` (when given) at the time of the state dict. */
  generatorState: Uint8Array | null;
}

interface Epoch {
  order: Int32Array | null;
  seed: bigint | null;
  started: boolean;
  position: number;
  trailingDrawn: boolean;
  yielded: number;
  finished: boolean;
}

const MOD_2_63 = 1n << 63n;

/**
 * Like torch.utils.data.DataLoader with num_workers=0: iterate it with `for (const batch of
 * loader)` or `for await (const batch of loader)` (items that are promises are awaited). With
 * `shuffle: true` the order equals PyTorch's for the same seed.
 */
export class DataLoader<T, B = Collated<T>> implements Iterable<B>, AsyncIterable<B> {
  /** The dataset. */
  readonly dataset: DatasetLike<T>;
  /** Items per batch. */
  readonly batchSize: number;
  /** Whether each epoch is shuffled. */
  readonly shuffle: boolean;
  /** Whether a short last batch is dropped. */
  readonly dropLast: boolean;
  /** The generator given, if any. */
  readonly generator: Generator | undefined;
  /** Epochs iterated to the end. */
  epoch = 0;
  private readonly collate: ((items: T[]) => B) | undefined;
  private current: Epoch | undefined;
  private resume: Epoch | undefined;

  /**
   * Like torch.utils.data.DataLoader(dataset, batch_size=1, shuffle=False, drop_last=False,
   * generator=None, collate_fn=None). Throws ValueError for a batch size that is not a positive
   * integer or an unknown option.
   */
  constructor(dataset: DatasetLike<T>, options: DataLoaderOptions<T, B> = {}) {
    const known = ["batchSize", "shuffle", "dropLast", "generator", "collate"];
    if (options === null || typeof options !== "object") throw new ValueError(`DataLoader: options must be an object, got ${String(options)}`);
    for (const key of Object.keys(options)) {
      if (!known.includes(key)) throw new ValueError(`DataLoader got an unexpected option '${key}' (known: ${known.join(", ")})`);
    }
    const isArray = Array.isArray(dataset);
    if (dataset === null || typeof dataset !== "object" || (!isArray && typeof (dataset as { getItem?: unknown }).getItem !== "function")) {
      throw new ValueError("DataLoader: dataset must be a Dataset, an object with length and getItem(index), or an array");
    }
    if (!Number.isInteger(dataset.length) || dataset.length < 0) throw new ValueError(`DataLoader: dataset length must be a non-negative integer, got ${String(dataset.length)}`);
    const batchSize = options.batchSize ?? 1;
    if (!Number.isInteger(batchSize) || batchSize <= 0) {
      throw new ValueError(`batch_size should be a positive integer value, but got batch_size=${String(batchSize)}`);
    }
    for (const flag of ["shuffle", "dropLast"] as const) {
      if (options[flag] !== undefined && typeof options[flag] !== "boolean") throw new ValueError(`DataLoader: ${flag} must be a boolean, got ${String(options[flag])}`);
    }
    if (options.shuffle === true && dataset.length === 0) {
      throw new ValueError("num_samples should be a positive integer value, but got num_samples=0 (shuffle: true needs a non-empty dataset)");
    }
    if (options.generator !== undefined && !Generator.isGenerator(options.generator)) throw new ValueError("DataLoader: generator must be a Generator");
    if (options.collate !== undefined && typeof options.collate !== "function") throw new ValueError("DataLoader: collate must be a function");
    this.dataset = dataset;
    this.batchSize = batchSize;
    this.shuffle = options.shuffle ?? false;
    this.dropLast = options.dropLast ?? false;
    this.generator = options.generator;
    this.collate = options.collate;
  }

  /** Number of batches per epoch (PyTorch's `len(loader)`). */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  private rng(): Generator {
    return this.generator ?? defaultGenerator();
  }

  /** Starts an epoch (or resumes the loaded one): the base-seed draw happens here, as in PyTorch. */
  private begin(): Epoch {
    if (this.resume !== undefined) {
      const resumed = this.resume;
      this.resume = undefined;
      return (this.current = resumed);
    }
    this.rng().random64();
    return (this.current = { order: null, seed: null, started: false, position: 0, trailingDrawn: false, yielded: 0, finished: false });
  }

  private pull(e: Epoch): number | undefined {
    const n = this.dataset.length;
    if (!e.started) {
      e.started = true;
      if (this.shuffle) {
        if (this.generator === undefined) {
          e.seed = defaultGenerator().random64() % MOD_2_63;
          e.order = permutation(n, new Generator().manualSeed(e.seed));
        } else {
          e.order = permutation(n, this.generator);
        }
      }
    }
    if (e.position < n) {
      const i = e.position++;
      return e.order === null ? i : e.order[i]!;
    }
    // RandomSampler's `yield from torch.randperm(n, generator=generator).tolist()[:0]`: one more
    // draw from the generator; without one it comes from a private generator nobody sees.
    if (this.shuffle && !e.trailingDrawn && this.generator !== undefined) permutation(n, this.generator);
    e.trailingDrawn = true;
    return undefined;
  }

  /** The next batch's indices (PyTorch's BatchSampler), or undefined at the end of the epoch. */
  private nextIndices(e: Epoch): number[] | undefined {
    if (e.finished) return undefined;
    const batch: number[] = [];
    while (batch.length < this.batchSize) {
      const i = this.pull(e);
      if (i === undefined) break;
      batch.push(i);
    }
    if (batch.length === this.batchSize || (batch.length > 0 && !this.dropLast)) {
      e.yielded++;
      return batch;
    }
    e.finished = true;
    if (this.current === e) {
      this.current = undefined;
      this.epoch++;
    }
    return undefined;
  }

  private item(i: number): T {
    const d = this.dataset;
    return Array.isArray(d) ? (d[i] as T) : (d as { getItem(index: number): T }).getItem(i);
  }

  private makeBatch(indices: number[], items?: T[]): B {
    if (items === undefined) {
      const batched = (this.dataset as { getItems?: (idx: number[]) => T }).getItems;
      if (this.collate === undefined && typeof batched === "function") return batched.call(this.dataset, indices) as unknown as B;
      items = indices.map((i) => this.item(i));
    }
    return this.collate !== undefined ? this.collate(items) : (defaultCollate(items) as B);
  }

  /** Iterates one epoch of batches. */
  *[Symbol.iterator](): Iterator<B> {
    const e = this.begin();
    for (let indices = this.nextIndices(e); indices !== undefined; indices = this.nextIndices(e)) yield this.makeBatch(indices);
  }

  /** Iterates one epoch of batches, awaiting items that are promises. */
  async *[Symbol.asyncIterator](): AsyncIterator<B> {
    const e = this.begin();
    for (let indices = this.nextIndices(e); indices !== undefined; indices = this.nextIndices(e)) {
      const direct = this.collate === undefined && typeof (this.dataset as { getItems?: unknown }).getItems === "function";
      yield direct ? this.makeBatch(indices) : this.makeBatch(indices, await Promise.all(indices.map((i) => this.item(i))));
    }
  }

  /** The loader's position: finished epochs and, mid-epoch, where in which order it stands. */
  stateDict(): DataLoaderStateDict {
    const e = this.resume ?? this.current;
    const live = e !== undefined && !e.finished;
    return {
      epoch: this.epoch,
      inProgress: live,
      batchIndex: live ? e.yielded : 0,
      position: live ? e.position : 0,
      trailingDrawn: live ? e.trailingDrawn : false,
      samplerSeed: live && e.seed !== null ? e.seed.toString() : null,
      order: live && e.started && e.order !== null && e.seed === null ? Array.from(e.order) : null,
      generatorState: this.generator !== undefined ? this.generator.getState() : null,
    };
  }

  /**
   * Restores a position from `stateDict()`: the next iteration continues the saved epoch without
   * drawing again (restore the default generator's state from the same checkpoint for the draws
   * after it). Throws LockstepError and changes nothing for a dict that does not fit this loader.
   */
  loadStateDict(dict: DataLoaderStateDict): void {
    if (dict === null || typeof dict !== "object") throw new LockstepError(`DataLoader.loadStateDict expects an object, got ${String(dict)}`);
    const n = this.dataset.length;
    const { epoch, inProgress, batchIndex, position, trailingDrawn, samplerSeed, order, generatorState } = dict;
    if (!Number.isInteger(epoch) || epoch < 0) throw new LockstepError(`DataLoader.loadStateDict: epoch must be a non-negative integer, got ${String(epoch)}`);
    if (typeof inProgress !== "boolean") throw new LockstepError("DataLoader.loadStateDict: inProgress must be a boolean");
    if (inProgress && (!Number.isInteger(position) || position < 0 || position > n || !Number.isInteger(batchIndex) || batchIndex < 0)) {
      throw new LockstepError(`DataLoader.loadStateDict: position ${String(position)} does not fit a dataset of length ${n}`);
    }
    if (order !== null && order !== undefined && (!Array.isArray(order) || order.length !== n)) {
      throw new LockstepError(`DataLoader.loadStateDict: the saved order has ${Array.isArray(order) ? order.length : "no"} entries, the dataset ${n}`);
    }
    if (inProgress && this.shuffle && position > 0 && samplerSeed == null && order == null) {
      throw new LockstepError("DataLoader.loadStateDict: a shuffled epoch in progress needs samplerSeed or order");
    }
    if ((generatorState != null) !== (this.generator !== undefined)) {
      throw new LockstepError("DataLoader.loadStateDict: the saved loader and this one differ in having a generator");
    }
    let resumed: Epoch | undefined;
    if (inProgress) {
      const seed = samplerSeed == null ? null : BigInt(samplerSeed);
      const started = position > 0 || trailingDrawn === true;
      const restored = seed !== null ? permutation(n, new Generator().manualSeed(seed)) : order != null ? Int32Array.from(order) : null;
      resumed = { order: restored, seed, started, position, trailingDrawn: trailingDrawn === true, yielded: batchIndex, finished: false };
    }
    if (generatorState != null) this.generator!.setState(generatorState);
    this.epoch = epoch;
    this.resume = resumed;
    this.current = undefined;
  }
}

function permutation(n: number, generator: Generator): Int32Array {
  const t: Tensor = randperm(n, { generator });
  const values = Int32Array.from(t.dataSync() as Int32Array);
  t.dispose();
  return values;
}
