/**
 * Reading a gateway transcript as statements (issue 17). A statement the
 * server was certain to run has two records in its connection's transcript:
 * a start part (`part: 'start'`: text, protocol, scope…), committed before
 * any of its reply left, and an outcome part (`part: 'outcome'`, `startSeq`:
 * tags, rows, error, duration), committed with a later batch. A statement
 * that failed before it ran — and every statement recorded before the parts
 * existed — is one record with both. Readers show one entry per statement:
 * the start part with its outcome's fields merged in; a start part whose
 * outcome is not (yet) written shows outcome 'pending'.
 */

export interface TranscriptRecordRow {
  /** The connection's transcript (null: a statement kept as a stream event). */
  transcriptId: string | null;
  seq: number;
  outcome: string;
  metadata: Record<string, unknown>;
}

export type StatementEntry<R extends TranscriptRecordRow> = R & {
  /** seq of the outcome part merged into this entry, if any. */
  outcomeSeq?: number;
};

/**
 * One entry per statement, in the order the rows give their completion: a
 * started statement stands where its outcome part is (where a whole record
 * would have been), a pending one where its start part is. Each entry keeps
 * its start part's seq and time.
 */
export function statementsOf<R extends TranscriptRecordRow>(rows: readonly R[]): StatementEntry<R>[] {
  const placed: { at: number; entry: StatementEntry<R> }[] = [];
  const starts = new Map<string, { at: number; entry: StatementEntry<R> }>();
  rows.forEach((r, at) => {
    const part = r.metadata.part;
    if (part === 'outcome' && r.transcriptId !== null) {
      const start = starts.get(`${r.transcriptId}:${String(r.metadata.startSeq)}`);
      if (start && start.entry.outcomeSeq === undefined) {
        const { part: _p, startSeq: _s, ...fields } = r.metadata;
        start.entry.metadata = { ...start.entry.metadata, ...fields };
        start.entry.outcome = r.outcome;
        start.entry.outcomeSeq = r.seq;
        start.at = at;
        return;
      }
      // An outcome part without its start part: shown as it is (the verifiers name a broken transcript).
    }
    if (part === 'start' && r.transcriptId !== null) {
      const { part: _p, ...fields } = r.metadata;
      const slot = { at, entry: { ...r, outcome: 'pending', metadata: fields } };
      starts.set(`${r.transcriptId}:${r.seq}`, slot);
      placed.push(slot);
      return;
    }
    placed.push({ at, entry: { ...r } });
  });
  return placed.sort((a, b) => a.at - b.at).map((p) => p.entry);
}

/** SQL condition true for every transcript record but outcome parts (one per statement), for alias `r`. */
export const NOT_OUTCOME_PART = `(r.metadata::jsonb->>'part') IS DISTINCT FROM 'outcome'`;
