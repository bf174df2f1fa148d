// The playground end to end in a real browser: builds the page with Vite, serves the build on
// localhost, opens it in Debian's headless Chromium (its SwiftShader WebGPU adapter, through
// playwright-core; never a downloaded browser), clicks the buttons a person would, and reads the
// results the page shows from `window.playground`: a few training steps on the CPU and on WebGPU
// compared bit for bit, a short CPU training run, and the discrepancy doctor. Leaves a screenshot
// in the system's temporary folder (or at SCREENSHOT_PATH; point it at apps/playground/screenshot.png
// to refresh the one the README shows), so a test run does not modify the checkout. SwiftShader is
// slow, so everything is tiny.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CompareResult, DoctorResult, ReadyInfo, TrainResult } from "../src/protocol.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const APP = fileURLToPath(new URL("..", import.meta.url));
const SCREENSHOT = resolve(process.env.SCREENSHOT_PATH ?? join(tmpdir(), "lockstep-playground-screenshot.png"));
const missing = existsSync(CHROMIUM) ? undefined : `no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`;
if (missing !== undefined) console.log(`playground.test.ts: skipped: ${missing}`);

interface PageState {
  ready?: ReadyInfo;
  train?: TrainResult;
  compare?: CompareResult;
  doctor?: DoctorResult;
  errors: string[];
}

const TYPES: Record<string, string> = {
  ".html": "text/html",
  ".js": "text/javascript",
  ".css": "text/css",
  ".json": "application/json",
  ".wasm": "application/wasm",
};

function serve(root: string): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => {
    const path = join(root, request.url === "/" ? "index.html" : decodeURIComponent(request.url!.split("?")[0]!));
    if (!path.startsWith(root) || !existsSync(path)) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { "content-type": TYPES[extname(path)] ?? "application/octet-stream" });
    response.end(readFileSync(path));
  });
  return new Promise((done) =>
    server.listen(0, "127.0.0.1", () => {
      const address = server.address() as { port: number };
      done({ server, url: `http://127.0.0.1:${address.port}/` });
    }),
  );
}

async function state(page: Page): Promise<PageState> {
  return page.evaluate(() => (window as unknown as { playground: PageState }).playground);
}

/** Waits until the page is idle again after a click, and fails with the page's error if it reported one. */
async function waitIdle(page: Page, timeout: number): Promise<PageState> {
  await page.waitForFunction(() => document.body.dataset.busy === "false", undefined, { timeout });
  const s = await state(page);
  if (s.errors.length > 0) throw new Error(`the page reported: ${s.errors.join("; ")}`);
  return s;
}

describe.skipIf(missing !== undefined)("the playground in headless Chromium", () => {
  const out = mkdtempSync(join(tmpdir(), "lockstep-playground-"));
  const profile = mkdtempSync(join(tmpdir(), "lockstep-playground-chromium-"));
  let server: Server | undefined;
  let context: BrowserContext | undefined;
  let page: Page;
  let ready: ReadyInfo;

  beforeAll(async () => {
    // Build exactly what `npm run playground:build` ships, into a fresh directory.
    execFileSync(process.execPath, [join(APP, "scripts/make-data.mjs")], { cwd: APP, stdio: "pipe" });
    const { build } = await import("vite");
    await build({ root: APP, logLevel: "warn", build: { outDir: out, emptyOutDir: true } });
    const served = await serve(out);
    server = served.server;
    const { chromium } = await import("playwright-core");
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1100, height: 900 },
      args: [
        "--headless=new",
        "--no-sandbox",
        "--enable-unsafe-webgpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
      ],
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on("pageerror", (error) => console.log(`page error: ${error.message}`));
    await page.goto(served.url);
    ready = (await waitIdle(page, 60_000)).ready!;
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    server?.close();
    rmSync(out, { recursive: true, force: true });
    rmSync(profile, { recursive: true, force: true });
  });

  it("starts the worker and finds WebGPU (SwiftShader here) next to the CPU", () => {
    console.log(`playground: devices ${ready.devices.join(", ")}; ${ready.adapter}`);
    expect(ready.train).toBe(2000);
    expect(ready.test).toBe(500);
    if (!ready.devices.includes("webgpu") && process.env.REQUIRE_WEBGPU === "1") throw new Error(`REQUIRE_WEBGPU=1 but the page found no WebGPU: ${ready.adapter}`);
  });

  it("'Train on CPU and GPU and compare bits' with the flag on: losses and parameters compared bit for bit (equal wherever the adapter passes the self-test)", async (context) => {
    if (!ready.devices.includes("webgpu")) context.skip("no WebGPU in this browser");
    await page.fill("#steps", "3");
    await page.check("#deterministic");
    await page.click("#compare");
    const { compare } = await waitIdle(page, 90_000);
    console.log(`playground: compare cpu ${compare!.cpu.seconds.toFixed(1)} s, webgpu ${compare!.webgpu.seconds.toFixed(1)} s`);
    expect(compare!.steps).toBe(3);
    expect(compare!.cpu.losses).toHaveLength(3);
    expect(compare!.webgpu.losses).toHaveLength(3);
    expect(compare!.parameterElements).toBe(784 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10);
    const found = `${compare!.lossesDiffering} of 3 losses and ${compare!.parametersDiffering} of ${compare!.parameterElements} parameters differ`;
    if (ready.selfTestPassed) {
      expect(compare!.lossesDiffering, found).toBe(0);
      expect(compare!.parametersDiffering, found).toBe(0);
      expect(await page.textContent("#compare-result")).toContain("Bitwise identical");
    } else {
      // SwiftShader flushes subnormals, so Lockstep's self-test fails there and the promise is off;
      // the numbers are still read and reported.
      const names = ready.selfTestDifferences.map((d) => d.split(":")[0]).join(", ");
      console.log(`playground: the self-test failed on this adapter (${names}); not asserted: ${found}`);
    }
  });

  it("trains the CNN (Conv2d, BatchNorm2d, Dropout) a few steps on the CPU", async () => {
    await page.selectOption("#model", "cnn");
    await page.selectOption("#device", "cpu");
    await page.fill("#steps", "4");
    await page.click("#train");
    const { train } = await waitIdle(page, 60_000);
    expect(train!.model).toBe("cnn");
    expect(train!.steps).toBe(4);
    expect(train!.losses.every(Number.isFinite)).toBe(true);
  });

  it("trains the MLP on the CPU with a live loss plot, a progress bar and a test accuracy", async () => {
    await page.selectOption("#model", "mlp");
    await page.selectOption("#device", "cpu");
    await page.fill("#steps", "60");
    await page.click("#train");
    const { train } = await waitIdle(page, 60_000);
    expect(train!.device).toBe("cpu");
    expect(train!.steps).toBe(60);
    const first = train!.losses.slice(0, 5).reduce((a, b) => a + b) / 5;
    const last = train!.losses.slice(-5).reduce((a, b) => a + b) / 5;
    expect(last).toBeLessThan(first);
    expect(train!.accuracy).toBeGreaterThan(0.3);
    expect(await page.getAttribute("#progress", "value")).toBe("1");
    // One line per run in the plot's SVG.
    expect(await page.locator("#plot svg path").count()).toBeGreaterThan(0);
  });

  it("explains the train/eval gap: dropout in the mode row, kernels exactly zero with the flag on", async () => {
    await page.selectOption("#doctor-images", "16");
    await page.click("#doctor");
    const { doctor } = await waitIdle(page, 60_000);
    const row = (name: string) => doctor!.report.sources.find((r) => r.source === name)!;
    expect(doctor!.images).toBe(16);
    expect(row("mode").flagOn!.differingElements).toBeGreaterThan(0);
    expect(row("kernels").flagOn!.differingElements).toBe(0);
    expect(row("threads").flagOn!.differingElements).toBe(0);
    if (ready.devices.includes("webgpu")) {
      expect(row("device").effect).toBe("measured");
      if (ready.selfTestPassed) expect(row("device").flagOn!.differingElements).toBe(0);
    }
    expect(await page.textContent("#doctor-result pre")).toMatch(/^source\s+compares/);
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    console.log(`playground screenshot: ${SCREENSHOT}`);
  });
});
