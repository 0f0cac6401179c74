import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type ApiClient, type TestBroker } from '../../support/broker.ts';
import { insertConversations } from '../../support/console-fixtures.ts';
import { encryptField, fieldContext } from '../../../shared/crypto/field-cipher.ts';

describe('attribution API for the console (masked reads, audited unmask and export, write-only credentials)', () => {
  let broker: TestBroker;
  let ws: { id: string; name: string; region: 'eu' | 'us' };
  let admin: ApiClient;
  let analyst: ApiClient;
  let readonly: ApiClient;
  let clickId: string;
  const GCLID = 'Cj0KCQiA-secret-click-id-123456';

  beforeAll(async () => {
    broker = await startTestBroker();
    ws = (await broker.createWorkspace()) as typeof ws;
    const eu = broker.platform.pools.region('eu');
    await insertConversations(eu, ws.id, [
      { daysAgo: 0, provider: 'meta', method: 'ctwa_clid' },
      { daysAgo: 1, provider: 'twilio' },
    ]);
    // A real encrypted click, written the way ingest writes it.
    await eu.query('SELECT wact_private.ensure_ingest_partitions(current_date - 1, 15)');
    clickId = crypto.randomUUID();
    const dek = await broker.platform.keyring.currentKey(ws.id, 'eu', 'dek');
    await eu.query(
      `INSERT INTO wact.clicks (id, workspace_id, source, gclid_enc, click_id_prefixes, utm_source, utm_campaign) VALUES ($1, $2, 'link', $3, $4, 'google', '=HYPERLINK("http://x")')`,
      [clickId, ws.id, encryptField(dek, fieldContext(ws.id, 'clicks', 'gclid_enc'), GCLID), JSON.stringify({ gclid: GCLID.slice(0, 4) })],
    );
    [admin, analyst, readonly] = await Promise.all([
      broker.createCustomer(ws.id, 'admin').then((c) => broker.loginAs(c.identity)),
      broker.createCustomer(ws.id, 'analyst').then((c) => broker.loginAs(c.identity)),
      broker.createCustomer(ws.id, 'readonly').then((c) => broker.loginAs(c.identity)),
    ]);
  }, 120_000);
  afterAll(async () => broker?.close());

  const auditCount = async (action: string) =>
    Number(
      (
        await broker.platform.pools
          .region('eu')
          .query<{ n: string }>('SELECT count(*) AS n FROM audit.events WHERE stream_id = $1 AND action = $2', [ws.id, action])
      ).rows[0].n,
    );

  it('lists conversations and clicks with masked identifiers only, with Content-Range, and audits the read', async () => {
    const before = await auditCount('data.read');
    const res = await analyst.get(`/api/workspaces/${ws.id}/conversations?sort=${encodeURIComponent('["startedAt","DESC"]')}&range=[0,9]`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-range')).toBe('conversations 0-1/2');
    const hashes = (
      await broker.platform.pools
        .region('eu')
        .query<{ sender_hash: string }>('SELECT sender_hash FROM wact.conversations WHERE workspace_id = $1', [ws.id])
    ).rows;
    for (const h of hashes) expect(res.text).not.toContain(h.sender_hash);
    expect(res.body[0].sender).toMatch(/^[0-9a-f]{8}•{8}$/);
    const clicks = await analyst.get(`/api/workspaces/${ws.id}/clicks`);
    expect(clicks.status).toBe(200);
    expect(clicks.text).not.toContain(GCLID);
    expect(clicks.body[0]).toMatchObject({ clickKind: 'gclid', clickId: 'Cj0K••••', platform: 'google' });
    expect(await auditCount('data.read')).toBe(before + 2);
  });

  it('filters and sorts; refuses unknown sort fields with a 400', async () => {
    const meta = await analyst.get(`/api/workspaces/${ws.id}/conversations?filter=${encodeURIComponent('{"provider":"meta"}')}`);
    expect(meta.body.map((r: { provider: string }) => r.provider)).toEqual(['meta']);
    const none = await analyst.get(`/api/workspaces/${ws.id}/conversations?filter=${encodeURIComponent('{"attributionMethod":"none"}')}`);
    expect(none.body.map((r: { provider: string }) => r.provider)).toEqual(['twilio']);
    const bad = await analyst.get(`/api/workspaces/${ws.id}/conversations?sort=${encodeURIComponent('["sender_hash","ASC"]')}`);
    expect(bad.status).toBe(400);
  });

  it('read-only members see neither rows nor exports', async () => {
    expect((await readonly.get(`/api/workspaces/${ws.id}/conversations`)).status).toBe(403);
    expect((await readonly.get(`/api/workspaces/${ws.id}/clicks/export?format=csv`)).status).toBe(403);
  });

  it('unmask: admin with a reason gets the clear click id and an audit event; no reason → 400; analyst → 403', async () => {
    const url = `/api/workspaces/${ws.id}/clicks/${clickId}/unmask`;
    expect((await admin.post(url, { field: 'clickId' })).status).toBe(400);
    expect((await analyst.post(url, { field: 'clickId', reason: 'TICKET-1 verify click' })).status).toBe(403);
    const before = await auditCount('data.unmask');
    const ok = await admin.post(url, { field: 'clickId', reason: 'TICKET-1 verify click' });
    expect(ok.status).toBe(200);
    expect(ok.body.value).toBe(GCLID);
    expect(await auditCount('data.unmask')).toBe(before + 1);
    const ev = await broker.platform.pools
      .region('eu')
      .query<{ reason: string }>(
        "SELECT reason FROM audit.events WHERE stream_id = $1 AND action = 'data.unmask' ORDER BY occurred_at DESC LIMIT 1",
        [ws.id],
      );
    expect(ev.rows[0].reason).toBe('TICKET-1 verify click');
  });

  it('exports CSV with masked identifiers and neutralised formulas, and JSONL; each export is audited', async () => {
    const before = await auditCount('data.export');
    const csv = await analyst.get(`/api/workspaces/${ws.id}/clicks/export?format=csv`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-disposition')).toMatch(/attachment; filename="clicks-.*\.csv"/);
    expect(csv.text).not.toContain(GCLID);
    expect(csv.text).toContain(`"'=HYPERLINK(""http://x"")"`);
    const jsonl = await analyst.get(`/api/workspaces/${ws.id}/conversations/export?format=jsonl`);
    const lines = jsonl.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    expect(await auditCount('data.export')).toBe(before + 2);
  });

  it('credentials are write-only; API keys are shown once; links are created for the workspace', async () => {
    const secret = `app-secret-${crypto.randomBytes(8).toString('hex')}`;
    const put = await admin.put(`/api/workspaces/${ws.id}/credentials/bsp/meta`, { secret, verifyToken: 'verify-token-123' });
    expect(put.status).toBe(200);
    expect(put.text).not.toContain(secret);
    const list = await admin.get(`/api/workspaces/${ws.id}/credentials`);
    expect(list.body).toEqual([expect.objectContaining({ id: 'bsp:meta', kind: 'bsp', provider: 'meta', verifyToken: true })]);
    expect(list.text).not.toContain(secret);
    expect((await admin.put(`/api/workspaces/${ws.id}/credentials/bsp/meta`, { secret: 'short' })).status).toBe(400);
    expect((await analyst.get(`/api/workspaces/${ws.id}/credentials`)).status).toBe(403);

    const key = await admin.post(`/api/workspaces/${ws.id}/api-keys`, { label: 'CRM' });
    expect(key.status).toBe(201);
    expect(key.body.key).toMatch(/^wact_[0-9a-f]{32}_/);
    const keys = await admin.get(`/api/workspaces/${ws.id}/api-keys`);
    expect(keys.text).not.toContain(key.body.key);
    expect((await admin.delete(`/api/workspaces/${ws.id}/api-keys/${key.body.id}`)).status).toBe(200);

    const link = await admin.post(`/api/workspaces/${ws.id}/links`, { waNumber: '4915123456789', prefillText: 'Hi' });
    expect(link.status).toBe(201);
    const links = await admin.get(`/api/workspaces/${ws.id}/links`);
    expect(links.body.map((l: { id: string }) => l.id)).toContain(link.body.id);
    expect((await admin.post(`/api/workspaces/${ws.id}/links`, { waNumber: 'abc' })).status).toBe(400);
  });
});
