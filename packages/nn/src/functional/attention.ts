// nn.functional attention: scaled dot-product attention composed from core ops (matmul, where,
// softmax, dropout), and the mask helpers the attention and transformer layers share. Composition
// is deliberate: every reduction (q·kᵀ over the head dim, softmax over keys, weights·v over keys,
// and every gradient sum) is a deterministic primitive whose order depends only on the reduced
// length, so attention inherits batch, thread and CPU≡WebGPU invariance without kernels of its own.
// This file is not a fused or memory-efficient attention: it materialises the [L, S] weights.
import { DTypeError, ShapeError, Tensor, ValueError, arange, isFloating, where, zeros, formatValue } from "@lockstep/core";
import { dropout } from "../functional.js";

/** Options of `scaledDotProductAttention`, like the keyword arguments of PyTorch 2.x's. */
export interface ScaledDotProductAttentionOptions {
  /**
   * Broadcastable to [..., L, S]. A bool mask says which positions TAKE PART (true = attend), as in
   * PyTorch 2.x's scaled_dot_product_attention; a float mask is added to the scores.
   */
  attnMask?: Tensor;
  /** Probability of zeroing an attention weight (always applied when > 0, as in PyTorch); default 0. */
  dropoutP?: number;
  /** Lets query i attend to keys 0..i only (top-left aligned); not together with `attnMask`. */
  isCausal?: boolean;
  /** Factor applied to q·kᵀ; default 1/√E with E the query's last dim. */
  scale?: number;
}

const shapeText = (shape: readonly number[]): string => `[${shape.join(", ")}]`;

/** True when `from` broadcasts to exactly `to` (numpy rules, `from` never larger). */
function broadcastsTo(from: readonly number[], to: readonly number[]): boolean {
  if (from.length > to.length) return false;
  for (let i = 1; i <= from.length; i++) {
    const f = from[from.length - i]!;
    if (f !== 1 && f !== to[to.length - i]) return false;
  }
  return true;
}

/** True when the two shapes broadcast together. */
function broadcastable(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 1; i <= Math.min(a.length, b.length); i++) {
    const x = a[a.length - i]!;
    const y = b[b.length - i]!;
    if (x !== y && x !== 1 && y !== 1) return false;
  }
  return true;
}

/** Bool [L, S] that is true where key j ≤ query i: PyTorch's `ones(L, S).tril()`. */
export function causalMask(targetLength: number, sourceLength: number, device = "cpu"): Tensor {
  return arange(targetLength, { device, dtype: "int32" })
    .unsqueeze(1)
    .ge(arange(sourceLength, { device, dtype: "int32" }).unsqueeze(0));
}

/**
 * Like torch.nn.Transformer.generate_square_subsequent_mask(sz): a float [sz, sz] mask with −inf
 * above the diagonal and 0 elsewhere, to add to attention scores.
 */
export function generateSquareSubsequentMask(size: number, options: { device?: string; dtype?: "float32" | "float64" } = {}): Tensor {
  if (!Number.isInteger(size) || size < 0) throw new ValueError(`size must be a non-negative integer, got ${formatValue(size)}`);
  const allowed = causalMask(size, size, options.device ?? "cpu");
  return zeros([size, size], { dtype: options.dtype ?? "float32", device: allowed.device }).maskedFill(allowed.logicalNot(), -Infinity);
}

/**
 * Like torch.nn.functional.scaled_dot_product_attention (PyTorch 2.x):
 * `softmax(q·kᵀ·scale + mask) · v`, with dropout on the weights. q is [..., L, E], k [..., S, E],
 * v [..., S, Ev]; leading dims broadcast (batch, heads). A row whose keys are all masked gives NaN,
 * as in PyTorch's math kernel. Throws ShapeError / DTypeError / ValueError naming the values, before
 * computing anything.
 */
export function scaledDotProductAttention(
  query: Tensor,
  key: Tensor,
  value: Tensor,
  options: ScaledDotProductAttentionOptions = {},
): Tensor {
  const { attnMask, dropoutP = 0, isCausal = false, scale } = options;
  for (const [name, t] of [["query", query], ["key", key], ["value", value]] as const) {
    if (!(t instanceof Tensor)) throw new ValueError(`scaled_dot_product_attention: ${name} must be a Tensor`);
    if (t.ndim < 2) throw new ShapeError(`scaled_dot_product_attention: ${name} must have at least 2 dims, got shape ${shapeText(t.shape)}`);
  }
  if (!isFloating(query.dtype) || key.dtype !== query.dtype || value.dtype !== query.dtype) {
    throw new DTypeError(
      `Expected query, key, and value to have the same floating dtype, but got query.dtype: ${query.dtype}, ` +
        `key.dtype: ${key.dtype} and value.dtype: ${value.dtype} instead.`,
    );
  }
  const [L, E] = query.shape.slice(-2) as [number, number];
  const [S, Ek] = key.shape.slice(-2) as [number, number];
  if (Ek !== E) {
    throw new ShapeError(`scaled_dot_product_attention: query's last dim ${E} must equal key's last dim ${Ek} (query ${shapeText(query.shape)}, key ${shapeText(key.shape)})`);
  }
  if (value.shape[value.ndim - 2] !== S) {
    throw new ShapeError(`scaled_dot_product_attention: key and value must have the same sequence length, got key ${shapeText(key.shape)} and value ${shapeText(value.shape)}`);
  }
  const qBatch = query.shape.slice(0, -2);
  const kBatch = key.shape.slice(0, -2);
  const vBatch = value.shape.slice(0, -2);
  if (!broadcastable(qBatch, kBatch) || !broadcastable(qBatch, vBatch) || !broadcastable(kBatch, vBatch)) {
    throw new ShapeError(
      `scaled_dot_product_attention: the batch dims of query ${shapeText(query.shape)}, key ${shapeText(key.shape)} and value ${shapeText(value.shape)} do not broadcast`,
    );
  }
  if (attnMask !== undefined) {
    if (!(attnMask instanceof Tensor)) throw new ValueError("scaled_dot_product_attention: attnMask must be a Tensor");
    if (isCausal) {
      throw new ValueError("_scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True");
    }
    if (attnMask.dtype !== "bool" && attnMask.dtype !== query.dtype) {
      throw new DTypeError(`Expected attn_mask dtype to be bool or to match query dtype (${query.dtype}), but got attn_mask.dtype: ${attnMask.dtype}`);
    }
    if (!broadcastsTo(attnMask.shape.slice(-2), [L, S])) {
      throw new ShapeError(`scaled_dot_product_attention: attn_mask of shape ${shapeText(attnMask.shape)} does not broadcast to the scores' [..., ${L}, ${S}]`);
    }
    if (!broadcastable(attnMask.shape.slice(0, -2), qBatch)) {
      throw new ShapeError(`scaled_dot_product_attention: attn_mask of shape ${shapeText(attnMask.shape)} does not broadcast with query ${shapeText(query.shape)}`);
    }
  }
  if (typeof dropoutP !== "number" || !(dropoutP >= 0 && dropoutP <= 1)) {
    throw new ValueError(`dropout probability has to be between 0 and 1, but got ${formatValue(dropoutP)}`);
  }
  if (scale !== undefined && (typeof scale !== "number" || !Number.isFinite(scale))) {
    throw new ValueError(`scaled_dot_product_attention: scale must be a finite number, got ${formatValue(scale)}`);
  }

  const factor = scale ?? 1 / Math.sqrt(E);
  let scores = query.matmul(key.transpose(-2, -1)).mul(factor);
  if (isCausal) scores = where(causalMask(L, S, query.device), scores, -Infinity);
  if (attnMask !== undefined) {
    scores = attnMask.dtype === "bool" ? where(attnMask, scores, -Infinity) : scores.add(attnMask);
  }
  let weights = scores.softmax(-1);
  if (dropoutP > 0) weights = dropout(weights, dropoutP, true);
  return weights.matmul(value);
}
