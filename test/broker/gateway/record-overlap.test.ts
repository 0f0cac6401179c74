import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { joinStatementFields } from '../../../shared/audit/audit-validation.ts';
import { delayedStatementRecords, fullSession, startHarness, type Harness } from './harness.ts';
import { rawConnect, serialize, type RawClient } from './raw-client.ts';

/**
 * Issue 17: a statement's start record is committed while the statement runs,
 * not after it. Every statement record is delayed by AUDIT_DELAY_MS on its way
 * to the database; a statement that sleeps SLEEP_MS must then answer after
 * about max(AUDIT_DELAY_MS, SLEEP_MS) — recorded after it ends, it would take
 * their sum. The reply still never precedes its start record (checked here
 * too), and each started statement's outcome part follows. (An Execute is
 * known to run once its Bind is answered; the server sends that answer at
 * a Flush or Sync, so the extended case sends a Flush after Bind.)
 */

const AUDIT_DELAY_MS = 400;
const SLEEP_MS = 400;

describe('gateway: the start record is written while the statement runs', () => {
  let h: Harness;
  let c: RawClient;
  let sessionId: string;
  /** Statement text → when its first record (the start part) became durable. */
  const { audit: delayed, durable } = delayedStatementRecords(AUDIT_DELAY_MS);

  beforeAll(async () => {
    h = await startHarness({ audit: delayed });
    const { session, connection } = await fullSession(h, 'Overlap check OVL-1');
    sessionId = session.id;
    c = await rawConnect(h.port, h.ca, connection.user, connection.password);
  });
  afterAll(async () => {
    c?.destroy();
    await h?.close();
  });

  async function timed(text: string, messages: Buffer[]): Promise<number> {
    const from = c.received.length;
    const t0 = performance.now();
    c.send(...messages);
    const z = await c.waitFor((m) => m.type === 'Z', 10_000, from);
    const data = c.received.slice(from).find((m) => m.type === 'D');
    expect(data, `${text}: its row`).toBeDefined();
    expect(data!.at, `${text}: row before its start record was durable`).toBeGreaterThanOrEqual(durable.get(text)!);
    return z.at - t0;
  }

  it('simple and extended protocol: answer after ≈ max(record, execution), never their sum', async () => {
    const simple = `SELECT pg_sleep(${SLEEP_MS / 1000}) AS simple_sleep`;
    const extended = `SELECT pg_sleep(${SLEEP_MS / 1000}) AS extended_sleep`;
    const took = [
      await timed(simple, [serialize.query(simple)]),
      // The server sends BindComplete only at a Flush or Sync: with a Flush after Bind the Execute is
      // known to run (and recorded) while it runs; without one, only when its answer arrives.
      await timed(extended, [
        serialize.parse({ text: extended }),
        serialize.bind({}),
        serialize.flush(),
        serialize.execute({}),
        serialize.sync(),
      ]),
    ];
    // Serial would be ≥ 800 ms; overlapped ≈ 400 ms plus the relay and one commit.
    for (const ms of took) expect(ms).toBeLessThan(AUDIT_DELAY_MS + SLEEP_MS - 150);
    const rows = await h.auditRows(sessionId, 'db.statement');
    expect(rows.map((r) => [joinStatementFields(r.metadata), r.outcome, r.metadata.rows, r.metadata.phase])).toEqual([
      [simple, 'success', 1, 'query'],
      [extended, 'success', 1, 'execute'],
    ]);
  });
});
