// The runner's schedule, on fake cases that count their calls (no library, no timing asserted).
import { describe, expect, it } from "vitest";
import { runWorkload, shuffled, type BenchCase, type RunOptions } from "./runner.js";
import { uniformSource, type Workload } from "./workloads.js";

const workload = { kind: "matmul", name: "fake", m: 1, k: 1, n: 1, flops: 2 } as unknown as Workload;

/**
 * A case whose every call reports that it took `ms` milliseconds (a case may time itself, as the
 * PyTorch peer does), so the schedule does not depend on how busy the machine is; calls are counted.
 */
function counting(ms: number, warmups?: number): BenchCase & { calls: number } {
  const c = {
    library: "fake",
    backend: "cpu",
    workload,
    mode: "default" as const,
    threads: 1,
    warmups,
    calls: 0,
    setup() {},
    run() {
      c.calls++;
      return ms;
    },
  };
  return c;
}

const options = (over: Partial<RunOptions>): RunOptions => ({
  reps: 3,
  minReps: 3,
  caseBudgetMs: 1000,
  targetSampleMs: 1,
  log: () => {},
  ...over,
});

describe("runWorkload warm-up", () => {
  it("keeps calling a quick case until the warm-up has lasted warmupMs", async () => {
    const c = counting(2);
    const { measurements } = await runWorkload(workload, [c], options({ warmupMs: 40 }));
    // Two warm-up calls as before, then more until the calls after the first add up to 40 ms
    // (19 more of 2 ms); then 3 samples of 1 call each.
    expect(measurements[0]!.samples).toEqual([2, 2, 2]);
    expect(c.calls).toBe(2 + 19 + 3);
  });

  it("warms up only once or twice without warmupMs", async () => {
    const c = counting(2);
    await runWorkload(workload, [c], options({}));
    expect(c.calls).toBe(2 + 3);
  });

  it("does not extend the warm-up of a slow case beyond its first calls", async () => {
    const c = counting(30, 1);
    await runWorkload(workload, [c], options({ warmupMs: 20 }));
    expect(c.calls).toBe(1 + 3);
  });
});

describe("calls per sample", () => {
  it("loops a quick call until a sample lasts targetSampleMs, also past a hundred calls", async () => {
    // 0.02 ms per call and 8 ms per sample: 400 calls (a cap of 100 would give 2 ms samples).
    const { measurements } = await runWorkload(workload, [counting(0.02)], options({ targetSampleMs: 8 }));
    expect(measurements[0]!.callsPerSample).toBe(400);
  });

  it("caps the loop at 1000 calls", async () => {
    const { measurements } = await runWorkload(workload, [counting(0.001)], options({ targetSampleMs: 8 }));
    expect(measurements[0]!.callsPerSample).toBe(1000);
  });
});

describe("round order", () => {
  it("shuffles into a permutation, the same one from the same seed", () => {
    const items = Array.from({ length: 8 }, (_, i) => i);
    const a = shuffled(items, uniformSource(7));
    expect([...a].sort((x, y) => x - y)).toEqual(items);
    expect(shuffled(items, uniformSource(7))).toEqual(a);
    expect(items).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it("gives each case many different predecessors over the rounds", async () => {
    // Eight cases that log which one ran before them; after 20 rounds a fixed cyclic order would
    // show one predecessor per case (two with the start rotating), a shuffled one most of them.
    const ran: string[] = [];
    const cases = Array.from({ length: 8 }, (_, i) => {
      const c = counting(1);
      const run = c.run;
      return Object.assign(c, { threads: i, run: () => (ran.push(String(i)), run()) });
    });
    await runWorkload(workload, cases, options({ reps: 20, minReps: 20 }));
    const timed = ran.slice(ran.length - 8 * 20);
    const before = new Map<string, Set<string>>();
    for (let i = 1; i < timed.length; i++) {
      if (!before.has(timed[i]!)) before.set(timed[i]!, new Set());
      before.get(timed[i]!)!.add(timed[i - 1]!);
    }
    for (const [, set] of before) expect(set.size).toBeGreaterThanOrEqual(4);
  });

  it("samples the modes of one library, backend and thread count back to back", async () => {
    // Lockstep-like cases in two modes and two thread counts, and two peers; in every round the
    // fast and deterministic samples of a thread count must be neighbours, in either order, while
    // the groups themselves still move around.
    const ran: string[] = [];
    const make = (library: string, mode: "fast" | "deterministic" | "default", threads: number) => {
      const c = counting(1);
      const run = c.run;
      return Object.assign(c, { library, mode, threads, run: () => (ran.push(`${library} ${mode} ${threads}`), run()) });
    };
    const cases = [
      make("lib", "fast", 1), make("lib", "deterministic", 1), make("lib", "fast", 2), make("lib", "deterministic", 2),
      make("peerA", "default", 1), make("peerB", "default", 1),
    ];
    const rounds = 12;
    await runWorkload(workload, cases, options({ reps: rounds, minReps: rounds }));
    const timed = ran.slice(ran.length - cases.length * rounds);
    const firsts = new Set<string>();
    for (let r = 0; r < rounds; r++) {
      const round = timed.slice(r * cases.length, (r + 1) * cases.length);
      expect(new Set(round).size).toBe(cases.length);
      for (const threads of [1, 2]) {
        const fast = round.indexOf(`lib fast ${threads}`);
        const det = round.indexOf(`lib deterministic ${threads}`);
        expect(Math.abs(fast - det)).toBe(1);
      }
      firsts.add(round[0]!);
      firsts.add(round.indexOf("lib fast 1") < round.indexOf("lib deterministic 1") ? "fast first" : "det first");
    }
    // Over 12 rounds both modes lead sometimes, and more than one group opens a round.
    expect(firsts.has("fast first") && firsts.has("det first")).toBe(true);
    expect(firsts.size).toBeGreaterThanOrEqual(4);
  });
});
