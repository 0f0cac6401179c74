import crypto from 'node:crypto';
import net from 'node:net';
import { PostgresConnection } from 'pg-gateway';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessServiceFor } from '../../../shared/access/access-wiring.ts';
import { parseTtl, ticketFromReason } from '../../../shared/access/access-types.ts';
import { connectUpstream } from '../../../broker/gateway/upstream-client.ts';
import { scramVerifier } from '../../../shared/crypto/scram.ts';
import { connectAs, servicePools } from '../../support/db.ts';
import { startHarness, type Harness } from '../../broker/gateway/harness.ts';

describe('access requests: rules', () => {
  it('TTL: default 5 min, at most 15, clear errors otherwise', () => {
    const d = { defaultSeconds: 300, maxSeconds: 900 };
    expect(parseTtl(undefined, d)).toBe(300);
    expect(parseTtl('15m', d)).toBe(900);
    expect(parseTtl('90s', d)).toBe(90);
    expect(parseTtl('10', d)).toBe(600);
    expect(() => parseTtl('16m', d)).toThrow(/at most 15 minutes/);
    expect(() => parseTtl('30s', d)).toThrow(/at least 1 minute/);
    expect(() => parseTtl('1h', d)).toThrow(/look like/);
  });

  it('recognises ticket references and stores them apart from the reason', () => {
    expect(ticketFromReason('Customer escalation OPS-1234: missing clicks')).toBe('OPS-1234');
    expect(ticketFromReason('see INC0012345 for details')).toBe('INC0012345');
    expect(ticketFromReason('Zendesk ZD-99881 conversions')).toBe('ZD-99881');
    expect(ticketFromReason('https://tracker.example.com/issues/77 broken')).toBe('https://tracker.example.com/issues/77');
    expect(ticketFromReason('no ticket at all here')).toBeNull();
  });
});

describe('access requests: session roles in the regional database', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h?.close());

  const roleOf = (id: string) => `wact_sess_${id.replace(/-/g, '')}`;

  it('a grant mints a LOGIN role valid until expiry, in the scope group, with an RLS grant row; nothing else', async () => {
    const red = await h.access.request(h.support, { workspaceId: h.wsA, reason: 'Checking ZD-100 routing', ttl: '7m' });
    const { rows } = await h.ops.region('eu').query(
      `SELECT r.rolcanlogin, r.rolcreaterole, r.rolsuper, r.rolbypassrls, r.rolvaliduntil,
              pg_has_role(r.rolname, 'wact_support', 'MEMBER') AS support, pg_has_role(r.rolname, 'wact_engineer', 'MEMBER') AS engineer,
              (SELECT workspace_id FROM wact_private.session_grants g WHERE g.role_name = r.rolname) AS ws
         FROM pg_roles r WHERE r.rolname = $1`,
      [roleOf(red.session.id)],
    );
    expect(rows[0]).toMatchObject({
      rolcanlogin: true,
      rolcreaterole: false,
      rolsuper: false,
      rolbypassrls: false,
      support: true,
      engineer: false,
      ws: h.wsA,
    });
    expect(Math.abs(new Date(rows[0].rolvaliduntil).getTime() - Date.parse(red.session.expiresAt!))).toBeLessThan(1000);
    expect(red.session.ttlSeconds).toBe(420);
    // the upstream password is stored only as ciphertext, the token only as its digest
    const stored = await h.ops.control.query('SELECT upstream_secret, token_hash FROM wact.access_sessions WHERE id = $1', [
      red.session.id,
    ]);
    expect(stored.rows[0].upstream_secret.toString('latin1')).not.toContain(red.connection!.password);
    expect(stored.rows[0].token_hash).toHaveLength(32);
  });

  it('wact_broker holds no CREATEROLE and the definer function checks its arguments', async () => {
    const broker = servicePools('broker');
    try {
      const eu = broker.region('eu');
      await expect(eu.query('CREATE ROLE wact_sess_00000000000000000000000000000000 LOGIN')).rejects.toMatchObject({ code: '42501' });
      const mint = (name: string, expires: string, verifier: string | null) =>
        eu.query(`SELECT wact_private.mint_session_role($1, $2, 'full', now() + $3::interval, 'password', $4)`, [
          name,
          h.wsA,
          expires,
          verifier,
        ]);
      await expect(mint('postgres', '5 minutes', scramVerifier('x'))).rejects.toThrow(/invalid session role name/);
      await expect(mint('wact_sess_11111111111111111111111111111111', '1 hour', scramVerifier('x'))).rejects.toThrow(/expiry out of range/);
      await expect(mint('wact_sess_11111111111111111111111111111111', '5 minutes', 'plain-password')).rejects.toThrow(
        /SCRAM-SHA-256 verifier is required/,
      );
      await expect(eu.query(`SELECT wact_private.end_session_role('wact_owner')`)).rejects.toThrow(/invalid session role name/);
    } finally {
      await broker.end();
    }
  });

  it('four eyes is also a database constraint: decided_by can never be the requester', async () => {
    const req = await h.access.request(h.engineer, { workspaceId: h.wsA, reason: 'Needs full scope DB-55', scope: 'full' });
    await expect(
      h.ops.control.query('UPDATE wact.access_sessions SET decided_by = requester_id WHERE id = $1', [req.session.id]),
    ).rejects.toMatchObject({ code: '23514' });
    await h.access.deny(h.security, req.session.id, { note: 'use redacted' });
    expect((await h.access.get(h.engineer, req.session.id)).status).toBe('denied');
    const notes = await h.access.notifications(h.engineer);
    expect(notes.find((n) => n.sessionId === req.session.id)?.kind).toBe('denied');
    // the request and the denial are in the workspace's audit stream, with the reason
    const events = await h.auditRows(req.session.id);
    expect(events.map((e) => e.action)).toEqual(['db.access.requested', 'db.access.denied']);
    expect(events.every((e) => e.reason === 'Needs full scope DB-55')).toBe(true);
  });

  it('the sweeper drops orphaned session roles (their database is gone) but not live ones', async () => {
    const orphan = `wact_sess_${crypto.randomBytes(16).toString('hex')}`;
    // Minted the way the definer function does it (by wact_owner), then its database "vanished" (no settings).
    const c = await h.ops.region('eu').connect();
    await c.query(`SET ROLE wact_owner; CREATE ROLE ${orphan} NOLOGIN; RESET ROLE`);
    c.release();
    const live = await h.access.request(h.engineer, { workspaceId: h.wsA, reason: 'Still working on SWEEP-1' });
    await h.access.sweep();
    const { rows } = await h.ops
      .region('eu')
      .query('SELECT rolname FROM pg_roles WHERE rolname = ANY($1)', [[orphan, roleOf(live.session.id)]]);
    expect(rows.map((r) => r.rolname)).toEqual([roleOf(live.session.id)]);
  });

  it('the session role really logs in with the SCRAM verifier the broker set (embedded server) and sees only its workspace', async () => {
    const red = await h.access.request(h.engineer, { workspaceId: h.wsA, reason: 'Checking redacted rows RLS-1' });
    const row = (await h.ops.control.query('SELECT * FROM wact.access_sessions WHERE id = $1', [red.session.id])).rows[0];
    const password = await h.access.upstreamLogin(row).login.password();
    const c = await connectAs('eu', row.role_name, password);
    const { rows } = await c.query('SELECT DISTINCT workspace_id FROM redacted.conversations');
    expect(rows).toEqual([{ workspace_id: h.wsA }]);
    await c.end();
  });
});

describe('access requests: AWS mode (RDS IAM token instead of a password)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    // Stand-in for RDS's rds_iam role (and the admin option RDS gives its master user).
    await h.ops.region('eu').query(`DO $$ BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_iam') THEN CREATE ROLE rds_iam NOLOGIN; END IF;
      IF current_setting('server_version_num')::int >= 160000 THEN EXECUTE 'GRANT rds_iam TO wact_owner WITH ADMIN OPTION, INHERIT FALSE, SET FALSE'; END IF;
    END $$`);
  });
  afterAll(async () => h?.close());

  it('mints a role in rds_iam without a password and presents a signed 15-minute token upstream', async () => {
    const access = accessServiceFor(h.platform, {
      settings: { authMode: 'rds-iam' },
      rdsCredentials: { accessKeyId: 'AKIAEXAMPLEEXAMPLE12', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
    });
    const red = await access.request(h.engineer, { workspaceId: h.wsA, reason: 'IAM mode check AWS-1' });
    const row = (await h.ops.control.query('SELECT * FROM wact.access_sessions WHERE id = $1', [red.session.id])).rows[0];
    expect(row.auth_mode).toBe('rds-iam');
    expect(row.upstream_secret).toBeNull();
    const member = await h.ops
      .region('eu')
      .query(`SELECT pg_has_role($1, 'rds_iam', 'MEMBER') AS m, rolpassword IS NULL AS nopw FROM pg_authid WHERE rolname = $1`, [
        row.role_name,
      ]);
    expect(member.rows[0]).toEqual({ m: true, nopw: true });

    // A fake upstream (pg-gateway, cleartext password, as RDS asks for IAM users) records what it is given.
    let presented: { user: string; password: string } | undefined;
    const fake = net.createServer((socket) => {
      new PostgresConnection(socket, {
        authMode: 'cleartextPassword',
        validateCredentials: async (cred) => {
          if (cred.authMode === 'cleartextPassword') presented = { user: cred.user, password: cred.password };
          return true;
        },
      });
    });
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
    const port = (fake.address() as net.AddressInfo).port;
    const { login } = access.upstreamLogin(row);
    const conn = await connectUpstream({ host: '127.0.0.1', port, database: 'wact_eu', ssl: false }, login);
    conn.socket.destroy();
    fake.close();
    expect(presented?.user).toBe(row.role_name);
    expect(presented?.password).toMatch(new RegExp(`^127\\.0\\.0\\.1:\\d+/\\?Action=connect&DBUser=${row.role_name}&`));
    expect(presented?.password).toContain('X-Amz-Expires=900');
    expect(presented?.password).toMatch(/X-Amz-Signature=[0-9a-f]{64}/);
    await access.revoke(h.security, red.session.id);
  });
});
