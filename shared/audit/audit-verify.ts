import { pipeline, Readable } from 'node:stream';
import { parse as createCsvParser } from 'csv-parse';
import { parse as parseCsv } from 'csv-parse/sync';
import {
  digestEventsSha256,
  digestMessage,
  eventHash,
  GENESIS_HASH,
  headMessage,
  manifestMessage,
  unneutraliseCell,
  type CanonicalEvent,
} from './audit-canonical.ts';
import { checkSignature, type TrustedKeys } from './audit-keys.ts';
import { PLATFORM_STREAM } from './audit-types.ts';
import { verifyTranscripts, type TranscriptEventView, type TranscriptRecordView } from './transcript-verify.ts';

/**
 * Offline verification of an audit export (JSON Lines or CSV). Needs only
 * the file and the public keys. This is the reference for the algorithm
 * documented in docs/audit-export.md; CSV is read with csv-parse (the
 * standalone scripts/verify-audit-export.mjs stays dependency-free).
 */

export type ProblemKind =
  | 'altered'
  | 'missing'
  | 'reordered'
  | 'inserted'
  | 'signature'
  | 'head_mismatch'
  | 'format'
  | 'manifest'
  | 'unanchored'
  | 'unsigned_end'
  | 'foreign'
  | 'digest'
  | 'reanchored';

export interface Problem {
  kind: ProblemKind;
  seq?: string;
  id?: string;
  message: string;
}

export interface VerifyReport {
  ok: boolean;
  format: 'jsonl' | 'csv';
  streamId: string | null;
  events: number;
  firstSeq: string | null;
  lastSeq: string | null;
  signedHeadsVerified: number;
  manifestSigned: boolean;
  anchored: { start: boolean; end: boolean };
  problems: Problem[];
  warnings: string[];
}

interface EventRec {
  idx: number;
  seq: string;
  id: string;
  prev: string;
  hash: string;
  ok: boolean;
}

interface HeadRec {
  streamId: string;
  seq: string;
  hash: string;
  signedAt: string;
  keyId: string;
  purpose: string;
  signature: string;
}

type Rec = { type: string; [k: string]: unknown };

// ---------- reading ----------

/** Lines of UTF-8 text (a character split across chunks is decoded whole). */
async function* lines(chunks: AsyncIterable<Buffer>): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8');
  let buf = '';
  for await (const chunk of chunks) {
    buf += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      yield buf.slice(0, nl);
      buf = buf.slice(nl + 1);
    }
  }
  buf += decoder.decode();
  if (buf.length) yield buf;
}

/**
 * RFC 4180 as the export writes it (csv-parse does the quoting, quoted line
 * breaks and CRLF); the one rule of our own is that an unquoted empty cell is
 * null while a quoted one ("") is the empty string. Ragged rows are read as
 * they are (a missing cell is null): the record checks that follow reject them.
 */
const CSV_OPTIONS = {
  bom: true,
  relax_column_count: true,
  cast: (value: string, ctx: { quoting: boolean }) => (value === '' && !ctx.quoting ? null : value),
} as const;

/** One CSV record given as text (the header line, tests). */
export function parseCsvLine(line: string): (string | null)[] {
  const records = parseCsv(line, CSV_OPTIONS) as (string | null)[][];
  if (records.length !== 1) throw new Error('malformed CSV record');
  return records[0];
}

/** The stream's bytes as Buffers, with the first `peeked` ones put back in front. */
async function* replay(peeked: Buffer[], rest: AsyncIterator<unknown>): AsyncGenerator<Buffer> {
  yield* peeked;
  for (let next = await rest.next(); !next.done; next = await rest.next())
    yield typeof next.value === 'string' ? Buffer.from(next.value) : (next.value as Buffer);
}

const CSV_TO_KEY: Record<string, string> = {
  stream_id: 'streamId',
  seq: 'seq',
  id: 'id',
  occurred_at: 'occurredAt',
  action: 'action',
  actor_kind: 'actorKind',
  actor_id: 'actorId',
  actor_role: 'actorRole',
  actor_name: 'actorName',
  target_type: 'targetType',
  target_id: 'targetId',
  reason: 'reason',
  session_id: 'sessionId',
  client_ip: 'clientIp',
  user_agent: 'userAgent',
  outcome: 'outcome',
  metadata: 'metadata',
  prev_hash: 'prevHash',
  hash: 'hash',
  signed_at: 'signedAt',
  key_id: 'keyId',
  purpose: 'purpose',
  signature: 'signature',
};

/** Every record of an export as a JSON-like object, whichever the format. */
export async function* readExport(input: Readable, onFormat?: (f: 'jsonl' | 'csv') => void): AsyncGenerator<Rec> {
  // The first byte that is not a BOM decides: '{' is JSON Lines, anything else CSV.
  const source = input[Symbol.asyncIterator]();
  const peeked: Buffer[] = [];
  let first: number | undefined;
  while (first === undefined) {
    const next = await source.next();
    if (next.done) return;
    const chunk = typeof next.value === 'string' ? Buffer.from(next.value) : (next.value as Buffer);
    peeked.push(chunk);
    const head = Buffer.concat(peeked);
    const start = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
    if (head.length > start) first = head[start];
  }
  const bytes = replay(peeked, source);
  if (first === 0x7b /* { */) {
    onFormat?.('jsonl');
    for await (const l of lines(bytes)) {
      const text = l.replace(/^\uFEFF/, '');
      if (text.trim()) yield JSON.parse(text) as Rec;
    }
    return;
  }
  onFormat?.('csv');
  let columns: string[] | undefined;
  // pipeline, not pipe: a read error of the input must reach the parser (and end this loop), not leave it waiting.
  const records = pipeline(Readable.from(bytes), createCsvParser(CSV_OPTIONS), () => undefined);
  for await (const cells of records as AsyncIterable<(string | null)[]>) {
    if (!columns) {
      columns = cells.map((c) => c ?? '');
      if (columns[0] !== 'record') throw new Error('not a WAct audit export (unknown first line)');
      continue;
    }
    const values = cells.map((c) => (c === null ? null : unneutraliseCell(c)));
    const record = values[0];
    if (record === 'header' || record === 'trailer') {
      yield JSON.parse(values[columns.indexOf('metadata')] ?? '{}') as Rec;
      continue;
    }
    const o: Rec = { type: record ?? '' };
    for (let i = 1; i < columns.length; i++) {
      const key = CSV_TO_KEY[columns[i]];
      if (
        key &&
        (record === 'event' || record === 'transcript_record'
          ? i <= columns.indexOf('hash')
          : ['streamId', 'seq', 'hash', 'signedAt', 'keyId', 'purpose', 'signature'].includes(key))
      )
        o[key] = values[i] ?? null;
    }
    yield o;
  }
}

// ---------- verifying ----------

const label = (e: { seq: string; id: string }) => `seq ${e.seq} (id ${e.id})`;

/** Longest increasing subsequence: indexes (into `a`) that are already in order. */
function inOrder(a: number[]): Set<number> {
  const tails: number[] = [];
  const prevIdx = new Array<number>(a.length).fill(-1);
  for (let i = 0; i < a.length; i++) {
    let lo = 0;
    let hi = tails.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (a[tails[mid]] < a[i]) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0) prevIdx[i] = tails[lo - 1];
    tails[lo] = i;
  }
  const keep = new Set<number>();
  for (let k = tails.length ? tails[tails.length - 1] : -1; k >= 0; k = prevIdx[k]) keep.add(k);
  return keep;
}

export interface VerifyOptions {
  /** Digest files the customer kept (already parsed); events they list must be unchanged. */
  digests?: { name: string; digest: Record<string, unknown> }[];
}

/**
 * Fail-closed verification: `ok` only when the whole claim of the file is
 * proven with keys from outside it — the manifest (header) is signed, every
 * event is there and chains, the first event links to genesis or a signed
 * head, the last event is covered by a signed head, and (with digests) every
 * event the customer's kept digests list is unchanged. Anything else is a
 * problem naming the event by seq and id where there is one.
 */
export async function verifyExport(input: Readable, keys: TrustedKeys, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const problems: Problem[] = [];
  const warnings: string[] = [];
  let format: 'jsonl' | 'csv' = 'jsonl';
  let header: Rec | undefined;
  let trailer: Rec | undefined;
  const heads: HeadRec[] = [];
  const events: (EventRec & { streamId: string })[] = [];
  // Gateway transcripts: the connection events that name or anchor one, and the records.
  const connectionEvents: TranscriptEventView[] = [];
  const transcriptRecords: TranscriptRecordView[] = [];

  try {
    let seen = 0;
    for await (const r of readExport(input, (f) => (format = f))) {
      seen++;
      if (r.type === 'header') {
        if (header || seen > 1) problems.push({ kind: 'format', message: 'the header is not the first and only header' });
        else header = r;
      } else if (r.type === 'trailer') {
        // Exactly one trailer, last: anything after it is not covered by the counts.
        if (trailer) problems.push({ kind: 'format', message: 'two trailers: not one export' });
        trailer = r;
      } else if (trailer) problems.push({ kind: 'format', message: `a ${String(r.type).slice(0, 40)} record after the trailer` });
      else if (r.type === 'signed_head') heads.push(r as unknown as HeadRec);
      else if (r.type === 'event') {
        const e = r as unknown as CanonicalEvent & { seq: string; prevHash: string; hash: string };
        const ok =
          typeof e.prevHash === 'string' &&
          /^[0-9a-f]{64}$/.test(e.prevHash) &&
          typeof e.hash === 'string' &&
          eventHash(e.prevHash, e) === e.hash;
        events.push({
          idx: events.length,
          seq: String(e.seq),
          id: String(e.id),
          prev: String(e.prevHash),
          hash: String(e.hash),
          ok,
          streamId: String(e.streamId),
        });
        if (e.action === 'db.session.connect' || e.action === 'db.session.disconnect' || e.action === 'db.session.checkpoint')
          connectionEvents.push({
            seq: String(e.seq),
            id: String(e.id),
            action: e.action,
            sessionId: e.sessionId,
            actorId: e.actorId,
            reason: e.reason,
            metadata: e.metadata,
          });
      } else if (r.type === 'transcript_record') {
        const t = r as Record<string, unknown>;
        const text = (k: string) => (t[k] === null || t[k] === undefined ? null : String(t[k]));
        transcriptRecords.push({
          transcriptId: String(t.id),
          streamId: String(t.streamId),
          seq: String(t.seq),
          occurredAt: String(t.occurredAt),
          outcome: String(t.outcome),
          metadata: String(t.metadata),
          sessionId: text('sessionId'),
          actorId: text('actorId'),
          reason: text('reason'),
          prevHash: String(t.prevHash),
          hash: String(t.hash),
        });
      } else problems.push({ kind: 'format', message: `unknown record type ${String(r.type).slice(0, 40)}` });
    }
  } catch (err) {
    problems.push({ kind: 'format', message: `unreadable export: ${(err as Error).message}` });
  }
  const validHeads: HeadRec[] = [];
  let anchoredStart = false;
  let endAnchored = false;
  const report = (): VerifyReport => ({
    ok: problems.length === 0,
    format,
    streamId: (header?.streamId as string) ?? null,
    events: events.length,
    firstSeq: events[0]?.seq ?? null,
    lastSeq: events.at(-1)?.seq ?? null,
    signedHeadsVerified: validHeads.length,
    manifestSigned,
    anchored: { start: anchoredStart, end: endAnchored },
    problems,
    warnings,
  });
  let manifestSigned = false;
  if (!header || header.format !== 'wact-audit-export') {
    problems.push({ kind: 'format', message: 'no export header: not a WAct audit export' });
    return report();
  }
  if (header.version !== 2) {
    problems.push({
      kind: 'manifest',
      message: `export format version ${String(header.version)} has no signed manifest: export again to get a verifiable file`,
    });
    return report();
  }
  const streamId = String(header.streamId);

  // 1. The manifest: signed by a trusted key, and coherent.
  if (typeof header.signature !== 'string' || typeof header.keyId !== 'string' || typeof header.signedAt !== 'string')
    problems.push({
      kind: 'manifest',
      message: 'the header (manifest) is not signed: the signer refused this export, or the signature was removed',
    });
  else {
    let msg: Buffer | undefined;
    try {
      msg = manifestMessage(header);
    } catch (err) {
      problems.push({ kind: 'manifest', message: `the header (manifest) is malformed: ${(err as Error).message}` });
    }
    if (msg) {
      const c = checkSignature(keys, header.keyId, header.signedAt, msg, header.signature);
      if (c.ok) manifestSigned = true;
      else
        problems.push({
          kind: header.keyId && !keys.get(header.keyId) ? 'signature' : 'manifest',
          message: `the header (manifest: workspace, stream, range, seqs, hashes, completeness, count, export time) ${c.why}: it was changed or forged`,
        });
    }
  }
  if (header.workspaceId !== (streamId === PLATFORM_STREAM ? null : streamId))
    problems.push({ kind: 'manifest', message: `the header names workspace ${String(header.workspaceId)} but stream ${streamId}` });
  if (!trailer) problems.push({ kind: 'format', message: 'no trailer: the file is truncated' });
  else if (trailer.events !== events.length)
    problems.push({ kind: 'format', message: `trailer says ${String(trailer.events)} events, the file has ${events.length}` });

  // 2. The events are the ones the manifest claims: this stream, this count, these ends.
  for (const e of events)
    if (e.streamId !== streamId)
      problems.push({
        kind: 'foreign',
        seq: e.seq,
        id: e.id,
        message: `event ${label(e)} belongs to stream ${e.streamId.slice(0, 40)}, not to this export's stream ${streamId}: spliced in`,
      });
  if (header.events !== events.length)
    problems.push({
      kind: 'missing',
      message: `the signed manifest states ${String(header.events)} events, the file has ${events.length}`,
    });
  const f0 = events[0];
  const fl = events.at(-1);
  if ((f0?.seq ?? null) !== header.firstSeq)
    problems.push({
      kind: 'missing',
      seq: String(header.firstSeq),
      message: `the signed manifest starts at seq ${String(header.firstSeq)}, the file at ${f0 ? label(f0) : 'no event'}: events cut at the start`,
    });
  if ((fl?.seq ?? null) !== header.lastSeq)
    problems.push({
      kind: 'missing',
      seq: String(header.lastSeq),
      message: `the signed manifest ends at seq ${String(header.lastSeq)}, the file at ${fl ? label(fl) : 'no event'}: events cut at the end`,
    });
  if (f0 && f0.prev !== header.anchorHash)
    problems.push({
      kind: 'altered',
      seq: f0.seq,
      id: f0.id,
      message: `the first event ${label(f0)} links to ${f0.prev.slice(0, 16)}…, the signed manifest to ${String(header.anchorHash).slice(0, 16)}…`,
    });
  if (fl && fl.hash !== header.lastHash)
    problems.push({
      kind: 'altered',
      seq: fl.seq,
      id: fl.id,
      message: `the last event ${label(fl)} has hash ${fl.hash.slice(0, 16)}…, the signed manifest states ${String(header.lastHash).slice(0, 16)}…`,
    });
  if (header.complete === true && header.lastSeq !== null && header.headSeq !== header.lastSeq)
    problems.push({
      kind: 'manifest',
      message: `the header says complete but ends at seq ${String(header.lastSeq)} of ${String(header.headSeq)}`,
    });

  // 3. Signed heads: a trusted key, valid at signing time, this stream.
  for (const h of heads) {
    if (h.streamId !== streamId) {
      problems.push({
        kind: 'signature',
        seq: h.seq,
        message: `signed head at seq ${h.seq} is for another stream (${String(h.streamId).slice(0, 40)})`,
      });
      continue;
    }
    const c = checkSignature(keys, h.keyId, h.signedAt, headMessage(h), h.signature);
    if (c.ok) validHeads.push(h);
    else problems.push({ kind: 'signature', seq: h.seq, message: `signed head at seq ${h.seq}: ${c.why}` });
  }

  // 4. Per-event content.
  for (const e of events)
    if (!e.ok)
      problems.push({ kind: 'altered', seq: e.seq, id: e.id, message: `event ${label(e)} altered: its content does not match its hash` });

  // 5. The anchor the first event must link to: genesis, or a signed head at the seq before it.
  const anchorSeq = header.anchorSeq === null || header.anchorSeq === undefined ? undefined : String(header.anchorSeq);
  const anchorHash = typeof header.anchorHash === 'string' ? header.anchorHash : undefined;
  if (events.length) {
    const expectAnchorSeq = (BigInt(events[0].seq) - 1n).toString();
    if (anchorSeq !== expectAnchorSeq)
      problems.push({
        kind: 'unanchored',
        seq: events[0].seq,
        message: `the anchor (seq ${anchorSeq}) is not the event before the first (${label(events[0])})`,
      });
    else if (anchorSeq === '0') {
      if (anchorHash === GENESIS_HASH) anchoredStart = true;
      else
        problems.push({ kind: 'unanchored', seq: '1', message: 'the first event of the stream does not link to genesis (32 zero bytes)' });
    } else if (validHeads.some((h) => h.seq === anchorSeq && h.hash === anchorHash)) anchoredStart = true;
    else
      problems.push({
        kind: 'unanchored',
        seq: events[0].seq,
        id: events[0].id,
        message: `the first event ${label(events[0])} links to a hash no signed head in this file covers (seq ${anchorSeq}): events before it may have been cut or rewritten`,
      });
  }

  // 6. Follow the links from the anchor; what cannot be reached forms further segments.
  const byPrev = new Map<string, number[]>();
  const byHash = new Map<string, number>();
  for (const e of events) {
    const l = byPrev.get(e.prev);
    if (l) l.push(e.idx);
    else byPrev.set(e.prev, [e.idx]);
    if (!byHash.has(e.hash)) byHash.set(e.hash, e.idx);
  }
  const visited = new Uint8Array(events.length);
  const follow = (startIdx: number): number[] => {
    const seg: number[] = [];
    let i: number | undefined = startIdx;
    while (i !== undefined) {
      visited[i] = 1;
      seg.push(i);
      const cands: number[] = (byPrev.get(events[i].hash) ?? []).filter((c) => !visited[c]);
      // At a fork, the genuine successor is the one the chain continues from.
      i = cands.find((c) => byPrev.has(events[c].hash)) ?? cands[0];
    }
    return seg;
  };
  const segments: number[][] = [];
  const linkStart = anchoredStart ? anchorHash : undefined;
  const startCands = linkStart !== undefined ? (byPrev.get(linkStart) ?? []) : events.length ? [0] : [];
  if (startCands.length) segments.push(follow(startCands.find((c) => byPrev.has(events[c].hash)) ?? startCands[0]));
  for (const e of events) {
    if (visited[e.idx] || byHash.has(e.prev)) continue; // not a segment start
    segments.push(follow(e.idx));
  }

  // 7. Inserted: unreachable events (forks), and detached segments sitting between two linked events.
  const isLinked = (a: number, b: number) => a >= 0 && b < events.length && events[b].prev === events[a].hash;
  const inserted = new Set<number>();
  for (const e of events) if (!visited[e.idx]) inserted.add(e.idx);
  const kept: number[][] = [];
  for (const seg of segments) {
    const lo = Math.min(...seg);
    const hi = Math.max(...seg);
    const detached = !byHash.has(events[seg[0]].prev) && !byPrev.has(events[seg.at(-1)!].hash) && hi - lo + 1 === seg.length;
    if (segments.length > 1 && detached && isLinked(lo - 1, hi + 1)) seg.forEach((i) => inserted.add(i));
    else kept.push(seg);
  }
  for (const i of [...inserted].sort((a, b) => a - b)) {
    problems.push({
      kind: 'inserted',
      seq: events[i].seq,
      id: events[i].id,
      message: `event ${label(events[i])} inserted: it is not part of the chain`,
    });
  }

  // 8. Gaps between segments (in file order): missing events, or a rewritten hash.
  kept.sort((a, b) => Math.min(...a) - Math.min(...b));
  if (kept.length && linkStart !== undefined && anchorSeq !== undefined) {
    const f = events[kept[0][0]];
    if (f.prev !== linkStart) {
      const startSeq = BigInt(anchorSeq);
      const gap = BigInt(f.seq) - startSeq - 1n;
      if (gap > 0n)
        problems.push({
          kind: 'missing',
          seq: String(startSeq + 1n),
          message: `${gap} event(s) missing before ${label(f)}: seq ${startSeq + 1n}${gap > 1n ? `–${BigInt(f.seq) - 1n}` : ''}`,
        });
      else
        problems.push({
          kind: 'altered',
          seq: f.seq,
          id: f.id,
          message: `event ${label(f)} altered: it no longer links to the anchored head`,
        });
    }
  }
  for (let k = 1; k < kept.length; k++) {
    const l = events[kept[k - 1].at(-1)!];
    const f = events[kept[k][0]];
    const gap = BigInt(f.seq) - BigInt(l.seq) - 1n;
    if (gap > 0n) {
      problems.push({
        kind: 'missing',
        seq: String(BigInt(l.seq) + 1n),
        message: `${gap} event(s) missing between ${label(l)} and ${label(f)}: seq ${BigInt(l.seq) + 1n}${gap > 1n ? `–${BigInt(f.seq) - 1n}` : ''}`,
      });
    } else if (l.ok) {
      problems.push({
        kind: 'altered',
        seq: l.seq,
        id: l.id,
        message: `event ${label(l)} altered: its hash was rewritten (${label(f)} links to a different hash)`,
      });
    } else if (gap < 0n || BigInt(f.seq) !== BigInt(l.seq) + 1n) {
      problems.push({ kind: 'missing', seq: f.seq, id: f.id, message: `event ${label(f)} does not follow ${label(l)}` });
    }
  }
  // Seq must count up by one along the chain: a renumbered or duplicated seq is a change too.
  for (let i = 1; i < events.length; i++) {
    const a = events[i - 1];
    const b = events[i];
    if (b.prev === a.hash && BigInt(b.seq) !== BigInt(a.seq) + 1n)
      problems.push({
        kind: 'reordered',
        seq: b.seq,
        id: b.id,
        message: `event ${label(b)} follows ${label(a)} in the chain but is numbered ${b.seq}`,
      });
  }

  // 9. Reordered: chained events whose file order disagrees with the chain's order.
  const chainOrder = kept.flat();
  const keep = inOrder(chainOrder);
  chainOrder.forEach((fileIdx, pos) => {
    if (keep.has(pos)) return;
    const e = events[fileIdx];
    const before = pos > 0 ? events[chainOrder[pos - 1]] : undefined;
    problems.push({
      kind: 'reordered',
      seq: e.seq,
      id: e.id,
      message: `event ${label(e)} reordered: the chain puts it ${before ? `right after ${label(before)}` : 'first'}`,
    });
  });

  // 10. Signed heads must match the events they sign; one beyond the last event of a complete export means a lost tail.
  const flagged = new Set(problems.map((p) => p.id).filter(Boolean));
  const first = events[0] ? BigInt(events[0].seq) : undefined;
  const last = events.length ? BigInt(events.at(-1)!.seq) : undefined;
  for (const h of validHeads) {
    const s = BigInt(h.seq);
    if (first === undefined || last === undefined || s < first) continue;
    if (s > last) {
      if (header.complete === true)
        problems.push({
          kind: 'missing',
          seq: String(last + 1n),
          message: `event(s) seq ${last + 1n}–${h.seq} missing at the end: a head signed at ${h.signedAt} covers seq ${h.seq}`,
        });
      continue;
    }
    const at = byHash.get(h.hash);
    if (at === undefined) {
      problems.push({
        kind: 'head_mismatch',
        seq: h.seq,
        message: `signed head at seq ${h.seq} (${h.signedAt}) matches no event: the chain up to seq ${h.seq} was changed`,
      });
    } else if (events[at].seq !== h.seq && !flagged.has(events[at].id)) {
      problems.push({
        kind: 'head_mismatch',
        seq: h.seq,
        id: events[at].id,
        message: `signed head at seq ${h.seq} matches event ${label(events[at])}: events were renumbered`,
      });
    } else if (s === last && events[at].seq === h.seq) endAnchored = true;
  }
  if (events.length && !endAnchored)
    problems.push({
      kind: 'unsigned_end',
      seq: events.at(-1)!.seq,
      id: events.at(-1)!.id,
      message: `the last event ${label(events.at(-1)!)} is not covered by a signed head: the events may have been rewritten or cut after it`,
    });

  // 11. The customer's own digests: every event they list must be in the file unchanged.
  if (opts.digests) checkDigests(opts.digests, keys, streamId, events, problems);

  // 12. Gateway transcripts: chained, complete, and ending where their anchors (signed events) say.
  if (trailer && (trailer.transcriptRecords ?? 0) !== transcriptRecords.length)
    problems.push({
      kind: 'format',
      message: `trailer says ${String(trailer.transcriptRecords ?? 0)} transcript records, the file has ${transcriptRecords.length}`,
    });
  const tr = verifyTranscripts(streamId, connectionEvents, transcriptRecords);
  problems.push(...tr.problems);
  warnings.push(...tr.warnings);
  return report();
}

/**
 * Compares the export with digest files kept by the customer. The first event
 * whose hash differs while its link still matches the digest is the rewritten
 * one; the events after it differ only because they were re-chained.
 */
function checkDigests(
  digests: { name: string; digest: Record<string, unknown> }[],
  keys: TrustedKeys,
  streamId: string,
  events: (EventRec & { streamId: string })[],
  problems: Problem[],
) {
  const kept = new Map<string, { hash: string; file: string }>();
  let used = 0;
  for (const { name, digest: d } of digests) {
    if (d.format !== 'wact-audit-digest' || d.version !== 1) {
      problems.push({ kind: 'digest', message: `${name} is not a WAct audit digest file` });
      continue;
    }
    if (d.streamId !== streamId) continue;
    const list = Array.isArray(d.events) ? (d.events as [string, string][]) : [];
    let msg: Buffer | undefined;
    try {
      msg = digestMessage(d);
    } catch {
      /* reported below */
    }
    const c =
      msg && typeof d.keyId === 'string' && typeof d.signedAt === 'string' && typeof d.signature === 'string'
        ? checkSignature(keys, d.keyId, d.signedAt, msg, d.signature)
        : ({ ok: false, why: 'has no signature' } as const);
    if (!c.ok) {
      problems.push({ kind: 'digest', message: `digest ${name} ${c.why}: not a digest WAct delivered` });
      continue;
    }
    if (digestEventsSha256(list) !== d.eventsSha256 || String(list[0]?.[0]) !== d.firstSeq || String(list.at(-1)?.[0]) !== d.lastSeq) {
      problems.push({ kind: 'digest', message: `digest ${name}: its event list does not match its signed summary` });
      continue;
    }
    used++;
    if (list.length) kept.set((BigInt(String(d.firstSeq)) - 1n).toString(), { hash: String(d.prevHash), file: name });
    for (const [seq, hash] of list) kept.set(String(seq), { hash: String(hash), file: name });
  }
  if (!used) {
    problems.push({
      kind: 'digest',
      message: `no digest for stream ${streamId} among the ${digests.length} file(s) given: nothing to compare with`,
    });
    return;
  }
  const bySeq = new Map(events.map((e) => [e.seq, e]));
  let rewritten: (EventRec & { streamId: string }) | undefined;
  const rechained: string[] = [];
  for (const e of events) {
    const k = kept.get(e.seq);
    if (!k || k.hash === e.hash) continue;
    const before = kept.get((BigInt(e.seq) - 1n).toString());
    const linkSame = before !== undefined && before.hash === e.prev;
    if (!rewritten && (linkSame || !before)) {
      rewritten = e;
      problems.push({
        kind: 'digest',
        seq: e.seq,
        id: e.id,
        message: `event ${label(e)} was rewritten after digest ${k.file} was delivered: its hash is ${e.hash.slice(0, 16)}…, the digest kept says ${k.hash.slice(0, 16)}…`,
      });
    } else if (linkSame) {
      problems.push({ kind: 'digest', seq: e.seq, id: e.id, message: `event ${label(e)} was rewritten too (digest ${k.file})` });
    } else rechained.push(e.seq);
  }
  if (rechained.length)
    problems.push({
      kind: 'digest',
      seq: rechained[0],
      message: `${rechained.length} later event(s) differ from the digests because they were re-chained (seq ${rechained[0]}–${rechained.at(-1)})`,
    });
  // Events the digests list inside the file's range must be in the file.
  if (events.length) {
    const lo = BigInt(events[0].seq);
    const hi = BigInt(events.at(-1)!.seq);
    for (const seq of kept.keys()) {
      const s = BigInt(seq);
      if (s >= lo && s <= hi && !bySeq.has(seq))
        problems.push({ kind: 'digest', seq, message: `event seq ${seq}, listed by digest ${kept.get(seq)!.file}, is not in the file` });
    }
  }
}
