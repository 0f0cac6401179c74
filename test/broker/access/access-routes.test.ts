import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorPools } from '../../support/db.ts';
import { endSessionRolesOf } from '../gateway/harness.ts';
import { startTestBroker, type ApiClient, type TestBroker } from '../../support/broker.ts';

describe('access API: requests, four eyes, sessions view, support browsing through redacted views', () => {
  let broker: TestBroker;
  let engineer: ApiClient;
  let support: ApiClient;
  let security: ApiClient;
  let wsA: string;
  let wsB: string;
  beforeAll(async () => {
    broker = await startTestBroker();
    wsA = (await broker.createWorkspace('Access A')).id;
    wsB = (await broker.createWorkspace('Access B')).id;
    for (const ws of [wsA, wsB]) {
      await broker.platform.pools.region('eu').query(
        `INSERT INTO wact.conversations (id, workspace_id, provider, sender_hash, sender_kind, started_at, ctwa_clid_prefix)
         VALUES ($1, $2, 'twilio', $3, 'phone', now(), 'Zx12')`,
        [crypto.randomUUID(), ws, crypto.randomBytes(32).toString('hex')],
      );
    }
    engineer = await broker.loginAs('engineer');
    support = await broker.loginAs('support');
    security = await broker.loginAs('security');
  });
  afterAll(async () => {
    const ops = operatorPools();
    await endSessionRolesOf(ops, [], [wsA, wsB].filter(Boolean)).finally(() => ops.end());
    await broker?.close();
  });

  it('an engineer requests a redacted session and gets connection details at once (verify-full, no token in a URL)', async () => {
    const res = await engineer.post('/api/db/requests', { workspaceId: wsA, reason: 'Debugging PROJ-42 missing clicks', ttl: '10m' });
    expect(res.status).toBe(201);
    expect(res.body.session).toMatchObject({ status: 'active', scope: 'redacted', ticketRef: 'PROJ-42', ttlSeconds: 600 });
    // The token is only the password field: no URL or command carries it, and the client is told to verify the gateway.
    const { password, ...rest } = res.body.connection;
    expect(password).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(JSON.stringify(rest)).not.toContain(password);
    expect(JSON.stringify(res.body)).not.toMatch(/:\/\//);
    expect(res.body.connection).toMatchObject({ user: res.body.session.id, database: 'wact', sslmode: 'verify-full', psql: 'psql' });
    expect(res.body.connection.sslrootcert.trim()).toBe(broker.tls.ca?.trim());
    expect(res.body.connection.env).toMatchObject({ PGSSLMODE: 'verify-full', PGUSER: res.body.session.id });
  });

  it('refuses short reasons, too long TTLs and reasons holding phone numbers (clear 4xx)', async () => {
    expect((await engineer.post('/api/db/requests', { workspaceId: wsA, reason: 'short' })).status).toBe(400);
    const long = await engineer.post('/api/db/requests', { workspaceId: wsA, reason: 'A good long reason here', ttl: '16m' });
    expect(long.status).toBe(400);
    expect(long.body.error.code).toBe('ttl_too_long');
    const phone = await engineer.post('/api/db/requests', { workspaceId: wsA, reason: 'customer +49 151 23456789 complains' });
    expect(phone.body.error.code).toBe('reason_has_identifier');
  });

  it('full scope waits for a different security employee; the requester is notified; support cannot ask for full', async () => {
    const req = await engineer.post('/api/db/requests', { workspaceId: wsA, reason: 'Unmasked check for OPS-7', scope: 'full' });
    expect(req.status).toBe(201);
    expect(req.body.session.status).toBe('pending');
    expect(req.body.connection).toBeUndefined();
    const id = req.body.session.id;
    expect((await engineer.post(`/api/db/sessions/${id}/token`)).body.error.code).toBe('request_pending');
    expect((await engineer.post(`/api/db/sessions/${id}/approve`)).status).toBe(403); // not security
    const approved = await security.post(`/api/db/sessions/${id}/approve`, { note: 'ok for OPS-7' });
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ status: 'active', decidedByName: expect.any(String) });
    expect(approved.body).not.toHaveProperty('connection'); // the approver never sees the token
    const notes = await engineer.get('/api/db/notifications');
    expect(notes.body.some((n: { sessionId: string; kind: string }) => n.sessionId === id && n.kind === 'approved')).toBe(true);
    const token = await engineer.post(`/api/db/sessions/${id}/token`);
    expect(token.status).toBe(200);
    expect(token.body.connection.user).toBe(id);
    expect((await support.post('/api/db/requests', { workspaceId: wsA, reason: 'Support wants full data', scope: 'full' })).status).toBe(
      403,
    );
  });

  it('sessions list: own for engineers, all for security, with Content-Range; security revokes', async () => {
    const mine = await engineer.get('/api/db/sessions?range=[0,9]');
    expect(mine.status).toBe(200);
    expect(mine.headers.get('content-range')).toMatch(/^sessions 0-\d+\/\d+$/);
    expect(mine.body.every((s: { requesterName: string }) => s.requesterName === mine.body[0].requesterName)).toBe(true);
    const all = await security.get(`/api/db/sessions?filter=${encodeURIComponent(JSON.stringify({ status: 'active' }))}`);
    expect(all.body.length).toBeGreaterThan(0);
    const target = all.body[0].id;
    const revoked = await security.post(`/api/db/sessions/${target}/revoke`);
    expect(revoked.body).toMatchObject({ status: 'revoked', revokedByName: expect.any(String) });
    expect((await engineer.post(`/api/db/sessions/${target}/revoke`)).status).toBe(403);
  });

  it('support opens a workspace for a ticket and browses masked data only, of that workspace only', async () => {
    const before = await support.get(`/api/workspaces/${wsA}/support/conversations`, { reason: 'ZD-1234 check' });
    expect(before.status).toBe(403);
    expect(before.body.error.code).toBe('support_session_required');
    const open = await support.post(`/api/workspaces/${wsA}/support/sessions`, { reason: 'Ticket ZD-1234: conversions missing' });
    expect(open.status).toBe(201);
    expect(open.body).toMatchObject({ purpose: 'support', scope: 'redacted', status: 'active' });
    const page = await support.get(`/api/workspaces/${wsA}/support/conversations?range=[0,9]`, { reason: 'ZD-1234 check' });
    expect(page.status).toBe(200);
    expect(page.body).toHaveLength(1);
    expect(page.body[0].sender).toMatch(/^[0-9a-f]{8}••••••••$/);
    expect(page.body[0].ctwa_clid).toBe('Zx12••••');
    expect(page.body[0]).not.toHaveProperty('sender_hash');
    expect(page.body[0]).not.toHaveProperty('ctwa_clid_enc');
    // each read states its reason (X-Wact-Reason); without one the read is refused with a clear 4xx
    const noReason = await support.get(`/api/workspaces/${wsA}/support/conversations`);
    expect(noReason.status).toBe(400);
    // another workspace: no session there
    expect((await support.get(`/api/workspaces/${wsB}/support/conversations`, { reason: 'ZD-1234 check' })).status).toBe(403);
    // the read is in the workspace's audit log, with the session's count of statements
    const { rows } = await broker.platform.pools
      .region('eu')
      .query(`SELECT count(*)::int AS n FROM audit.events WHERE stream_id = $1 AND action = 'support.browse'`, [wsA]);
    expect(rows[0].n).toBe(1);
    const sessions = await support.get('/api/db/sessions');
    expect(sessions.body.find((s: { id: string }) => s.id === open.body.id).statements).toBe(2);
  });
});
