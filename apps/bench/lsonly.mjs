// scratch: only lockstep's cases of one workload, through the bench runner
import { lockstepPeer } from "./dist/peers/lockstep.js";
import { runWorkload } from "./dist/runner.js";
import { workloadsFor } from "./dist/workloads.js";
const name = process.env.W ?? "mlp train step b16";
const workloads = workloadsFor("full").filter(w => w.name === name);
const ctx = { workloads, wants: (lib, backend) => (process.env.B ? backend === process.env.B : true), webgpu: true, log: () => {} };
const setup = await lockstepPeer(ctx);
const out = await runWorkload(workloads[0], setup.cases, { reps: Number(process.env.REPS ?? 10), minReps: 3, caseBudgetMs: 5000, targetSampleMs: Number(process.env.TS ?? 20), warmupMs: 500, log: () => {} });
for (const m of out.measurements) console.log(m.backend, m.mode, m.threads, m.medianMs.toFixed(3), m.samples.map(x => x.toFixed(1)).join(" "));
await setup.close?.();
process.exit(0);
