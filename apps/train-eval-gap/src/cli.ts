#!/usr/bin/env node
// train-eval-gap: trains an MLP on MNIST with batch 16, evaluates it with batch 1 and batch 16,
// and shows the gap between the two open with Lockstep's fast kernels and close with
// useDeterministicAlgorithms(true). This file is only the shell around experiment.ts: arguments,
// what goes to stdout or stderr, the report file, and the exit status.
//
// stdout carries the results: the status lines and tables, or with --json exactly one JSON object
// and nothing else. stderr carries the progress bar, warnings and errors, and with --json the
// status lines too.
//
// Only the option parser is imported up front: the framework, Dawn and Vega load after the
// arguments are known to be good, so --help and usage errors answer at once.
import { USAGE, UsageError, parseOptions, type Options } from "./options.js";

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

function describe(options: Options): string {
  return (
    `train-eval-gap: ${options.trainSize} training / ${options.testSize} test images, ${options.epochs} epoch(s), ` +
    `batch ${options.batchSize} vs ${options.evalBatchSize}, seed ${String(options.seed)}, ` +
    `flag ${options.deterministic.map((d) => (d ? "on" : "off")).join(" and ")}`
  );
}

async function main(argv: readonly string[]): Promise<number> {
  let options: Options;
  try {
    options = parseOptions(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`train-eval-gap: ${error.message}\n\n${USAGE}\n`);
    return EXIT_USAGE;
  }
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    return EXIT_OK;
  }

  // Status lines go to stderr in JSON mode, to stdout otherwise, so a person sees them in order
  // with the tables while a program reading --json gets nothing but the object.
  const log = (line: string) => (options.json ? process.stderr : process.stdout).write(`${line}\n`);
  log(describe(options));

  const { tearDownBackends } = await import("./backends.js");
  const { runExperiment } = await import("./experiment.js");
  const { writeReport } = await import("./report.js");
  const { formatText, toJson } = await import("./summary.js");
  try {
    const results = await runExperiment(options, log);
    const reportPath = options.report ? await writeReport(results, options.out) : null;
    if (options.json) {
      process.stdout.write(`${JSON.stringify(toJson(results, reportPath), null, 2)}\n`);
    } else {
      process.stdout.write(`\n${formatText(results)}\n`);
      process.stdout.write(`\nFinished in ${results.seconds.toFixed(1)} s.\n`);
      if (reportPath !== null) process.stdout.write(`HTML report: ${reportPath}\n`);
    }
    return results.problems.length === 0 ? EXIT_OK : EXIT_FAILED;
  } catch (error) {
    // A missing adapter is the user's environment, not a bug: the message is enough.
    const expected = error instanceof Error && error.name === "BackendUnavailableError";
    const text = error instanceof Error ? (expected ? error.message : (error.stack ?? error.message)) : String(error);
    process.stderr.write(`train-eval-gap: ${text}\n`);
    return EXIT_FAILED;
  } finally {
    tearDownBackends();
  }
}

process.exitCode = await main(process.argv.slice(2));
