import { defineProject } from "vitest/config";

export default defineProject({
  // forks: vitest's threads pool segfaults in Dawn's teardown. --expose-gc lets one test check
  // that a storage dropped without dispose() returns its buffer when collected.
  test: { include: ["src/**/*.test.ts", "test/**/*.test.ts"], pool: "forks", execArgv: ["--expose-gc"], testTimeout: 60_000 },
});
