import type pg from 'pg';
import { joinStatementFields } from '../../shared/audit/audit-validation.ts';
import { NOT_OUTCOME_PART, statementsOf } from '../../shared/audit/transcript-statements.ts';

/**
 * "WAct access" (issue 13, point 6): which WAct employees touched a
 * workspace's data, why, who approved it and what they ran.
 *
 * Sessions come from the control database (wact.access_sessions: database
 * sessions, purpose 'db', and support sessions, purpose 'support'); what they
 * did comes from the workspace's own audit log in its region — the
 * gateway's statement records (one transcript per connection, anchored into
 * the workspace stream, migration 0700; before it, `db.statement` events;
 * session_id = the access session id; the statement text is already masked
 * by the gateway) and the `support.browse` events (metadata.accessSession =
 * the access session id). Nothing here is taken from the employee's side of
 * the story: the transcript is the audit log itself.
 */

export type EndedHow = 'active' | 'expired' | 'revoked' | 'closed';

export interface WactAccessSession {
  id: string;
  kind: 'database' | 'support';
  employeeId: string;
  employeeName: string;
  employeeRole: string;
  scope: string;
  reason: string;
  ticket: string | null;
  approverName: string | null;
  approverComment: string | null;
  approvedAt: string | null;
  start: string;
  end: string | null;
  endedHow: EndedHow;
  revokedBy: string | null;
  statementCount: number;
}

export interface TranscriptEntry {
  /** Position in the session's transcript, oldest first (1…n across its connections). */
  seq: number;
  /** The gateway connection's transcript (null for records kept as stream events before migration 0700). */
  connection: string | null;
  /** The record's seq in its connection's transcript, or its seq in the workspace stream when `connection` is null. */
  recordSeq: number;
  at: string;
  text: string;
  outcome: string;
  rows: number | null;
  command: string | null;
  sqlstate: string | null;
}

export interface WactAccessFilter {
  q?: string;
  kind?: 'database' | 'support';
  employeeRole?: string;
  scope?: string;
  endedHow?: EndedHow;
  from?: string;
  to?: string;
}

interface SessionRow {
  id: string;
  purpose: 'db' | 'support';
  requester_id: string;
  requester_name: string;
  requester_role: string;
  scope: string;
  reason: string;
  ticket_ref: string | null;
  decided_by_name: string | null;
  decision_note: string | null;
  decided_at: Date | null;
  granted_at: Date;
  session_end: Date | null;
  ended_how: EndedHow;
  revoked_by_name: string | null;
}

// How a session ended, from its status; an active session past its expiry
// counts as expired even before the sweeper has recorded it.
const ENDED_HOW = `CASE WHEN s.status = 'revoked' THEN 'revoked'
                        WHEN s.status = 'ended' THEN 'closed'
                        WHEN s.status = 'expired' OR s.expires_at <= now() THEN 'expired'
                        ELSE 'active' END`;
const SESSION_END = `CASE WHEN s.status = 'revoked' THEN coalesce(s.revoked_at, s.ended_at)
                          WHEN s.status = 'ended' THEN coalesce(s.ended_at, s.revoked_at)
                          WHEN s.status = 'expired' OR s.expires_at <= now() THEN least(coalesce(s.ended_at, s.expires_at), s.expires_at)
                          ELSE NULL END`;

const SORTS = { start: 's.granted_at', end: 'session_end', employeeName: 's.requester_name' } as const;
export type WactAccessSort = keyof typeof SORTS;
export const WACT_ACCESS_SORTS = Object.keys(SORTS) as WactAccessSort[];

function where(workspaceId: string, f: WactAccessFilter): { sql: string; params: unknown[] } {
  // Only sessions that were granted: a request never approved touched nothing.
  const clauses = ['s.workspace_id = $1', 's.granted_at IS NOT NULL'];
  const params: unknown[] = [workspaceId];
  const add = (clause: (n: string) => string, value: unknown) => {
    params.push(value);
    clauses.push(clause(`$${params.length}`));
  };
  if (f.q)
    add((n) => `(s.requester_name ILIKE ${n} OR s.reason ILIKE ${n} OR s.ticket_ref ILIKE ${n})`, `%${f.q.replace(/[\\%_]/g, '\\$&')}%`);
  if (f.kind) add((n) => `s.purpose = ${n}`, f.kind === 'database' ? 'db' : 'support');
  if (f.employeeRole) add((n) => `s.requester_role = ${n}`, f.employeeRole);
  if (f.scope) add((n) => `s.scope = ${n}`, f.scope);
  if (f.endedHow) add((n) => `(${ENDED_HOW}) = ${n}`, f.endedHow);
  if (f.from) add((n) => `s.granted_at >= ${n}::timestamptz`, f.from);
  if (f.to) add((n) => `s.granted_at < ${n}::timestamptz`, f.to);
  return { sql: clauses.join(' AND '), params };
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

function toSession(r: SessionRow, statementCount: number): WactAccessSession {
  return {
    id: r.id,
    kind: r.purpose === 'support' ? 'support' : 'database',
    employeeId: r.requester_id,
    employeeName: r.requester_name,
    employeeRole: r.requester_role,
    scope: r.scope,
    reason: r.reason,
    ticket: r.ticket_ref,
    approverName: r.decided_by_name,
    approverComment: r.decision_note,
    approvedAt: iso(r.decided_at),
    start: r.granted_at.toISOString(),
    end: iso(r.session_end),
    endedHow: r.ended_how,
    revokedBy: r.revoked_by_name,
    statementCount,
  };
}

const SELECT = `SELECT s.id, s.purpose, s.requester_id, s.requester_name, s.requester_role, s.scope, s.reason, s.ticket_ref,
                       s.decided_by_name, s.decision_note, s.decided_at, s.granted_at, s.revoked_by_name,
                       ${SESSION_END} AS session_end, ${ENDED_HOW} AS ended_how
                  FROM wact.access_sessions s`;

export function createWactAccessDal(deps: { control: Pick<pg.Pool, 'query'>; regional: Pick<pg.Pool, 'query'> }) {
  const { control, regional } = deps;

  /** Statements (database sessions) or browse events (support sessions) per session, from the workspace's audit stream. */
  async function counts(workspaceId: string, rows: SessionRow[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const db = rows.filter((r) => r.purpose !== 'support').map((r) => r.id);
    const support = rows.filter((r) => r.purpose === 'support').map((r) => r.id);
    if (db.length) {
      const { rows: c } = await regional.query<{ id: string; n: number }>(
        `SELECT id, sum(n)::int AS n FROM (
           SELECT session_id AS id, count(*) AS n FROM audit.events
            WHERE stream_id = $1 AND action = 'db.statement' AND session_id = ANY($2::text[]) GROUP BY session_id
           UNION ALL
           SELECT t.session_id, count(*) FROM audit.transcript_records r JOIN audit.transcripts t USING (transcript_id)
            WHERE t.stream_id = $1 AND t.session_id = ANY($2::text[]) AND ${NOT_OUTCOME_PART} GROUP BY t.session_id) x GROUP BY id`,
        [workspaceId, db],
      );
      for (const r of c) out.set(r.id, r.n);
    }
    if (support.length) {
      const { rows: c } = await regional.query<{ id: string; n: number }>(
        `SELECT metadata::jsonb->>'accessSession' AS id, count(*)::int AS n FROM audit.events
          WHERE stream_id = $1 AND action = 'support.browse' AND metadata::jsonb->>'accessSession' = ANY($2::text[]) GROUP BY 1`,
        [workspaceId, support],
      );
      for (const r of c) out.set(r.id, r.n);
    }
    return out;
  }

  return {
    async list(
      workspaceId: string,
      filter: WactAccessFilter,
      page: { offset: number; limit: number; sort: { field: WactAccessSort; order: 'ASC' | 'DESC' } },
    ): Promise<{ rows: WactAccessSession[]; total: number }> {
      const w = where(workspaceId, filter);
      const order = `${SORTS[page.sort.field]} ${page.sort.order === 'ASC' ? 'ASC' : 'DESC'} NULLS LAST, s.id`;
      const [rows, total] = await Promise.all([
        control.query<SessionRow>(`${SELECT} WHERE ${w.sql} ORDER BY ${order} LIMIT ${page.limit} OFFSET ${page.offset}`, w.params),
        control.query<{ n: number }>(`SELECT count(*)::int AS n FROM wact.access_sessions s WHERE ${w.sql}`, w.params),
      ]);
      const n = await counts(workspaceId, rows.rows);
      return { rows: rows.rows.map((r) => toSession(r, n.get(r.id) ?? 0)), total: total.rows[0].n };
    },

    async get(workspaceId: string, id: string): Promise<(WactAccessSession & { transcript: TranscriptEntry[] }) | undefined> {
      const { rows } = await control.query<SessionRow>(`${SELECT} WHERE s.workspace_id = $1 AND s.id = $2 AND s.granted_at IS NOT NULL`, [
        workspaceId,
        id,
      ]);
      if (!rows[0]) return undefined;
      const transcript = await this.transcript(workspaceId, rows[0].id, rows[0].purpose);
      return { ...toSession(rows[0], transcript.length), transcript };
    },

    /** Every statement (or browse) of one session, oldest first, as the audit log recorded it. */
    async transcript(workspaceId: string, sessionId: string, purpose: 'db' | 'support'): Promise<TranscriptEntry[]> {
      const { rows } = await regional.query<{
        seq: string;
        occurred_at: Date;
        outcome: string;
        metadata: string;
        target_id: string | null;
        transcript_id: string | null;
      }>(
        purpose === 'support'
          ? `SELECT seq, occurred_at, outcome, metadata, target_id, NULL AS transcript_id FROM audit.events
              WHERE stream_id = $1 AND action = 'support.browse' AND metadata::jsonb->>'accessSession' = $2 ORDER BY seq LIMIT 20000`
          : `SELECT * FROM (
               SELECT seq, occurred_at, outcome, metadata, target_id, NULL::uuid AS transcript_id FROM audit.events
                WHERE stream_id = $1 AND action = 'db.statement' AND session_id = $2
               UNION ALL
               SELECT r.seq, r.occurred_at, r.outcome, r.metadata, t.session_id, r.transcript_id
                 FROM audit.transcript_records r JOIN audit.transcripts t USING (transcript_id)
                WHERE t.stream_id = $1 AND t.session_id = $2) x
              ORDER BY occurred_at, transcript_id NULLS FIRST, seq LIMIT 20000`,
        [workspaceId, sessionId],
      );
      // A started statement's two records (start, outcome) are one entry (transcript-statements.ts).
      const records = rows.map((r) => ({
        transcriptId: r.transcript_id,
        seq: Number(r.seq),
        outcome: r.outcome,
        metadata: JSON.parse(r.metadata) as Record<string, unknown>,
        at: r.occurred_at,
        targetId: r.target_id,
      }));
      return statementsOf(records).map((r, i) => {
        const m = r.metadata;
        const num = (v: unknown) => (typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : null);
        return {
          seq: i + 1,
          connection: r.transcriptId,
          recordSeq: r.seq,
          at: r.at.toISOString(),
          text: purpose === 'support' ? `browse ${r.targetId ?? ''}`.trim() : joinStatementFields(m),
          outcome: r.outcome,
          rows: num(m.rows),
          command: typeof m.command === 'string' ? m.command : null,
          sqlstate: typeof m.sqlstate === 'string' ? m.sqlstate : null,
        };
      });
    },
  };
}

export type WactAccessDal = ReturnType<typeof createWactAccessDal>;
