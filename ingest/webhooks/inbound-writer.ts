import type pg from 'pg';
import type { Logger } from 'pino';
import { serializeError } from '../../shared/logging/logger.ts';
import type { InboundRecord, WriteOutcome } from './inbound-types.ts';

/**
 * Group commit for inbound messages of one regional database.
 *
 * Requests hand their records to `write()` and wait; one statement at a time
 * per slot takes everything queued (up to maxBatch) and writes it with a
 * single call of wact_private.ingest_inbound_batch (db/functions/
 * wact_private.ingest_inbound_batch.sql: dedup receipt, conversation and attribution, payload),
 * which is its own transaction. Promises resolve only after that statement's
 * commit returned, i.e. after the WAL flush: a 200 is never sent for a write
 * that could be lost, and a crash before the commit loses the response too,
 * so the BSP retries.
 *
 * Idempotency: webhook_receipts (workspace, provider, message hash) is the
 * dedup key. A concurrent duplicate blocks on the in-flight row until that
 * transaction ends, then conflicts: exactly one record either way.
 */
interface Pending {
  record: InboundRecord;
  resolve: (o: WriteOutcome) => void;
  reject: (e: unknown) => void;
}

export interface InboundWriterOptions {
  pool: pg.Pool;
  maxBatch: number;
  conversationWindowMs: number;
  attributionWindowMs: number;
  /** Statements in flight at once (pipelining); correctness does not depend on it. */
  concurrency?: number;
  logger?: Pick<Logger, 'warn' | 'error'>;
}

const RETRYABLE = new Set(['40P01', '40001']); // deadlock, serialization

const BATCH_SQL = `SELECT idx, duplicate, conversation_id, new_conversation FROM wact_private.ingest_inbound_batch(
  $1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::text[], $8::text[], $9::text[],
  $10::text[], $11::bytea[], $12::bytea[], $13::text[], $14::text[], $15::text[], $16::bytea[], $17::bytea[], $18::interval, $19::interval)`;

export function createInboundWriter(opts: InboundWriterOptions) {
  const queue: Pending[] = [];
  const concurrency = opts.concurrency ?? 2;
  let running = 0;
  let closed = false;
  let idle: (() => void) | undefined;
  const convWindow = `${Math.round(opts.conversationWindowMs)} milliseconds`;
  const attrWindow = `${Math.round(opts.attributionWindowMs)} milliseconds`;

  function write(record: InboundRecord): Promise<WriteOutcome> {
    if (closed) return Promise.reject(new Error('inbound writer is closed'));
    return new Promise((resolve, reject) => {
      queue.push({ record, resolve, reject });
      pump();
    });
  }

  function pump(): void {
    while (running < concurrency && queue.length > 0) {
      const batch = queue.splice(0, opts.maxBatch);
      running++;
      void flushWithRetry(batch).finally(() => {
        running--;
        if (queue.length) pump();
        else if (running === 0) idle?.();
      });
    }
  }

  async function flushWithRetry(batch: Pending[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const outcomes = await flush(batch.map((p) => p.record));
        batch.forEach((p, i) => p.resolve(outcomes[i]));
        return;
      } catch (err) {
        const e = err as { code?: string; message?: string };
        if (attempt < 4 && e.code === '23514' && /no partition/.test(e.message ?? '')) {
          await opts.pool.query('SELECT wact_private.ensure_ingest_partitions(current_date - 1, 15)').catch(() => undefined);
          continue;
        }
        if (attempt < 4 && e.code && RETRYABLE.has(e.code)) continue;
        opts.logger?.error({ err: serializeError(err), batch: batch.length }, 'inbound batch write failed');
        batch.forEach((p) => p.reject(err));
        return;
      }
    }
  }

  async function flush(records: InboundRecord[]): Promise<WriteOutcome[]> {
    // Sorted by receipt key: concurrent batches take receipt rows in one order (no deadlock).
    const key = (r: InboundRecord) => `${r.workspaceId}|${r.provider}|${r.messageHash}`;
    const order = records
      .map((_, i) => i)
      .sort((a, b) => (key(records[a]) < key(records[b]) ? -1 : key(records[a]) > key(records[b]) ? 1 : a - b));
    const rs = order.map((i) => records[i]);
    const { rows } = await opts.pool.query<{ idx: number; duplicate: boolean; conversation_id: string | null; new_conversation: boolean }>(
      BATCH_SQL,
      [
        rs.map((r) => r.workspaceId),
        rs.map((r) => r.provider),
        rs.map((r) => r.messageHash),
        rs.map((r) => r.senderHash),
        rs.map((r) => r.senderKind),
        rs.map((r) => r.startedAt.toISOString()),
        rs.map((r) => r.refHash ?? null),
        rs.map((r) => r.senderHashPrev ?? null),
        rs.map((r) => r.refHashPrev ?? null),
        rs.map((r) => r.messageHashPrev ?? null),
        rs.map((r) => r.referral?.ctwaClidForClick ?? null),
        rs.map((r) => r.referral?.ctwaClidForConversation ?? null),
        rs.map((r) => r.referral?.ctwaPrefix ?? null),
        rs.map((r) => r.referral?.sourceId ?? null),
        rs.map((r) => r.referral?.sourceType ?? null),
        rs.map((r) => r.referral?.sourceUrlEnc ?? null),
        rs.map((r) => r.payloadEnc),
        convWindow,
        attrWindow,
      ],
    );
    if (rows.length !== rs.length) throw new Error('inbound batch returned an unexpected row count');
    const outcomes: WriteOutcome[] = new Array(records.length);
    for (const row of rows) {
      outcomes[order[row.idx - 1]] = {
        duplicate: row.duplicate,
        conversationId: row.conversation_id ?? undefined,
        newConversation: row.new_conversation,
      };
    }
    return outcomes;
  }

  /** Stops taking writes and waits for queued ones to finish. */
  async function close(): Promise<void> {
    closed = true;
    if (running === 0 && queue.length === 0) return;
    await new Promise<void>((resolve) => {
      idle = resolve;
    });
  }

  return { write, close, pending: () => queue.length + running };
}

export type InboundWriter = ReturnType<typeof createInboundWriter>;
