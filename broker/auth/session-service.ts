import crypto from 'node:crypto';
import type pg from 'pg';
import type { EmployeeRole } from '../../shared/permissions/permissions.ts';
import { digest, randomToken } from './tokens.ts';

export type SessionStage = 'totp_enroll' | 'totp_verify' | 'active';

export interface SessionUser {
  sessionId: string;
  userId: string;
  kind: 'employee' | 'customer';
  displayName: string;
  email: string | null;
  employeeRole?: EmployeeRole;
  via: 'browser' | 'cli';
  stage: SessionStage;
  mfa: boolean;
  expiresAt: Date;
}

export type AuthenticateResult = { ok: true; session: SessionUser } | { ok: false; reason: 'unknown' | 'expired' | 'revoked' };

interface Row {
  id: string;
  user_id: string;
  kind: 'employee' | 'customer';
  display_name: string;
  email: string | null;
  employee_role: EmployeeRole | null;
  via: 'browser' | 'cli';
  stage: SessionStage;
  mfa: boolean;
  expires_at: Date;
}

const toSession = (r: Row): SessionUser => ({
  sessionId: r.id,
  userId: r.user_id,
  kind: r.kind,
  displayName: r.display_name,
  email: r.email,
  employeeRole: r.employee_role ?? undefined,
  via: r.via,
  stage: r.stage,
  mfa: r.mfa,
  expiresAt: r.expires_at,
});

/**
 * Server-side sessions in the control database. The client holds only the
 * random token; we store its digest. Browser sessions end after `idleMs`
 * without use and `maxMs` after sign-in; CLI sessions only after `maxMs`
 * (a terminal is idle between commands). A session still in a TOTP stage
 * lives `pendingMs` at most and opens no /api route.
 */
export function createSessionService(deps: { pool: pg.Pool; idleMs: number; maxMs: number; pendingMs: number }) {
  const { pool, idleMs, maxMs, pendingMs } = deps;

  async function create(input: {
    userId: string;
    via: 'browser' | 'cli';
    stage: SessionStage;
    mfa: boolean;
    clientIp?: string;
    userAgent?: string;
  }) {
    const token = randomToken();
    const id = crypto.randomUUID();
    const lifetime = input.stage === 'active' ? maxMs : pendingMs;
    await pool.query(
      `INSERT INTO wact.sessions (id, token_hash, user_id, via, stage, mfa, expires_at, client_ip, user_agent)
       VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7::double precision / 1000), $8, $9)`,
      [
        id,
        digest(token),
        input.userId,
        input.via,
        input.stage,
        input.mfa,
        lifetime,
        input.clientIp ?? null,
        (input.userAgent ?? '').slice(0, 300) || null,
      ],
    );
    return { token, sessionId: id };
  }

  /** Resolves a presented token; touching it extends the idle window. */
  async function authenticate(token: string | undefined): Promise<AuthenticateResult> {
    if (!token || token.length > 200 || !/^[A-Za-z0-9_-]+$/.test(token)) return { ok: false, reason: 'unknown' };
    const hash = digest(token);
    const { rows } = await pool.query<Row>(
      `UPDATE wact.sessions s SET last_seen_at = now()
         FROM wact.users u
        WHERE s.token_hash = $1 AND u.id = s.user_id
          AND s.revoked_at IS NULL AND u.disabled_at IS NULL
          AND s.expires_at > now()
          AND (s.via = 'cli' OR s.last_seen_at > now() - make_interval(secs => $2::double precision / 1000))
        RETURNING s.id, s.user_id, u.kind, u.display_name, u.email, u.employee_role, s.via, s.stage, s.mfa, s.expires_at`,
      [hash, idleMs],
    );
    if (rows[0]) return { ok: true, session: toSession(rows[0]) };
    const known = await pool.query<{ revoked: boolean }>(
      'SELECT revoked_at IS NOT NULL AS revoked FROM wact.sessions WHERE token_hash = $1',
      [hash],
    );
    if (!known.rows[0]) return { ok: false, reason: 'unknown' };
    return { ok: false, reason: known.rows[0].revoked ? 'revoked' : 'expired' };
  }

  /**
   * After TOTP: the session becomes active with a NEW token (no fixation of the
   * pre-TOTP token) and its absolute lifetime starts at sign-in.
   */
  async function activate(sessionId: string, mfa: boolean): Promise<string> {
    const token = randomToken();
    const { rowCount } = await pool.query(
      `UPDATE wact.sessions SET token_hash = $2, stage = 'active', mfa = $3, last_seen_at = now(),
              expires_at = created_at + make_interval(secs => $4::double precision / 1000)
        WHERE id = $1 AND revoked_at IS NULL AND expires_at > now()`,
      [sessionId, digest(token), mfa, maxMs],
    );
    if (!rowCount) throw new Error('session ended before activation');
    return token;
  }

  async function setStage(sessionId: string, stage: SessionStage): Promise<void> {
    await pool.query('UPDATE wact.sessions SET stage = $2 WHERE id = $1 AND revoked_at IS NULL', [sessionId, stage]);
  }

  async function revoke(sessionId: string, by: string | null, reason: string): Promise<boolean> {
    const { rowCount } = await pool.query(
      'UPDATE wact.sessions SET revoked_at = now(), revoked_by = $2, revoke_reason = $3 WHERE id = $1 AND revoked_at IS NULL',
      [sessionId, by, reason],
    );
    return (rowCount ?? 0) > 0;
  }

  /** Revokes every live session of a user (optionally keeping one); returns how many ended. */
  async function revokeAllForUser(userId: string, by: string | null, reason: string, exceptSessionId?: string): Promise<number> {
    const { rowCount } = await pool.query(
      `UPDATE wact.sessions SET revoked_at = now(), revoked_by = $2, revoke_reason = $3
        WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now() AND ($4::uuid IS NULL OR id <> $4::uuid)`,
      [userId, by, reason, exceptSessionId ?? null],
    );
    return rowCount ?? 0;
  }

  async function listForUser(userId: string) {
    const { rows } = await pool.query<{
      id: string;
      via: string;
      stage: string;
      created_at: Date;
      last_seen_at: Date;
      expires_at: Date;
      client_ip: string | null;
      user_agent: string | null;
    }>(
      `SELECT id, via, stage, created_at, last_seen_at, expires_at, client_ip, user_agent FROM wact.sessions
        WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()
          AND (via = 'cli' OR last_seen_at > now() - make_interval(secs => $2::double precision / 1000))
        ORDER BY created_at DESC`,
      [userId, idleMs],
    );
    return rows.map((r) => ({
      id: r.id,
      via: r.via,
      stage: r.stage,
      createdAt: r.created_at.toISOString(),
      lastSeenAt: r.last_seen_at.toISOString(),
      expiresAt: r.expires_at.toISOString(),
      clientIp: r.client_ip,
      userAgent: r.user_agent,
    }));
  }

  return { create, authenticate, activate, setStage, revoke, revokeAllForUser, listForUser };
}

export type SessionService = ReturnType<typeof createSessionService>;
