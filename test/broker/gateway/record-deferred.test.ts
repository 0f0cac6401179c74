import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { joinStatementFields } from '../../../shared/audit/audit-validation.ts';
import { delayedStatementRecords, fullSession, startHarness, type Harness } from './harness.ts';
import { rawConnect, serialize, type RawClient } from './raw-client.ts';

/**
 * The reply-first path (issue 17): a statement that runs longer than its start
 * record's commit has its reply written before its outcome part is linked.
 * Each statement here sleeps first, so its start record is durable long before
 * it ends, and then produces one kind of message. For every kind: nothing
 * reaches the client before the start record is durable, and every statement
 * still has its start part and then its outcome part, in order, in its
 * connection's transcript.
 */

const SLEEP = 'SELECT pg_sleep(0.3)';
const STATEMENTS: Record<string, { sql: string; type: string }> = {
  rows: { sql: 'SELECT ctwa_clid_prefix FROM wact.conversations', type: 'D' },
  notice: { sql: `DO $$ BEGIN RAISE NOTICE 'n: %', (SELECT count(*) FROM wact.conversations); END $$`, type: 'N' },
  error: { sql: `SELECT ('x' || ctwa_clid_prefix)::int FROM wact.conversations`, type: 'E' },
  notification: { sql: `LISTEN deferred_inv; SELECT pg_notify('deferred_inv', 'x')`, type: 'A' },
  parameter: { sql: `SELECT set_config('application_name', 'deferred', false)`, type: 'S' },
  copyOut: { sql: 'COPY (SELECT ctwa_clid_prefix FROM wact.conversations) TO STDOUT', type: 'd' },
};

describe('gateway: a reply that leaves before its outcome part', () => {
  let h: Harness;
  let sessionId: string;
  const clients: RawClient[] = [];
  const { audit, durable } = delayedStatementRecords(0); // no delay: only when each record became durable

  beforeAll(async () => {
    h = await startHarness({ audit });
    const { session, connection } = await fullSession(h, 'Reply first check DEF-1');
    sessionId = session.id;
    for (let i = 0; i < Object.keys(STATEMENTS).length; i++)
      clients.push(await rawConnect(h.port, h.ca, connection.user, connection.password));
  });
  afterAll(async () => {
    for (const c of clients) c.destroy();
    await h?.close();
  });

  it('every message type waits for the start record, and every statement keeps both parts in order', async () => {
    const texts = Object.values(STATEMENTS).map((s) => `${SLEEP}; ${s.sql}`);
    texts.forEach((text, i) => clients[i].send(serialize.query(text)));
    await Promise.all(clients.map((c) => c.waitFor((m) => m.type === 'Z', 10_000)));
    Object.entries(STATEMENTS).forEach(([name, s], i) => {
      const got = clients[i].received;
      expect(
        got.map((m) => m.type),
        name,
      ).toContain(s.type);
      const at = durable.get(texts[i]);
      expect(at, `${name}: its start record`).toBeDefined();
      for (const m of got) expect(m.at, `'${m.type}' of ${name} before its start record was durable`).toBeGreaterThanOrEqual(at!);
    });

    // The outcome parts are written after the replies: wait for them, then read each transcript in seq order.
    const read = () =>
      h.ops.region('eu').query<{ transcript_id: string; seq: number; metadata: string }>(
        `SELECT r.transcript_id, r.seq, r.metadata FROM audit.transcript_records r JOIN audit.transcripts t USING (transcript_id)
            WHERE t.session_id = $1 ORDER BY r.transcript_id, r.seq`,
        [sessionId],
      );
    await expect.poll(async () => (await read()).rows.length, { timeout: 5000 }).toBe(2 * texts.length);
    const byTranscript = new Map<string, { seq: number; m: Record<string, unknown> }[]>();
    for (const r of (await read()).rows)
      byTranscript.set(r.transcript_id, [...(byTranscript.get(r.transcript_id) ?? []), { seq: r.seq, m: JSON.parse(r.metadata) }]);
    const seen = [...byTranscript.values()].map(([start, outcome]) => {
      expect([start.seq, start.m.part, outcome.seq, outcome.m.part, outcome.m.startSeq]).toEqual([1, 'start', 2, 'outcome', 1]);
      return joinStatementFields(start.m);
    });
    expect(seen.sort()).toEqual([...texts].sort());
  });
});
