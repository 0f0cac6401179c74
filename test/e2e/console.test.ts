/**
 * The console in a real browser (Debian's Chromium via playwright-core) against a real
 * broker and the development OpenID provider on free ports and the test databases.
 * One browser for the file; each person gets a fresh context (own cookies).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { ensureConsoleBuilt } from '../../scripts/build-console.ts';
import { startTestBroker, type TestBroker } from '../support/broker.ts';
import { insertConversations } from '../support/console-fixtures.ts';
import { chromiumAvailable, launchBrowser, newPerson, screenshot } from './support/browser.ts';
import { enrolTotpInConsole, signInThroughConsole } from './support/console-flows.ts';

describe.skipIf(!chromiumAvailable())('console end to end (Chromium)', () => {
  let broker: TestBroker;
  let browser: Browser;
  let ws: { id: string; name: string };

  beforeAll(async () => {
    // The broker serves console/dist as it finds it at start: build first (no-op when fresh).
    await ensureConsoleBuilt();
    [broker, browser] = await Promise.all([startTestBroker(), launchBrowser()]);
    ws = await broker.createWorkspace();
    await insertConversations(broker.platform.pools.region('eu'), ws.id, [
      { daysAgo: 0, provider: 'meta', method: 'ctwa_clid' },
      { daysAgo: 1, provider: 'twilio', method: 'ref_code', clickKind: 'gclid' },
      { daysAgo: 2, provider: 'twilio' },
    ]);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await broker?.close();
  });

  it('owner signs in through the dev OpenID provider and sees the dashboard charts', async () => {
    const { identity } = await broker.createCustomer(ws.id, 'owner');
    const { page, context, errors } = await newPerson(browser);
    await signInThroughConsole(page, broker.url, identity);
    await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    await page.getByText('Conversations per day').waitFor();
    await expect.poll(() => page.getByText('Attributed share').count()).toBe(1);
    // 2 of 3 conversations attributed.
    await page.getByText('67 %').waitFor();
    await expect(page.locator('.recharts-surface').count()).resolves.toBeGreaterThanOrEqual(3);
    // The session is an HttpOnly cookie; nothing sensitive is kept in web storage.
    const storage = await page.evaluate(() => JSON.stringify({ ...localStorage, ...sessionStorage }));
    expect(storage).not.toMatch(/token|secret|session/i);
    const cookies = await context.cookies();
    expect(cookies.find((c) => c.name.includes('wact_session'))).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict' });
    await screenshot(page, 'owner-dashboard');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('analyst sees attribution screens but neither members nor settings, and direct links are refused', async () => {
    const { identity } = await broker.createCustomer(ws.id, 'analyst');
    const { page, context, errors } = await newPerson(browser);
    await signInThroughConsole(page, broker.url, identity);
    await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    const menu = page.locator('.RaMenu-open, .RaSidebar-fixed').first();
    await menu.getByText('Conversations').waitFor();
    expect(await menu.getByText('Members').count()).toBe(0);
    expect(await menu.getByText('Settings → Data').count()).toBe(0);
    expect(await menu.getByText('Audit log').count()).toBe(0);
    await screenshot(page, 'analyst-menu');
    await page.goto(`${broker.url}/#/members`);
    await page.getByText(/not authorized|access denied|not allowed/i).first().waitFor();
    await page.goto(`${broker.url}/#/settings/data`);
    await page.getByText('Only owners and admins manage data settings.').waitFor();
    // The API refuses too, whatever the UI shows.
    const status = await page.evaluate(async (id) => (await fetch(`/api/workspaces/${id}/members`)).status, ws.id);
    expect(status).toBe(403);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('support agent enrols TOTP on first login (QR code and recovery codes) and lands on the employee home', async () => {
    const agent = broker.createEmployee('support');
    const { page, context, errors } = await newPerson(browser);
    await signInThroughConsole(page, broker.url, agent);
    const { recoveryCodes } = await enrolTotpInConsole(page);
    expect(recoveryCodes).toHaveLength(10);
    await page.getByText(/Welcome, .*\(support\)/).waitFor();
    const menu = page.locator('.RaMenu-open, .RaSidebar-fixed').first();
    await menu.getByText('Support sessions').waitFor();
    expect(await menu.getByText('Conversations').count()).toBe(0);
    expect(await menu.getByText('Approvals').count()).toBe(0);
    await screenshot(page, 'support-home');
    expect(errors).toEqual([]);
    await context.close();
  });
});
