// Optional check (not part of CI): the WebGPU backend in a real browser. Bundles
// scripts/browser-check with Vite, serves it on localhost, opens it in Debian's headless Chromium
// (its SwiftShader WebGPU adapter) through playwright-core, and prints what the page found.
// Needs /usr/bin/chromium (apt-get install -y chromium). Usage: node scripts/browser-check.mjs
import { execFileSync } from "node:child_process";
import { createServer } from "node:http";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { extname, join, resolve } from "node:path";
import { chromium } from "playwright-core";

const root = resolve(import.meta.dirname, "browser-check");
const out = mkdtempSync(join(tmpdir(), "lockstep-browser-"));
execFileSync("npx", ["vite", "build", "--logLevel", "warn", "--outDir", out, "--emptyOutDir"], { cwd: root, stdio: "inherit" });

const types = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm" };
const server = createServer((request, response) => {
  const path = join(out, request.url === "/" ? "index.html" : request.url.split("?")[0]);
  let body;
  try {
    body = readFileSync(path);
  } catch {
    response.writeHead(404).end();
    return;
  }
  response.writeHead(200, { "content-type": types[extname(path)] ?? "application/octet-stream" });
  response.end(body);
});
await new Promise((done) => server.listen(0, "127.0.0.1", done));
const url = `http://127.0.0.1:${server.address().port}/`;

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless=new", "--no-sandbox", "--enable-unsafe-webgpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
});
try {
  const page = await browser.newPage();
  await page.goto(url);
  await page.waitForFunction(() => window.lockstepResult !== undefined, undefined, { timeout: 120_000 });
  const result = await page.evaluate(() => window.lockstepResult);
  console.log(JSON.stringify(result, null, 2));
  if (result.error !== undefined || result.differing !== 0) process.exitCode = 1;
} finally {
  await browser.close();
  server.close();
}
