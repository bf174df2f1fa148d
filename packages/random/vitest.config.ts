import { defineProject } from "vitest/config";

export default defineProject({
  // The BigInt reference checks take seconds; a loaded CI machine can be several times slower.
  test: { include: ["src/**/*.test.ts", "test/**/*.test.ts"], pool: "forks", testTimeout: 60_000 },
});
