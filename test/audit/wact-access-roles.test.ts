import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../broker/gateway/harness.ts';
import { startTestBroker, type ApiClient, type TestBroker } from '../support/broker.ts';

/**
 * Issue 13, point 6 — the "WAct access" API. An engineer's approved session
 * runs statements through the real gateway; the workspace's owner and admin
 * then see who, why, who approved, how it ended and the masked transcript
 * (from the workspace's own audit stream). Other roles, employees and other
 * workspaces are refused, and a session of one workspace is never visible
 * through another.
 */
let h: Harness;
let b: TestBroker;
const clients: Record<string, ApiClient> = {};
let closedId: string;
let revokedId: string;
let otherWs: string;

beforeAll(async () => {
  h = await startHarness();
  b = await startTestBroker({ env: { LOG_LEVEL: 'silent' } });

  // 1. Approved full session with a note; statements through the gateway; closed by the engineer.
  const req = await h.access.request(h.engineer, {
    workspaceId: h.wsA,
    reason: 'Investigating INC0012345 duplicate conversions',
    scope: 'full',
  });
  await h.access.approve(h.security, req.session.id, { note: 'ok, read only, INC0012345' });
  const { connection } = await h.access.issueToken(h.engineer, req.session.id);
  const c = await h.client(connection.user, connection.password);
  await c.query('SELECT id FROM wact.conversations'); // 3 rows
  await expect(c.query('SELECT * FROM no_such_table')).rejects.toMatchObject({ code: '42P01' });
  await c.query(`SELECT count(*) FROM wact.conversations WHERE sender_hash = '+49 151 23456789'`);
  await c.end();
  await h.access.end(h.engineer, req.session.id);
  closedId = req.session.id;

  // 2. A second session, revoked by security.
  const r2 = await h.access.request(h.engineer, { workspaceId: h.wsA, reason: 'Second look at INC0012345 exports', scope: 'full' });
  await h.access.approve(h.security, r2.session.id);
  await h.access.revoke(h.security, r2.session.id);
  revokedId = r2.session.id;

  for (const role of ['owner', 'admin', 'analyst', 'readonly'] as const)
    clients[role] = await b.loginAs((await b.createCustomer(h.wsA, role)).identity);
  const other = await b.createWorkspace('Elsewhere');
  otherWs = other.id;
  clients.outsider = await b.loginAs((await b.createCustomer(other.id, 'owner')).identity);
  clients.engineer = await b.loginAs('engineer');
  clients.security = await b.loginAs('security');
}, 180_000);

afterAll(async () => {
  await b?.close();
  await h?.close();
});

const base = () => `/api/workspaces/${h.wsA}/wact-access`;
const events = async (action: string) =>
  (
    await h.ops
      .region('eu')
      .query<{ n: number }>('SELECT count(*)::int AS n FROM audit.events WHERE stream_id = $1 AND action = $2', [h.wsA, action])
  ).rows[0].n;

describe('WAct access API', () => {
  it('owners see every granted session: who, role, scope, reason, approver and comment, start, end, how it ended, statement count', async () => {
    const before = await events('wactaccess.list');
    const res = await clients.owner.get(base());
    expect(res.status).toBe(200);
    expect(await events('wactaccess.list')).toBe(before + 1);
    const closed = res.body.find((s: { id: string }) => s.id === closedId);
    expect(closed).toMatchObject({
      kind: 'database',
      employeeName: 'Erin Engineer',
      employeeRole: 'engineer',
      scope: 'full',
      reason: 'Investigating INC0012345 duplicate conversions',
      ticket: 'INC0012345',
      approverName: 'Sam Security',
      approverComment: 'ok, read only, INC0012345',
      endedHow: 'closed',
      statementCount: 3,
    });
    expect(Date.parse(closed.end)).toBeGreaterThanOrEqual(Date.parse(closed.start));
    expect(res.body.find((s: { id: string }) => s.id === revokedId)).toMatchObject({ endedHow: 'revoked', statementCount: 0 });
  });

  it('the transcript: masked text, outcome, row count and time of each statement, in order', async () => {
    const res = await clients.owner.get(`${base()}/${closedId}`);
    expect(res.status).toBe(200);
    const t = res.body.transcript as { text: string; outcome: string; rows: number | null; at: string; seq: number }[];
    expect(t.map((x) => x.outcome)).toEqual(['success', 'failure', 'success']);
    expect(t[0]).toMatchObject({ text: 'SELECT id FROM wact.conversations', rows: 3 });
    expect(t[1].text).toBe('SELECT * FROM no_such_table');
    // The phone number literal never reaches the customer's view either: the gateway masked it.
    expect(t[2].text).toMatch(/^SELECT count\(\*\) FROM wact.conversations WHERE sender_hash = /);
    expect(JSON.stringify(res.body)).not.toContain('23456789');
    expect(t.every((x) => !Number.isNaN(Date.parse(x.at)))).toBe(true);
    expect([...t].sort((a, c) => a.seq - c.seq)).toEqual(t);
  });

  it('filters by how it ended, kind, role and text', async () => {
    const f = (filter: object) => clients.owner.get(`${base()}?filter=${encodeURIComponent(JSON.stringify(filter))}`);
    const revoked = await f({ endedHow: 'revoked' });
    expect(revoked.body.map((s: { id: string }) => s.id)).toEqual([revokedId]);
    expect((await f({ q: 'exports' })).body.map((s: { id: string }) => s.id)).toEqual([revokedId]);
    expect((await f({ kind: 'support' })).body).toEqual([]);
    expect((await f({ employeeRole: 'engineer' })).body).toHaveLength(2);
    expect((await f({ endedHow: 'sideways' })).status).toBe(400);
  });

  it('exports CSV and JSON lines with the transcript, audited once each', async () => {
    const before = await events('wactaccess.export');
    const csv = await clients.admin.get(`${base()}/export?format=csv`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-disposition')).toMatch(/attachment; filename="wact-access-.*\.csv"/);
    expect(csv.text.split('\n')[0]).toContain('employeeName,employeeId,employeeRole,scope,reason,ticket,approverName');
    expect(csv.text).toContain('SELECT id FROM wact.conversations');
    const jsonl = await clients.owner.get(`${base()}/export?format=jsonl`);
    const lines = jsonl.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; statement: string | null });
    expect(lines.filter((l) => l.id === closedId).map((l) => l.statement)).toHaveLength(3);
    expect(lines.filter((l) => l.id === revokedId)).toHaveLength(1);
    expect(await events('wactaccess.export')).toBe(before + 2);
  });

  it('analysts, readonly members, employees and members of other workspaces are refused', async () => {
    for (const who of ['analyst', 'readonly', 'outsider', 'engineer', 'security']) {
      const list = await clients[who].get(base(), { reason: 'trying' });
      expect(list.status, who).toBe(403);
      expect((await clients[who].get(`${base()}/${closedId}`, { reason: 'trying' })).status, who).toBe(403);
      expect((await clients[who].get(`${base()}/export?format=csv`, { reason: 'trying' })).status, who).toBe(403);
    }
  });

  it('another workspace never shows this one’s sessions, not even by id', async () => {
    const list = await clients.outsider.get(`/api/workspaces/${otherWs}/wact-access`);
    expect(list.status).toBe(200);
    expect(list.body).toEqual([]);
    expect((await clients.outsider.get(`/api/workspaces/${otherWs}/wact-access/${closedId}`)).status).toBe(404);
    const exp = await clients.outsider.get(`/api/workspaces/${otherWs}/wact-access/export?format=jsonl`);
    expect(exp.text).not.toContain(closedId);
  });
});
