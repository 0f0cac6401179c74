import { transcriptGenesis, transcriptHash } from './transcript-chain.ts';

/**
 * Checks the gateway transcripts of an export against the workspace stream
 * (docs/audit-export.md, "Gateway transcripts"): each transcript's records
 * chain from its genesis (transcript, stream and session), are numbered
 * 1…n without gap, carry the session, actor and reason of the connection's
 * events, and end exactly where the anchor (`db.session.disconnect`, a
 * chained and signed event) says — count and final hash. Records altered,
 * removed, added, reordered, moved to another transcript or session, or a
 * transcript anchored twice are problems naming the transcript and seq.
 * A `db.session.checkpoint` anchors a prefix the same way (count and hash of
 * a record). A transcript whose connection is named but not yet anchored
 * (open at export time, ended after the range, or its gateway stopped) is a
 * warning: its records after the last checkpoint chain but nothing signed
 * proves them.
 *
 * Twin of the checks in scripts/verify-audit-export.mjs (kept dependency-free).
 */

export interface TranscriptEventView {
  seq: string;
  id: string;
  action: string;
  sessionId: string | null;
  actorId: string | null;
  reason: string | null;
  metadata: string | null;
}

export interface TranscriptRecordView {
  transcriptId: string;
  streamId: string;
  seq: string;
  occurredAt: string;
  outcome: string;
  metadata: string;
  sessionId: string | null;
  actorId: string | null;
  reason: string | null;
  prevHash: string;
  hash: string;
}

export interface TranscriptProblem {
  kind: 'altered' | 'missing' | 'inserted' | 'reordered' | 'foreign' | 'reanchored';
  seq?: string;
  id?: string;
  message: string;
}

interface Named {
  event: TranscriptEventView;
  count?: number;
  hash?: string;
}

function transcriptOf(e: TranscriptEventView): Named | undefined {
  if (e.action !== 'db.session.connect' && e.action !== 'db.session.disconnect' && e.action !== 'db.session.checkpoint') return undefined;
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(e.metadata ?? '{}') as Record<string, unknown>;
  } catch {
    return undefined; // the event's own hash check names a broken metadata
  }
  if (typeof m.transcript !== 'string') return undefined;
  return {
    event: e,
    count: typeof m.transcriptRecords === 'number' ? m.transcriptRecords : undefined,
    hash: typeof m.transcriptHash === 'string' ? m.transcriptHash : undefined,
  };
}

export function verifyTranscripts(
  streamId: string,
  events: TranscriptEventView[],
  records: TranscriptRecordView[],
): { problems: TranscriptProblem[]; warnings: string[]; transcripts: number } {
  const problems: TranscriptProblem[] = [];
  const warnings: string[] = [];
  const opened = new Map<string, TranscriptEventView>();
  const anchors = new Map<string, Named[]>();
  const checkpoints = new Map<string, Named[]>();
  for (const e of events) {
    const n = transcriptOf(e);
    if (!n) continue;
    const id = (JSON.parse(e.metadata ?? '{}') as { transcript: string }).transcript;
    if (e.action === 'db.session.connect') opened.set(id, e);
    else if (e.action === 'db.session.checkpoint') checkpoints.set(id, [...(checkpoints.get(id) ?? []), n]);
    else anchors.set(id, [...(anchors.get(id) ?? []), n]);
  }
  const byTranscript = new Map<string, TranscriptRecordView[]>();
  for (const r of records) {
    const list = byTranscript.get(r.transcriptId);
    if (list) list.push(r);
    else byTranscript.set(r.transcriptId, [r]);
  }
  const at = (t: string, seq?: string) => `transcript ${t.slice(0, 40)}${seq ? ` record seq ${seq}` : ''}`;

  for (const [t, list] of anchors)
    if (list.length > 1)
      problems.push({
        kind: 'reanchored',
        id: t,
        message: `${at(t)} is anchored twice (events seq ${list.map((n) => n.event.seq).join(', ')}): re-anchored`,
      });

  for (const [t, rows] of byTranscript) {
    const anchor = anchors.get(t)?.[0];
    const owner = anchor?.event ?? opened.get(t) ?? checkpoints.get(t)?.[0].event;
    if (!owner) {
      problems.push({
        kind: 'foreign',
        id: t,
        message: `${at(t)}: ${rows.length} records no connection event of this stream names: spliced in`,
      });
      continue;
    }
    // The connection's own events say whose statements these are; the chain's genesis binds the session.
    let prev = transcriptGenesis(t, streamId, owner.sessionId ?? '');
    let namedField = false;
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      const expected = String(i + 1);
      if (r.streamId !== streamId)
        problems.push({ kind: 'foreign', seq: r.seq, id: t, message: `${at(t, r.seq)} belongs to stream ${r.streamId.slice(0, 40)}` });
      if (!namedField && (r.sessionId !== owner.sessionId || r.actorId !== owner.actorId || r.reason !== owner.reason)) {
        namedField = true;
        problems.push({
          kind: 'altered',
          seq: r.seq,
          id: t,
          message: `${at(t, r.seq)}: its session, actor or reason differ from the connection's event (seq ${owner.seq})`,
        });
      }
      if (r.seq !== expected) {
        const gap = /^\d+$/.test(r.seq) && Number(r.seq) > i + 1;
        problems.push({
          kind: gap ? 'missing' : 'reordered',
          seq: expected,
          id: t,
          message: gap ? `${at(t, expected)} is missing (the next in the file is seq ${r.seq})` : `${at(t, r.seq)} is out of order`,
        });
      }
      if (r.prevHash !== prev)
        problems.push({
          kind: 'altered',
          seq: r.seq,
          id: t,
          message: `${at(t, r.seq)} does not link to ${i === 0 ? "the transcript's genesis" : `seq ${rows[i - 1].seq}`}`,
        });
      if (
        transcriptHash(r.prevHash, { transcriptId: t, seq: r.seq, occurredAt: r.occurredAt, outcome: r.outcome, metadata: r.metadata }) !==
        r.hash
      )
        problems.push({ kind: 'altered', seq: r.seq, id: t, message: `${at(t, r.seq)} altered: its content does not match its hash` });
      prev = r.hash;
    }
    const proven = Math.max(0, ...(checkpoints.get(t) ?? []).map((n) => n.count ?? 0));
    if (!anchor && rows.length > proven)
      warnings.push(
        `${at(t)} (named at event seq ${owner.seq}) has no anchor in this export: the connection was open at export time, ended after the range, or its gateway stopped; its records after seq ${proven} (its last checkpoint) chain but are not proven`,
      );
  }

  for (const [t, list] of anchors) {
    const a = list[0];
    const rows = byTranscript.get(t) ?? [];
    if (a.count === undefined || a.hash === undefined) {
      problems.push({
        kind: 'altered',
        seq: a.event.seq,
        id: a.event.id,
        message: `the anchor of ${at(t)} (event seq ${a.event.seq}) has no count or hash`,
      });
      continue;
    }
    const genesis = transcriptGenesis(t, streamId, a.event.sessionId ?? '');
    const finalHash = rows.length ? rows[rows.length - 1].hash : genesis;
    if (rows.length < a.count)
      problems.push({
        kind: 'missing',
        seq: String(rows.length + 1),
        id: t,
        message: `${at(t)} cut: its anchor (event seq ${a.event.seq}) counts ${a.count} records, the file has ${rows.length}`,
      });
    else if (rows.length > a.count)
      problems.push({
        kind: 'inserted',
        seq: String(a.count + 1),
        id: t,
        message: `${at(t)} extended: its anchor (event seq ${a.event.seq}) counts ${a.count} records, the file has ${rows.length}`,
      });
    else if (finalHash !== a.hash)
      problems.push({
        kind: 'reanchored',
        seq: String(rows.length),
        id: t,
        message: `${at(t)} does not end where its anchor (event seq ${a.event.seq}) says: altered or re-anchored`,
      });
  }
  // Checkpoints: anchors of a prefix (a long connection, or one whose gateway died before its end).
  for (const [t, list] of checkpoints) {
    const rows = byTranscript.get(t) ?? [];
    for (const c of list) {
      if (c.count === undefined || c.hash === undefined || c.count < 1) {
        problems.push({
          kind: 'altered',
          seq: c.event.seq,
          id: c.event.id,
          message: `the checkpoint of ${at(t)} (event seq ${c.event.seq}) has no count or hash`,
        });
        continue;
      }
      if (rows.length < c.count)
        problems.push({
          kind: 'missing',
          seq: String(rows.length + 1),
          id: t,
          message: `${at(t)} cut: its checkpoint (event seq ${c.event.seq}) counts ${c.count} records, the file has ${rows.length}`,
        });
      else if (rows[c.count - 1].hash !== c.hash)
        problems.push({
          kind: 'reanchored',
          seq: String(c.count),
          id: t,
          message: `${at(t, String(c.count))} does not match its checkpoint (event seq ${c.event.seq}): altered or re-anchored`,
        });
    }
  }
  return { problems, warnings, transcripts: byTranscript.size };
}
