/**
 * Debian's Chromium driven by playwright-core for the console's end-to-end tests: one
 * browser per test file, a fresh context per person (own cookies), screenshots into
 * test/e2e/screenshots/ (git-ignored), and a record of console errors per page.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.WACT_CHROMIUM ?? '/usr/bin/chromium';
export const SCREENSHOTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'screenshots');

export function chromiumAvailable(): boolean {
  return fs.existsSync(CHROMIUM);
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

export interface PersonContext {
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught exceptions seen on the page (failed HTTP loads excluded: 401/403 are expected answers). */
  errors: string[];
}

export async function newPerson(browser: Browser, opts: { timezoneId?: string } = {}): Promise<PersonContext> {
  // The broker and the dev provider use a throw-away development CA per run.
  const context = await browser.newContext({
    ignoreHTTPSErrors: true,
    acceptDownloads: true,
    timezoneId: opts.timezoneId ?? 'Europe/Berlin',
    locale: 'en-GB',
    viewport: { width: 1366, height: 900 },
  });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    if (/Failed to load resource/.test(text)) return;
    errors.push(text);
  });
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  return { context, page, errors };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}
