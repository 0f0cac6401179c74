import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { fullSession, startHarness, type Harness } from './harness.ts';
import { rawConnect, serialize, type RawClient } from './raw-client.ts';

/**
 * The path statements take under load (issue 17): a statement ends while its
 * start part still waits behind the commit in flight, and its whole record
 * takes the start part's place. The reply must still wait for that commit —
 * for every message type a statement can produce. Here the commit in flight
 * is held by a lock on the transcript table: while it is held nothing is
 * durable, so nothing any statement produced may reach its client before the
 * lock is released; afterwards each of those statements is one whole record.
 */

const STATEMENTS: Record<string, string> = {
  rows: 'SELECT ctwa_clid_prefix FROM wact.conversations',
  notice: `DO $$ BEGIN RAISE NOTICE 'rows: %', (SELECT string_agg(ctwa_clid_prefix, ',') FROM wact.conversations); END $$`,
  error: `SELECT ('x' || ctwa_clid_prefix)::int FROM wact.conversations`,
  notification: `LISTEN replace_inv; SELECT pg_notify('replace_inv', (SELECT min(ctwa_clid_prefix) FROM wact.conversations))`,
  parameter: `SELECT set_config('application_name', (SELECT min(ctwa_clid_prefix) FROM wact.conversations), false)`,
  copyOut: 'COPY (SELECT ctwa_clid_prefix FROM wact.conversations) TO STDOUT',
  empty: '',
};

describe('gateway: a start part replaced by its whole record still gates the reply', () => {
  let h: Harness;
  let sessionId: string;
  const clients: RawClient[] = [];

  beforeAll(async () => {
    h = await startHarness();
    const { session, connection } = await fullSession(h, 'Replaced record check REP-1');
    sessionId = session.id;
    for (let i = 0; i <= Object.keys(STATEMENTS).length; i++)
      clients.push(await rawConnect(h.port, h.ca, connection.user, connection.password));
  });
  afterAll(async () => {
    for (const c of clients) c.destroy();
    await h?.close();
  });

  it('every message type waits for the commit that holds the replaced record', async () => {
    const locker: pg.PoolClient = await h.ops.region('eu').connect();
    let released = Infinity;
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE audit.transcript_records IN SHARE MODE');
      // This statement's start part is the commit in flight: it waits for the lock.
      clients[0].send(serialize.query('SELECT 1 AS blocker'));
      await new Promise((r) => setTimeout(r, 200));
      // Each of these starts behind it, runs, and ends while its start part still waits.
      Object.values(STATEMENTS).forEach((sql, i) => clients[i + 1].send(serialize.query(sql)));
      await new Promise((r) => setTimeout(r, 500));
      for (const c of clients) expect(c.received.map((m) => m.type)).toEqual([]);
      released = performance.now();
      await locker.query('COMMIT');
    } finally {
      locker.release();
    }
    await Promise.all(clients.map((c) => c.waitFor((m) => m.type === 'Z', 10_000)));
    const expected: Record<string, string> = {
      rows: 'D',
      notice: 'N',
      error: 'E',
      notification: 'A',
      parameter: 'S',
      copyOut: 'd',
      empty: 'I',
    };
    Object.keys(STATEMENTS).forEach((name, i) => {
      const got = clients[i + 1].received;
      expect(
        got.map((m) => m.type),
        name,
      ).toContain(expected[name]);
      for (const m of got) expect(m.at, `'${m.type}' of ${name} before its record was durable`).toBeGreaterThanOrEqual(released);
    });
    // They were replaced: one whole record each (no part), the blocker's start part and outcome part.
    const { rows } = await h.ops
      .region('eu')
      .query<{ metadata: string }>(
        `SELECT r.metadata FROM audit.transcript_records r JOIN audit.transcripts t USING (transcript_id) WHERE t.session_id = $1`,
        [sessionId],
      );
    const parts = rows.map((r) => (JSON.parse(r.metadata) as { part?: string }).part ?? 'whole').sort();
    expect(parts).toEqual([...Array(Object.keys(STATEMENTS).length).fill('whole'), 'outcome', 'start'].sort());
  });
});
