// Options shared by every layer that creates parameters.
import type { DType } from "@lockstep/core";

/** Where a layer creates its parameters, like PyTorch's device= and dtype= factory keywords. */
export interface FactoryOptions {
  /** Device of the parameters; default "cpu". */
  device?: string;
  /** Dtype of the parameters; default float32. */
  dtype?: DType;
}
