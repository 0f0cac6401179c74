import type pg from 'pg';
import { withTransaction } from '../db/pools.ts';
import type { AuditSigningService } from './audit-sign-requests.ts';
import { PLATFORM_STREAM, type AuditDatabase, type AuditEventInput } from './audit-types.ts';
import { toAppendRow } from './audit-validation.ts';

export const MIN_RETENTION_MONTHS = 12;

export interface RetentionResult {
  database: AuditDatabase;
  dropped: { partition: string; events: number; streams: number }[];
  /** Gateway transcripts dropped with the months that anchored them (regional databases), per stream. */
  transcripts: { streamId: string; transcripts: number; records: number }[];
}

/**
 * Drops whole months older than the retention period. Before a month goes,
 * each stream's last event in it gets a signed head (a checkpoint verified
 * against the chain), so the first remaining event still verifies: its
 * prev_hash is that signed hash. audit.drop_partition re-checks both rules
 * in the database. Each affected stream then records what was dropped.
 * Then the gateway transcripts whose anchors went with those months
 * (audit.drop_expired_transcripts: opened more than a day before the oldest
 * month kept, and before the retention period), each stream recording how
 * many transcripts and records went.
 *
 * Each deletion and the events that record it commit in one transaction
 * (`deleteRecorded`): a crash or a refused event between the two can never
 * leave evidence gone without its record.
 */
export async function runAuditRetention(
  deps: { poolFor: (db: AuditDatabase) => pg.Pool; signer: AuditSigningService },
  db: AuditDatabase,
  opts: { keepMonths: number; actor: AuditEventInput['actor']; now?: Date },
): Promise<RetentionResult> {
  if (!Number.isInteger(opts.keepMonths) || opts.keepMonths < MIN_RETENTION_MONTHS) {
    throw new Error(`audit retention is at least ${MIN_RETENTION_MONTHS} months`);
  }
  const pool = deps.poolFor(db);
  const { rows: parts } = await pool.query<{ name: string; lower: Date; upper: Date }>(
    `SELECT c.relname AS name,
            to_date(substr(c.relname, 8), 'YYYY_MM')::timestamp AT TIME ZONE 'UTC' AS lower,
            (to_date(substr(c.relname, 8), 'YYYY_MM')::timestamp AT TIME ZONE 'UTC') + interval '1 month' AS upper
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'audit.events'::regclass AND c.relname ~ '^events_\\d{4}_\\d{2}$'
        AND (to_date(substr(c.relname, 8), 'YYYY_MM')::timestamp AT TIME ZONE 'UTC') + interval '1 month'
            <= (date_trunc('month', coalesce($1::timestamptz, now()) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') - make_interval(months => $2)
      ORDER BY 1`,
    [opts.now ?? null, opts.keepMonths],
  );
  const result: RetentionResult = { database: db, dropped: [], transcripts: [] };
  for (const p of parts) {
    const { rows: streams } = await pool.query<{ stream_id: string; last: string; n: string }>(
      `SELECT stream_id::text, max(seq)::text AS last, count(*)::text AS n FROM audit.events
        WHERE occurred_at >= $1 AND occurred_at < $2 GROUP BY stream_id`,
      [p.lower, p.upper],
    );
    for (const s of streams) await deps.signer.checkpoint(db, s.stream_id, BigInt(s.last), 'retention');
    const events = await deleteRecorded(
      pool,
      db,
      async (c) => (await c.query<{ n: string }>('SELECT audit.drop_partition($1, $2)::text AS n', [p.name, opts.keepMonths])).rows[0].n,
      () =>
        streams.map((s) => ({
          action: 'audit.retention.drop',
          actor: opts.actor,
          workspaceId: s.stream_id === PLATFORM_STREAM ? null : s.stream_id,
          region: db === 'control' ? undefined : db,
          target: { type: 'audit_partition', id: p.name },
          outcome: 'success' as const,
          metadata: { events: Number(s.n), lastDroppedSeq: s.last, keepMonths: opts.keepMonths },
        })),
    );
    result.dropped.push({ partition: p.name, events: Number(events), streams: streams.length });
  }
  if (db !== 'control') {
    const rows = await deleteRecorded(
      pool,
      db,
      async (c) =>
        (
          await c.query<{ stream_id: string; transcripts: string; records: string }>(
            'SELECT stream_id::text, transcripts::text, records::text FROM audit.drop_expired_transcripts($1)',
            [opts.keepMonths],
          )
        ).rows,
      (dropped) =>
        dropped.map((r) => ({
          action: 'audit.retention.drop',
          actor: opts.actor,
          workspaceId: r.stream_id,
          region: db,
          target: { type: 'gateway_transcripts' },
          outcome: 'success' as const,
          metadata: { transcripts: Number(r.transcripts), transcriptRecords: Number(r.records), keepMonths: opts.keepMonths },
        })),
    );
    for (const r of rows)
      result.transcripts.push({ streamId: r.stream_id, transcripts: Number(r.transcripts), records: Number(r.records) });
  }
  return result;
}

/**
 * Runs a deletion of audit evidence and appends the events that record it in
 * the same transaction, committed durably: both happen or neither does.
 */
async function deleteRecorded<T>(
  pool: pg.Pool,
  db: AuditDatabase,
  work: (client: pg.PoolClient) => Promise<T>,
  events: (done: T) => AuditEventInput[],
): Promise<T> {
  return withTransaction(pool, async (client) => {
    await client.query('SET LOCAL synchronous_commit = on');
    const done = await work(client);
    const rows = events(done).map((e) => {
      const { database, row } = toAppendRow(e);
      if (database !== db) throw new Error(`a retention event of ${db} belongs to ${database}`);
      return row;
    });
    if (rows.length) await client.query('SELECT audit.append($1::jsonb)', [JSON.stringify(rows)]);
    return done;
  });
}
