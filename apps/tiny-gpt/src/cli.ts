#!/usr/bin/env node
// tiny-gpt: trains a character-level GPT on Genesis (KJV) on the CPU or WebGPU, prints the SHA-256
// of the loss curve so runs on different devices can be compared at a glance, then samples text.
//
// stdout carries the results (or with --json exactly one JSON object); stderr carries the progress
// bar, status lines in JSON mode, and errors. The framework loads after the arguments are checked.
import { USAGE, UsageError, parseOptions, type Options } from "./options.js";

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

async function main(argv: readonly string[]): Promise<number> {
  let options: Options;
  try {
    options = parseOptions(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`tiny-gpt: ${error.message}\n\n${USAGE}\n`);
    return EXIT_USAGE;
  }
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    return EXIT_OK;
  }
  const log = (line: string) => (options.json ? process.stderr : process.stdout).write(`${line}\n`);
  const { setNumThreads, getNumThreads, useDeterministicAlgorithms, webgpu } = await import("lockstep");
  const { DATA_SOURCE, loadCorpus } = await import("./data.js");
  const { run, LEARNING_RATE, PROMPT } = await import("./train.js");
  try {
    useDeterministicAlgorithms(options.deterministic);
    if (options.threads !== undefined) setNumThreads(options.threads);
    let adapter: string | undefined;
    if (options.device === "webgpu") {
      if (!(await webgpu.isAvailable())) {
        process.stderr.write("tiny-gpt: --device webgpu: no WebGPU adapter found (no GPU, and no software Vulkan driver such as Mesa's lavapipe)\n");
        return EXIT_FAILED;
      }
      const info = await webgpu.init();
      adapter = [info.vendor, info.architecture, info.description].filter((s) => s !== "").join(" / ");
      log(`webgpu: ${adapter}; start-up self-test ${info.selfTest.bitwiseMatchesCpu ? "matches the CPU bit for bit" : `differs from the CPU (${info.selfTest.differences.join(", ")})`}`);
    }
    const corpus = loadCorpus();
    log(
      `tiny-gpt: ${options.steps} steps of batch ${options.batch} on ${options.device}, seed ${options.seed}, ` +
        `deterministic ${options.deterministic ? "on" : "off"}, ${corpus.text.length} characters of Genesis, vocabulary ${corpus.vocab.length}`,
    );
    const result = await run(corpus, options);
    if (options.json) {
      const json = {
        device: result.device,
        adapter: adapter ?? null,
        deterministic: options.deterministic,
        threads: options.device === "cpu" ? getNumThreads() : null,
        steps: options.steps,
        batch: options.batch,
        seed: options.seed,
        model: { ...result.config, parameters: result.parameters },
        optimizer: { name: "AdamW", lr: LEARNING_RATE },
        data: DATA_SOURCE,
        lossCurveSha256: result.lossCurveSha256,
        firstLoss: result.losses[0],
        lastLoss: result.losses[result.losses.length - 1],
        losses: result.losses,
        heldOutLoss: result.heldOutLoss,
        heldOutBatchInvariant: result.heldOutBatchInvariant,
        prompt: PROMPT,
        sample: result.sample,
        trainSeconds: Number(result.trainSeconds.toFixed(2)),
        stepsPerSecond: Number(result.stepsPerSecond.toFixed(2)),
      };
      process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
    } else {
      const first = result.losses[0]!;
      const last = result.losses[result.losses.length - 1]!;
      process.stdout.write(
        `\nmodel: ${result.config.nLayer} layers, d_model ${result.config.dModel}, ${result.config.nHead} heads, context ${result.config.blockSize}, ${result.parameters} parameters\n` +
          `loss: ${first.toFixed(4)} -> ${last.toFixed(4)} (held out ${result.heldOutLoss.toFixed(4)}; held-out logits batch-invariant: ${result.heldOutBatchInvariant})\n` +
          `loss curve SHA-256 (float32 bits of ${result.losses.length} losses): ${result.lossCurveSha256}\n` +
          `trained in ${result.trainSeconds.toFixed(1)} s (${result.stepsPerSecond.toFixed(2)} steps/s)\n\n` +
          `sample (seed ${options.seed}):\n${result.sample}\n`,
      );
    }
    return EXIT_OK;
  } catch (error) {
    process.stderr.write(`tiny-gpt: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return EXIT_FAILED;
  } finally {
    webgpu.destroy();
  }
}

process.exitCode = await main(process.argv.slice(2));
