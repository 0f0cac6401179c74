import type pg from 'pg';
import type { Region } from '../config/config.ts';
import type { AccessSessionView, Scope, SessionStatusName } from './access-types.ts';

/** Database access for access sessions and notifications (control database). */

export interface AccessSessionRow {
  id: string;
  requester_id: string;
  requester_name: string;
  requester_role: string;
  workspace_id: string;
  region: Region;
  scope: Scope;
  purpose: 'db' | 'support';
  reason: string;
  ticket_ref: string | null;
  ttl_seconds: number;
  status: SessionStatusName;
  requested_at: Date;
  decided_by: string | null;
  decided_by_name: string | null;
  decided_at: Date | null;
  decision_note: string | null;
  granted_at: Date | null;
  expires_at: Date | null;
  revoked_by: string | null;
  revoked_by_name: string | null;
  revoked_at: Date | null;
  ended_at: Date | null;
  role_name: string | null;
  auth_mode: 'password' | 'rds-iam' | null;
  token_hash: Buffer | null;
  upstream_secret: Buffer | null;
  role_dropped_at: Date | null;
  statements_count: string; // bigint
  last_statement_at: Date | null;
  role_disabled_at: Date | null;
  cleanup_attempts: number;
  cleanup_error: string | null;
  cleanup_failed_at: Date | null;
  end_audited_at: Date | null;
}

/** Where the session's database role is in its life (control 0410). */
export function roleState(r: AccessSessionRow): AccessSessionView['role'] {
  if (!r.role_name) return 'none';
  if (r.role_dropped_at) return 'dropped';
  if (r.role_disabled_at) return 'disabled';
  return r.status === 'active' ? 'live' : 'disabling';
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function toView(r: AccessSessionRow): AccessSessionView {
  return {
    id: r.id,
    requesterId: r.requester_id,
    requesterName: r.requester_name,
    requesterRole: r.requester_role,
    workspaceId: r.workspace_id,
    region: r.region,
    scope: r.scope,
    purpose: r.purpose,
    reason: r.reason,
    ticketRef: r.ticket_ref,
    ttlSeconds: r.ttl_seconds,
    // A session past its expiry reads as expired even before the sweeper has marked it.
    status: r.status === 'active' && r.expires_at && r.expires_at.getTime() <= Date.now() ? 'expired' : r.status,
    requestedAt: r.requested_at.toISOString(),
    decidedByName: r.decided_by_name,
    decidedAt: iso(r.decided_at),
    decisionNote: r.decision_note,
    grantedAt: iso(r.granted_at),
    expiresAt: iso(r.expires_at),
    revokedByName: r.revoked_by_name,
    revokedAt: iso(r.revoked_at),
    endedAt: iso(r.ended_at),
    statements: Number(r.statements_count),
    lastStatementAt: iso(r.last_statement_at),
    role: roleState(r),
    roleCleanupError: r.role_dropped_at ? null : r.cleanup_error,
    roleCleanupAttempts: r.cleanup_attempts,
    roleCleanupFailedAt: r.role_dropped_at ? null : iso(r.cleanup_failed_at),
  };
}

const SORT_COLUMNS: Record<string, string> = {
  requestedAt: 'requested_at',
  expiresAt: 'expires_at',
  status: 'status',
  workspaceId: 'workspace_id',
  statements: 'statements_count',
};

export function createAccessDal(control: pg.Pool) {
  return {
    async insert(row: {
      id: string;
      requesterId: string;
      requesterName: string;
      requesterRole: string;
      workspaceId: string;
      region: Region;
      scope: Scope;
      purpose: 'db' | 'support';
      reason: string;
      ticketRef: string | null;
      ttlSeconds: number;
    }): Promise<AccessSessionRow> {
      const { rows } = await control.query<AccessSessionRow>(
        `INSERT INTO wact.access_sessions (id, requester_id, requester_name, requester_role, workspace_id, region, scope, purpose, reason, ticket_ref, ttl_seconds, status)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'pending') RETURNING *`,
        [
          row.id,
          row.requesterId,
          row.requesterName,
          row.requesterRole,
          row.workspaceId,
          row.region,
          row.scope,
          row.purpose,
          row.reason,
          row.ticketRef,
          row.ttlSeconds,
        ],
      );
      return rows[0];
    },

    async get(id: string): Promise<AccessSessionRow | undefined> {
      const { rows } = await control.query<AccessSessionRow>('SELECT * FROM wact.access_sessions WHERE id = $1', [id]);
      return rows[0];
    },

    /** Denies a request that is still pending; returns it only if this call denied it. */
    async deny(id: string, decision: { by: string; byName: string; note: string | null }): Promise<AccessSessionRow | undefined> {
      const { rows } = await control.query<AccessSessionRow>(
        `UPDATE wact.access_sessions
            SET decided_by = $2, decided_by_name = $3, decided_at = now(), decision_note = $4, status = 'denied', ended_at = now()
          WHERE id = $1 AND status = 'pending' RETURNING *`,
        [id, decision.by, decision.byName, decision.note],
      );
      return rows[0];
    },

    /** Pending → active with its role (and, on approval, the decision) in one step. */
    async activate(
      id: string,
      grant: { roleName: string; authMode: string; expiresAt: Date; upstreamSecret: Buffer | null; tokenHash: Buffer | null },
      decision?: { by: string; byName: string; note: string | null },
    ): Promise<AccessSessionRow | undefined> {
      const { rows } = await control.query<AccessSessionRow>(
        `UPDATE wact.access_sessions
            SET status = 'active', role_name = $2, auth_mode = $3, granted_at = now(), expires_at = $4,
                upstream_secret = $5, token_hash = $6, token_issued_at = CASE WHEN $6::bytea IS NULL THEN NULL ELSE now() END,
                decided_by = COALESCE($7::uuid, decided_by), decided_by_name = COALESCE($8, decided_by_name),
                decided_at = CASE WHEN $7::uuid IS NULL THEN decided_at ELSE now() END, decision_note = COALESCE($9, decision_note)
          WHERE id = $1 AND status = 'pending' RETURNING *`,
        [
          id,
          grant.roleName,
          grant.authMode,
          grant.expiresAt,
          grant.upstreamSecret,
          grant.tokenHash,
          decision?.by ?? null,
          decision?.byName ?? null,
          decision?.note ?? null,
        ],
      );
      return rows[0];
    },

    async setToken(id: string, requesterId: string, tokenHash: Buffer): Promise<AccessSessionRow | undefined> {
      const { rows } = await control.query<AccessSessionRow>(
        `UPDATE wact.access_sessions SET token_hash = $3, token_issued_at = now()
          WHERE id = $1 AND requester_id = $2 AND status = 'active' AND expires_at > now() RETURNING *`,
        [id, requesterId, tokenHash],
      );
      return rows[0];
    },

    /** Ends an active or pending session; returns the row only if this call ended it. */
    async finish(id: string, how: { status: 'revoked' | 'ended'; by?: string; byName?: string }): Promise<AccessSessionRow | undefined> {
      const { rows } = await control.query<AccessSessionRow>(
        `UPDATE wact.access_sessions
            SET status = $2, ended_at = now(),
                revoked_by = CASE WHEN $2 = 'revoked' THEN $3::uuid END,
                revoked_by_name = CASE WHEN $2 = 'revoked' THEN $4 END,
                revoked_at = CASE WHEN $2 = 'revoked' THEN now() END
          WHERE id = $1 AND status IN ('active', 'pending') RETURNING *`,
        [id, how.status, how.by ?? null, how.byName ?? null],
      );
      return rows[0];
    },

    /** Claims the sessions due to expire (each returned once, whichever process asks first). */
    async expireDue(pendingTimeoutSeconds: number): Promise<AccessSessionRow[]> {
      const { rows } = await control.query<AccessSessionRow>(
        `UPDATE wact.access_sessions SET status = 'expired', ended_at = now()
          WHERE (status = 'active' AND expires_at <= now())
             OR (status = 'pending' AND requested_at <= now() - make_interval(secs => $1))
          RETURNING *`,
        [pendingTimeoutSeconds],
      );
      return rows;
    },

    /** Ended sessions whose role is not dropped yet; never-tried and longest-waiting first, so a stuck one cannot starve the rest. */
    async undropped(): Promise<AccessSessionRow[]> {
      const { rows } = await control.query<AccessSessionRow>(
        `SELECT * FROM wact.access_sessions WHERE role_name IS NOT NULL AND role_dropped_at IS NULL AND status IN ('expired', 'revoked', 'ended')
          ORDER BY cleanup_failed_at NULLS FIRST, ended_at LIMIT 100`,
      );
      return rows;
    },

    /** Stage one (no grant, no login) is committed in the regional database. */
    async markDisabled(id: string): Promise<void> {
      await control.query('UPDATE wact.access_sessions SET role_disabled_at = COALESCE(role_disabled_at, now()) WHERE id = $1', [id]);
    },

    async markDropped(id: string): Promise<void> {
      await control.query(
        `UPDATE wact.access_sessions SET role_dropped_at = now(), role_disabled_at = COALESCE(role_disabled_at, now()),
                upstream_secret = NULL, cleanup_error = NULL WHERE id = $1`,
        [id],
      );
    },

    /** A failed attempt at ending the role: counted and kept for the API until the sweeper succeeds. */
    async cleanupFailed(id: string, error: string): Promise<AccessSessionRow | undefined> {
      const { rows } = await control.query<AccessSessionRow>(
        `UPDATE wact.access_sessions SET cleanup_attempts = cleanup_attempts + 1, cleanup_error = $2, cleanup_failed_at = now()
          WHERE id = $1 AND role_dropped_at IS NULL RETURNING *`,
        [id, error.slice(0, 1000)],
      );
      return rows[0];
    },

    async markEndAudited(id: string): Promise<void> {
      await control.query('UPDATE wact.access_sessions SET end_audited_at = now() WHERE id = $1 AND end_audited_at IS NULL', [id]);
    },

    /**
     * Ended sessions whose end event was never written (the audit append
     * failed, or the process died). The grace period leaves the call that
     * ended the session time to write it itself.
     */
    async unaudited(graceSeconds: number): Promise<AccessSessionRow[]> {
      const { rows } = await control.query<AccessSessionRow>(
        `SELECT * FROM wact.access_sessions WHERE end_audited_at IS NULL AND status IN ('expired', 'revoked', 'ended')
            AND ended_at <= now() - make_interval(secs => $1) ORDER BY ended_at LIMIT 100`,
        [graceSeconds],
      );
      return rows;
    },

    async statuses(
      ids: string[],
    ): Promise<{ id: string; status: SessionStatusName; expires_at: Date | null; revoked_by_name: string | null }[]> {
      const { rows } = await control.query(
        'SELECT id, status, expires_at, revoked_by_name FROM wact.access_sessions WHERE id = ANY($1::uuid[])',
        [ids],
      );
      return rows;
    },

    async addStatements(counts: Map<string, number>): Promise<void> {
      const ids = [...counts.keys()];
      const ns = ids.map((id) => counts.get(id)!);
      await control.query(
        `UPDATE wact.access_sessions s SET statements_count = s.statements_count + c.n, last_statement_at = now()
           FROM unnest($1::uuid[], $2::bigint[]) AS c(id, n) WHERE s.id = c.id`,
        [ids, ns],
      );
    },

    async list(q: {
      requesterId?: string;
      status?: string;
      workspaceId?: string;
      sort: string;
      order: 'ASC' | 'DESC';
      offset: number;
      limit: number;
    }): Promise<{ rows: AccessSessionRow[]; total: number }> {
      const where: string[] = [];
      const args: unknown[] = [];
      if (q.requesterId) where.push(`requester_id = $${args.push(q.requesterId)}`);
      if (q.status) where.push(`status = $${args.push(q.status)}`);
      if (q.workspaceId) where.push(`workspace_id = $${args.push(q.workspaceId)}`);
      const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
      const column = SORT_COLUMNS[q.sort] ?? 'requested_at';
      const order = q.order === 'ASC' ? 'ASC' : 'DESC';
      const [{ rows }, count] = await Promise.all([
        control.query<AccessSessionRow>(
          `SELECT * FROM wact.access_sessions ${clause} ORDER BY ${column} ${order} NULLS LAST, id LIMIT $${args.length + 1} OFFSET $${args.length + 2}`,
          [...args, q.limit, q.offset],
        ),
        control.query<{ n: string }>(`SELECT count(*) AS n FROM wact.access_sessions ${clause}`, args),
      ]);
      return { rows, total: Number(count.rows[0].n) };
    },

    async activeSupportSession(userId: string, workspaceId: string): Promise<AccessSessionRow | undefined> {
      const { rows } = await control.query<AccessSessionRow>(
        `SELECT * FROM wact.access_sessions
          WHERE requester_id = $1 AND workspace_id = $2 AND status = 'active' AND scope = 'redacted' AND expires_at > now()
          ORDER BY expires_at DESC LIMIT 1`,
        [userId, workspaceId],
      );
      return rows[0];
    },

    async notify(userId: string, sessionId: string, kind: string, message: string): Promise<void> {
      await control.query('INSERT INTO wact.access_notifications (user_id, session_id, kind, message) VALUES ($1, $2, $3, $4)', [
        userId,
        sessionId,
        kind,
        message.slice(0, 500),
      ]);
    },

    async notifications(userId: string, opts: { unreadOnly?: boolean; limit?: number } = {}) {
      const { rows } = await control.query<{
        id: string;
        session_id: string;
        kind: string;
        message: string;
        created_at: Date;
        read_at: Date | null;
      }>(
        `SELECT id, session_id, kind, message, created_at, read_at FROM wact.access_notifications
          WHERE user_id = $1 ${opts.unreadOnly ? 'AND read_at IS NULL' : ''} ORDER BY id DESC LIMIT $2`,
        [userId, opts.limit ?? 50],
      );
      return rows.map((r) => ({
        id: Number(r.id),
        sessionId: r.session_id,
        kind: r.kind,
        message: r.message,
        createdAt: r.created_at.toISOString(),
        read: r.read_at !== null,
      }));
    },

    async markRead(userId: string, ids: number[]): Promise<void> {
      await control.query(
        'UPDATE wact.access_notifications SET read_at = now() WHERE user_id = $1 AND id = ANY($2::bigint[]) AND read_at IS NULL',
        [userId, ids],
      );
    },
  };
}

export type AccessDal = ReturnType<typeof createAccessDal>;
