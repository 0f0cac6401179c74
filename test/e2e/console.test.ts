/**
 * The console in a real browser (Debian's Chromium via playwright-core) against a real
 * broker and the development OpenID provider on free ports and the test databases.
 * One browser for the file; each person gets a fresh context (own cookies).
 */
import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { ensureConsoleBuilt } from '../../scripts/build-console.ts';
import { startTestBroker, type TestBroker } from '../support/broker.ts';
import { testDb } from '../support/db.ts';
import { createSignupService } from '../../shared/signup/signup-service.ts';
import type { RunningService } from '../../shared/runtime/service-types.ts';
import type { DatabaseUrls } from '../../shared/db/database-urls.ts';
import { insertConversations } from '../support/console-fixtures.ts';
import { chromiumAvailable, launchBrowser, newPerson, screenshot } from './support/browser.ts';
import { enrolTotpInConsole, signInThroughConsole } from './support/console-flows.ts';
import { freePort, databasesOf } from '../support/scratch-databases.ts';

describe.skipIf(!chromiumAvailable())('console end to end (Chromium)', { timeout: 90_000 }, () => {
  let broker: TestBroker;
  let browser: Browser;
  let ingest: RunningService;
  let ingestUrl: string;
  let ws: { id: string; name: string };

  beforeAll(async () => {
    // The broker serves console/dist as it finds it at start: build first (no-op when fresh).
    await ensureConsoleBuilt();
    // Ingest on a free port the broker knows in advance: the wizard shows its exact webhook URL.
    const port = await freePort();
    ingestUrl = `https://localhost:${port}`;
    [broker, browser] = await Promise.all([
      // no export worker: it would pick up other test files' jobs and send them to real platform URLs
      startTestBroker({ env: { INGEST_PORT: String(port), INGEST_PUBLIC_URL: ingestUrl, EXPORT_ENABLED: 'false' } }),
      launchBrowser(),
    ]);
    const { urls, servicePasswords } = testDb();
    const { startIngest } = await import('../../ingest/server.ts');
    ingest = await startIngest({
      config: broker.config,
      databases: databasesOf({ urls: urls as DatabaseUrls, servicePasswords }),
      tls: broker.tls,
    });
    ws = await broker.createWorkspace();
    await insertConversations(broker.platform.pools.region('eu'), ws.id, [
      { daysAgo: 0, provider: 'meta', method: 'ctwa_clid' },
      { daysAgo: 1, provider: 'twilio', method: 'ref_code', clickKind: 'gclid' },
      { daysAgo: 2, provider: 'twilio' },
    ]);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await ingest?.close();
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

    // Audit log: filters, verification instructions with the public keys, export downloaded and verified offline.
    await page.locator('.RaSidebar-fixed').getByText('Audit log').click();
    await page.locator('tr', { hasText: 'data.read' }).first().waitFor();
    await page.getByText('Verify an export offline').click();
    const keysJson = await page.getByRole('textbox', { name: 'Public keys (JSON)', exact: true }).inputValue();
    expect(JSON.parse(keysJson).keys.length).toBeGreaterThan(0);
    await screenshot(page, 'owner-audit-log');
    // A single-use download link can be handed to another browser tab or script.
    await page.getByText('Download links and SIEM push').click();
    await page.getByRole('button', { name: 'Create download link' }).click();
    const href = await page.getByRole('link', { name: 'Download (single use)' }).getAttribute('href');
    const first = await page.evaluate(async (u) => (await window.fetch(u!)).status, href);
    const second = await page.evaluate(async (u) => (await window.fetch(u!)).status, href);
    expect([first, second]).toEqual([200, 404]);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export JSONL' }).click()]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wact-e2e-'));
    const file = path.join(dir, download.suggestedFilename());
    await download.saveAs(file);
    fs.writeFileSync(path.join(dir, 'keys.json'), keysJson);
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['bin/wact.mjs', 'audit', 'verify', file, '--keys', path.join(dir, 'keys.json'), '--json'],
      {
        env: { ...process.env, WACT_HOME: dir, LOG_LEVEL: 'silent' },
      },
    );
    const report = JSON.parse(stdout);
    expect(report.ok).toBe(true);
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
    // Analysts export what they may see: masked identifiers only, no unmask action.
    await menu.getByText('Conversations').click();
    await page.locator('[aria-label="masked sender"]').first().waitFor();
    expect(await page.getByRole('button', { name: /^Unmask/ }).count()).toBe(0);
    const [csv] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
    const text = fs.readFileSync(await csv.path(), 'utf8');
    expect(text.split('\n')[0]).toContain('sender');
    const hashes = await broker.platform.pools
      .region('eu')
      .query<{ sender_hash: string }>('SELECT sender_hash FROM wact.conversations WHERE workspace_id = $1', [ws.id]);
    for (const h of hashes.rows) {
      expect(text).not.toContain(h.sender_hash);
      expect(text).toContain(`${h.sender_hash.slice(0, 8)}••••••••`);
    }
    await page.goto(`${broker.url}/#/members`);
    await page
      .getByText(/not authorized|access denied|not allowed/i)
      .first()
      .waitFor();
    await page.goto(`${broker.url}/#/settings/data`);
    await page.getByText('Only owners and admins manage data settings.').waitFor();
    // The API refuses too, whatever the UI shows.
    const status = await page.evaluate(async (id) => (await window.fetch(`/api/workspaces/${id}/members`)).status, ws.id);
    expect(status).toBe(403);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('support agent enrols TOTP (QR + recovery codes), opens a workspace for a ticket and sees only masked identifiers with a countdown', async () => {
    const agent = broker.createEmployee('support');
    const { page, context, errors } = await newPerson(browser);
    await signInThroughConsole(page, broker.url, agent);
    const { recoveryCodes, nextCode } = await enrolTotpInConsole(page);
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
    const raw = await broker.platform.pools
      .region('eu')
      .query<{ sender_hash: string }>('SELECT sender_hash FROM wact.conversations WHERE workspace_id = $1', [ws.id]);
    const html = await page.content();
    for (const r of raw.rows) expect(html).not.toContain(r.sender_hash);
    expect(await page.getByRole('button', { name: /unmask/i }).count()).toBe(0);
    await screenshot(page, 'support-browse-redacted');
    expect(errors).toEqual([]);
    await context.close();

    // Every later login asks for a code after SSO; a wrong one is refused.
    const again = await newPerson(browser);
    await signInThroughConsole(again.page, broker.url, agent);
    await again.page.getByRole('heading', { name: 'Two-step verification' }).waitFor();
    await again.page.getByLabel('Authentication code').fill('000000');
    await again.page.getByRole('button', { name: 'Verify' }).click();
    await again.page.getByText(/wrong code|already used/).waitFor();
    await again.page.getByLabel('Authentication code').fill(await nextCode());
    await again.page.getByRole('button', { name: 'Verify' }).click();
    await again.page.getByText(/Welcome, .*\(support\)/).waitFor();
    expect(again.errors).toEqual([]);
    await again.context.close();
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
    // Other test files share the database: only our request must leave the queue.
    await row.waitFor({ state: 'detached' });

    // The engineer's page polls while pending, then offers the command.
    await engineer.page.getByRole('button', { name: 'Get connection command' }).click({ timeout: 20_000 });
    const command = await engineer.page.getByTestId('connection-command').locator('textarea').first().inputValue();
    // The safe form: settings in the environment, the certificate verified, no token in a URL or the page.
    expect(command).toMatch(/PGSSLMODE=verify-full PGSSLROOTCERT=.+ psql$/);
    expect(await engineer.page.content()).not.toMatch(/postgres(ql)?:\/\//);
    await engineer.page.getByRole('button', { name: 'Copy session token' }).waitFor();
    await screenshot(engineer.page, 'engineer-connection-command');
    // The approval also reached the engineer as a notification.
    await engineer.page.reload();
    await engineer.page.getByLabel(/^[1-9]\d* unread access notifications$/).waitFor();

    // Security revokes the live session from the sessions list.
    await security.page.goto(`${broker.url}/#/db-sessions`);
    const active = security.page.locator('tr', { hasText: 'INC0012345 attribution latency investigation' });
    await active.getByRole('button', { name: 'Revoke' }).click();
    await security.page.getByRole('button', { name: 'Confirm' }).click();
    await active.getByText('revoked').waitFor();
    await screenshot(security.page, 'security-sessions-revoked');
    expect(engineer.errors).toEqual([]);
    expect(security.errors).toEqual([]);
    await Promise.all([engineer.context.close(), security.context.close()]);
  });

  it('admin tours every customer screen (loading, data or empty state, no console errors) and security sees platform audit and TOTP status', async () => {
    const { identity } = await broker.createCustomer(ws.id, 'admin');
    const { page, context, errors } = await newPerson(browser);
    // Keyboard only: the sign-in button has focus; Enter starts SSO.
    await page.goto(`${broker.url}/`);
    await page.getByRole('button', { name: 'Sign in with SSO' }).waitFor();
    await page.keyboard.press('Enter');
    await page.locator('input[name=email]').fill(identity.email);
    await page.locator('input[name=password]').fill(identity.password);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    const menu = page.locator('.RaSidebar-fixed');
    const visit = async (label: string, ready: () => Promise<unknown>, shot: string) => {
      await menu.getByText(label, { exact: true }).click();
      await ready();
      await screenshot(page, shot);
    };
    await visit('Conversations', () => page.locator('[aria-label="masked sender"]').first().waitFor(), 'admin-conversations');
    // Admins may unmask, with a reason; the clear value is the full keyed hash of the sender.
    await page.getByRole('button', { name: 'Unmask sender' }).first().click();
    await page.getByLabel(/Reason/).fill('TICKET-77 customer dispute check');
    await page.getByRole('button', { name: 'Unmask', exact: true }).click();
    await page.locator('[aria-label="revealed sender"]').waitFor();
    expect(await page.locator('[aria-label="revealed sender"]').textContent()).toMatch(/^[0-9a-f]{64}$/);
    await visit('Clicks', () => page.locator('tbody tr').first().waitFor(), 'admin-clicks');
    await visit('Conversions', () => page.getByText('No conversions yet').waitFor(), 'admin-conversions-empty');
    await visit('Links', () => page.getByText('No tracking links yet').waitFor(), 'admin-links-empty');
    await visit('API keys', () => page.getByText('No API keys').waitFor(), 'admin-apikeys-empty');
    await page.getByRole('button', { name: 'New API key' }).first().click();
    await page.getByLabel('Label').fill('CRM');
    await page.getByRole('button', { name: 'Create' }).click();
    const key = await page.getByRole('textbox', { name: 'Secret', exact: true }).inputValue();
    expect(key).toMatch(/^wact_/);
    await page.getByRole('button', { name: 'Done' }).click();
    await page.locator('tbody tr', { hasText: 'CRM' }).waitFor();
    expect(await page.content()).not.toContain(key);
    await visit('Credentials', () => page.getByText('BSP webhooks').waitFor(), 'admin-credentials');
    // Members: change a role, remove a member, invite someone (admins cannot touch owners: the broker decides).
    const member = await broker.createCustomer(ws.id, 'readonly', { name: 'Rolf Roles' });
    await visit('Members', () => page.locator('tbody tr', { hasText: 'Rolf Roles' }).waitFor(), 'admin-members');
    const row = page.locator('tbody tr', { hasText: 'Rolf Roles' });
    await row.getByLabel(/^Role of /).click();
    await page.getByRole('option', { name: 'analyst' }).click();
    await page.getByText('Role changed').waitFor();
    const roleOf = async () =>
      (
        await broker.platform.pools.control.query<{ role: string }>(
          'SELECT role FROM wact.memberships WHERE workspace_id = $1 AND user_id = $2',
          [ws.id, member.userId],
        )
      ).rows[0]?.role;
    expect(await roleOf()).toBe('analyst');
    await row.getByRole('button', { name: 'Remove' }).click();
    await page.getByRole('button', { name: 'Confirm' }).click();
    await expect.poll(roleOf).toBeUndefined();
    await page.getByRole('link', { name: 'Invite member' }).first().click();
    await page.getByLabel('Email').fill('new.colleague@customer.example');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('tr', { hasText: 'new.colleague@customer.example' }).waitFor();
    await screenshot(page, 'admin-members-invited');
    await visit('Settings → Data', () => page.getByLabel('Attributed events (days)').waitFor(), 'admin-settings-data');
    expect(await page.getByText('Wipe workspace').count()).toBe(0); // owner only
    // Retention can be shortened, never set beyond the default.
    await page.getByLabel('Attributed events (days)').fill('9999');
    await page.getByText(/can only be shortened/).waitFor();
    await page.getByLabel('Attributed events (days)').fill('365');
    await page.getByRole('button', { name: 'Save retention' }).click();
    await page.getByText('Now 365 days').waitFor();
    // An end-user deletion request by phone number: recorded, due in 30 days; the number is not kept.
    await page.getByLabel('Phone number (international)').fill('+44 7700 900123');
    await page.getByRole('button', { name: 'Request deletion' }).click();
    await page.locator('tbody tr', { hasText: 'phone' }).waitFor();
    expect(await page.content()).not.toContain('7700 900123');
    await screenshot(page, 'admin-settings-data');
    const requireTotp = page.getByLabel('Require an authenticator app (TOTP) for all members');
    await requireTotp.click();
    const stored = async () =>
      (
        await broker.platform.pools.control.query<{ require_totp: boolean }>(
          'SELECT require_totp FROM wact.workspace_settings WHERE workspace_id = $1',
          [ws.id],
        )
      ).rows[0]?.require_totp;
    await expect.poll(stored).toBe(true);
    // The admin has no authenticator yet: the console now asks for one (step-up), then carries on.
    await enrolTotpInConsole(page);
    await page.goto(`${broker.url}/#/settings/data`);
    await expect.poll(() => requireTotp.isChecked()).toBe(true);
    await requireTotp.click();
    await expect.poll(stored).toBe(false);
    expect(errors).toEqual([]);
    await context.close();

    const officer = broker.createEmployee('security');
    const sec = await newPerson(browser);
    await signInThroughConsole(sec.page, broker.url, officer);
    await enrolTotpInConsole(sec.page);
    await sec.page.locator('.RaSidebar-fixed').getByText('Platform audit').click();
    await sec.page.getByLabel('Reason for this access').fill('SEC-42 weekly access review');
    await sec.page.getByRole('button', { name: 'Continue' }).click();
    await sec.page.locator('tr', { hasText: 'auth.login' }).first().waitFor();
    await screenshot(sec.page, 'security-platform-audit');
    await sec.page.locator('.RaSidebar-fixed').getByText('Employees').click();
    await sec.page.locator('tr').nth(1).waitFor();
    // Other test files add employees to the shared database: the officer, who just signed in, is first by last login.
    await sec.page.goto(`${broker.url}/#/employees?sort=lastLoginAt&order=DESC&page=1&perPage=25`);
    await sec.page.locator('tr', { hasText: officer.email }).getByText('enrolled').waitFor();
    await screenshot(sec.page, 'security-employees');
    expect(sec.errors).toEqual([]);
    await sec.context.close();
  });

  it('a new owner walks the setup wizard: workspace, BSP webhook URL and secret, tracking link and snippet, first conversation turns it green', async () => {
    // The operator invites the new owner to sign up; their first sign-in creates the account, without a workspace.
    const founder = broker.oidc.identities.add({ email: `founder-${Date.now()}@new-shop.example`, name: 'Nina Newowner' });
    await createSignupService({ pool: broker.platform.pools.control, audit: broker.platform.audit }).invite(
      { email: founder.email },
      { id: 'operator:e2e', kind: 'operator', role: 'operator', displayName: 'e2e' },
    );
    const { page, context, errors } = await newPerson(browser);
    await signInThroughConsole(page, broker.url, founder);
    await page.getByText('Name and region').waitFor();
    await page.getByLabel('Workspace name').fill('Nina Shoes');
    await page.getByRole('button', { name: 'Create workspace' }).click();

    await page.getByLabel('Your WhatsApp provider (BSP)').click();
    await page.getByRole('option', { name: '360dialog' }).click();
    const webhookUrl = await page.getByRole('textbox', { name: 'Webhook URL to paste at your provider', exact: true }).inputValue();
    expect(webhookUrl).toMatch(new RegExp(`^${ingestUrl}/v1/webhooks/360dialog/[0-9a-f-]{36}$`));
    const workspaceId = webhookUrl.split('/').at(-1)!;
    const secret = 'e2e-360dialog-signing-secret';
    await page.getByLabel('Webhook signing secret').fill(secret);
    await screenshot(page, 'wizard-bsp');
    await page.getByRole('button', { name: 'Save and continue' }).click();

    await page.getByLabel('Business WhatsApp number').fill('4915123456789');
    await page.getByRole('button', { name: 'Create tracking link' }).click();
    const trackingUrl = await page.getByRole('textbox', { name: 'Tracking link (use it in your ads)', exact: true }).inputValue();
    expect(trackingUrl).toMatch(new RegExp(`^${ingestUrl}/r/${workspaceId}/[A-Za-z0-9]{8,32}$`));
    expect(await page.getByRole('textbox', { name: 'Site snippet (paste into your landing page)', exact: true }).inputValue()).toContain(
      trackingUrl,
    );
    await screenshot(page, 'wizard-link');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByText('Waiting for the first conversation').waitFor();

    // A visitor clicks the tracking link (ref code in the prefilled text), then writes on WhatsApp:
    // the BSP posts a signed webhook carrying that text.
    const click = await undiciFetch(`${trackingUrl}?gclid=e2e-gclid-123456&utm_source=google`, {
      redirect: 'manual',
      dispatcher: broker.agent,
    });
    expect(click.status).toBe(302);
    const prefilled = new URL(click.headers.get('location')!).searchParams.get('text') ?? '';
    const body = Buffer.from(
      JSON.stringify({
        object: 'whatsapp_business_account',
        entry: [
          {
            id: '1',
            changes: [
              {
                field: 'messages',
                value: {
                  messaging_product: 'whatsapp',
                  metadata: { display_phone_number: '4915123456789', phone_number_id: '1' },
                  contacts: [{ profile: { name: 'Test Person' }, wa_id: '447700900123' }],
                  messages: [
                    {
                      from: '447700900123',
                      id: `wamid.e2e${Date.now()}`,
                      timestamp: String(Math.floor(Date.now() / 1000)),
                      type: 'text',
                      text: { body: prefilled },
                    },
                  ],
                },
              },
            ],
          },
        ],
      }),
    );
    const hook = await undiciFetch(webhookUrl, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'x-360dialog-signature': createHmac('sha256', secret).update(body).digest('hex') },
      dispatcher: broker.agent,
    });
    expect(hook.status).toBe(200);
    await page.getByTestId('first-conversation').waitFor({ timeout: 20_000 });
    await screenshot(page, 'wizard-first-conversation');
    await page.getByRole('button', { name: 'Go to the dashboard' }).click();
    await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    await page.locator('.RaSidebar-fixed').getByText('Conversations').click();
    const row = page.locator('tbody tr').first();
    await row.waitFor();
    expect(await row.textContent()).toContain('ref_code');
    expect(await page.content()).not.toContain('447700900123');

    // The owner can wipe the workspace after typing its name.
    await page.locator('.RaSidebar-fixed').getByText('Settings → Data').click();
    await page.getByRole('button', { name: 'Wipe workspace…' }).click();
    const wipe = page.getByRole('button', { name: 'Wipe for good' });
    await page.getByLabel('Type the workspace name to confirm').fill('Nina Shoe');
    expect(await wipe.isDisabled()).toBe(true);
    await page.getByLabel('Type the workspace name to confirm').fill('Nina Shoes');
    await screenshot(page, 'owner-wipe-confirmation');
    await wipe.click();
    await page.getByText('Name and region').waitFor({ timeout: 30_000 });
    const left = await broker.platform.pools
      .region('eu')
      .query('SELECT count(*)::int AS n FROM wact.conversations WHERE workspace_id = $1', [workspaceId]);
    expect(left.rows[0].n).toBe(0);
    expect(errors).toEqual([]);
    await context.close();
  });
});
