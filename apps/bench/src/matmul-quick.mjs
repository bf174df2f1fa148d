// Quick CPU matmul GFLOP/s: fast (flag off) vs deterministic (flag on), 1 and 2 threads, for the
// shapes of the "bench" issue. Not a test and not part of the CLI: a script to run by hand after
// `npx turbo run build --filter=lockstep...`:
//
//   node apps/bench/src/matmul-quick.mjs
//   SHAPES='[[16,768,768]]' THREADS=1,2,4 ROUNDS=15 LAYOUT=dense node apps/bench/src/matmul-quick.mjs
//
// Each sample runs one configuration for about 60 ms; samples of all configurations are
// interleaved, so a burst of load from other processes hits all of them alike. Reported: the
// median and 90th percentile over samples, and (Linux) the CPU the other processes used during
// them, in cores — on a shared machine, read the numbers with that column.
// LAYOUT=linear (default) multiplies by a transposed weight like nn.Linear (x · Wᵀ, W stored
// [n, k]); LAYOUT=dense by a row-major [k, n] matrix.
import { readFileSync } from "node:fs";

const lockstep = await import(process.env.LOCKSTEP ?? "lockstep");
const { randn, setNumThreads, getNumThreads, useDeterministicAlgorithms } = lockstep;

const shapes = JSON.parse(process.env.SHAPES ?? "[[1,768,768],[16,768,768],[128,768,768],[1024,1024,1024]]");
const modes = (process.env.MODES ?? "fast,deterministic").split(",");
const threadCounts = (process.env.THREADS ?? "1,2").split(",").map(Number);
const rounds = Number(process.env.ROUNDS ?? 9);
const layout = process.env.LAYOUT ?? "linear";
const sampleMs = Number(process.env.SAMPLE_MS ?? 60);

/** CPU time (s) all processes spent so far, or undefined off Linux. */
function machineBusySeconds() {
  try {
    const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    return (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / 100; // user nice system irq softirq steal, at USER_HZ = 100
  } catch {
    return undefined;
  }
}

const configs = [];
for (const [m, k, n] of shapes) {
  const a = randn([m, k]);
  const b = layout === "linear" ? randn([n, k]).transpose(0, 1) : randn([k, n]);
  for (const mode of modes) for (const threads of threadCounts) configs.push({ m, k, n, a, b, mode, threads, samples: [] });
}

function sample(c) {
  setNumThreads(c.threads);
  useDeterministicAlgorithms(c.mode === "deterministic");
  const busy0 = machineBusySeconds();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let t = t0;
  let reps = 0;
  do {
    c.a.matmul(c.b).dispose();
    reps++;
    t = performance.now();
  } while (t - t0 < sampleMs);
  const seconds = (t - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const busy1 = machineBusySeconds();
  const others = busy0 === undefined || busy1 === undefined ? NaN : (busy1 - busy0 - (cpu.user + cpu.system) / 1e6) / seconds;
  return { gflops: (2 * c.m * c.k * c.n * reps) / seconds / 1e9, others };
}

const threadsBefore = getNumThreads();
for (const c of configs) sample(c); // warm-up: compiles the kernels, starts the workers
for (let r = 0; r < rounds; r++) for (const c of configs) c.samples.push(sample(c));
setNumThreads(threadsBefore);
useDeterministicAlgorithms(false);

const quantile = (xs, q) => {
  const sorted = [...xs].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))];
};
console.log(`matmul GFLOP/s, layout ${layout}, ${rounds} interleaved samples of ~${sampleMs} ms each`);
console.log("shape [m,k,n]      mode           threads  median    p90   others (cores)");
for (const c of configs) {
  const g = c.samples.map((s) => s.gflops);
  console.log(
    `[${c.m},${c.k},${c.n}]`.padEnd(19) + c.mode.padEnd(15) + String(c.threads).padStart(7) +
      quantile(g, 0.5).toFixed(1).padStart(8) + quantile(g, 0.9).toFixed(1).padStart(7) +
      quantile(c.samples.map((s) => s.others), 0.5).toFixed(2).padStart(9),
  );
}
for (const [m, k, n] of shapes) {
  for (const threads of threadCounts) {
    const of = (mode) => quantile(configs.find((c) => c.m === m && c.k === k && c.n === n && c.mode === mode && c.threads === threads)?.samples.map((s) => s.gflops) ?? [NaN], 0.5);
    if (modes.includes("fast") && modes.includes("deterministic")) {
      console.log(`[${m},${k},${n}] ${threads} thread(s): deterministic / fast = ${(of("deterministic") / of("fast")).toFixed(2)}`);
    }
  }
}
process.exit(0);
