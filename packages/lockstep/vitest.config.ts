import { defineProject } from "vitest/config";

export default defineProject({
  // Deterministic kernels on a shared 2-core machine: some suites take tens of seconds.
  test: { include: ["src/**/*.test.ts", "test/**/*.test.ts"], pool: "forks", testTimeout: 180_000 },
});
