// A first look at Lockstep until the example app lands: the same Linear-style product computed
// for a batch of 16 and for each row alone, with the deterministic flag on.
import { arange, tensor, useDeterministicAlgorithms, areDeterministicAlgorithmsEnabled } from "lockstep";

const x = arange(0, 64).reshape(16, 4).float().div(10);
const w = tensor([
  [0.1, -0.2, 0.3, -0.4],
  [0.5, 0.6, -0.7, 0.8],
]);

useDeterministicAlgorithms(true);
const batch = x.matmul(w.t());
let differing = 0;
for (let i = 0; i < 16; i++) {
  const alone = x.narrow(0, i, 1).matmul(w.t()).dataSync();
  const row = batch.narrow(0, i, 1).contiguous().dataSync();
  for (let j = 0; j < row.length; j++) if (!Object.is(row[j], alone[j])) differing++;
}
console.log("x[:3] @ w.T =", batch.narrow(0, 0, 3).toString());
console.log(`deterministic algorithms: ${areDeterministicAlgorithmsEnabled()}`);
console.log(`elements that differ between batch 16 and batch 1: ${differing}`);
