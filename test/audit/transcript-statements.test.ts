import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { statementsOf, type TranscriptRecordRow } from '../../shared/audit/transcript-statements.ts';

/**
 * Reading transcripts as statements (shared/audit/transcript-statements.ts):
 * whatever the interleaving of connections and however late each outcome part
 * comes, every statement is one entry — start and outcome merged, a missing
 * outcome 'pending' — placed where its record became whole, and records of
 * one part (whole records, stream events) pass unchanged.
 */

interface Planned {
  id: number;
  transcript: string;
  kind: 'whole' | 'started' | 'pending';
  outcome: 'success' | 'failure';
}

/** Builds the rows a set of statements leaves, outcome parts delayed by `delays` positions. */
function rowsOf(plan: Planned[], delays: number[]): { rows: TranscriptRecordRow[]; completedAt: Map<number, number> } {
  const seqs = new Map<string, number>();
  const next = (t: string) => {
    const n = (seqs.get(t) ?? 0) + 1;
    seqs.set(t, n);
    return n;
  };
  // Events in time order: [position, producer]; an outcome part is emitted `delay` steps after its start.
  const timeline: { pos: number; emit: () => TranscriptRecordRow; stmt: number; completes: boolean }[] = [];
  const startSeqs = new Map<number, number>();
  /** A record of `p`'s transcript, numbered when it is emitted. */
  const record = (p: Planned, outcome: string, metadata: () => Record<string, unknown>) => () => {
    const seq = next(p.transcript);
    return { transcriptId: p.transcript, seq, outcome, metadata: metadata() };
  };
  plan.forEach((p, i) => {
    if (p.kind === 'whole') {
      timeline.push({ pos: i, stmt: p.id, completes: true, emit: record(p, p.outcome, () => ({ statement: `s${p.id}`, rows: 1 })) });
      return;
    }
    const start = record(p, 'success', () => ({ part: 'start', statement: `s${p.id}`, scope: 'full' }));
    timeline.push({
      pos: i,
      stmt: p.id,
      completes: p.kind === 'pending',
      emit: () => {
        const row = start();
        startSeqs.set(p.id, row.seq);
        return row;
      },
    });
    if (p.kind === 'started')
      timeline.push({
        pos: i + 0.5 + delays[i % delays.length],
        stmt: p.id,
        completes: true,
        emit: record(p, p.outcome, () => ({ part: 'outcome', startSeq: startSeqs.get(p.id)!, rows: p.id, command: 'SELECT' })),
      });
  });
  timeline.sort((a, b) => a.pos - b.pos);
  const rows: TranscriptRecordRow[] = [];
  const completedAt = new Map<number, number>();
  for (const t of timeline) {
    rows.push(t.emit());
    if (t.completes) completedAt.set(t.stmt, rows.length - 1);
  }
  return { rows, completedAt };
}

describe('transcript statements (start and outcome parts read as one)', () => {
  it('one entry per statement, merged, in completion order, whatever the interleaving (property)', () => {
    const planned = fc.record({
      transcript: fc.constantFrom('t1', 't2', 't3'),
      kind: fc.constantFrom('whole' as const, 'started' as const, 'started' as const, 'pending' as const),
      outcome: fc.constantFrom('success' as const, 'failure' as const),
    });
    fc.assert(
      fc.property(fc.array(planned, { maxLength: 40 }), fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 1 }), (raw, delays) => {
        const plan = raw.map((p, id) => ({ ...p, id }));
        const { rows, completedAt } = rowsOf(plan, delays);
        const entries = statementsOf(rows);
        expect(entries.map((e) => e.metadata.statement)).toEqual(
          [...plan].sort((a, b) => completedAt.get(a.id)! - completedAt.get(b.id)!).map((p) => `s${p.id}`),
        );
        for (const e of entries) {
          const p = plan[Number(String(e.metadata.statement).slice(1))];
          expect(e.metadata.part).toBeUndefined();
          expect(e.metadata.startSeq).toBeUndefined();
          if (p.kind === 'whole') expect(e).toMatchObject({ outcome: p.outcome, metadata: { rows: 1 } });
          if (p.kind === 'pending') expect(e.outcome).toBe('pending');
          if (p.kind === 'started') {
            expect(e).toMatchObject({
              outcome: p.outcome,
              metadata: { statement: `s${p.id}`, scope: 'full', rows: p.id, command: 'SELECT' },
            });
            expect(e.outcomeSeq).toBeGreaterThan(e.seq);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('an outcome part is merged only into its own transcript’s start, and only once', () => {
    const rows: TranscriptRecordRow[] = [
      { transcriptId: 'a', seq: 1, outcome: 'success', metadata: { part: 'start', statement: 'x' } },
      { transcriptId: 'b', seq: 2, outcome: 'failure', metadata: { part: 'outcome', startSeq: 1, sqlstate: '57014' } },
      { transcriptId: 'a', seq: 2, outcome: 'success', metadata: { part: 'outcome', startSeq: 1, rows: 3 } },
      { transcriptId: 'a', seq: 3, outcome: 'failure', metadata: { part: 'outcome', startSeq: 1, rows: 9 } },
      { transcriptId: null, seq: 7, outcome: 'success', metadata: { part: 'outcome', startSeq: 1, statement: 'event' } },
    ];
    const entries = statementsOf(rows);
    expect(entries.map((e) => [e.transcriptId, e.seq, e.outcome, e.metadata.rows ?? e.metadata.sqlstate ?? null])).toEqual([
      ['b', 2, 'failure', '57014'], // no start part of its own transcript: shown as it is
      ['a', 1, 'success', 3],
      ['a', 3, 'failure', 9], // a second outcome for one start: shown as it is, never merged over the first
      [null, 7, 'success', null],
    ]);
  });
});
