import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fullSession, startHarness, type Harness } from './harness.ts';

describe('gateway: large results, cancel requests', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ holdLimitBytes: 4096, loginTimeoutMs: 500 });
  });
  afterAll(async () => h?.close());

  it('a reply larger than the hold limit streams only after a durable provisional record; the final record has the row count', async () => {
    const { session, connection } = await fullSession(h);
    const c = await h.client(connection.user, connection.password);
    const { rowCount } = await c.query('SELECT g, repeat($1, 50) AS pad FROM generate_series(1, 5000) g', ['x']);
    expect(rowCount).toBe(5000);
    await c.end();
    const rows = await h.auditRows(session.id);
    const started = rows.findIndex((r) => r.action === 'db.statement.started');
    const done = rows.findIndex((r) => r.action === 'db.statement' && r.metadata.rows === 5000);
    expect(started).toBeGreaterThanOrEqual(0);
    expect(done).toBeGreaterThan(started);
  });

  it('COPY FROM STDIN (psql \\copy) goes through and is audited with its row count', async () => {
    // Sessions are read-only; a scratch table writable by engineer sessions stands in for a writable target.
    const table = `copy_target_${Date.now()}`;
    await h.ops
      .region('eu')
      .query(
        `CREATE TABLE public.${table} (n int, label text); GRANT USAGE ON SCHEMA public TO wact_engineer; GRANT INSERT ON public.${table} TO wact_engineer`,
      );
    try {
      const { session, connection } = await fullSession(h);
      const out = await h.psql(
        connection.user,
        connection.password,
        ['-c', `\\copy public.${table} FROM STDIN`],
        '1\tone\n2\ttwo\n3\tthree\n',
      );
      expect(out.stderr).toBe('');
      expect(out.stdout).toContain('COPY 3');
      const rows = await h.auditRows(session.id, 'db.statement');
      expect(rows.at(-1)?.metadata).toMatchObject({ command: 'COPY 3', rows: 3 });
      const { rows: copied } = await h.ops.region('eu').query(`SELECT count(*)::int AS n FROM public.${table}`);
      expect(copied[0].n).toBe(3);
    } finally {
      await h.ops.region('eu').query(`DROP TABLE public.${table}; REVOKE USAGE ON SCHEMA public FROM wact_engineer`);
    }
  });

  it('drops a client that never logs in', async () => {
    const sock = net.connect(h.port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    const t0 = Date.now();
    await new Promise((r) => sock.once('close', r));
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('psql Ctrl-C (CancelRequest) reaches the upstream backend through the gateway', async () => {
    const { session, connection } = await fullSession(h);
    let pid = 0;
    const run = h.psql(connection.user, connection.password, ['-c', 'SELECT pg_sleep(20)'], undefined, (p) => (pid = p));
    await new Promise((r) => setTimeout(r, 1500));
    process.kill(pid, 'SIGINT');
    const out = await run;
    expect(out.stderr).toContain('canceling statement due to user request');
    const rows = await h.auditRows(session.id, 'db.statement');
    expect(rows.at(-1)).toMatchObject({ outcome: 'failure', metadata: { sqlstate: '57014' } });
  });
});
