import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type pg from 'pg';
import { stringify } from 'csv-stringify/sync';
import { GENESIS_HASH, neutraliseCell } from './audit-canonical.ts';
import { chainHead, EVENT_KEYS, EVENT_SELECT, signedHeads, TEXT_TYPES } from './audit-dal.ts';
import type { AuditSigner } from './audit-signing.ts';
import { isoMicros } from './audit-signing.ts';
import { PLATFORM_STREAM, type AuditDatabase, type SignedHead } from './audit-types.ts';

export type ExportFormat = 'csv' | 'jsonl';

export interface ExportHeader {
  type: 'header';
  format: 'wact-audit-export';
  version: 1;
  canonical: 'wact.audit.v1';
  database: AuditDatabase;
  streamId: string;
  workspaceId: string | null;
  from: string | null;
  to: string | null;
  exportedAt: string;
  firstSeq: string | null;
  lastSeq: string | null;
  /** True when the export runs to the chain head as it was at export time (no `to`, no cap). */
  complete: boolean;
  /** The hash the first event must link to: genesis (seq 0) or a signed head in this file. */
  anchor: { seq: string; hash: string } | null;
}

/** CSV columns, in order. `record` says which of the other columns are used. */
export const CSV_COLUMNS = [
  'record',
  'stream_id',
  'seq',
  'id',
  'occurred_at',
  'action',
  'actor_kind',
  'actor_id',
  'actor_role',
  'actor_name',
  'target_type',
  'target_id',
  'reason',
  'session_id',
  'client_ip',
  'user_agent',
  'outcome',
  'metadata',
  'prev_hash',
  'hash',
  'signed_at',
  'key_id',
  'purpose',
  'signature',
] as const;
const EVENT_COLUMN_COUNT = EVENT_KEYS.length; // 19: stream_id … hash
const HEAD_PAD = new Array<null>(4).fill(null);

export interface ExportOptions {
  database: AuditDatabase;
  streamId: string;
  format: ExportFormat;
  from?: Date;
  to?: Date;
  /** Only events after this seq (incremental delivery, e.g. SIEM pushes). */
  afterSeq?: bigint;
  /** At most this many events (the rest is for the next delivery). */
  maxEvents?: number;
  /** Called after each batch with rows written and the total expected. */
  onProgress?: (done: number, total: number) => void;
  /** Rows per FETCH. */
  batchSize?: number;
}

export interface ExportResult {
  events: number;
  firstSeq: string | null;
  lastSeq: string | null;
  signedHeads: number;
  headSigned: boolean;
}

function csvCells(row: (string | null)[]): (string | null)[] {
  for (let i = 0; i < row.length; i++) {
    const v = row[i];
    if (v !== null && v.length > 0) row[i] = neutraliseCell(v);
  }
  return row;
}

/**
 * Streams one audit stream (optionally a time range) to `out`: header, the
 * signed heads that cover it (the current head is signed first, and the
 * range's ends are anchored), every event with its chain hashes, a trailer.
 * Constant memory: a server-side cursor feeds batches, and writes wait for
 * the destination to drain. The caller records the export as an audit event
 * BEFORE calling this (so the export event itself is in the export).
 */
export async function exportAuditStream(
  deps: { poolFor: (db: AuditDatabase) => pg.Pool; signer: AuditSigner; log?: (msg: string) => void },
  opts: ExportOptions,
  out: Writable,
): Promise<ExportResult> {
  const pool = deps.poolFor(opts.database);
  const { streamId } = opts;
  let headSigned = true;
  try {
    await deps.signer.signStreamHead(opts.database, streamId, 'export');
  } catch (err) {
    // A broken chain is not hidden by refusing the export: the customer's verifier will name it.
    headSigned = false;
    deps.log?.(`export: current head not signed: ${(err as Error).message}`);
  }

  // A consistent snapshot: nothing beyond the head as it is now (appends go on meanwhile).
  const head = await chainHead(pool, streamId);
  const headSeq = head ? head.seq : 0n;
  const bounds = `stream_id = $1 AND seq <= $4 AND seq > $5 AND ($2::timestamptz IS NULL OR occurred_at >= $2) AND ($3::timestamptz IS NULL OR occurred_at < $3)`;
  const range = await pool.query<{ first: string | null; last: string | null }>(
    `SELECT (SELECT e.seq::text FROM audit.events e WHERE ${bounds} ORDER BY e.seq LIMIT 1) AS first,
            (SELECT e.seq::text FROM audit.events e WHERE ${bounds} ORDER BY e.seq DESC LIMIT 1) AS last`,
    [streamId, opts.from ?? null, opts.to ?? null, String(headSeq), String(opts.afterSeq ?? 0n)],
  );
  const first = range.rows[0].first === null ? null : BigInt(range.rows[0].first);
  let last = range.rows[0].last === null ? null : BigInt(range.rows[0].last);
  if (first !== null && last !== null && opts.maxEvents && last - first + 1n > BigInt(opts.maxEvents)) last = first + BigInt(opts.maxEvents) - 1n;

  // Anchor both ends with signed heads so a range verifies on its own.
  let anchor: ExportHeader['anchor'] = null;
  if (first !== null && last !== null) {
    if (first === 1n) anchor = { seq: '0', hash: GENESIS_HASH };
    else {
      try {
        const h = await deps.signer.checkpoint(opts.database, streamId, first - 1n, 'checkpoint');
        if (h) anchor = { seq: h.seq, hash: h.hash };
      } catch (err) {
        deps.log?.(`export: start of range not anchored: ${(err as Error).message}`);
      }
    }
    if (last < headSeq) {
      await deps.signer.checkpoint(opts.database, streamId, last, 'checkpoint').catch((err: Error) => deps.log?.(`export: end of range not anchored: ${err.message}`));
    }
  }
  // Heads up to the chain head: one beyond the last exported event shows a lost tail.
  const heads: SignedHead[] = first === null || last === null ? [] : await signedHeads(pool, streamId, first - 1n, headSeq);

  const header: ExportHeader = {
    type: 'header',
    format: 'wact-audit-export',
    version: 1,
    canonical: 'wact.audit.v1',
    database: opts.database,
    streamId,
    workspaceId: streamId === PLATFORM_STREAM ? null : streamId,
    from: opts.from ? isoMicros(opts.from) : null,
    to: opts.to ? isoMicros(opts.to) : null,
    exportedAt: isoMicros(new Date()),
    firstSeq: first === null ? null : String(first),
    lastSeq: last === null ? null : String(last),
    complete: !opts.to && (last === null || last === headSeq),
    anchor,
  };

  const csv = opts.format === 'csv';
  const write = async (chunk: string) => {
    if (!out.write(chunk)) await once(out, 'drain');
  };
  const headRow = (h: SignedHead) =>
    csv
      ? stringify([csvCells(['signed_head', h.streamId, h.seq, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, h.hash, h.signedAt, h.keyId, h.purpose, h.signature])])
      : JSON.stringify({ type: 'signed_head', ...h }) + '\n';
  const metaRow = (record: string, value: unknown) =>
    csv ? stringify([[record, ...new Array(16).fill(null), JSON.stringify(value), ...new Array(6).fill(null)]]) : JSON.stringify(value) + '\n';

  await write((csv ? stringify([CSV_COLUMNS as unknown as string[]]) : '') + metaRow('header', header));
  for (const h of heads) await write(headRow(h));

  let events = 0;
  const total = first === null || last === null ? 0 : Number(last - first + 1n);
  if (first !== null && last !== null) {
    const client = await pool.connect();
    try {
      await client.query('BEGIN READ ONLY');
      await client.query({
        text: `DECLARE audit_export NO SCROLL CURSOR FOR SELECT ${EVENT_SELECT} FROM audit.events e WHERE e.stream_id = $1 AND e.seq BETWEEN $2 AND $3 ORDER BY e.seq`,
        values: [streamId, String(first), String(last)],
      });
      const fetch = `FETCH ${Math.max(100, opts.batchSize ?? 5000)} FROM audit_export`;
      for (;;) {
        const { rows } = await client.query<(string | null)[]>({ text: fetch, rowMode: 'array', types: TEXT_TYPES });
        if (rows.length === 0) break;
        let chunk: string;
        if (csv) {
          for (let i = 0; i < rows.length; i++) {
            const r = csvCells(rows[i]);
            r.unshift('event');
            r.push(...HEAD_PAD);
          }
          chunk = stringify(rows);
        } else {
          chunk = '';
          for (const r of rows) {
            const o: Record<string, string | null> = { type: 'event' };
            for (let i = 0; i < EVENT_COLUMN_COUNT; i++) o[EVENT_KEYS[i]] = r[i];
            chunk += JSON.stringify(o) + '\n';
          }
        }
        events += rows.length;
        await write(chunk);
        opts.onProgress?.(events, total);
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }
  await write(metaRow('trailer', { type: 'trailer', events, signedHeads: heads.length }));
  return { events, firstSeq: header.firstSeq, lastSeq: header.lastSeq, signedHeads: heads.length, headSigned };
}
