/**
 * Issue 13, point 6, in a real browser: an engineer's approved session runs
 * statements through the real gateway; the workspace's owner then opens
 * "WAct access" in the console, sees who, why, who approved and how it ended,
 * opens the masked transcript, and exports it.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { ensureConsoleBuilt } from '../../scripts/build-console.ts';
import { startHarness, type Harness } from '../broker/gateway/harness.ts';
import { startTestBroker, type TestBroker } from '../support/broker.ts';
import { chromiumAvailable, launchBrowser, newPerson, screenshot } from './support/browser.ts';
import { signInThroughConsole } from './support/console-flows.ts';

describe.skipIf(!chromiumAvailable())('WAct access page (Chromium)', { timeout: 120_000 }, () => {
  let h: Harness;
  let broker: TestBroker;
  let browser: Browser;
  let sessionId: string;

  beforeAll(async () => {
    await ensureConsoleBuilt();
    [h, broker, browser] = await Promise.all([startHarness(), startTestBroker({ env: { EXPORT_ENABLED: 'false' } }), launchBrowser()]);
    const req = await h.access.request(h.engineer, {
      workspaceId: h.wsA,
      reason: 'Investigating INC0077777 missing conversions',
      scope: 'full',
    });
    await h.access.approve(h.security, req.session.id, { note: 'approved for INC0077777' });
    const { connection } = await h.access.issueToken(h.engineer, req.session.id);
    const c = await h.client(connection.user, connection.password);
    await c.query('SELECT id FROM wact.conversations');
    await c.query(`SELECT count(*) FROM wact.conversations WHERE sender_hash = '+49 151 99988877'`);
    await c.end();
    await h.access.end(h.engineer, req.session.id);
    sessionId = req.session.id;
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await broker?.close();
    await h?.close();
  });

  it('the owner sees the session, its approver and its masked transcript, and exports it', async () => {
    const { identity } = await broker.createCustomer(h.wsA, 'owner');
    const { page, context, errors } = await newPerson(browser);
    await signInThroughConsole(page, broker.url, identity);
    await page.locator('.RaSidebar-fixed').getByText('WAct access').click();
    const row = page.locator('tr', { hasText: 'Erin Engineer' }).first();
    await row.waitFor();
    await expect(row.textContent()).resolves.toContain('Investigating INC0077777 missing conversions');
    await expect(row.textContent()).resolves.toContain('Sam Security — approved for INC0077777');
    await expect(row.getByTestId('ended-how').textContent()).resolves.toBe('closed');
    await screenshot(page, 'owner-wact-access');

    // JSON lines export of what the list shows, downloaded by the browser.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export JSONL' }).click()]);
    const lines = fs
      .readFileSync((await download.path())!, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; statement: string | null; rows: number | null });
    const mine = lines.filter((l) => l.id === sessionId);
    expect(mine.map((l) => l.statement)[0]).toBe('SELECT id FROM wact.conversations');
    expect(mine).toHaveLength(2);

    await row.click();
    const transcript = page.getByTestId('transcript');
    await transcript.waitFor();
    const text = (await transcript.textContent()) ?? '';
    expect(text).toContain('SELECT id FROM wact.conversations');
    expect(text).toContain('success');
    expect(text).not.toContain('99988877'); // masked by the gateway before it was ever stored
    expect(await page.content()).not.toContain('99988877');
    await screenshot(page, 'owner-wact-access-transcript');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('an analyst has no WAct access entry and the API refuses them', async () => {
    const { identity } = await broker.createCustomer(h.wsA, 'analyst');
    const { page, context } = await newPerson(browser);
    await signInThroughConsole(page, broker.url, identity);
    await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    expect(await page.locator('.RaSidebar-fixed').getByText('WAct access').count()).toBe(0);
    const status = await page.evaluate(async (id) => (await window.fetch(`/api/workspaces/${id}/wact-access`)).status, h.wsA);
    expect(status).toBe(403);
    await context.close();
  });
});
