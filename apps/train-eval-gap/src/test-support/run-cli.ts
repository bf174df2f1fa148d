// Runs the built CLI (dist/cli.js) as a child process, the way a user or CI would, and hands back
// its exit code and both streams. Tests use the build, not the sources, so they check what ships.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const CLI_PATH = fileURLToPath(new URL("../../dist/cli.js", import.meta.url));

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Small enough to finish in seconds; the seed experiments still run at full size. */
export const TINY = ["--epochs", "1", "--train-size", "48", "--test-size", "24", "--no-progress"];

export function runCli(args: string[], timeoutMs = 240_000): Promise<CliRun> {
  if (!existsSync(CLI_PATH)) {
    throw new Error(`${CLI_PATH} is missing: build the app first (npx turbo run build --filter=@lockstep/train-eval-gap...)`);
  }
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI_PATH, ...args], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== "number") {
        reject(new Error(`${CLI_PATH} did not exit normally: ${error.message}\n${stderr}`));
        return;
      }
      resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr });
    });
  });
}
