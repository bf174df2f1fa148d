// The two models the page trains: the same architectures as apps/train-eval-gap (an MLP with
// dropout, and a small CNN with BatchNorm2d and dropout). Both take flattened [N, 784] images.
import { nn, type Tensor } from "lockstep";

export type ModelKind = "mlp" | "cnn";

/** 784-128-64-10, ReLU, Dropout(0.2) after each hidden layer. */
export class Mlp extends nn.Module {
  layers = new nn.Sequential(
    new nn.Linear(784, 128),
    new nn.ReLU(),
    new nn.Dropout(0.2),
    new nn.Linear(128, 64),
    new nn.ReLU(),
    new nn.Dropout(0.2),
    new nn.Linear(64, 10),
  );

  forward(x: Tensor): Tensor {
    return this.layers.forward(x);
  }
}

/** 2 × [Conv2d 3×3, BatchNorm2d, ReLU, MaxPool2d 2] (8 then 16 channels), Dropout(0.2), Linear(784, 10). */
export class Cnn extends nn.Module {
  layers = new nn.Sequential(
    new nn.Conv2d(1, 8, 3, { padding: 1 }),
    new nn.BatchNorm2d(8),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Conv2d(8, 16, 3, { padding: 1 }),
    new nn.BatchNorm2d(16),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Flatten(),
    new nn.Dropout(0.2),
    new nn.Linear(16 * 7 * 7, 10),
  );

  forward(x: Tensor): Tensor {
    return this.layers.forward(x.reshape([x.shape[0]!, 1, 28, 28]));
  }
}

export function buildModel(kind: ModelKind): nn.Module {
  return kind === "cnn" ? new Cnn() : new Mlp();
}

export const MODEL_NAMES: Record<ModelKind, string> = {
  mlp: "MLP 784-128-64-10 with dropout",
  cnn: "CNN: 2 × (Conv2d, BatchNorm2d, ReLU, MaxPool2d), dropout, Linear",
};
