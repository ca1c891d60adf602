// Launching Debian's chromium through playwright-core, collecting console errors and
// writing screenshots under tests/out/screenshots/.

import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { REPO } from './cluster.mjs';

export const SCREENSHOTS = path.join(REPO, 'tests', 'out', 'screenshots');
const EXECUTABLE = process.env.CHROMIUM_BIN || '/usr/bin/chromium';

/** A headless browser. */
export async function launch() {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  return chromium.launch({
    executablePath: EXECUTABLE,
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
}

/**
 * A page in a fresh context that records console errors, uncaught exceptions and failed
 * requests into `page.problems` (each a string).
 */
export async function openPage(browser, { headers } = {}) {
  const context = await browser.newContext({
    viewport: { width: 1360, height: 900 },
    extraHTTPHeaders: headers,
  });
  const page = await context.newPage();
  page.problems = [];
  page.on('console', (m) => { if (m.type() === 'error') page.problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => page.problems.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => page.problems.push(`requestfailed: ${r.url()} ${r.failure() && r.failure().errorText}`));
  page.on('response', (r) => { if (r.status() >= 400) page.problems.push(`http ${r.status()}: ${r.url()}`); });
  page.dialogsAccepted = 0;
  page.on('dialog', (d) => { page.dialogsAccepted++; d.accept(); });
  return page;
}

/** Saves a full-page screenshot as tests/out/screenshots/<name>.png. */
export async function shot(page, name) {
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
