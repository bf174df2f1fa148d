// The HTML report of a real (tiny) run, opened in headless Chromium: it must load, show both
// plots and the tables, and leave a screenshot a person can look at. Skips, saying why, where
// /usr/bin/chromium is missing; never downloads a browser.
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { chromiumMissingReason, screenshotReport } from "./screenshot.js";
import { TINY, runCli } from "./test-support/run-cli.js";

const missing = chromiumMissingReason();
if (missing !== undefined) console.log(`report.test.ts: screenshot test skipped: ${missing}`);

describe("the HTML report", () => {
  const out = mkdtempSync(join(tmpdir(), "train-eval-gap-report-"));
  const html = join(out, "index.html");

  beforeAll(async () => {
    const run = await runCli(["--backend", "cpu", "--out", out, ...TINY]);
    if (run.code !== 0) throw new Error(`the app exited ${run.code}:\n${run.stderr}`);
  }, 240_000);

  it("is one self-contained file with the loss curve, the histogram, the sources chart and the tables inline", () => {
    const text = readFileSync(html, "utf8");
    expect(text).toContain("<h2>Training loss</h2>");
    expect(text).toContain("Per-element differences");
    expect(text).toContain("Where does the gap come from?");
    // Loss curve, histogram and the bar chart per source.
    expect((text.match(/<svg /g) ?? []).length).toBe(3);
    expect(text).toContain("<table>");
    // Nothing to fetch: no scripts, no external stylesheets or images.
    expect(text).not.toMatch(/<script|<link |src="http/);
  });

  it.skipIf(missing !== undefined)(
    "renders in headless Chromium",
    async () => {
      const png = process.env.SCREENSHOT_PATH ?? join(out, "screenshot.png");
      const result = await screenshotReport(html, png);
      console.log(`report screenshot: ${result.path}`);
      expect(result.title).toContain("Lockstep");
      expect(result.svgCount).toBe(3);
      expect(result.tableCount).toBeGreaterThanOrEqual(3);
      expect(result.height).toBeGreaterThan(1000);
      expect(statSync(result.path).size).toBeGreaterThan(50_000);
    },
    120_000,
  );
});
