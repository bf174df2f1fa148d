// Opens a report in headless Chromium and saves a full-page screenshot, to check that the HTML
// actually renders (inline SVGs included). Uses the system's Chromium through playwright-core —
// never a downloaded browser. Used by report.test.ts and by `npm run screenshot`:
//
//   node dist/screenshot.js [report.html] [screenshot.png]
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Flags that work headless, as root, without network (see TOOLCHAIN.md). */
const CHROMIUM_ARGS = [
  "--headless=new",
  "--no-sandbox",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

/** Why a screenshot cannot be taken here, or undefined when it can. */
export function chromiumMissingReason(): string | undefined {
  return existsSync(CHROMIUM_PATH) ? undefined : `no Chromium at ${CHROMIUM_PATH} (install Debian's chromium, or set CHROMIUM_PATH)`;
}

export interface ScreenshotResult {
  path: string;
  /** Page title, and what the page shows, for a quick check without looking at the image. */
  title: string;
  svgCount: number;
  tableCount: number;
  width: number;
  height: number;
}

export async function screenshotReport(htmlPath: string, pngPath: string): Promise<ScreenshotResult> {
  const { chromium } = await import("playwright-core");
  const userDataDir = mkdtempSync(join(tmpdir(), "train-eval-gap-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    args: CHROMIUM_ARGS,
    headless: true,
    viewport: { width: 1100, height: 900 },
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(pathToFileURL(resolve(htmlPath)).href, { waitUntil: "load" });
    const info = await page.evaluate(() => ({
      title: document.title,
      svgCount: document.querySelectorAll("svg").length,
      tableCount: document.querySelectorAll("table").length,
      width: document.documentElement.scrollWidth,
      height: document.documentElement.scrollHeight,
    }));
    const path = resolve(pngPath);
    mkdirSync(dirname(path), { recursive: true });
    await page.screenshot({ path, fullPage: true });
    return { path, ...info };
  } finally {
    await context.close();
    rmSync(userDataDir, { recursive: true, force: true });
  }
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (isMain) {
  const html = process.argv[2] ?? "train-eval-gap-report/index.html";
  const png = process.argv[3] ?? join(dirname(html), "screenshot.png");
  const missing = chromiumMissingReason();
  if (missing !== undefined) {
    process.stderr.write(`screenshot: ${missing}\n`);
    process.exitCode = 1;
  } else {
    const result = await screenshotReport(html, png);
    process.stdout.write(`${result.path} (${result.width}×${result.height}, ${result.svgCount} SVG plots, ${result.tableCount} tables)\n`);
  }
}
