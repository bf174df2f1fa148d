// A consumer program: what a user of the published packages writes. Type-checked under NodeNext
// and Bundler resolution, run in Node and bundled for the browser by the consumer check.
import { manualSeed, nn, tensor, useDeterministicAlgorithms } from "lockstep";

useDeterministicAlgorithms(true);
manualSeed(42);
const lin = new nn.Linear(4, 2);
const out: unknown = await lin.forward(tensor([[1, 2, 3, 4]])).toArray();
console.log(JSON.stringify(out));
