import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fullSession, nextError, startHarness, type Harness } from './harness.ts';

/**
 * Gateways learn that a session ended from the database (trigger on
 * wact.access_sessions → NOTIFY wact_access_session_ended → LISTEN in every
 * gateway), whoever ended it — no in-process callback. The periodic re-read is
 * set to a minute here, and the status is changed behind every service's back
 * (no role disabled, no backend terminated), so only the notification can
 * close the connection in time (and no sweep runs, which would end the role).
 */
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ watchIntervalMs: 60_000, sweep: false });
});
afterAll(async () => {
  await h?.close();
});

describe('gateway: ended sessions announced by the database', () => {
  it('a status change committed anywhere closes the live connection at once, with the reason', async () => {
    const { session, connection } = await fullSession(h);
    const c = await h.client(connection.user, connection.password);
    await c.query('SELECT 1');
    const err = nextError(c);
    const t0 = Date.now();
    await h.ops.control.query(
      `UPDATE wact.access_sessions SET status = 'revoked', revoked_by_name = 'Another Broker', revoked_at = now() WHERE id = $1`,
      [session.id],
    );
    const e = await err;
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(e.message).toContain('session revoked by Another Broker');
  });

  it('a forged notification ends nothing: the gateway re-reads the status first', async () => {
    const { session, connection } = await fullSession(h);
    const c = await h.client(connection.user, connection.password);
    await c.query('SELECT 1');
    await h.ops.control.query(`SELECT pg_notify('wact_access_session_ended', $1)`, [session.id]);
    await new Promise((r) => setTimeout(r, 700));
    expect((await c.query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }]);
    await c.end();
  });
});
