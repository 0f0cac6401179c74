import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { joinStatementFields } from '../../../shared/audit/audit-validation.ts';
import { fullSession, nextError, redactedSession, startHarness, type Harness } from './harness.ts';

describe('gateway: sessions through the PostgreSQL wire protocol', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h?.close());

  it('a granted full session reads its workspace and not another (RLS)', async () => {
    const { connection } = await fullSession(h);
    const c = await h.client(connection.user, connection.password);
    const { rows } = await c.query('SELECT DISTINCT workspace_id FROM wact.conversations');
    expect(rows.map((r) => r.workspace_id)).toEqual([h.wsA]);
    const other = await c.query('SELECT count(*)::int AS n FROM wact.conversations WHERE workspace_id = $1', [h.wsB]);
    expect(other.rows[0].n).toBe(0);
    const who = await c.query('SELECT current_user AS u');
    expect(who.rows[0].u).toMatch(/^wact_sess_[0-9a-f]{32}$/);
    // read-only: no writes even in its own workspace
    await expect(c.query(`DELETE FROM wact.conversations WHERE workspace_id = $1`, [h.wsA])).rejects.toMatchObject({ code: '42501' });
    await c.end();
  });

  it('a redacted session sees masked values only and no base table', async () => {
    const { connection } = await redactedSession(h);
    const c = await h.client(connection.user, connection.password);
    const { rows } = await c.query('SELECT workspace_id, sender, ctwa_clid FROM redacted.conversations');
    expect(rows.length).toBe(3);
    for (const r of rows) {
      expect(r.workspace_id).toBe(h.wsA);
      expect(r.sender).toMatch(/^[0-9a-f]{8}••••••••$/);
      expect(r.ctwa_clid).toBe('AbCd••••');
    }
    await expect(c.query('SELECT * FROM wact.conversations')).rejects.toMatchObject({ code: '42501' });
    await expect(c.query('SELECT * FROM wact_private.session_grants')).rejects.toMatchObject({ code: '42501' });
    // everything it can read outside the system catalogs is a redacted view
    const readable = await c.query(`
      SELECT n.nspname || '.' || c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
         AND has_schema_privilege(n.oid, 'USAGE') AND has_table_privilege(c.oid, 'SELECT')`);
    expect(readable.rows.length).toBeGreaterThan(3);
    expect(readable.rows.filter((r) => !r.name.startsWith('redacted.'))).toEqual([]);
    await c.end();
  });

  it('refuses a wrong token, a token of another session, and plain (non-TLS) connections', async () => {
    const a = await redactedSession(h);
    const b = await redactedSession(h);
    await expect(h.client(a.connection.user, 'x'.repeat(43))).rejects.toThrow(/invalid session or token/);
    await expect(h.client(a.connection.user, b.connection.password)).rejects.toThrow(/invalid session or token/);
    await expect(h.client('not-a-session', a.connection.password)).rejects.toThrow(/invalid session or token/);
    await expect(h.client(a.connection.user, a.connection.password, { ssl: false })).rejects.toThrow(/TLS connections only/);
    // the refused attempt with a real session id is audited in the workspace's stream
    const denied = (await h.auditRows(a.session.id, 'db.session.login')).filter((r) => r.outcome === 'denied');
    expect(denied.length).toBe(2);
  });

  it('audits every statement with reason and row count: simple, extended, failing, COPY', async () => {
    const { session, connection } = await fullSession(h, 'Checking INC0012345 duplicate conversions');
    const c = await h.client(connection.user, connection.password);
    await c.query('SELECT id FROM wact.conversations'); // simple protocol: 3 rows
    await c.query('SELECT id FROM wact.conversations WHERE workspace_id = $1 LIMIT $2', [h.wsA, 2]); // extended: 2 rows
    await expect(c.query('SELECT * FROM no_such_table')).rejects.toMatchObject({ code: '42P01' });
    await expect(c.query('SELECT 1/0 WHERE $1::int = 1', [1])).rejects.toMatchObject({ code: '22012' });
    await c.query(`SELECT count(*) FROM wact.conversations WHERE sender_hash = '+49 151 23456789'`);
    await c.end();
    // COPY through psql (simple protocol COPY … TO STDOUT)
    const out = await h.psql(connection.user, connection.password, ['-c', 'COPY (SELECT id FROM wact.conversations) TO STDOUT']);
    expect(out).toMatchObject({ code: 0, stderr: '' });
    expect(out.stdout.trim().split('\n')).toHaveLength(3);

    const rows = await h.auditRows(session.id, 'db.statement');
    const byText = (t: string) => rows.filter((r) => joinStatementFields(r.metadata).startsWith(t));
    expect(rows.every((r) => r.reason === 'Checking INC0012345 duplicate conversions')).toBe(true);
    expect(rows.every((r) => r.metadata.ticket === 'INC0012345')).toBe(true);
    expect(byText('SELECT id FROM wact.conversations WHERE workspace_id = $1')[0].metadata).toMatchObject({
      protocol: 'extended',
      rows: 2,
      parameters: 2,
    });
    const simple = rows.find((r) => r.metadata.statement === 'SELECT id FROM wact.conversations')!;
    expect(simple.metadata).toMatchObject({ protocol: 'simple', rows: 3, command: 'SELECT 3' });
    expect(byText('SELECT * FROM no_such_table')[0]).toMatchObject({ outcome: 'failure', metadata: { sqlstate: '42P01' } });
    expect(byText('SELECT 1/0')[0]).toMatchObject({ outcome: 'failure', metadata: { sqlstate: '22012', protocol: 'extended' } });
    expect(byText('COPY')[0].metadata).toMatchObject({ rows: 3, command: 'COPY 3' });
    // the phone-shaped literal is masked in the stored text
    const masked = joinStatementFields(byText('SELECT count(*)')[0].metadata);
    expect(masked).toContain("'[masked phone]'");
    expect(masked).not.toContain('23456789');
    // a connect and a disconnect per connection, with the statement count
    await expect
      .poll(async () => (await h.auditRows(session.id, 'db.session.disconnect')).map((d) => d.metadata.statements).sort())
      .toEqual([1, 5]);
  });

  it('psql works through the gateway (script with a failing statement and COPY FROM STDIN to a temp-less target is refused cleanly)', async () => {
    const { session, connection } = await redactedSession(h);
    const script = ['SELECT count(*) AS n FROM redacted.conversations;', 'SELECT oops;', "SELECT 'done' AS status;", ''].join('\n');
    const out = await h.psql(connection.user, connection.password, ['-A', '-t', '-f', '-'], script);
    expect(out.stdout).toContain('3');
    expect(out.stdout).toContain('done');
    expect(out.stderr).toContain('column "oops" does not exist');
    const rows = await h.auditRows(session.id, 'db.statement');
    expect(rows.map((r) => [r.metadata.statement, r.outcome])).toEqual([
      ['SELECT count(*) AS n FROM redacted.conversations;', 'success'],
      ['SELECT oops;', 'failure'],
      ["SELECT 'done' AS status;", 'success'],
    ]);
  });

  it('full scope without approval is refused; the requester cannot approve their own request', async () => {
    const req = await h.access.request(h.engineer, { workspaceId: h.wsA, reason: 'Need unmasked data for ABC-9', scope: 'full' });
    expect(req.session.status).toBe('pending');
    expect(req.connection).toBeUndefined();
    await expect(h.access.issueToken(h.engineer, req.session.id)).rejects.toMatchObject({ code: 'request_pending' });
    await expect(h.access.approve(h.engineer, req.session.id)).rejects.toMatchObject({ status: 403 });
    const roleReq = await h.access.request(h.engineer2, { workspaceId: h.wsA, reason: 'Self-approval attempt ABC-10', scope: 'full' });
    // a security employee who requested… cannot request at all; an engineer cannot approve
    await expect(h.access.approve(h.engineer2, roleReq.session.id)).rejects.toMatchObject({ code: 'not_security' });
    // nothing minted upstream for a pending request
    const { rows } = await h.ops
      .region('eu')
      .query('SELECT 1 FROM pg_roles WHERE rolname = $1', [`wact_sess_${req.session.id.replace(/-/g, '')}`]);
    expect(rows).toEqual([]);
  });

  it('the token fails after expiry, and a live connection is closed at expiry with a clear message', async () => {
    const { session, connection } = await fullSession(h);
    await h.ops.control.query(`UPDATE wact.access_sessions SET expires_at = now() + interval '2 seconds' WHERE id = $1`, [session.id]);
    const c = await h.client(connection.user, connection.password);
    const err = nextError(c);
    await c.query('SELECT 1');
    const e = await err;
    expect(e.message).toMatch(/session expired/);
    await expect(h.client(connection.user, connection.password)).rejects.toThrow(/session expired/);
    // the sweeper marks it expired, drops the role, and audits the expiry with the statement count
    await expect.poll(async () => (await h.auditRows(session.id, 'db.session.expired')).length, { timeout: 8000 }).toBe(1);
    // The role is dropped by the cleanup step that follows the recorded expiry.
    await expect
      .poll(
        async () =>
          (await h.ops.region('eu').query('SELECT 1 FROM pg_roles WHERE rolname = $1', [`wact_sess_${session.id.replace(/-/g, '')}`])).rows
            .length,
        { timeout: 8000 },
      )
      .toBe(0);
  });

  it('revocation closes a live connection within 2 s with "session revoked by …"', async () => {
    const { session, connection } = await fullSession(h);
    const c = await h.client(connection.user, connection.password);
    await c.query('SELECT 1');
    const err = nextError(c);
    const t0 = Date.now();
    await h.access.revoke(h.security2, session.id);
    const e = await err;
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(e.message).toContain('session revoked by Sid Security');
    // no backend of the role is left and the role is gone
    const role = `wact_sess_${session.id.replace(/-/g, '')}`;
    const left = await h.ops
      .region('eu')
      .query(
        'SELECT (SELECT count(*) FROM pg_stat_activity WHERE usename = $1)::int AS backends, (SELECT count(*) FROM pg_roles WHERE rolname = $1)::int AS roles',
        [role],
      );
    expect(left.rows[0]).toEqual({ backends: 0, roles: 0 });
    await expect(h.client(connection.user, connection.password)).rejects.toThrow(/session revoked by Sid Security/);
  });

  it('a GUI-style extended-protocol client (named prepared statement, describe, portal) works and is audited', async () => {
    const { session, connection } = await fullSession(h);
    const c = await h.client(connection.user, connection.password);
    const q = { name: 'by_ws', text: 'SELECT id, started_at FROM wact.conversations WHERE workspace_id = $1', values: [h.wsA] };
    expect((await c.query(q)).rowCount).toBe(3);
    expect((await c.query({ ...q, values: [h.wsB] })).rowCount).toBe(0);
    await c.end();
    const rows = await h.auditRows(session.id, 'db.statement');
    expect(rows.map((r) => r.metadata.rows)).toEqual([3, 0]);
  });

  it('a raw socket that skips TLS gets a clear FATAL', async () => {
    const sock = net.connect(h.port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    const startup = Buffer.alloc(8 + 'user\0x\0\0'.length);
    startup.writeInt32BE(startup.length, 0);
    startup.writeInt32BE(196608, 4);
    startup.write('user\0x\0\0', 8, 'latin1');
    sock.write(startup);
    const data = await new Promise<Buffer>((r) => sock.once('data', r));
    expect(data.toString('latin1')).toContain('TLS connections only');
    sock.destroy();
  });
});

describe('gateway: fail closed when the audit log cannot write', () => {
  let h: Harness;
  let failStatements = false;
  beforeAll(async () => {
    h = await startHarness({
      audit: (base) => ({
        append: (e) => base.append(e),
        series: (template) => {
          const statements = base.series(template);
          return {
            append: async (e) => {
              if (failStatements && template.action === 'db.statement') throw new Error('audit store down');
              return statements.append(e);
            },
          };
        },
      }),
    });
  });
  afterAll(async () => h?.close());

  it('withholds the result and ends the connection with an error', async () => {
    const { connection } = await fullSession(h);
    const c = await h.client(connection.user, connection.password);
    failStatements = true;
    await expect(c.query('SELECT id FROM wact.conversations')).rejects.toThrow(/audit log could not record/);
    failStatements = false;
  });
});
