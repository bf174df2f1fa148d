// Evaluation: the trained model in eval mode (dropout off, BatchNorm on its running statistics),
// run over the test set in batches of a chosen size, with the logits of every batch copied back to the host in test-set order. Running
// the same images through the same weights with batch 1 and with batch 16 is the whole
// experiment: any difference between the two logit arrays comes from the kernels alone.
//
// Which kernels run is decided by the global deterministic flag; this file only sets it when asked
// (`withDeterministic`) and always restores it.
import { areDeterministicAlgorithmsEnabled, cat, noGrad, scope, tensor, useDeterministicAlgorithms, type nn, type Tensor } from "lockstep";
import { CLASSES, IMAGE_SIZE, type Split } from "./data.js";

/** At most this many images' activations stay on the device before their logits are read back. */
const READ_BACK_EVERY = 1024;

export interface EvalResult {
  batchSize: number;
  /** [count, 10] logits in test-set order. */
  logits: Float32Array;
  seconds: number;
}

/** Runs `fn` with the deterministic flag set to `mode`, then restores the previous setting. */
export async function withDeterministic<T>(mode: boolean, fn: () => Promise<T>): Promise<T> {
  const previous = areDeterministicAlgorithmsEnabled();
  useDeterministicAlgorithms(mode);
  try {
    return await fn();
  } finally {
    useDeterministicAlgorithms(previous);
  }
}

/**
 * Logits of every test image, computed `batchSize` images at a time on `device`. Each batch is its
 * own forward pass (that is what makes batch 1 differ from batch 16 when kernels are not batch
 * invariant); the outputs are only joined afterwards, so the joining cannot change any value.
 * Outputs are gathered on the device and read back in chunks, not once per batch, because each
 * WebGPU read-back waits for the queue.
 */
export async function evaluateLogits(model: nn.Module, split: Split, batchSize: number, device: string): Promise<EvalResult> {
  model.eval();
  const logits = new Float32Array(split.count * CLASSES);
  const started = performance.now();
  // A whole number of batches per chunk, so chunking never changes how the images are batched.
  const chunk = Math.ceil(READ_BACK_EVERY / batchSize) * batchSize;
  for (let chunkStart = 0; chunkStart < split.count; chunkStart += chunk) {
    const chunkEnd = Math.min(split.count, chunkStart + chunk);
    const joined = scope(() =>
      noGrad(() => {
        const outputs: Tensor[] = [];
        for (let start = chunkStart; start < chunkEnd; start += batchSize) {
          const size = Math.min(batchSize, chunkEnd - start);
          const pixels = split.images.subarray(start * IMAGE_SIZE, (start + size) * IMAGE_SIZE);
          const x = tensor(pixels, { device }).reshape([size, IMAGE_SIZE]);
          outputs.push(model.forward(x));
        }
        return outputs.length === 1 ? outputs[0]! : cat(outputs, 0);
      }),
    );
    logits.set((await joined.data()) as Float32Array, chunkStart * CLASSES);
    joined.dispose();
  }
  return { batchSize, logits, seconds: (performance.now() - started) / 1000 };
}
