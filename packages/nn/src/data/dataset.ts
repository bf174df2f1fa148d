// Datasets, like torch.utils.data.Dataset and TensorDataset: anything with a length and an item
// per index.
import { Tensor, ValueError, ShapeError, IndexError, indexSelect, tensor } from "@lockstep/core";

/**
 * A map-style dataset, like torch.utils.data.Dataset: `length` items, item `i` from `getItem(i)`
 * (PyTorch's `__len__` and `__getitem__`).
 */
export abstract class Dataset<T> {
  /** Number of items. */
  abstract readonly length: number;
  /** The item at `index` (0 ≤ index < length); may return a promise when iterated with `for await`. */
  abstract getItem(index: number): T;
}

/** What a DataLoader accepts: a Dataset, any `{ length, getItem }` object, or a plain array. */
export type DatasetLike<T> = Dataset<T> | { readonly length: number; getItem(index: number): T } | readonly T[];

/**
 * Like torch.utils.data.TensorDataset: item `i` is the tuple of row `i` of each tensor; all tensors
 * need the same size along dim 0.
 */
export class TensorDataset<T extends Tensor[] = Tensor[]> extends Dataset<T> {
  /** The tensors, as given. */
  readonly tensors: T;

  /** Throws ShapeError when the tensors' first dimensions differ (PyTorch's "Size mismatch between tensors"). */
  constructor(...tensors: T) {
    super();
    if (tensors.length === 0) throw new ValueError("TensorDataset needs at least one tensor");
    tensors.forEach((t, i) => {
      if (!(t instanceof Tensor)) throw new ValueError(`TensorDataset: argument ${i} is not a Tensor`);
      if (t.ndim === 0) throw new ShapeError(`TensorDataset: tensor ${i} is 0-d; every tensor needs a first dimension`);
    });
    const n = tensors[0]!.shape[0]!;
    tensors.forEach((t, i) => {
      if (t.shape[0] !== n) {
        throw new ShapeError(`Size mismatch between tensors: tensor 0 has ${n} rows, tensor ${i} has ${t.shape[0]} (shape [${t.shape.join(", ")}])`);
      }
    });
    this.tensors = tensors;
  }

  /** The common size of dim 0. */
  get length(): number {
    return this.tensors[0]!.shape[0]!;
  }

  /** Row `index` of every tensor. */
  getItem(index: number): T {
    checkIndex(index, this.length);
    return this.tensors.map((t) => t.narrow(0, index, 1).reshape(t.shape.slice(1))) as T;
  }

  /**
   * Rows `indices` of every tensor at once (one gather per tensor): the same values the default
   * collate gives from stacking the single items (PyTorch 2's `__getitems__`).
   */
  getItems(indices: readonly number[]): T {
    indices.forEach((i) => checkIndex(i, this.length));
    return this.tensors.map((t) => indexSelect(t, 0, tensor(Int32Array.from(indices), { device: t.device }))) as T;
  }
}

function checkIndex(index: number, length: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= length) {
    throw new IndexError(`index ${index} is out of range for a dataset of length ${length}`);
  }
}
