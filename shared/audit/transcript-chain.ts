import { createHash, randomUUID } from 'node:crypto';
import { canonicalMetadata } from './audit-validation.ts';
import type { MetadataValue } from './audit-types.ts';

/**
 * A gateway transcript: the statement records of one connection as a hash
 * chain of its own (issue 17). The gateway computes it; the database stores
 * it (audit.transcript_records, migration 0700); the workspace stream names
 * the transcript when the connection opens and anchors its final seq and hash
 * when it ends, so the verifiers can tell an altered, cut, extended or
 * re-anchored transcript.
 *
 *   f(null) = "~"    f(s) = <UTF-8 byte length of s> ":" s
 *   genesis  = SHA-256("wact.transcript.v1|" f(transcriptId) f(streamId) f(sessionId))
 *   hash(n)  = SHA-256(hash(n-1) || "wact.transcript.v1|" f(transcriptId) f(seq) f(occurredAt) f(outcome) f(metadata))
 *
 * Written twice on purpose: scripts/verify-audit-export.mjs holds a copy so a
 * customer's verifier needs nothing from this tree.
 */

export const TRANSCRIPT_PREFIX = 'wact.transcript.v1|';
export const TRANSCRIPT_ACTION = 'db.statement';

const f = (v: string | null) => (v === null ? '~' : `${Buffer.byteLength(v, 'utf8')}:${v}`);

export function transcriptGenesis(transcriptId: string, streamId: string, sessionId: string): string {
  return createHash('sha256')
    .update(TRANSCRIPT_PREFIX + f(transcriptId) + f(streamId) + f(sessionId), 'utf8')
    .digest('hex');
}

export interface TranscriptRecordFields {
  transcriptId: string;
  seq: string; // decimal
  occurredAt: string; // YYYY-MM-DDTHH:MM:SS.ffffffZ
  outcome: string;
  metadata: string; // canonical JSON text
}

/** SHA-256(prev || canonical record). */
function linkHash(prev: Buffer, r: TranscriptRecordFields): Buffer {
  return createHash('sha256')
    .update(prev)
    .update(TRANSCRIPT_PREFIX + f(r.transcriptId) + f(r.seq) + f(r.occurredAt) + f(r.outcome) + f(r.metadata), 'utf8')
    .digest();
}

/** hex SHA-256(prev || canonical record). */
export function transcriptHash(prevHex: string, r: TranscriptRecordFields): string {
  return linkHash(Buffer.from(prevHex, 'hex'), r).toString('hex');
}

/** A record as the writer stores it: everything hashed, plus the link. */
export interface TranscriptLink {
  transcriptId: string;
  streamId: string;
  sessionId: string;
  seq: number;
  /** The same instant as `occurredAt`, for the timestamptz column. */
  at: Date;
  occurredAt: string;
  outcome: 'success' | 'failure' | 'denied';
  metadata: string;
  prevHash: Buffer;
  hash: Buffer;
}

/** Milliseconds → the exported text form (microseconds, UTC), which PostgreSQL's to_char gives back exactly. */
function micros(d: Date): string {
  return `${d.toISOString().slice(0, 23)}000Z`;
}

/**
 * One connection's chain. `next` validates the metadata (the same rules as
 * every audit event: no phone numbers, no e-mail addresses, bounded), assigns
 * the next seq and computes the hash; the records must then be stored in
 * seq order (the writer does) — one that cannot be stored ends the
 * connection, and the anchor's count then names the gap.
 */
export function createTranscriptChain(opts: { streamId: string; sessionId: string; transcriptId?: string; now?: () => number }) {
  const transcriptId = opts.transcriptId ?? randomUUID();
  const now = opts.now ?? Date.now;
  let seq = 0;
  let head: Buffer = Buffer.from(transcriptGenesis(transcriptId, opts.streamId, opts.sessionId), 'hex');
  const linkOf = (n: number, at: Date, prev: Buffer, outcome: TranscriptLink['outcome'], text: string): TranscriptLink => {
    const occurredAt = micros(at);
    return {
      transcriptId,
      streamId: opts.streamId,
      sessionId: opts.sessionId,
      seq: n,
      at,
      occurredAt,
      outcome,
      metadata: text,
      prevHash: prev,
      hash: linkHash(prev, { transcriptId, seq: String(n), occurredAt, outcome, metadata: text }),
    };
  };
  return {
    id: transcriptId,
    get count(): number {
      return seq;
    },
    /** hex hash of the last record (the genesis hash while empty). */
    get hash(): string {
      return head.toString('hex');
    },
    next(outcome: TranscriptLink['outcome'], metadata: Record<string, MetadataValue> | undefined): TranscriptLink {
      const text = canonicalMetadata(metadata, TRANSCRIPT_ACTION); // throws before anything advances
      const at = new Date(now());
      const link = linkOf(seq + 1, at, head, outcome, text);
      seq = link.seq;
      head = link.hash;
      return link;
    },
    /**
     * Rewrites the last record (same seq, time and predecessor) if it has not
     * been stored: `store` is asked to put the new link in the old one's place
     * and says whether it could. The chain moves only if it did. Nothing is
     * rewritten that anything was linked after.
     */
    amend(
      last: TranscriptLink,
      outcome: TranscriptLink['outcome'],
      metadata: Record<string, MetadataValue> | undefined,
      store: (link: TranscriptLink) => boolean,
    ): TranscriptLink | undefined {
      if (last.transcriptId !== transcriptId || last.seq !== seq || !last.hash.equals(head)) return undefined;
      const link = linkOf(last.seq, last.at, last.prevHash, outcome, canonicalMetadata(metadata, TRANSCRIPT_ACTION));
      if (!store(link)) return undefined;
      head = link.hash;
      return link;
    },
  };
}

export type TranscriptChain = ReturnType<typeof createTranscriptChain>;
