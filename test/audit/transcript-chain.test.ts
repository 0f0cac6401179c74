import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTranscriptChain, transcriptHash } from '../../shared/audit/transcript-chain.ts';
import { statementsOf } from '../../shared/audit/transcript-statements.ts';
import type { AuditEventInput } from '../../shared/audit/audit-types.ts';
import { auditKit, gatewayConnectionFields } from './audit-test-kit.ts';

/**
 * Gateway transcripts (issue 17): a connection's statement records chain on
 * their own and are anchored into the workspace stream by its
 * db.session.disconnect event. Both verifiers — the reference (`wact audit
 * verify`) and the standalone script — must pass a genuine export and name a
 * transcript altered, cut, extended or re-anchored; no service role may
 * rewrite or remove transcript rows.
 */
const kit = auditKit();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wact-transcript-'));
const SCRIPT = path.resolve('scripts/verify-audit-export.mjs');
let keysFile: string;
afterAll(() => kit.end());

type Rec = Record<string, unknown> & { type: string };
const parse = (text: string): Rec[] =>
  text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Rec);
const render = (recs: Rec[]) => recs.map((r) => JSON.stringify(r)).join('\n') + '\n';
/** A record's hash as a forger recomputes it (the exported id is the transcript id). */
const rehash = (prev: string, r: Rec) =>
  transcriptHash(prev, {
    transcriptId: String(r.id),
    seq: String(r.seq),
    occurredAt: String(r.occurredAt),
    outcome: String(r.outcome),
    metadata: String(r.metadata),
  });

let n = 0;
function script(text: string): Promise<{ code: number; out: string }> {
  const file = path.join(dir, `case-${++n}.${text.startsWith('{') ? 'jsonl' : 'csv'}`);
  fs.writeFileSync(file, text);
  return new Promise((resolve) =>
    execFile(process.execPath, [SCRIPT, file, '--keys', keysFile], (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    ),
  );
}

async function both(text: string) {
  const ref = await kit.verifyText(text);
  const alt = await script(text);
  return { ref, alt };
}

/** Refused by both, the reference naming the transcript with the expected problem. */
async function expectNamed(text: string, transcriptId: string, kind: RegExp) {
  const { ref, alt } = await both(text);
  expect(ref.ok).toBe(false);
  expect(alt.code, alt.out).toBe(1);
  expect(alt.out).toContain(transcriptId);
  const named = ref.problems.filter((p) => p.id === transcriptId || p.message.includes(transcriptId));
  expect(named.map((p) => `${p.kind}: ${p.message}`).join('\n')).toMatch(kind);
}

/** One gateway connection as the gateway writes it: connect (names), records (series), disconnect (anchors). */
async function connection(ws: string, sessionId: string, statements: string[], opts: { checkpointAt?: number; end?: boolean } = {}) {
  const base = gatewayConnectionFields(ws, sessionId);
  const chain = createTranscriptChain({ streamId: ws, sessionId });
  await kit.audit.append({ ...base, action: 'db.session.connect', outcome: 'success', metadata: { transcript: chain.id } });
  const series = kit.audit.series({ ...base, action: 'db.statement' });
  for (const s of statements) {
    const event = { outcome: 'success' as const, metadata: { statement: s, rows: 1, protocol: 'simple' } };
    const link = chain.next(event.outcome, event.metadata);
    await series.append({ ...event, transcript: link });
    if (link.seq === opts.checkpointAt)
      await kit.audit.append({
        ...base,
        action: 'db.session.checkpoint',
        outcome: 'success',
        metadata: { transcript: chain.id, transcriptRecords: link.seq, transcriptHash: link.hash.toString('hex') },
      });
  }
  if (opts.end === false) return chain.id; // the gateway died: no anchor
  const anchor: AuditEventInput = {
    ...base,
    action: 'db.session.disconnect',
    outcome: 'success',
    metadata: { statements: statements.length, transcript: chain.id, transcriptRecords: chain.count, transcriptHash: chain.hash },
  };
  await kit.audit.append(anchor);
  return chain.id;
}

describe('gateway transcripts: chained, anchored, named by both verifiers when tampered with', () => {
  let ws: string;
  let a: string;
  let b: string;
  let c: string;
  let genuine: string;

  beforeAll(async () => {
    keysFile = path.join(dir, 'keys.json');
    fs.writeFileSync(keysFile, await kit.keySetText());
    ws = crypto.randomUUID();
    await kit.op.region('eu').query(`INSERT INTO wact.workspaces (id, name, region) VALUES ($1, 'transcripts', 'eu')`, [ws]);
    await kit.audit.append(kit.event(ws, 1));
    a = await connection(ws, 'sess-a', ['SELECT 1', 'SELECT id FROM wact.conversations', "SELECT '=cmd' AS x"]);
    b = await connection(ws, 'sess-b', ['SELECT 2', 'SELECT 3']);
    c = await connection(ws, 'sess-c', ['SELECT 5', 'SELECT 6', 'SELECT 7'], { checkpointAt: 2, end: false });
    await kit.signer.signStreamHead('eu', ws, 'periodic');
    genuine = await kit.exportText(ws);
  });

  it('stores the records in the transcript tables, not as stream events, and exports them with the stream', async () => {
    const { rows } = await kit.op
      .region('eu')
      .query(
        `SELECT t.session_id, count(*)::int AS n FROM audit.transcript_records r JOIN audit.transcripts t USING (transcript_id) WHERE t.stream_id = $1 GROUP BY 1 ORDER BY 1`,
        [ws],
      );
    expect(rows).toEqual([
      { session_id: 'sess-a', n: 3 },
      { session_id: 'sess-b', n: 2 },
      { session_id: 'sess-c', n: 3 },
    ]);
    const events = await kit.op
      .region('eu')
      .query(`SELECT count(*)::int AS n FROM audit.events WHERE stream_id = $1 AND action = 'db.statement'`, [ws]);
    expect(events.rows[0].n).toBe(0);
    const recs = parse(genuine);
    expect(recs.filter((r) => r.type === 'transcript_record')).toHaveLength(8);
    expect(recs.at(-1)).toMatchObject({ type: 'trailer', transcriptRecords: 8 });
  });

  it('genuine exports (JSON Lines and CSV) pass both verifiers', async () => {
    for (const text of [genuine, await kit.exportText(ws, { format: 'csv' })]) {
      const { ref, alt } = await both(text);
      expect(ref.problems).toEqual([]);
      expect(alt.code, alt.out).toBe(0);
      // The connection whose gateway died: proven up to its checkpoint, the rest only chained.
      expect(ref.warnings.join('\n')).toMatch(new RegExp(`transcript ${c}.*after seq 2 \\(its last checkpoint\\)`));
    }
  });

  it('a record under a checkpoint of a connection that never ended is named when altered or cut', async () => {
    const recs = parse(genuine);
    const mine = recs.filter((x) => x.type === 'transcript_record' && x.id === c);
    mine[0].metadata = String(mine[0].metadata).replace('SELECT 5', 'SELECT 9');
    let prev = String(mine[0].prevHash);
    for (const r of mine) {
      r.hash = rehash(prev, r);
      r.prevHash = prev;
      prev = String(r.hash);
    }
    await expectNamed(render(recs), c, /reanchored: transcript .* record seq 2 does not match its checkpoint/);
    const cut = parse(genuine).filter((x) => !(x.type === 'transcript_record' && x.id === c && x.seq !== '1'));
    (cut.at(-1) as Rec).transcriptRecords = 6;
    await expectNamed(render(cut), c, /missing: transcript .* cut: its checkpoint .* counts 2 records, the file has 1/);
  });

  it('a record altered (its statement rewritten) is named', async () => {
    const recs = parse(genuine);
    const r = recs.find((x) => x.type === 'transcript_record' && x.id === a && x.seq === '2')!;
    r.metadata = String(r.metadata).replace('wact.conversations', 'wact.nothing_to_see');
    await expectNamed(render(recs), a, /altered: transcript .* record seq 2 altered/);
  });

  it('a record altered and the rest re-chained by the forger is still named (the anchor holds the old final hash)', async () => {
    const recs = parse(genuine);
    const mine = recs.filter((x) => x.type === 'transcript_record' && x.id === a);
    mine[1].metadata = String(mine[1].metadata).replace('wact.conversations', 'wact.nothing_to_see');
    let prev = String(mine[0].hash);
    for (const r of mine.slice(1)) {
      r.prevHash = prev;
      r.hash = rehash(prev, r);
      prev = String(r.hash);
    }
    await expectNamed(render(recs), a, /reanchored: transcript .* does not end where its anchor/);
  });

  it('a transcript cut (its last record removed, or all of them) is named', async () => {
    const recs = parse(genuine);
    const lastOfA = recs.findLastIndex((x) => x.type === 'transcript_record' && x.id === a);
    const cut = recs.filter((_, i) => i !== lastOfA);
    (cut.at(-1) as Rec).transcriptRecords = 7;
    await expectNamed(render(cut), a, /missing: transcript .* cut: its anchor .* counts 3 records, the file has 2/);
    const none = recs.filter((x) => !(x.type === 'transcript_record' && x.id === b));
    (none.at(-1) as Rec).transcriptRecords = 6;
    await expectNamed(render(none), b, /missing: transcript .* cut/);
  });

  it('a forged record appended to a transcript (correctly chained) is named', async () => {
    const recs = parse(genuine);
    const lastOfB = recs.findLastIndex((x) => x.type === 'transcript_record' && x.id === b);
    const prev = recs[lastOfB];
    const forged: Rec = { ...prev, seq: '3', metadata: '{"statement":"SELECT 4"}', prevHash: prev.hash };
    forged.hash = rehash(String(prev.hash), forged);
    recs.splice(lastOfB + 1, 0, forged);
    (recs.at(-1) as Rec).transcriptRecords = 9;
    await expectNamed(render(recs), b, /inserted: transcript .* extended/);
  });

  it("a transcript re-anchored (B's records presented as A's, or under another session) is named", async () => {
    const recs = parse(genuine);
    // Drop A's own records, relabel B's as A's: they neither chain from A's genesis nor end at A's anchor.
    const swapped = recs
      .filter((x) => !(x.type === 'transcript_record' && x.id === a))
      .map((x) => (x.type === 'transcript_record' && x.id === b ? { ...x, id: a, sessionId: 'sess-a', targetId: 'sess-a' } : x));
    await expectNamed(render(swapped), a, /does not link to the transcript's genesis|altered/);
    // B's records claimed by another session: the connection's events say otherwise.
    const moved = recs.map((x) => (x.type === 'transcript_record' && x.id === b ? { ...x, sessionId: 'sess-x' } : x));
    await expectNamed(render(moved), b, /session, actor or reason differ/);
  });

  it('no service role can rewrite, remove, truncate or insert transcript rows', async () => {
    for (const sql of [
      `UPDATE audit.transcript_records SET metadata = '{}' WHERE stream_id = '${ws}'`,
      `DELETE FROM audit.transcript_records WHERE stream_id = '${ws}'`,
      `DELETE FROM audit.transcripts WHERE stream_id = '${ws}'`,
      `TRUNCATE audit.transcript_records`,
      `INSERT INTO audit.transcript_records (transcript_id, seq, stream_id, occurred_at, outcome, metadata, prev_hash, hash)
         VALUES ('${a}', 99, '${ws}', now(), 'success', '{}', '\\x00', '\\x00')`,
    ])
      await expect(kit.broker.region('eu').query(sql), sql).rejects.toMatchObject({ code: '42501' });
    const { rows } = await kit.op.region('eu').query(`SELECT count(*)::int AS n FROM audit.transcript_records WHERE stream_id = $1`, [ws]);
    expect(rows[0].n).toBe(8);
  });

  it("the wipe's erasure (as wact_owner) removes the workspace's transcripts with its stream", async () => {
    const c = await kit.op.region('eu').connect();
    try {
      const head = (await c.query(`SELECT seq::text, encode(hash, 'hex') AS hash FROM audit.chain_heads WHERE stream_id = $1`, [ws]))
        .rows[0];
      await c.query('BEGIN');
      await c.query('SET LOCAL ROLE wact_owner');
      await c.query('SELECT * FROM wact_private.erase_workspace_history($1, $2, $3)', [ws, head.seq, head.hash]);
      await c.query('COMMIT');
    } finally {
      c.release();
    }
    const { rows } = await kit.op
      .region('eu')
      .query(
        `SELECT (SELECT count(*) FROM audit.transcripts WHERE stream_id = $1)::int AS t, (SELECT count(*) FROM audit.transcript_records WHERE stream_id = $1)::int AS r`,
        [ws],
      );
    expect(rows[0]).toEqual({ t: 0, r: 0 });
  });
});

describe('gateway transcripts in parts: a start part, its outcome part, a start part replaced by the whole record', () => {
  let ws: string;
  let id: string;
  let genuine: string;

  beforeAll(async () => {
    keysFile ??= path.join(dir, 'keys.json');
    fs.writeFileSync(keysFile, await kit.keySetText());
    ws = crypto.randomUUID();
    await kit.op.region('eu').query(`INSERT INTO wact.workspaces (id, name, region) VALUES ($1, 'transcript parts', 'eu')`, [ws]);
    await kit.audit.append(kit.event(ws, 1));
    const base = gatewayConnectionFields(ws, 'sess-parts');
    const chain = createTranscriptChain({ streamId: ws, sessionId: 'sess-parts' });
    id = chain.id;
    await kit.audit.append({ ...base, action: 'db.session.connect', outcome: 'success', metadata: { transcript: chain.id } });
    const series = kit.audit.series({ ...base, action: 'db.statement' });
    const start = (statement: string) => ({ part: 'start', statement, protocol: 'simple', phase: 'query', scope: 'full' });
    // 1: ends while its start part still waits in the writer's queue: the whole record takes its place.
    const startA = chain.next('success', start('SELECT 1'));
    const written = series.append({ outcome: 'success', metadata: start('SELECT 1'), transcript: startA });
    const whole = { statement: 'SELECT 1', protocol: 'simple', phase: 'query', scope: 'full', command: 'SELECT 1', rows: 1 };
    const replaced = chain.amend(startA, 'success', whole, (link) =>
      series.replace!(startA, { outcome: 'success', metadata: whole, transcript: link }),
    );
    expect(replaced?.seq).toBe(1);
    await written;
    // 2: its start part is written first; then it can no longer be replaced, and its outcome part follows.
    const startB = chain.next('success', start('SELECT pg_sleep(5)'));
    await series.append({ outcome: 'success', metadata: start('SELECT pg_sleep(5)'), transcript: startB });
    const tooLate = { statement: 'SELECT pg_sleep(5)', sqlstate: '57014' };
    expect(
      chain.amend(startB, 'failure', tooLate, (link) =>
        series.replace!(startB, { outcome: 'failure', metadata: tooLate, transcript: link }),
      ),
    ).toBeUndefined();
    const outcome = { part: 'outcome', startSeq: startB.seq, phase: 'query', sqlstate: '57014', rows: null };
    await series.append({ outcome: 'failure', metadata: outcome, transcript: chain.next('failure', outcome), lazy: true });
    await kit.audit.append({
      ...base,
      action: 'db.session.disconnect',
      outcome: 'success',
      metadata: { statements: 2, transcript: chain.id, transcriptRecords: chain.count, transcriptHash: chain.hash },
    });
    await kit.signer.signStreamHead('eu', ws, 'periodic');
    genuine = await kit.exportText(ws);
  });

  it('stores three records for two statements, passes both verifiers, and reads back as two statements', async () => {
    const records = parse(genuine).filter((r) => r.type === 'transcript_record');
    expect(records.map((r) => [r.seq, JSON.parse(String(r.metadata)).part ?? 'whole'])).toEqual([
      ['1', 'whole'],
      ['2', 'start'],
      ['3', 'outcome'],
    ]);
    const { ref, alt } = await both(genuine);
    expect(ref.problems).toEqual([]);
    expect(alt.code, alt.out).toBe(0);
    const statements = statementsOf(
      records.map((r) => ({
        transcriptId: String(r.id),
        seq: Number(r.seq),
        outcome: String(r.outcome),
        metadata: JSON.parse(String(r.metadata)),
      })),
    );
    expect(statements.map((s) => [s.metadata.statement, s.outcome, s.metadata.rows ?? s.metadata.sqlstate])).toEqual([
      ['SELECT 1', 'success', 1],
      ['SELECT pg_sleep(5)', 'failure', '57014'],
    ]);
  });

  it('an outcome part cut, or a replaced record altered, is named', async () => {
    const recs = parse(genuine);
    const cut = recs.filter((x) => !(x.type === 'transcript_record' && x.id === id && x.seq === '3'));
    (cut.at(-1) as Rec).transcriptRecords = 2;
    await expectNamed(render(cut), id, /missing: transcript .* cut: its anchor .* counts 3 records, the file has 2/);
    const altered = parse(genuine);
    const first = altered.find((x) => x.type === 'transcript_record' && x.id === id && x.seq === '1')!;
    first.metadata = String(first.metadata).replace('"rows":1', '"rows":0');
    await expectNamed(render(altered), id, /altered: transcript .* record seq 1 altered/);
  });
});
