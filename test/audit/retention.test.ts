import crypto from 'node:crypto';
import type pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { runAuditRetention } from '../../shared/audit/audit-retention.ts';
import { createTranscriptChain } from '../../shared/audit/transcript-chain.ts';
import type { AuditEventInput } from '../../shared/audit/audit-types.ts';
import { toAppendRow } from '../../shared/audit/audit-validation.ts';
import { connectAs, testDb } from '../support/db.ts';
import { auditKit, gatewayConnectionFields } from './audit-test-kit.ts';

const kit = auditKit();
afterAll(() => kit.end());
const actor = { id: 'operator:test', kind: 'operator' as const };

/** Events in a past month: only the owner/superuser path (audit.append_at) can date them. */
async function appendAt(ws: string, monthsAgo: number, n: number) {
  const rows = Array.from({ length: n }, (_, i) => toAppendRow(kit.event(ws, i + 1)).row);
  await kit.op
    .region('eu')
    .query(`SELECT audit.append_at($1::jsonb, now() - make_interval(months => $2))`, [JSON.stringify(rows), monthsAgo]);
}

describe('audit retention', () => {
  it('drops whole expired months; the rest of the stream still verifies from the signed anchor', async () => {
    const ws = crypto.randomUUID();
    await appendAt(ws, 16, 3);
    await appendAt(ws, 14, 4);
    for (let i = 0; i < 3; i++) await kit.audit.append(kit.event(ws, i));

    // The database refuses to drop a month whose last event is not anchored by a signed head.
    const oldest = (
      await kit.op.region('eu').query(`SELECT 'events_' || to_char(now() AT TIME ZONE 'UTC' - interval '16 months', 'YYYY_MM') AS p`)
    ).rows[0].p as string;
    const broker = await connectAs('eu', 'wact_broker', testDb().servicePasswords.broker);
    await expect(broker.query('SELECT audit.drop_partition($1, 12)', [oldest])).rejects.toThrow(/not anchored by a signed head/);
    // Nor any month under a retention period shorter than 12 months (audit.retention_cutoff, shared with the transcripts).
    await expect(broker.query('SELECT audit.drop_partition($1, 11)', [oldest])).rejects.toMatchObject({ code: '22023' });
    await broker.end();

    await expect(runAuditRetention(kit, 'eu', { keepMonths: 6, actor })).rejects.toThrow(/at least 12 months/);
    const result = await runAuditRetention(kit, 'eu', { keepMonths: 12, actor });
    const mine = result.dropped.map((d) => d.partition);
    expect(mine).toContain(oldest);
    expect(result.dropped.reduce((a, d) => a + d.events, 0)).toBeGreaterThanOrEqual(7);

    const { rows } = await kit.op
      .region('eu')
      .query(`SELECT min(seq)::int AS first, count(*)::int AS n FROM audit.events WHERE stream_id = $1`, [ws]);
    expect(rows[0]).toEqual({ first: 8, n: 5 }); // 3 recent + one retention event per dropped month
    const text = await kit.exportText(ws);
    const header = JSON.parse(text.split('\n')[0]);
    expect(header).toMatchObject({ anchorSeq: '7', version: 2 });
    const report = await kit.verifyText(text);
    expect(report.problems).toEqual([]);
    expect(report).toMatchObject({ ok: true, anchored: { start: true, end: true }, firstSeq: '8' });
    expect(report.warnings).toEqual([]);
    // What went is recorded in the stream itself.
    expect(text).toContain('"action":"audit.retention.drop"');
  });
});

/** The pool, except that a client's statement writing audit events fails (a connection lost while recording). */
function recordsFail(pool: pg.Pool): pg.Pool {
  const client = (c: pg.PoolClient) =>
    new Proxy(c, {
      get(target, key) {
        if (key === 'query')
          return (q: unknown, ...rest: unknown[]) =>
            typeof q === 'string' && q.includes('audit.append(')
              ? Promise.reject(Object.assign(new Error('simulated: connection lost while recording'), { code: '08006' }))
              : (target.query as (...a: unknown[]) => unknown)(q, ...rest);
        const v = Reflect.get(target, key) as unknown;
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
  return new Proxy(pool, {
    get(target, key) {
      if (key === 'connect') return async () => client(await target.connect());
      const v = Reflect.get(target, key) as unknown;
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

describe('gateway transcript retention', () => {
  const base = gatewayConnectionFields;

  /** A gateway connection: connect, records, disconnect — dated `monthsAgo` (0: now). */
  async function connection(ws: string, monthsAgo: number, statements: number, opts: { anchors?: boolean } = {}): Promise<string> {
    const sessionId = crypto.randomUUID();
    const at = Date.now() - monthsAgo * 31 * 24 * 3600 * 1000;
    const chain = createTranscriptChain({ streamId: ws, sessionId, now: () => at });
    const write = async (e: AuditEventInput) => {
      if (opts.anchors === false) return; // a gateway that died before anchoring, long ago
      if (monthsAgo === 0) return kit.audit.append(e);
      await kit.op
        .region('eu')
        .query(`SELECT audit.append_at($1::jsonb, $2::timestamptz)`, [JSON.stringify([toAppendRow(e).row]), new Date(at)]);
    };
    await write({ ...base(ws, sessionId), action: 'db.session.connect', outcome: 'success', metadata: { transcript: chain.id } });
    const series = kit.audit.series({ ...base(ws, sessionId), action: 'db.statement' });
    for (let i = 0; i < statements; i++) {
      const event = { outcome: 'success' as const, metadata: { statement: `SELECT ${i}`, rows: 1, protocol: 'simple' } };
      await series.append({ ...event, transcript: chain.next(event.outcome, event.metadata) });
    }
    // opened_at is the database's now() at the first record: dated like the rest (as the superuser the tests play).
    await kit.op.region('eu').query(`UPDATE audit.transcripts SET opened_at = $2 WHERE transcript_id = $1`, [chain.id, new Date(at)]);
    await write({
      ...base(ws, sessionId),
      action: 'db.session.disconnect',
      outcome: 'success',
      metadata: { statements, transcript: chain.id, transcriptRecords: chain.count, transcriptHash: chain.hash },
    });
    return chain.id;
  }

  const count = async (id: string) =>
    (
      await kit.op
        .region('eu')
        .query(
          `SELECT (SELECT count(*) FROM audit.transcripts WHERE transcript_id = $1)::int AS t, (SELECT count(*) FROM audit.transcript_records WHERE transcript_id = $1)::int AS r`,
          [id],
        )
    ).rows[0] as { t: number; r: number };

  it('nothing is deleted unless its record commits with it: months and transcripts stay when the event cannot be written', async () => {
    const ws = crypto.randomUUID();
    await kit.op.region('eu').query(`INSERT INTO wact.workspaces (id, name, region) VALUES ($1, 'retention', 'eu')`, [ws]);
    const failing = { ...kit, poolFor: (db: 'control' | 'eu' | 'us') => recordsFail(kit.poolFor(db)) };
    const events = async () =>
      (
        await kit.op
          .region('eu')
          .query<{ n: number; drops: number }>(
            `SELECT count(*)::int AS n, count(*) FILTER (WHERE action = 'audit.retention.drop')::int AS drops FROM audit.events WHERE stream_id = $1`,
            [ws],
          )
      ).rows[0];

    // An expired month.
    await appendAt(ws, 15, 2);
    const month = (
      await kit.op.region('eu').query(`SELECT 'events_' || to_char(now() AT TIME ZONE 'UTC' - interval '15 months', 'YYYY_MM') AS p`)
    ).rows[0].p as string;
    const exists = async () => (await kit.op.region('eu').query('SELECT to_regclass($1) IS NOT NULL AS e', [`audit.${month}`])).rows[0].e;
    await expect(runAuditRetention(failing, 'eu', { keepMonths: 12, actor })).rejects.toThrow(/simulated/);
    expect(await exists()).toBe(true);
    expect(await events()).toEqual({ n: 2, drops: 0 });
    await runAuditRetention(kit, 'eu', { keepMonths: 12, actor });
    expect(await exists()).toBe(false);
    expect(await events()).toEqual({ n: 1, drops: 1 });

    // An expired transcript (its anchors long gone).
    const orphan = await connection(ws, 16, 2, { anchors: false });
    await expect(runAuditRetention(failing, 'eu', { keepMonths: 12, actor })).rejects.toThrow(/simulated/);
    expect(await count(orphan)).toEqual({ t: 1, r: 2 });
    expect(await events()).toEqual({ n: 1, drops: 1 });
    await runAuditRetention(kit, 'eu', { keepMonths: 12, actor });
    expect(await count(orphan)).toEqual({ t: 0, r: 0 });
    expect(await events()).toEqual({ n: 2, drops: 2 });
  });

  it('drops the transcripts whose anchoring months went, keeps the rest; the stream still verifies', async () => {
    const ws = crypto.randomUUID();
    await kit.op.region('eu').query(`INSERT INTO wact.workspaces (id, name, region) VALUES ($1, 'retention', 'eu')`, [ws]);
    const old = await connection(ws, 16, 4);
    const recent = await connection(ws, 0, 3);
    expect(await count(old)).toEqual({ t: 1, r: 4 });

    const broker = await connectAs('eu', 'wact_broker', testDb().servicePasswords.broker);
    try {
      // Never inside the retention period, and never while the month that anchors a transcript is still kept.
      await expect(broker.query('SELECT * FROM audit.drop_expired_transcripts(6)')).rejects.toMatchObject({ code: '22023' });
      await broker.query('SELECT * FROM audit.drop_expired_transcripts(12)');
      expect(await count(old)).toEqual({ t: 1, r: 4 });

      const result = await runAuditRetention(kit, 'eu', { keepMonths: 12, actor });
      expect(result.transcripts.find((t) => t.streamId === ws)).toEqual({ streamId: ws, transcripts: 1, records: 4 });
      expect(await count(old)).toEqual({ t: 0, r: 0 });
      expect(await count(recent)).toEqual({ t: 1, r: 3 });

      // The allowance to delete lives only inside the call: after it, in the same transaction, nothing may go.
      const orphan = await connection(ws, 16, 2, { anchors: false });
      await broker.query('BEGIN');
      const { rows } = await broker.query('SELECT stream_id, transcripts::int, records::int FROM audit.drop_expired_transcripts(12)');
      expect(rows).toContainEqual({ stream_id: ws, transcripts: 1, records: 2 });
      expect(await count(orphan)).toEqual({ t: 1, r: 2 }); // not committed yet: the operator still sees it
      expect((await broker.query('SELECT wact_private.erasing($1) AS e', [ws])).rows[0].e).toBe(false);
      await expect(broker.query('DELETE FROM audit.transcript_records WHERE transcript_id = $1', [recent])).rejects.toMatchObject({
        code: '42501',
      });
      await broker.query('ROLLBACK');
    } finally {
      await broker.end();
    }
    expect(await count(recent)).toEqual({ t: 1, r: 3 });

    const text = await kit.exportText(ws);
    expect(text).toContain(recent);
    expect(text).not.toContain(old);
    // What went is recorded in the stream: how many transcripts and records.
    const note = text.split('\n').find((l) => l.includes('"targetType":"gateway_transcripts"'));
    expect(JSON.parse(JSON.parse(note!).metadata)).toEqual({ keepMonths: 12, transcriptRecords: 4, transcripts: 1 });
    const report = await kit.verifyText(text);
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it('a month a reader holds is not waited for: the drop gives up (55P03) rather than queue every append behind it', async () => {
    const ws = crypto.randomUUID();
    await appendAt(ws, 19, 2);
    const month = (
      await kit.op.region('eu').query(`SELECT 'events_' || to_char(now() AT TIME ZONE 'UTC' - interval '19 months', 'YYYY_MM') AS p`)
    ).rows[0].p as string;
    const exists = async () => (await kit.op.region('eu').query('SELECT to_regclass($1) IS NOT NULL AS e', [`audit.${month}`])).rows[0].e;
    // A long reader of the stream (an export, a signing): its transaction holds audit.events and the month.
    const reader = await kit.op.region('eu').connect();
    let readerOpen = true;
    const endReader = async () => {
      if (!readerOpen) return;
      readerOpen = false;
      await reader.query('COMMIT');
      reader.release();
    };
    try {
      await reader.query('BEGIN');
      await reader.query('SELECT count(*) FROM audit.events WHERE stream_id = $1', [ws]);
      const t0 = Date.now();
      const retention = runAuditRetention(kit, 'eu', { keepMonths: 12, actor }).then(
        () => undefined,
        (err: Error & { code?: string }) => err,
      );
      // While the drop waits for the reader, an append of another stream still goes through (it would queue
      // behind the drop until the reader ends if the drop waited for it).
      await new Promise((r) => setTimeout(r, 300));
      const a0 = Date.now();
      const appended = await Promise.race([
        kit.audit.append(kit.event(crypto.randomUUID(), 1)).then(() => Date.now() - a0),
        new Promise<'stuck'>((r) => setTimeout(() => r('stuck'), 8000)),
      ]);
      if (appended === 'stuck') await endReader(); // unblock before failing
      expect(appended).not.toBe('stuck');
      expect(await retention).toMatchObject({ code: '55P03' });
      expect(Date.now() - t0).toBeLessThan(8000);
      expect(await exists()).toBe(true); // nothing of it went
    } finally {
      await endReader();
    }
    // Once the reader is done, the next run drops it.
    await runAuditRetention(kit, 'eu', { keepMonths: 12, actor });
    expect(await exists()).toBe(false);
  });
});
