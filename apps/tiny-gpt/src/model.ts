// A GPT from PyTorch's building blocks: token and position embeddings, nn.TransformerEncoderLayer
// blocks (pre-norm, GELU, batch first) under a causal mask, a final LayerNorm and a Linear head.
// Parameter names and the order of init draws are PyTorch's, so `manualSeed(s)` gives the weights
// `torch.manual_seed(s)` gives the same model built from torch.nn modules.
import { keep, nn, tensor, type Tensor } from "lockstep";

export interface GptConfig {
  vocabSize: number;
  /** Context length in characters. */
  blockSize: number;
  dModel: number;
  nHead: number;
  nLayer: number;
  dimFeedforward: number;
  dropout: number;
}

/** Token ids [B, T] to next-character logits [B, T, vocabSize]. */
export class TinyGpt extends nn.Module<[Tensor], Tensor> {
  tok_emb: nn.Embedding;
  pos_emb: nn.Embedding;
  blocks: nn.Sequential;
  ln_f: nn.LayerNorm;
  head: nn.Linear;
  readonly config: GptConfig;
  readonly #masks = new Map<string, Tensor>();

  constructor(config: GptConfig) {
    super();
    this.config = config;
    this.tok_emb = new nn.Embedding(config.vocabSize, config.dModel);
    this.pos_emb = new nn.Embedding(config.blockSize, config.dModel);
    // Independent layers (PyTorch's nn.TransformerEncoder would deep-copy one layer's weights).
    this.blocks = new nn.Sequential(
      ...Array.from(
        { length: config.nLayer },
        () =>
          new nn.TransformerEncoderLayer(config.dModel, config.nHead, {
            dimFeedforward: config.dimFeedforward,
            dropout: config.dropout,
            activation: "gelu",
            batchFirst: true,
            normFirst: true,
          }),
      ),
    );
    this.ln_f = new nn.LayerNorm(config.dModel);
    this.head = new nn.Linear(config.dModel, config.vocabSize);
  }

  /** The [T, T] causal mask on `device` (−inf above the diagonal), made once per length and device. */
  causalMask(steps: number, device: string): Tensor {
    const key = `${steps}@${device}`;
    let mask = this.#masks.get(key);
    if (mask === undefined) {
      // Kept: it outlives the training-step scope it is first made in.
      mask = keep(nn.functional.generateSquareSubsequentMask(steps, { device }));
      this.#masks.set(key, mask);
    }
    return mask;
  }

  forward(ids: Tensor): Tensor {
    const steps = ids.shape[1]!;
    const positions = tensor(Int32Array.from({ length: steps }, (_, i) => i), { device: ids.device });
    let x = this.tok_emb.forward(ids).add(this.pos_emb.forward(positions));
    const mask = this.causalMask(steps, ids.device);
    for (let i = 0; i < this.config.nLayer; i++) x = (this.blocks.at(i) as nn.TransformerEncoderLayer).forward(x, { srcMask: mask, isCausal: true });
    return this.head.forward(this.ln_f.forward(x));
  }

  numParameters(): number {
    return this.parameters().reduce((n, p) => n + p.numel(), 0);
  }
}
