import { manualSeed, nn, optim, randn, randint, scope, useDeterministicAlgorithms } from "lockstep";
const F = nn.functional;
for (const det of [false, true]) {
  useDeterministicAlgorithms(det);
  manualSeed(0);
  const model = new nn.Sequential(new nn.Conv2d(1, 6, 5), new nn.ReLU(), new nn.MaxPool2d(2), new nn.Conv2d(6, 16, 5), new nn.ReLU(), new nn.MaxPool2d(2), new nn.Flatten(), new nn.Linear(256, 120), new nn.ReLU(), new nn.Linear(120, 84), new nn.ReLU(), new nn.Linear(84, 10));
  const opt = new optim.SGD(model.parameters(), { lr: 0.01 });
  const x = randn([16, 1, 28, 28]); const y = randint(0, 10, [16], { dtype: "int32" });
  const times = [];
  for (let i = 0; i < 30; i++) {
    const t0 = performance.now();
    scope(() => { opt.zeroGrad(); const loss = F.crossEntropy(model.forward(x), y); loss.backward(); opt.step(); loss.dataSync(); });
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const w = randn([8, 64, 32, 32]); const conv = new nn.Conv2d(64, 64, 3, { padding: 1 });
  const ct = [];
  for (let i = 0; i < 10; i++) { const t0 = performance.now(); scope(() => conv.forward(w).dataSync()); ct.push(performance.now() - t0); }
  ct.sort((a, b) => a - b);
  console.log(det ? "det" : "fast", "lenet step median ms", times[15].toFixed(2), "conv64 fwd", ct[5].toFixed(2));
}
