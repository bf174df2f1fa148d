// Runs in a browser: WebGPU through navigator.gpu, then the same Linear on CPU and GPU with the
// deterministic flag on, compared bit for bit. The result lands in window.lockstepResult.
import { manualSeed, nn, randn, useDeterministicAlgorithms, webgpu } from "lockstep";

async function run(): Promise<unknown> {
  useDeterministicAlgorithms(true);
  const adapter = await webgpu.init();
  manualSeed(0);
  const x = randn([16, 32]);
  const lin = new nn.Linear(32, 8);
  const cpu = new Uint32Array(Float32Array.from(lin.forward(x).dataSync()).buffer);
  const gpuOut = await lin.to("webgpu").forward(x.to("webgpu")).data();
  const gpu = new Uint32Array(Float32Array.from(gpuOut).buffer);
  let differing = 0;
  for (let i = 0; i < cpu.length; i++) if (cpu[i] !== gpu[i]) differing++;
  return { adapter, capabilities: webgpu.capabilities(), elements: cpu.length, differing };
}

run().then(
  (result) => {
    (window as unknown as { lockstepResult: unknown }).lockstepResult = result;
    document.getElementById("out")!.textContent = JSON.stringify(result, null, 2);
  },
  (error: Error) => {
    (window as unknown as { lockstepResult: unknown }).lockstepResult = { error: `${error.name}: ${error.message}` };
  },
);
