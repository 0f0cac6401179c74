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

  it('support agent enrols TOTP (QR + recovery codes), opens a workspace for a ticket and sees only masked identifiers with a countdown', async () => {
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

    await page.getByText('Open a workspace for a ticket').first().click();
    await page.getByLabel('Workspace id').fill(ws.id);
    await page.getByLabel(/Reason/).fill('TICKET-4711 customer asks why a chat is unattributed');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByTestId('support-countdown').waitFor();
    await page.getByTestId('browse-countdown').waitFor();
    expect(await page.getByTestId('support-countdown').textContent()).toMatch(/\d+:\d\d left/);
    // Rows come from the redacted views: masked senders, no unmask action.
    const sender = page.locator('[data-masked="true"]').first();
    await sender.waitFor();
    const senders = await page.locator('[aria-label="masked sender"]').allTextContents();
    expect(senders).toHaveLength(3);
    for (const s of senders) expect(s).not.toMatch(/^[0-9a-f]{64}$/);
    const raw = await broker.platform.pools.region('eu').query<{ sender_hash: string }>('SELECT sender_hash FROM wact.conversations WHERE workspace_id = $1', [ws.id]);
    const html = await page.content();
    for (const r of raw.rows) expect(html).not.toContain(r.sender_hash);
    expect(await page.getByRole('button', { name: /unmask/i }).count()).toBe(0);
    await screenshot(page, 'support-browse-redacted');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('engineer requests full scope, security approves in a second context, engineer gets the connection command', async () => {
    const engineerId = broker.createEmployee('engineer');
    const securityId = broker.createEmployee('security');
    const engineer = await newPerson(browser);
    const security = await newPerson(browser);
    await signInThroughConsole(engineer.page, broker.url, engineerId);
    await enrolTotpInConsole(engineer.page);
    await engineer.page.goto(`${broker.url}/#/db-sessions/create`);
    await engineer.page.getByLabel('Workspace id').fill(ws.id);
    await engineer.page.getByLabel(/Full \(unmasked identifiers/).check();
    await engineer.page.getByLabel('Reason').fill('INC0012345 attribution latency investigation');
    await engineer.page.getByRole('button', { name: 'Save' }).click();
    await engineer.page.getByText('Waiting for approval by a security officer').waitFor();
    await screenshot(engineer.page, 'engineer-request-pending');

    await signInThroughConsole(security.page, broker.url, securityId);
    await enrolTotpInConsole(security.page);
    await security.page.goto(`${broker.url}/#/approvals`);
    const row = security.page.locator('tr', { hasText: 'INC0012345 attribution latency investigation' });
    await row.waitFor();
    await screenshot(security.page, 'security-approvals');
    await row.getByRole('button', { name: 'Approve' }).click();
    await security.page.getByLabel('Comment').fill('ok for one incident');
    await security.page.getByRole('dialog').getByRole('button', { name: 'Approve' }).click();
    await security.page.getByText('Nothing waiting for approval').waitFor();

    // The engineer's page polls while pending, then offers the command.
    await engineer.page.getByRole('button', { name: 'Get connection command' }).click({ timeout: 20_000 });
    const command = await engineer.page.getByTestId('connection-command').locator('textarea').first().inputValue();
    expect(command).toMatch(/^psql "postgres(ql)?:\/\/.+sslmode=require/);
    await screenshot(engineer.page, 'engineer-connection-command');
    expect(engineer.errors).toEqual([]);
    expect(security.errors).toEqual([]);
    await Promise.all([engineer.context.close(), security.context.close()]);
  });
});
