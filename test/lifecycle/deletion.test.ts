import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFieldCrypto } from '../../shared/crypto/field-cipher.ts';
import { createDeletionService } from '../../shared/lifecycle/deletion-service.ts';
import { syntheticCrypto } from '../../shared/synthetic/synthetic-seeder.ts';
import { testConfig } from '../support/db.ts';
import { auditEvents, lifecyclePlatforms, newWorkspace, rowsMentioning, testActor } from './lifecycle-support.ts';

type Ctx = Awaited<ReturnType<typeof lifecyclePlatforms>>;

/** A local stand-in for Google Ads: records each call, answers with the queued statuses (then 200). */
function fakePlatform() {
  const calls: { url: string; headers: http.IncomingHttpHeaders; body: { conversionAdjustments: Record<string, unknown>[] } }[] = [];
  const statuses: number[] = [];
  const delay = { ms: 0 };
  const server = http.createServer((req, res) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => {
      calls.push({ url: req.url!, headers: req.headers, body: JSON.parse(data) });
      setTimeout(() => res.writeHead(statuses.shift() ?? 200, { 'content-type': 'application/json' }).end('{"results":[{}]}'), delay.ms);
    });
  });
  return {
    calls,
    statuses,
    delay,
    start: () =>
      new Promise<string>((r) => server.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(server.address() as AddressInfo).port}`))),
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** One person's trail: conversations, messages, a google click, conversions exported to google and meta. */
async function insertPerson(ctx: Ctx, ws: { id: string }, phone: string, opts: { sharedClickId?: string } = {}) {
  const pool = ctx.operator.pools.region('eu');
  const sc = await syntheticCrypto(ctx.operator.keyring, ws.id, 'eu');
  const sender = sc.senderHash({ kind: 'phone', e164: phone });
  const gclid = `Cj0KCQ${crypto.randomBytes(30).toString('base64url')}`;
  const clickId = opts.sharedClickId ?? crypto.randomUUID();
  const t = new Date(Date.now() - 3_600_000);
  if (!opts.sharedClickId) {
    await pool.query(
      `INSERT INTO wact.clicks (id, workspace_id, source, gclid_enc, utm_source, created_at) VALUES ($1, $2, 'link', $3, 'google', $4)`,
      [clickId, ws.id, sc.encrypt('clicks', 'gclid_enc', gclid), t],
    );
  }
  const convIds = [crypto.randomUUID(), crypto.randomUUID()];
  const exportIds: string[] = [];
  const conversionIds: string[] = [];
  for (const conv of convIds) {
    await pool.query(
      `INSERT INTO wact.conversations (id, workspace_id, provider, sender_hash, sender_kind, started_at, matched_click_id, matched_click_at, attribution_method)
       VALUES ($1, $2, 'twilio', $3, 'phone', now(), $4, $5, 'ref_code')`,
      [conv, ws.id, sender, clickId, t],
    );
    const mh = sc.messageHash('twilio', `SM${crypto.randomBytes(16).toString('hex')}`);
    await pool.query(
      `INSERT INTO wact.raw_webhook_payloads (id, workspace_id, provider, message_hash, conversation_id, payload_enc) VALUES ($1, $2, 'twilio', $3, $4, $5)`,
      [crypto.randomUUID(), ws.id, mh, conv, sc.encrypt('raw_webhook_payloads', 'payload_enc', '{"type":"text"}')],
    );
    await pool.query(`INSERT INTO wact.webhook_receipts (workspace_id, provider, message_hash) VALUES ($1, 'twilio', $2)`, [ws.id, mh]);
    const conversion = crypto.randomUUID();
    conversionIds.push(conversion);
    await pool.query(
      `INSERT INTO wact.conversions (id, workspace_id, event, value, currency, occurred_at, conversation_id, click_id, click_created_at, match_method, attributed)
       VALUES ($1, $2, 'Purchase', 42, 'EUR', now(), $3, $4, $5, 'phone', true)`,
      [conversion, ws.id, conv, clickId, t],
    );
    await pool.query(`INSERT INTO wact.conversion_keys (workspace_id, key_hash, conversion_id) VALUES ($1, $2, $3)`, [
      ws.id,
      crypto.randomBytes(32).toString('hex'),
      conversion,
    ]);
    for (const platform of ['google', 'meta']) {
      const id = crypto.randomUUID();
      exportIds.push(id);
      await pool.query(
        `INSERT INTO wact.export_jobs (id, workspace_id, conversion_id, platform, click_kind) VALUES ($1, $2, $3, $4, 'gclid')`,
        [id, ws.id, conversion, platform],
      );
      await pool.query(
        `INSERT INTO wact.export_attempts (id, workspace_id, export_job_id, attempt, outcome, http_status) VALUES ($1, $2, $3, 1, 'sent', 200)`,
        [crypto.randomUUID(), ws.id, id],
      );
    }
  }
  await pool.query(`SELECT wact_private.ensure_job_queue('export.test', '{"policy":"standard"}'::json)`);
  await pool.query(`INSERT INTO pgboss.job (name, data) VALUES ('export.test', $1)`, [
    JSON.stringify({ workspaceId: ws.id, exportJobId: exportIds[0] }),
  ]);
  return { sender, gclid, clickId, convIds, conversionIds };
}

describe('end-user deletion requests', () => {
  let ctx: Ctx;
  const platform = fakePlatform();
  let deletion: ReturnType<typeof createDeletionService>;
  beforeAll(async () => {
    ctx = await lifecyclePlatforms();
    const base = await platform.start();
    const config = testConfig({ WACT_DELETION_ENDPOINT_GOOGLE: `${base}/v21/customers/{customerId}:uploadConversionAdjustments` });
    deletion = createDeletionService({ ...ctx.broker, config });
  });
  afterAll(async () => {
    await platform.stop();
    await ctx.close();
  });

  it('deletes every record linked to the phone, keeps a shared click, and retracts at the ad platform', async () => {
    const ws = await newWorkspace(ctx.operator);
    const pool = ctx.operator.pools.region('eu');
    const fc = createFieldCrypto(ctx.operator.keyring);
    await pool.query(`INSERT INTO wact.ad_platform_credentials (workspace_id, platform, credentials_enc) VALUES ($1, 'google', $2)`, [
      ws.id,
      await fc.encrypt(
        ws.id,
        'eu',
        { table: 'ad_platform_credentials', column: 'credentials_enc:google' },
        JSON.stringify({ customerId: '1234567890', accessToken: 'tok-abc', developerToken: 'dev-1', conversionActionId: '987' }),
      ),
    ]);
    const alice = await insertPerson(ctx, ws, '+447700900123');
    const bob = await insertPerson(ctx, ws, '+12025550142', { sharedClickId: alice.clickId });
    const carol = await insertPerson(ctx, ws, '+447700900777');

    // Written as a person would type it; normalised and hashed in memory only.
    const req = await deletion.submit(ws.id, { phone: '07700 900123', defaultRegion: 'GB' }, testActor);
    expect(req.status).toBe('pending');
    expect(new Date(req.dueAt).getTime() - Date.now()).toBeGreaterThan(29 * 86_400_000);
    // The request row holds no phone number, only hashes (and those only until the local deletion is done).
    expect(await rowsMentioning(pool, '7700900123')).toEqual({});

    const done = await deletion.processRequest(ws.id, req.id, testActor);
    expect(done.deletedCounts).toMatchObject({
      conversations: 2,
      conversions: 2,
      rawPayloads: 2,
      receipts: 2,
      exports: 4,
      conversionKeys: 2,
      queuedJobs: 1,
      clicks: 0,
    });
    const count = async (sql: string, params: unknown[]) => (await pool.query(sql, params)).rows[0].n as number;
    expect(
      await count('SELECT count(*)::int AS n FROM wact.conversations WHERE workspace_id = $1 AND sender_hash = $2', [ws.id, alice.sender]),
    ).toBe(0);
    expect(
      await count('SELECT count(*)::int AS n FROM wact.raw_webhook_payloads WHERE workspace_id = $1 AND conversation_id = ANY($2)', [
        ws.id,
        alice.convIds,
      ]),
    ).toBe(0);
    expect(
      await count('SELECT count(*)::int AS n FROM wact.conversions WHERE workspace_id = $1 AND conversation_id = ANY($2)', [
        ws.id,
        alice.convIds,
      ]),
    ).toBe(0);
    expect(await count(`SELECT count(*)::int AS n FROM pgboss.job WHERE data->>'workspaceId' = $1 AND name = 'export.test'`, [ws.id])).toBe(
      2,
    ); // bob's and carol's
    // Bob still needs the click he shares with Alice; Carol is untouched.
    expect(await count('SELECT count(*)::int AS n FROM wact.clicks WHERE workspace_id = $1 AND id = $2', [ws.id, alice.clickId])).toBe(1);
    expect(
      await count('SELECT count(*)::int AS n FROM wact.conversations WHERE workspace_id = $1 AND sender_hash = ANY($2)', [
        ws.id,
        [bob.sender, carol.sender],
      ]),
    ).toBe(4);
    expect(await count('SELECT count(*)::int AS n FROM wact.deletion_requests WHERE id = $1 AND subject_hashes = $2', [req.id, '{}'])).toBe(
      1,
    );

    // Google got a retraction with Alice's gclid; Meta has no deletion call and says so.
    expect(platform.calls).toHaveLength(1);
    const call = platform.calls[0];
    expect(call.url).toBe('/v21/customers/1234567890:uploadConversionAdjustments');
    expect(call.headers.authorization).toBe('Bearer tok-abc');
    expect(call.headers['developer-token']).toBe('dev-1');
    expect(call.body.conversionAdjustments).toHaveLength(2);
    // Identified by the order id the export sent (our conversion id): the documented identifier, and the
    // only one that also works for gbraid / wbraid conversions. The click id itself is not sent again.
    expect(call.body.conversionAdjustments[0]).toMatchObject({
      adjustmentType: 'RETRACTION',
      conversionAction: 'customers/1234567890/conversionActions/987',
    });
    expect(call.body.conversionAdjustments.map((a) => a.orderId).sort()).toEqual([...alice.conversionIds].sort());
    expect(JSON.stringify(call.body)).not.toContain(alice.gclid);
    expect(done.status).toBe('completed');
    const google = done.targets.find((t) => t.platform === 'google')!;
    expect(google).toMatchObject({ status: 'done', responseStatus: 200, attempts: 1, identifierCount: 2 });
    expect(done.targets.find((t) => t.platform === 'meta')).toMatchObject({ status: 'not_needed' });
    expect(
      (await pool.query('SELECT payload FROM wact.deletion_targets WHERE request_id = $1', [req.id])).rows.every((r) => r.payload === null),
    ).toBe(true);

    const events = await auditEvents(pool, ws.id, 'deletion.execute');
    expect(events[0].metadata).toMatchObject({ conversations: 2 });
    expect(JSON.stringify(await auditEvents(pool, ws.id, 'deletion.request'))).not.toMatch(/7700900123/);
  });

  it('retries a failing platform with backoff, and an overdue request raises an alert', async () => {
    const ws = await newWorkspace(ctx.operator);
    const pool = ctx.operator.pools.region('eu');
    const person = await insertPerson(ctx, ws, '+13055550100');
    platform.statuses.push(503);
    const before = platform.calls.length;
    const req = await deletion.submit(ws.id, { conversationId: person.convIds[0] }, testActor);
    let view = await deletion.processRequest(ws.id, req.id, testActor);
    expect(view.status).toBe('propagating');
    expect(view.targets.find((t) => t.platform === 'google')).toMatchObject({ status: 'pending', responseStatus: 503, attempts: 1 });
    // Both conversations of the sender went, not only the one named.
    expect(view.deletedCounts.conversations).toBe(2);
    // Not due again yet: a second pass sends nothing.
    await deletion.processRequest(ws.id, req.id, testActor);
    expect(platform.calls.length).toBe(before + 1);
    await pool.query('UPDATE wact.deletion_targets SET next_attempt_at = now() WHERE request_id = $1', [req.id]);
    view = await deletion.processRequest(ws.id, req.id, testActor);
    expect(view.status).toBe('completed');
    expect(view.targets.find((t) => t.platform === 'google')).toMatchObject({ status: 'done', attempts: 2 });

    // A second request whose platform keeps failing past its due date.
    const other = await insertPerson(ctx, ws, '+13055550101');
    platform.statuses.push(500, 500, 500);
    const late = await deletion.submit(ws.id, { phone: '+1 305 555 0101' }, testActor);
    await deletion.processRequest(ws.id, late.id, testActor);
    expect((await deletion.alerts(ws.id)).overdue).toBe(0);
    await pool.query(`UPDATE wact.deletion_requests SET due_at = now() - interval '1 minute' WHERE id = $1`, [late.id]);
    await pool.query('UPDATE wact.deletion_targets SET next_attempt_at = now() WHERE request_id = $1', [late.id]);
    expect((await deletion.alerts(ws.id)).requestIds).toEqual([late.id]);
    const swept = await deletion.sweep('eu', testActor);
    expect(swept.processed).toBeGreaterThanOrEqual(1);
    const lateView = await deletion.get(ws.id, late.id);
    expect(lateView).toMatchObject({ status: 'overdue', overdue: true });
    expect(lateView.targets.find((t) => t.platform === 'google')!.status).toBe('overdue');
    expect((await deletion.list(ws.id, { offset: 0, limit: 10, overdue: true })).rows.map((r) => r.id)).toEqual([late.id]);
    expect(other.convIds).toHaveLength(2);
  });

  it('two workers on one request: one does the work, the platform is called once', async () => {
    const ws = await newWorkspace(ctx.operator);
    await insertPerson(ctx, ws, '+13055550102');
    const req = await deletion.submit(ws.id, { phone: '+13055550102' }, testActor);
    const before = platform.calls.length;
    platform.statuses.length = 0; // answers left over from the test before
    platform.delay.ms = 400;
    try {
      const [a, b] = await Promise.all([
        deletion.processRequest(ws.id, req.id, testActor),
        deletion.processRequest(ws.id, req.id, testActor),
      ]);
      expect([a.status, b.status]).toContain('completed');
    } finally {
      platform.delay.ms = 0;
    }
    expect(platform.calls.length).toBe(before + 1);
    expect((await deletion.get(ws.id, req.id)).deletedCounts.conversations).toBe(2);
  });

  it('refuses bad input without echoing it, and unknown conversations', async () => {
    const ws = await newWorkspace(ctx.operator);
    const bad = deletion.submit(ws.id, { phone: 'call me maybe 12345' }, testActor);
    await expect(bad).rejects.toMatchObject({ status: 400 });
    await expect(bad).rejects.not.toThrow(/12345/);
    await expect(deletion.submit(ws.id, { phone: '+447700900123', conversationId: crypto.randomUUID() }, testActor)).rejects.toMatchObject({
      status: 400,
    });
    await expect(deletion.submit(ws.id, { conversationId: crypto.randomUUID() }, testActor)).rejects.toMatchObject({ status: 404 });
    await expect(deletion.get(ws.id, 'nope')).rejects.toMatchObject({ status: 404 });
  });
});
