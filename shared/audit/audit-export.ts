import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type pg from 'pg';
import { stringify } from 'csv-stringify/sync';
import { neutraliseCell } from './audit-canonical.ts';
import { chainHead, EVENT_KEYS, EVENT_SELECT, readEvents, signedHeads, TEXT_TYPES } from './audit-dal.ts';
import type { AuditSigningService } from './audit-sign-requests.ts';
import type { ExportManifest, SignedManifest } from './audit-signing.ts';
import { copyOut } from './audit-copy.ts';
import { isoMicros } from './audit-signing.ts';
import { PLATFORM_STREAM, type AuditDatabase, type SignedHead } from './audit-types.ts';

export type ExportFormat = 'csv' | 'jsonl';

/**
 * The first record of an export: its manifest (what the file claims), signed
 * by the audit signer after it checked the claim against the database. Every
 * field but `type`, `format`, `version`, `canonical` and `signature` is in the
 * signed message (MANIFEST_FIELDS, docs/audit-export.md).
 */
export interface ExportHeader {
  type: 'header';
  format: 'wact-audit-export';
  version: 2;
  canonical: 'wact.audit.v1';
  database: AuditDatabase;
  streamId: string;
  workspaceId: string | null;
  from: string | null;
  to: string | null;
  exportedAt: string;
  firstSeq: string | null;
  lastSeq: string | null;
  /** The event before the first (0: genesis) and the hash the first event links to. */
  anchorSeq: string | null;
  anchorHash: string | null;
  lastHash: string | null;
  /** The chain head when the export was made. */
  headSeq: string;
  /** True when the export runs to the chain head as it was at export time (no `to`, no cap). */
  complete: boolean;
  events: number;
  signedAt: string | null;
  keyId: string | null;
  /** null: the signer refused (e.g. a broken chain); the verifier then refuses the file. */
  signature: string | null;
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
  /** Rows per FETCH (node engine). */
  batchSize?: number;
  /**
   * Who formats event rows. 'copy' (default): PostgreSQL's COPY (FORMAT csv)
   * with the formula neutralisation done in SQL, streamed with backpressure.
   * 'node': a cursor and csv-stringify / JSON.stringify (about 10 times slower,
   * kept as the reference implementation; both produce files the verifier reads).
   */
  engine?: 'copy' | 'node';
}

export interface ExportResult {
  events: number;
  firstSeq: string | null;
  lastSeq: string | null;
  signedHeads: number;
  headSigned: boolean;
  manifestSigned: boolean;
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
  deps: { poolFor: (db: AuditDatabase) => pg.Pool; signer: AuditSigningService; log?: (msg: string) => void },
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
  let capped = false;
  if (first !== null && last !== null && opts.maxEvents && last - first + 1n > BigInt(opts.maxEvents)) {
    last = first + BigInt(opts.maxEvents) - 1n;
    capped = true;
  }

  // Anchor both ends with signed heads so a range verifies on its own.
  let anchorHash: string | null = null;
  let lastHash: string | null = null;
  if (first !== null && last !== null) {
    const [f] = await readEvents(pool, streamId, first, first);
    const [l] = await readEvents(pool, streamId, last, last);
    anchorHash = f?.prevHash ?? null;
    lastHash = l?.hash ?? null;
    if (first > 1n)
      await deps.signer
        .checkpoint(opts.database, streamId, first - 1n, 'checkpoint')
        .catch((err: Error) => deps.log?.(`export: start of range not anchored: ${err.message}`));
    await deps.signer
      .checkpoint(opts.database, streamId, last, 'checkpoint')
      .catch((err: Error) => deps.log?.(`export: end of range not anchored: ${err.message}`));
  }
  // Heads up to the chain head: one beyond the last exported event shows a lost tail.
  const heads: SignedHead[] = first === null || last === null ? [] : await signedHeads(pool, streamId, first - 1n, headSeq);

  const manifest: ExportManifest = {
    database: opts.database,
    streamId,
    workspaceId: streamId === PLATFORM_STREAM ? null : streamId,
    from: opts.from ? isoMicros(opts.from) : null,
    to: opts.to ? isoMicros(opts.to) : null,
    exportedAt: isoMicros(new Date()),
    firstSeq: first === null ? null : String(first),
    lastSeq: last === null ? null : String(last),
    anchorSeq: first === null ? null : String(first - 1n),
    anchorHash,
    lastHash,
    headSeq: String(headSeq),
    complete: !opts.to && !capped,
    events: first === null || last === null ? 0 : Number(last - first + 1n),
  };
  let signed: SignedManifest | undefined;
  try {
    signed = await deps.signer.signManifest(manifest);
  } catch (err) {
    // Still exported (the verifier names what is wrong), but unsigned: it verifies as nothing.
    deps.log?.(`export: manifest not signed: ${(err as Error).message}`);
  }
  const header: ExportHeader = {
    type: 'header',
    format: 'wact-audit-export',
    version: 2,
    canonical: 'wact.audit.v1',
    ...(manifest as Omit<ExportHeader, 'type' | 'format' | 'version' | 'canonical' | 'signedAt' | 'keyId' | 'signature'>),
    signedAt: (signed?.signedAt as string | undefined) ?? null,
    keyId: (signed?.keyId as string | undefined) ?? null,
    signature: signed?.signature ?? null,
  };

  const csv = opts.format === 'csv';
  const write = async (chunk: string) => {
    if (!out.write(chunk)) await once(out, 'drain');
  };
  const headRow = (h: SignedHead) =>
    csv
      ? stringify([
          csvCells([
            'signed_head',
            h.streamId,
            h.seq,
            null,
            null,
            null,
            null,
            null,
            null,
            null,
            null,
            null,
            null,
            null,
            null,
            null,
            null,
            null,
            null,
            h.hash,
            h.signedAt,
            h.keyId,
            h.purpose,
            h.signature,
          ]),
        ])
      : JSON.stringify({ type: 'signed_head', ...h }) + '\n';
  const metaRow = (record: string, value: unknown) =>
    csv
      ? stringify([[record, ...new Array(16).fill(null), JSON.stringify(value), ...new Array(6).fill(null)]])
      : JSON.stringify(value) + '\n';

  await write((csv ? stringify([CSV_COLUMNS as unknown as string[]]) : '') + metaRow('header', header));
  for (const h of heads) await write(headRow(h));

  let events = 0;
  let transcriptRecords = 0;
  const total = first === null || last === null ? 0 : Number(last - first + 1n);
  if (first !== null && last !== null) {
    const client = await pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN READ ONLY');
      if ((opts.engine ?? 'copy') === 'copy') {
        const sql = csv ? copyCsvSql(streamId, first, last) : copyJsonlSql(streamId, first, last);
        events = await copyOut(client, sql, out, (n) => opts.onProgress?.(n, total));
        opts.onProgress?.(events, total);
      } else {
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
      }
      // The gateway transcripts the exported connection events name (their records are not events of the stream).
      transcriptRecords = await copyOut(
        client,
        csv ? transcriptCsvSql(streamId, first, last) : transcriptJsonlSql(streamId, first, last),
        out,
      );
      await client.query('COMMIT');
    } catch (err) {
      broken = true;
      throw err;
    } finally {
      // A connection left mid-COPY or mid-transaction is not reused.
      client.release(broken);
    }
  }
  await write(metaRow('trailer', { type: 'trailer', events, signedHeads: heads.length, transcriptRecords }));
  return { events, firstSeq: header.firstSeq, lastSeq: header.lastSeq, signedHeads: heads.length, headSigned, manifestSigned: !!signed };
}

// ---- event rows formatted by PostgreSQL (the default engine) ----

const TS = `to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
/** Free-text columns may start with a formula character; the others cannot (CHECK constraints, uuids, hex). */
const cell = (x: string) => `CASE WHEN left(${x}, 1) IN ('=', '+', '-', '@', E'\\t', E'\\r', '''') THEN '''' || ${x} ELSE ${x} END`;
const range = (streamId: string, first: bigint, last: bigint) => {
  if (!/^[0-9a-f-]{36}$/.test(streamId)) throw new Error('stream id must be a uuid');
  return `FROM audit.events e WHERE e.stream_id = '${streamId}' AND e.seq BETWEEN ${first} AND ${last} ORDER BY e.seq`;
};

function copyCsvSql(streamId: string, first: bigint, last: bigint): string {
  return `COPY (SELECT 'event', e.stream_id, e.seq, e.id, ${TS}, e.action, e.actor_kind, ${cell('e.actor_id')}, ${cell('e.actor_role')},
      ${cell('e.actor_name')}, e.target_type, ${cell('e.target_id')}, ${cell('e.reason')}, ${cell('e.session_id')}, e.client_ip,
      ${cell('e.user_agent')}, e.outcome, e.metadata, encode(e.prev_hash, 'hex'), encode(e.hash, 'hex'), NULL, NULL, NULL, NULL
    ${range(streamId, first, last)}) TO STDOUT WITH (FORMAT csv)`;
}

/**
 * One JSON object per row. JSON text never contains a raw control character,
 * so with \x01 as delimiter and \x02 as quote COPY's CSV mode writes it verbatim.
 */
function copyJsonlSql(streamId: string, first: bigint, last: bigint): string {
  return `COPY (SELECT row_to_json(t)::text FROM (SELECT 'event' AS type, e.stream_id AS "streamId", e.seq::text AS seq, e.id, ${TS} AS "occurredAt",
      e.action, e.actor_kind AS "actorKind", e.actor_id AS "actorId", e.actor_role AS "actorRole", e.actor_name AS "actorName",
      e.target_type AS "targetType", e.target_id AS "targetId", e.reason, e.session_id AS "sessionId", e.client_ip AS "clientIp",
      e.user_agent AS "userAgent", e.outcome, e.metadata, encode(e.prev_hash, 'hex') AS "prevHash", encode(e.hash, 'hex') AS hash
    ${range(streamId, first, last)}) t) TO STDOUT WITH (FORMAT csv, DELIMITER E'\\x01', QUOTE E'\\x02')`;
}

// ---- gateway transcripts (migration 0700; docs/audit-export.md) ----

/**
 * The records of the transcripts named by the range's connection events, in
 * transcript then seq order, as `transcript_record` rows in the event columns:
 * id is the transcript id, seq the record's seq in its transcript; actor,
 * reason and session come from the transcript (the verifiers compare them with
 * the connection's events).
 */
const transcriptRange = (streamId: string, first: bigint, last: bigint) => {
  if (!/^[0-9a-f-]{36}$/.test(streamId)) throw new Error('stream id must be a uuid');
  return `FROM audit.transcript_records r JOIN audit.transcripts t USING (transcript_id)
    WHERE t.stream_id = '${streamId}' AND t.transcript_id::text IN (
      SELECT (e.metadata::jsonb)->>'transcript' FROM audit.events e
       WHERE e.stream_id = '${streamId}' AND e.seq BETWEEN ${first} AND ${last}
         AND e.action IN ('db.session.connect', 'db.session.checkpoint', 'db.session.disconnect'))
    ORDER BY t.opened_at, t.transcript_id, r.seq`;
};
const RTS = `to_char(r.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

function transcriptCsvSql(streamId: string, first: bigint, last: bigint): string {
  return `COPY (SELECT 'transcript_record', r.stream_id, r.seq, r.transcript_id, ${RTS}, 'db.statement', t.actor_kind, ${cell('t.actor_id')},
      ${cell('t.actor_role')}, ${cell('t.actor_name')}, 'db_session', ${cell('t.session_id')}, ${cell('t.reason')}, ${cell('t.session_id')},
      t.client_ip, NULL, r.outcome, r.metadata, encode(r.prev_hash, 'hex'), encode(r.hash, 'hex'), NULL, NULL, NULL, NULL
    ${transcriptRange(streamId, first, last)}) TO STDOUT WITH (FORMAT csv)`;
}

function transcriptJsonlSql(streamId: string, first: bigint, last: bigint): string {
  return `COPY (SELECT row_to_json(x)::text FROM (SELECT 'transcript_record' AS type, r.stream_id AS "streamId", r.seq::text AS seq,
      r.transcript_id AS id, ${RTS} AS "occurredAt", 'db.statement' AS action, t.actor_kind AS "actorKind", t.actor_id AS "actorId",
      t.actor_role AS "actorRole", t.actor_name AS "actorName", 'db_session' AS "targetType", t.session_id AS "targetId", t.reason,
      t.session_id AS "sessionId", t.client_ip AS "clientIp", NULL AS "userAgent", r.outcome, r.metadata,
      encode(r.prev_hash, 'hex') AS "prevHash", encode(r.hash, 'hex') AS hash
    ${transcriptRange(streamId, first, last)}) x) TO STDOUT WITH (FORMAT csv, DELIMITER E'\\x01', QUOTE E'\\x02')`;
}
