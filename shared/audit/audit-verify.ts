import type { KeyObject } from 'node:crypto';
import type { Readable } from 'node:stream';
import { eventHash, GENESIS_HASH, unneutraliseCell, verifyHeadSignature, type CanonicalEvent } from './audit-canonical.ts';

/**
 * Offline verification of an audit export (JSON Lines or CSV). Needs only
 * the file and the public keys. Dependency-free on purpose: this is the
 * reference for the algorithm documented in the README.
 */

export type ProblemKind = 'altered' | 'missing' | 'reordered' | 'inserted' | 'signature' | 'head_mismatch' | 'format';

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

async function* lines(input: Readable): AsyncGenerator<string> {
  let buf = '';
  for await (const chunk of input) {
    buf += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      yield buf.slice(0, nl);
      buf = buf.slice(nl + 1);
    }
  }
  if (buf.length) yield buf;
}

/** RFC 4180 records (quoted fields may span lines); unquoted empty cells are null. */
async function* csvRecords(input: AsyncGenerator<string>, firstLine: string): AsyncGenerator<(string | null)[]> {
  let pending = firstLine;
  const gen = input;
  for (;;) {
    // Complete a record: an even number of quotes means no open quoted field.
    while ((pending.match(/"/g)?.length ?? 0) % 2 === 1) {
      const next = await gen.next();
      if (next.done) throw new Error('unterminated quoted CSV field');
      pending += '\n' + next.value;
    }
    yield parseCsvLine(pending.endsWith('\r') ? pending.slice(0, -1) : pending);
    const next = await gen.next();
    if (next.done) return;
    pending = next.value;
  }
}

export function parseCsvLine(line: string): (string | null)[] {
  const out: (string | null)[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let v = '';
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) throw new Error('unterminated quoted CSV field');
        v += line.slice(i, q);
        if (line[q + 1] === '"') {
          v += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      out.push(v);
    } else {
      const c = line.indexOf(',', i);
      const v = c < 0 ? line.slice(i) : line.slice(i, c);
      out.push(v === '' ? null : v);
      i = c < 0 ? line.length : c;
    }
    if (i >= line.length) break;
    if (line[i] !== ',') throw new Error('malformed CSV record');
    i++;
    if (i === line.length) {
      out.push(null);
      break;
    }
  }
  return out;
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
  const gen = lines(input);
  const first = await gen.next();
  if (first.done) return;
  const line0 = first.value.replace(/^\uFEFF/, '');
  if (line0.startsWith('{')) {
    onFormat?.('jsonl');
    yield JSON.parse(line0) as Rec;
    for await (const l of gen) if (l.trim()) yield JSON.parse(l) as Rec;
    return;
  }
  onFormat?.('csv');
  const columns = parseCsvLine(line0).map((c) => c ?? '');
  if (columns[0] !== 'record') throw new Error('not a WAct audit export (unknown first line)');
  const next = await gen.next();
  if (next.done) return;
  for await (const cells of csvRecords(gen, next.value)) {
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
        (record === 'event'
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

export async function verifyExport(input: Readable, keys: { get(keyId: string): KeyObject | undefined }): Promise<VerifyReport> {
  const problems: Problem[] = [];
  const warnings: string[] = [];
  let format: 'jsonl' | 'csv' = 'jsonl';
  let header: Rec | undefined;
  let trailer: Rec | undefined;
  const heads: HeadRec[] = [];
  const events: EventRec[] = [];

  try {
    for await (const r of readExport(input, (f) => (format = f))) {
      if (r.type === 'header') header = r;
      else if (r.type === 'trailer') trailer = r;
      else if (r.type === 'signed_head') heads.push(r as unknown as HeadRec);
      else if (r.type === 'event') {
        const e = r as unknown as CanonicalEvent & { seq: string; prevHash: string; hash: string };
        const ok = typeof e.prevHash === 'string' && typeof e.hash === 'string' && eventHash(e.prevHash, e) === e.hash;
        events.push({ idx: events.length, seq: String(e.seq), id: String(e.id), prev: String(e.prevHash), hash: String(e.hash), ok });
      } else problems.push({ kind: 'format', message: `unknown record type ${String(r.type).slice(0, 40)}` });
    }
  } catch (err) {
    problems.push({ kind: 'format', message: `unreadable export: ${(err as Error).message}` });
  }
  const report = (anchored = { start: false, end: false }): VerifyReport => ({
    ok: problems.length === 0,
    format,
    streamId: (header?.streamId as string) ?? null,
    events: events.length,
    firstSeq: events[0]?.seq ?? null,
    lastSeq: events.at(-1)?.seq ?? null,
    signedHeadsVerified: validHeads.length,
    anchored,
    problems,
    warnings,
  });
  const validHeads: HeadRec[] = [];
  if (!header || header.format !== 'wact-audit-export') {
    problems.push({ kind: 'format', message: 'no export header: not a WAct audit export' });
    return report();
  }
  if (!trailer) problems.push({ kind: 'format', message: 'no trailer: the file is truncated' });
  else if (trailer.events !== events.length)
    problems.push({ kind: 'format', message: `trailer says ${String(trailer.events)} events, the file has ${events.length}` });

  // 1. Signatures.
  for (const h of heads) {
    const key = keys.get(h.keyId);
    if (!key) problems.push({ kind: 'signature', seq: h.seq, message: `signed head at seq ${h.seq} uses unknown key ${h.keyId}` });
    else if (h.streamId !== header.streamId || !verifyHeadSignature(h, key))
      problems.push({ kind: 'signature', seq: h.seq, message: `signed head at seq ${h.seq}: signature does not verify` });
    else validHeads.push(h);
  }

  // 2. Per-event content.
  for (const e of events)
    if (!e.ok)
      problems.push({ kind: 'altered', seq: e.seq, id: e.id, message: `event ${label(e)} altered: its content does not match its hash` });

  // 3. The anchor the first event must link to.
  const anchor = header.anchor as { seq: string; hash: string } | null;
  let anchorHash: string | undefined;
  if (anchor && anchor.seq === '0' && anchor.hash === GENESIS_HASH) anchorHash = GENESIS_HASH;
  else if (anchor && validHeads.some((h) => h.seq === anchor.seq && h.hash === anchor.hash)) anchorHash = anchor.hash;
  else if (events.length)
    warnings.push(
      `the first event (seq ${events[0].seq}) is not anchored by a signed head: events before it cannot be checked from this file`,
    );

  // 4. Follow the links from the anchor; what cannot be reached forms further segments.
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
  const startCands = anchorHash !== undefined ? (byPrev.get(anchorHash) ?? []) : events.length ? [0] : [];
  if (startCands.length) segments.push(follow(startCands.find((c) => byPrev.has(events[c].hash)) ?? startCands[0]));
  for (const e of events) {
    if (visited[e.idx] || byHash.has(e.prev)) continue; // not a segment start
    segments.push(follow(e.idx));
  }

  // 5. Inserted: unreachable events (forks), and detached segments sitting between two linked events.
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

  // 6. Gaps between segments (in file order): missing events, or a rewritten hash.
  kept.sort((a, b) => Math.min(...a) - Math.min(...b));
  const startSeq = anchor && anchorHash !== undefined ? BigInt(anchor.seq) : undefined;
  if (kept.length && startSeq !== undefined) {
    const f = events[kept[0][0]];
    if (f.prev !== anchorHash) {
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
    }
  }

  // 7. Reordered: chained events whose file order disagrees with the chain's order.
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

  // 8. Signed heads must match the events they sign; one beyond the last event of a full export means a lost tail.
  const flagged = new Set(problems.map((p) => p.id).filter(Boolean));
  const first = events[0] ? BigInt(events[0].seq) : undefined;
  const last = events.length ? BigInt(events.at(-1)!.seq) : undefined;
  let endAnchored = false;
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
    } else if (s === last) endAnchored = true;
  }
  if (events.length && !endAnchored)
    warnings.push(`the last event (seq ${events.at(-1)!.seq}) is not covered by a signed head in this file`);
  return report({ start: anchorHash !== undefined, end: endAnchored });
}
