// Debian's chromium, driven by playwright-core. playwright-core never downloads a browser; this
// one comes from `apt-get install chromium` (CHROMIUM_PATH overrides the path).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
// Headless (playwright adds --headless), no sandbox (CI containers run as root), and nothing
// that reaches the network on its own.
const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * A browser with a fresh profile (its `--user-data-dir` is a new temporary folder);
 * `{ javaScript: false }` turns scripts off.
 */
export async function launch({ javaScript = true } = {}) {
  const profile = mkdtempSync(path.join(tmpdir(), 'tether-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1280, height: 900 },
    javaScriptEnabled: javaScript,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    page,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Fills and submits the dashboard's sign-in form. */
export async function signIn(page, base, email, password) {
  await page.goto(`${base}/dashboard/sign-in`);
  await page.fill('input[name="email"]', email);
  await page.fill('input[name="password"]', password);
  await Promise.all([page.waitForLoadState('load'), page.click('button[type="submit"]')]);
}
