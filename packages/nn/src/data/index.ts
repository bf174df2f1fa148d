// Data loading, like torch.utils.data.
/**
 * Datasets and the DataLoader, like torch.utils.data: `new data.DataLoader(new
 * data.TensorDataset(x, y), { batchSize: 32, shuffle: true })`. Shuffled orders equal PyTorch's
 * after the same `manualSeed`. Exported as `nn.data` and as `data` from "lockstep".
 * @module
 */
export { Dataset, TensorDataset, type DatasetLike } from "./dataset.js";
export { DataLoader, type DataLoaderOptions, type DataLoaderStateDict } from "./dataloader.js";
export { defaultCollate, type Collated } from "./collate.js";
