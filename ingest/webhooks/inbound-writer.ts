import { createHash, randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Logger } from 'pino';
import { decideAttribution } from '../attribution/attribution-service.ts';
import type { InboundRecord, WriteOutcome } from './inbound-types.ts';
import { serializeError } from '../../shared/logging/logger.ts';

/**
 * Group commit for inbound messages of one regional database.
 *
 * Requests hand their records to `write()` and wait; one transaction at a time
 * takes everything queued (up to maxBatch) and writes it with a handful of
 * set-based statements. Promises resolve only after COMMIT returned, i.e.
 * after the WAL flush: a 200 is never sent for a write that could be lost,
 * and a crash before COMMIT loses the response too, so the BSP retries.
 *
 * Idempotency: webhook_receipts (workspace, provider, message hash) is the
 * dedup key. A concurrent duplicate blocks on the in-flight row until that
 * transaction ends, then sees the conflict: exactly one record either way.
 * Senders are locked (transaction advisory locks, sorted) so two batches
 * never both start a conversation for one person.
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
  /** Parallel transactions (pipelining); correctness does not depend on it. */
  concurrency?: number;
  logger?: Pick<Logger, 'warn' | 'error'>;
}

const RETRYABLE = new Set(['40P01', '40001']); // deadlock, serialization

export function createInboundWriter(opts: InboundWriterOptions) {
  const queue: Pending[] = [];
  const concurrency = opts.concurrency ?? 2;
  let running = 0;
  let closed = false;
  let idle: (() => void) | undefined;

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
    const key = (r: InboundRecord) => `${r.workspaceId}|${r.provider}|${r.messageHash}`;
    // Duplicates inside the batch collapse onto their first occurrence.
    const first = new Map<string, number>();
    records.forEach((r, i) => {
      if (!first.has(key(r))) first.set(key(r), i);
    });
    const unique = [...first.values()].sort((a, b) => (key(records[a]) < key(records[b]) ? -1 : 1));
    const outcomes: WriteOutcome[] = records.map(() => ({ duplicate: true, newConversation: false }));

    const client = await opts.pool.connect();
    try {
      await client.query('BEGIN');
      const inserted = await client.query<{ workspace_id: string; provider: string; message_hash: string }>(
        `INSERT INTO wact.webhook_receipts (workspace_id, provider, message_hash)
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[])
         ON CONFLICT DO NOTHING
         RETURNING workspace_id, provider, message_hash`,
        [unique.map((i) => records[i].workspaceId), unique.map((i) => records[i].provider), unique.map((i) => records[i].messageHash)],
      );
      const fresh = new Set(inserted.rows.map((r) => `${r.workspace_id}|${r.provider}|${r.message_hash}`));
      const todo = unique.filter((i) => fresh.has(key(records[i]))).sort((a, b) => a - b);
      if (todo.length) await writeFresh(client, records, todo, outcomes);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
    // In-batch duplicates share their original's conversation.
    records.forEach((r, i) => {
      const f = first.get(key(r))!;
      if (f !== i) outcomes[i] = { duplicate: true, conversationId: outcomes[f].conversationId, newConversation: false };
    });
    return outcomes;
  }

  async function writeFresh(client: pg.PoolClient, records: InboundRecord[], todo: number[], outcomes: WriteOutcome[]): Promise<void> {
    const senderKey = (r: InboundRecord) => `${r.workspaceId}|${r.senderHash}`;
    const senders = [...new Map(todo.map((i) => [senderKey(records[i]), records[i]])).values()];
    const lockIds = senders.map((r) => createHash('sha256').update(`wact.sender\0${senderKey(r)}`).digest().readBigInt64BE(0)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    await client.query('SELECT count(pg_advisory_xact_lock(k)) FROM unnest($1::bigint[]) AS k', [lockIds.map(String)]);

    const existing = await client.query<{ ws: string; sh: string; id: string; started_at: Date }>(
      `SELECT s.ws, s.sh, c.id, c.started_at
         FROM unnest($1::uuid[], $2::text[]) AS s(ws, sh)
         CROSS JOIN LATERAL (SELECT id, started_at FROM wact.conversations c
                              WHERE c.workspace_id = s.ws AND c.sender_hash = s.sh
                              ORDER BY c.started_at DESC LIMIT 1) c`,
      [senders.map((r) => r.workspaceId), senders.map((r) => r.senderHash)],
    );
    const conversationOf = new Map(existing.rows.map((r) => [`${r.ws}|${r.sh}`, { id: r.id, startedAt: r.started_at }]));

    const withRef = todo.filter((i) => records[i].refHash && !conversationOf.has(senderKey(records[i])));
    const refClicks = new Map<string, { id: string; createdAt: Date }>();
    // click time as PostgreSQL's text (µs): a JS Date would truncate it to ms
    const clickAtText = new Map<string, string>();
    if (withRef.length) {
      const { rows } = await client.query<{ ws: string; rh: string; id: string; created_at: Date; created_at_text: string }>(
        `SELECT s.ws, s.rh, c.id, c.created_at, c.created_at::text AS created_at_text
           FROM unnest($1::uuid[], $2::text[]) AS s(ws, rh)
           CROSS JOIN LATERAL (SELECT id, created_at FROM wact.clicks c
                                WHERE c.workspace_id = s.ws AND c.ref_hash = s.rh
                                ORDER BY c.created_at DESC LIMIT 1) c`,
        [withRef.map((i) => records[i].workspaceId), withRef.map((i) => records[i].refHash!)],
      );
      for (const r of rows) {
        refClicks.set(`${r.ws}|${r.rh}`, { id: r.id, createdAt: r.created_at });
        clickAtText.set(r.id, r.created_at_text);
      }
    }

    const now = new Date();
    const clicks: { id: string; r: InboundRecord }[] = [];
    const conversations: { id: string; r: InboundRecord; att?: ReturnType<typeof decideAttribution> }[] = [];
    const payloads: { r: InboundRecord; conversationId: string }[] = [];
    for (const i of todo) {
      const r = records[i];
      const sk = senderKey(r);
      const current = conversationOf.get(sk);
      const continues = current && r.startedAt.getTime() - current.startedAt.getTime() < opts.conversationWindowMs && r.startedAt.getTime() - current.startedAt.getTime() > -opts.conversationWindowMs;
      if (continues) {
        outcomes[i] = { duplicate: false, conversationId: current.id, newConversation: false };
      } else {
        const id = randomUUID();
        let referralClick: { id: string; createdAt: Date; hasCtwaClid: boolean; hasSourceId: boolean } | undefined;
        const refClick = r.refHash ? refClicks.get(`${r.workspaceId}|${r.refHash}`) : undefined;
        if (r.referral && (r.referral.ctwaClidForClick || r.referral.sourceId) && !(refClick && decideAttribution({ startedAt: r.startedAt, windowMs: opts.attributionWindowMs, refClick }))) {
          referralClick = { id: randomUUID(), createdAt: now, hasCtwaClid: !!r.referral.ctwaClidForClick, hasSourceId: !!r.referral.sourceId };
          clicks.push({ id: referralClick.id, r });
        }
        const att = decideAttribution({ startedAt: r.startedAt, windowMs: opts.attributionWindowMs, refClick, referralClick });
        conversations.push({ id, r, att });
        conversationOf.set(sk, { id, startedAt: r.startedAt });
        outcomes[i] = { duplicate: false, conversationId: id, newConversation: true };
      }
      payloads.push({ r, conversationId: outcomes[i].conversationId! });
    }

    if (clicks.length) {
      await client.query(
        `INSERT INTO wact.clicks (id, workspace_id, source, ctwa_clid_enc, click_id_prefixes, ad_source_id, ad_source_type, ad_source_url_enc, created_at)
         SELECT id, ws, 'ctwa', clid, pre, sid, stype, surl, $8::timestamptz
           FROM unnest($1::uuid[], $2::uuid[], $3::bytea[], $4::jsonb[], $5::text[], $6::text[], $7::bytea[]) AS t(id, ws, clid, pre, sid, stype, surl)`,
        [
          clicks.map((c) => c.id),
          clicks.map((c) => c.r.workspaceId),
          clicks.map((c) => c.r.referral!.ctwaClidForClick ?? null),
          clicks.map((c) => JSON.stringify(c.r.referral!.ctwaPrefix ? { ctwa_clid: c.r.referral!.ctwaPrefix } : {})),
          clicks.map((c) => c.r.referral!.sourceId ?? null),
          clicks.map((c) => c.r.referral!.sourceType ?? null),
          clicks.map((c) => c.r.referral!.sourceUrlEnc ?? null),
          now.toISOString(),
        ],
      );
    }
    if (conversations.length) {
      await client.query(
        `INSERT INTO wact.conversations (id, workspace_id, provider, sender_hash, sender_kind, started_at, ctwa_clid_enc, ctwa_clid_prefix,
                                         ad_source_id, ad_source_type, matched_click_id, matched_click_at, attribution_method, attribution_latency_ms)
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::bytea[], $8::text[],
                              $9::text[], $10::text[], $11::uuid[], $12::timestamptz[], $13::text[], $14::bigint[])`,
        [
          conversations.map((c) => c.id),
          conversations.map((c) => c.r.workspaceId),
          conversations.map((c) => c.r.provider),
          conversations.map((c) => c.r.senderHash),
          conversations.map((c) => c.r.senderKind),
          conversations.map((c) => c.r.startedAt.toISOString()),
          conversations.map((c) => c.r.referral?.ctwaClidForConversation ?? null),
          conversations.map((c) => c.r.referral?.ctwaPrefix ?? null),
          conversations.map((c) => c.r.referral?.sourceId ?? null),
          conversations.map((c) => c.r.referral?.sourceType ?? null),
          conversations.map((c) => c.att?.clickId ?? null),
          conversations.map((c) => (c.att ? (clickAtText.get(c.att.clickId) ?? c.att.clickAt.toISOString()) : null)),
          conversations.map((c) => c.att?.method ?? null),
          conversations.map((c) => (c.att ? String(c.att.latencyMs) : null)),
        ],
      );
    }
    await client.query(
      `INSERT INTO wact.raw_webhook_payloads (id, workspace_id, provider, message_hash, conversation_id, payload_enc)
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::uuid[], $6::bytea[])`,
      [
        payloads.map(() => randomUUID()),
        payloads.map((p) => p.r.workspaceId),
        payloads.map((p) => p.r.provider),
        payloads.map((p) => p.r.messageHash),
        payloads.map((p) => p.conversationId),
        payloads.map((p) => p.r.payloadEnc),
      ],
    );
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
