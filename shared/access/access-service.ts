import crypto from 'node:crypto';
import type { AuditEventInput, AuditLog } from '../audit/audit-types.ts';
import { looksLikeIdentifier } from '../audit/audit-validation.ts';
import type { Region } from '../config/config.ts';
import type { FieldCrypto } from '../crypto/field-cipher.ts';
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError } from '../errors/errors.ts';
import type { Workspace } from '../workspaces/workspace-service.ts';
import { targetFromUrl, type DatabaseTarget } from '../db/database-target.ts';
import { toView, type AccessDal, type AccessSessionRow } from './access-dal.ts';
import {
  decisionInput,
  listQuery,
  parseTtl,
  requestInput,
  ticketFromReason,
  type AccessActor,
  type AccessSessionView,
  type AccessSettings,
  type ConnectionInfo,
  type ListQuery,
  type RequestInput,
  type SessionLogin,
  type SessionState,
  type TokenCheck,
} from './access-types.ts';
import { rdsIamToken, type SessionRoles } from './session-roles.ts';
import { connectionDetails } from './connection-details.ts';

/**
 * Access requests and the sessions they become. Rules:
 * - a reason of at least 10 characters, TTL default 5 min, max 15;
 * - redacted scope is granted at once; full scope waits for a different
 *   employee with the security role (four eyes);
 * - the requester alone receives the gateway token (shown once, stored as its
 *   SHA-256); the upstream credential never leaves the broker;
 * - every request, decision, grant, revocation and expiry is an audit event
 *   in the workspace's own audit stream, so the customer sees it.
 */

const SECRET_CONTEXT = { table: 'access_sessions', column: 'upstream_secret' } as const;
/** How long the call that ended a session has to write its end event before the sweeper writes it instead. */
const UNAUDITED_GRACE_SECONDS = 30;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface AccessServiceDeps {
  dal: AccessDal;
  roles: SessionRoles;
  audit: AuditLog;
  fieldCrypto: FieldCrypto;
  workspaces: { get(id: string): Promise<Workspace> };
  /** Operator or service URL of each regional database: only host, port, database and sslmode are used. */
  regionalUrls: Record<Region, string>;
  settings: AccessSettings;
  /** Extra CA for verifying the upstream database's certificate. */
  upstreamCa?: string;
  /** For tests: RDS signer credentials (offline signing). */
  rdsCredentials?: Parameters<typeof rdsIamToken>[0]['credentials'];
}

export function hashToken(token: string): Buffer {
  return crypto.createHash('sha256').update(token, 'utf8').digest();
}

export function createAccessService(deps: AccessServiceDeps) {
  const { dal, roles, audit, settings } = deps;

  function actorOf(a: AccessActor): AuditEventInput['actor'] {
    return { id: a.userId, kind: 'employee', role: a.employeeRole, displayName: a.displayName };
  }
  function requesterOf(r: AccessSessionRow): AuditEventInput['actor'] {
    return { id: r.requester_id, kind: 'employee', role: r.requester_role, displayName: r.requester_name };
  }
  function event(
    r: AccessSessionRow,
    action: string,
    actor: AuditEventInput['actor'],
    outcome: AuditEventInput['outcome'] = 'success',
    extra: Record<string, string | number | boolean | null> = {},
  ): AuditEventInput {
    return {
      action,
      actor,
      workspaceId: r.workspace_id,
      region: r.region,
      target: { type: 'db_session', id: r.id },
      reason: r.reason,
      sessionId: r.id,
      outcome,
      metadata: {
        scope: r.scope,
        purpose: r.purpose,
        ticket: r.ticket_ref,
        requester: r.requester_name,
        ttlSeconds: r.ttl_seconds,
        expiresAt: r.expires_at ? r.expires_at.toISOString() : null,
        statements: Number(r.statements_count),
        ...extra,
      },
    };
  }

  function connectionInfo(id: string, token: string): ConnectionInfo {
    return connectionDetails({ host: settings.gatewayHost, port: settings.gatewayPort }, id, token, settings.gatewayTrust?.());
  }

  async function load(id: string): Promise<AccessSessionRow> {
    if (!UUID.test(id)) throw new NotFoundError('unknown access session', 'session_not_found');
    const row = await dal.get(id);
    if (!row) throw new NotFoundError('unknown access session', 'session_not_found');
    return row;
  }

  /** Mints the role and flips the request to active; undoes the role if the request changed meanwhile. */
  async function grant(
    row: AccessSessionRow,
    opts: { issueToken: boolean; decision?: { by: string; byName: string; note: string | null } },
  ) {
    const expiresAt = new Date(Date.now() + row.ttl_seconds * 1000);
    const minted = await roles.mint({ sessionId: row.id, region: row.region, workspaceId: row.workspace_id, scope: row.scope, expiresAt });
    try {
      const secret = minted.password ? await deps.fieldCrypto.encrypt(row.workspace_id, row.region, SECRET_CONTEXT, minted.password) : null;
      const token = opts.issueToken ? crypto.randomBytes(32).toString('base64url') : null;
      const active = await dal.activate(
        row.id,
        {
          roleName: minted.roleName,
          authMode: settings.authMode,
          expiresAt,
          upstreamSecret: secret,
          tokenHash: token ? hashToken(token) : null,
        },
        opts.decision,
      );
      if (!active) throw new ConflictError('the request was decided or withdrawn meanwhile', 'request_not_pending');
      return { row: active, token };
    } catch (err) {
      await roles.end(row.region, minted.roleName).catch(() => undefined);
      throw err;
    }
  }

  function describeError(err: unknown): string {
    const e = err as { message?: string; detail?: string; code?: string };
    return [e.code, e.message ?? String(err), e.detail].filter(Boolean).join(': ').slice(0, 1000);
  }

  /**
   * Stage one of ending a session's role: "no grant, no login" committed in
   * the regional database, then its backends terminated. Never throws: a
   * failure is recorded on the session (visible in the API) and the sweeper
   * retries, so the security officer's call and the end event never depend
   * on it.
   */
  async function disableRole(row: AccessSessionRow): Promise<{ roleDisabled: boolean; backendsTerminated: number }> {
    if (!row.role_name) return { roleDisabled: true, backendsTerminated: 0 };
    let roleDisabled = false;
    try {
      await roles.disable(row.region, row.role_name);
      roleDisabled = true;
      await dal.markDisabled(row.id);
      return { roleDisabled, backendsTerminated: await roles.terminate(row.region, row.role_name) };
    } catch (err) {
      await dal.cleanupFailed(row.id, describeError(err)).catch(() => undefined);
      return { roleDisabled, backendsTerminated: 0 };
    }
  }

  /**
   * Stage two: drop what the role owns and the role. Runs only after stage
   * one, and its failure (an object it owns elsewhere, a lock) undoes
   * nothing: it is recorded and retried by the sweeper. Never throws.
   */
  async function dropRole(row: AccessSessionRow): Promise<boolean> {
    if (!row.role_name) return true;
    try {
      // A backend that outlived stage one's wait (or a retry after a crash) ends first; the role cannot log in again.
      await roles.terminate(row.region, row.role_name);
      await roles.drop(row.region, row.role_name);
      await dal.markDropped(row.id);
      return true;
    } catch (err) {
      await dal.cleanupFailed(row.id, describeError(err)).catch(() => undefined);
      return false;
    }
  }

  /** Both stages for a session whose earlier attempt did not finish. */
  async function retryEnd(row: AccessSessionRow): Promise<boolean> {
    if (!row.role_disabled_at && !(await disableRole(row)).roleDisabled) return false;
    return dropRole(row);
  }

  const SYSTEM_ACTOR: AuditEventInput['actor'] = {
    id: 'service:access-broker',
    kind: 'service',
    role: 'broker',
    displayName: 'access broker',
  };

  /** How a session ended, as its audit event says it (also when the sweeper writes a missed one). */
  function endEvent(row: AccessSessionRow): { action: string; actor: AuditEventInput['actor']; extra: Record<string, string | boolean> } {
    if (row.status === 'revoked') {
      const byName = row.revoked_by_name ?? 'security';
      return {
        action: 'db.session.revoked',
        actor: { id: row.revoked_by ?? 'unknown', kind: 'employee', role: 'security', displayName: byName },
        extra: { revokedBy: byName },
      };
    }
    if (row.status === 'ended') return { action: 'db.session.ended', actor: requesterOf(row), extra: {} };
    return { action: row.role_name ? 'db.session.expired' : 'db.access.expired', actor: SYSTEM_ACTOR, extra: {} };
  }

  /**
   * The revoked / expired / ended event. Written after stage one whatever its
   * outcome; if the append itself fails the session stays unaudited and the
   * sweeper writes it later (at least once), so this never throws either.
   */
  async function auditEnd(row: AccessSessionRow, extra: Record<string, string | number | boolean | null> = {}): Promise<void> {
    const e = endEvent(row);
    try {
      await audit.append(event(row, e.action, e.actor, 'success', { ...e.extra, ...extra }));
      await dal.markEndAudited(row.id);
    } catch {
      // Left for the sweeper (dal.unaudited).
    }
  }

  /** Ends a session that this call moved out of active/pending: stage one, event, notice, stage two. */
  async function finishSession(row: AccessSessionRow, notice?: { kind: string; message: string }): Promise<AccessSessionRow> {
    const stage = await disableRole(row);
    await auditEnd(row, row.role_name ? stage : {});
    if (notice) await dal.notify(row.requester_id, row.id, notice.kind, notice.message).catch(() => undefined);
    if (stage.roleDisabled) await dropRole(row);
    return (await dal.get(row.id).catch(() => undefined)) ?? row;
  }

  const service = {
    settings,

    /** An employee asks for a session on one workspace. */
    async request(
      actor: AccessActor,
      input: RequestInput,
      opts: { purpose?: 'db' | 'support' } = {},
    ): Promise<{ session: AccessSessionView; connection?: ConnectionInfo }> {
      const parsed = requestInput.safeParse(input);
      if (!parsed.success) throw new BadRequestError(parsed.error.issues[0].message, 'invalid_request');
      const { workspaceId, reason, scope } = parsed.data;
      // The reason goes into every audit record of the session, which refuses raw identifiers.
      if (looksLikeIdentifier(reason))
        throw new BadRequestError('the reason must not contain phone numbers or e-mail addresses', 'reason_has_identifier');
      const ttlSeconds = parseTtl(parsed.data.ttl, { defaultSeconds: settings.defaultTtlSeconds, maxSeconds: settings.maxTtlSeconds });
      if (actor.employeeRole === 'security')
        throw new ForbiddenError('security reviews access; it does not request database sessions', 'role_cannot_request');
      if (actor.employeeRole === 'support' && scope !== 'redacted')
        throw new ForbiddenError('support may request redacted sessions only', 'scope_not_allowed');
      const ws = await deps.workspaces.get(workspaceId);
      const row = await dal.insert({
        id: crypto.randomUUID(),
        requesterId: actor.userId,
        requesterName: actor.displayName,
        requesterRole: actor.employeeRole,
        workspaceId: ws.id,
        region: ws.region,
        scope,
        purpose: opts.purpose ?? 'db',
        reason,
        ticketRef: ticketFromReason(reason),
        ttlSeconds,
      });
      await audit.append(event(row, 'db.access.requested', actorOf(actor)));
      if (scope === 'full') {
        await dal.notify(
          actor.userId,
          row.id,
          'requested',
          `Full-scope request for workspace ${ws.name} is waiting for approval by security.`,
        );
        return { session: toView(row) };
      }
      // Support sessions browse through the broker API: no gateway token unless asked for later.
      const granted = await grant(row, { issueToken: row.purpose === 'db' });
      await audit.append(event(granted.row, 'db.session.granted', actorOf(actor), 'success', { approval: 'not required (redacted)' }));
      return { session: toView(granted.row), connection: granted.token ? connectionInfo(granted.row.id, granted.token) : undefined };
    },

    /** Four eyes: a security employee other than the requester approves a full-scope request. */
    async approve(actor: AccessActor, id: string, input: unknown = {}): Promise<AccessSessionView> {
      const { note } = decisionInput.parse(input ?? {});
      const row = await load(id);
      if (actor.employeeRole !== 'security') throw new ForbiddenError('only security may approve access requests', 'not_security');
      if (row.requester_id === actor.userId) {
        await audit.append(event(row, 'db.access.approve', actorOf(actor), 'denied', { refusal: 'requester cannot approve own request' }));
        throw new ForbiddenError('the requester cannot approve their own request (four eyes)', 'four_eyes');
      }
      if (row.status !== 'pending') throw new ConflictError(`the request is ${row.status}, not pending`, 'request_not_pending');
      const granted = await grant(row, {
        issueToken: false,
        decision: { by: actor.userId, byName: actor.displayName, note: note ?? null },
      });
      await audit.append(event(granted.row, 'db.access.approved', actorOf(actor), 'success', { approver: actor.displayName }));
      await dal.notify(
        row.requester_id,
        row.id,
        'approved',
        `Approved by ${actor.displayName}: run \`wact db connect --session ${row.id}\` to get your connection.`,
      );
      return toView(granted.row);
    },

    async deny(actor: AccessActor, id: string, input: unknown = {}): Promise<AccessSessionView> {
      const { note } = decisionInput.parse(input ?? {});
      const row = await load(id);
      if (actor.employeeRole !== 'security') throw new ForbiddenError('only security may deny access requests', 'not_security');
      if (row.requester_id === actor.userId)
        throw new ForbiddenError('the requester cannot decide their own request (four eyes)', 'four_eyes');
      const denied = await dal.deny(row.id, { by: actor.userId, byName: actor.displayName, note: note ?? null });
      if (!denied) throw new ConflictError(`the request is ${row.status}, not pending`, 'request_not_pending');
      await audit.append(event(denied, 'db.access.denied', actorOf(actor), 'success', { note: note ? 'given' : null }));
      await dal.notify(row.requester_id, row.id, 'denied', `Denied by ${actor.displayName}${note ? `: ${note.slice(0, 300)}` : ''}.`);
      return toView(denied);
    },

    /** Security ends a session now; live gateway connections are told and closed. */
    async revoke(actor: AccessActor, id: string): Promise<AccessSessionView> {
      const row = await load(id);
      if (actor.employeeRole !== 'security') throw new ForbiddenError('only security may revoke sessions', 'not_security');
      const done = await dal.finish(row.id, { status: 'revoked', by: actor.userId, byName: actor.displayName });
      if (!done) throw new ConflictError(`the session is ${row.status}`, 'session_not_active');
      // From here on the revocation stands: whatever fails below is recorded and retried, never a 500.
      const ended = await finishSession(done, { kind: 'revoked', message: `Revoked by ${actor.displayName}.` });
      return toView(ended);
    },

    /** The requester ends their own session early. */
    async end(actor: AccessActor, id: string): Promise<AccessSessionView> {
      const row = await load(id);
      if (row.requester_id !== actor.userId) throw new ForbiddenError('only the requester may end this session', 'not_requester');
      const done = await dal.finish(row.id, { status: 'ended' });
      if (!done) throw new ConflictError(`the session is ${row.status}`, 'session_not_active');
      return toView(await finishSession(done));
    },

    /** A fresh gateway token for the requester (the previous one stops working). */
    async issueToken(actor: AccessActor, id: string): Promise<{ session: AccessSessionView; connection: ConnectionInfo }> {
      const row = await load(id);
      if (row.requester_id !== actor.userId) throw new ForbiddenError('only the requester receives the session token', 'not_requester');
      if (row.status === 'pending') throw new ConflictError('the request is waiting for approval by security', 'request_pending');
      if (row.status !== 'active' || !row.expires_at || row.expires_at.getTime() <= Date.now())
        throw new ConflictError(`the session is ${row.status === 'active' ? 'expired' : row.status}`, 'session_not_active');
      const token = crypto.randomBytes(32).toString('base64url');
      const updated = await dal.setToken(row.id, actor.userId, hashToken(token));
      if (!updated) throw new ConflictError('the session is no longer active', 'session_not_active');
      await audit.append(event(updated, 'db.session.token_issued', actorOf(actor)));
      return { session: toView(updated), connection: connectionInfo(updated.id, token) };
    },

    async get(actor: AccessActor, id: string): Promise<AccessSessionView> {
      const row = await load(id);
      if (actor.employeeRole !== 'security' && row.requester_id !== actor.userId)
        throw new NotFoundError('unknown access session', 'session_not_found');
      return toView(row);
    },

    /** Security sees every session; others their own. */
    async list(actor: AccessActor, query: ListQuery = {}): Promise<{ rows: AccessSessionView[]; total: number }> {
      const q = listQuery.parse(query);
      const requesterId = actor.employeeRole === 'security' && !q.mine ? undefined : actor.userId;
      const { rows, total } = await dal.list({ ...q, requesterId });
      return { rows: rows.map(toView), total };
    },

    notifications(actor: AccessActor, opts: { unreadOnly?: boolean } = {}) {
      return dal.notifications(actor.userId, opts);
    },
    markRead(actor: AccessActor, ids: number[]) {
      return dal.markRead(actor.userId, ids);
    },

    /** For the policy's `support-session` condition. */
    async hasActiveSupportSession(userId: string, workspaceId: string): Promise<boolean> {
      if (!UUID.test(userId) || !UUID.test(workspaceId)) return false;
      return !!(await dal.activeSupportSession(userId, workspaceId));
    },
    activeSupportSession(userId: string, workspaceId: string) {
      return dal.activeSupportSession(userId, workspaceId);
    },
    /** Statements run for a session outside the gateway (support browsing through the API). */
    countStatements(sessionId: string, n: number) {
      return dal.addStatements(new Map([[sessionId, n]]));
    },

    /** Expires due sessions (and stale pending requests), drops their roles, audits and notifies. */
    async sweep(): Promise<{ expired: number; dropped: number }> {
      const due = await dal.expireDue(settings.pendingTimeoutSeconds);
      const tried = new Set<string>();
      for (const row of due) {
        tried.add(row.id);
        await finishSession(row, {
          kind: 'expired',
          message: row.role_name ? 'Your database session expired.' : 'Your access request expired without a decision.',
        });
      }
      // Roles whose end did not finish (a failed stage, a crash): retried every sweep until dropped.
      let dropped = 0;
      for (const row of await dal.undropped()) {
        if (tried.has(row.id)) continue;
        if (await retryEnd(row)) dropped++;
      }
      for (const region of Object.keys(deps.regionalUrls) as Region[]) {
        for (const role of await roles.stale(region).catch(() => [] as string[])) {
          await roles.end(region, role).then(
            () => dropped++,
            () => undefined,
          );
        }
      }
      // End events whose append failed (or whose process died first).
      for (const row of await dal.unaudited(UNAUDITED_GRACE_SECONDS)) await auditEnd(row, { recordedLate: true });
      return { expired: due.length, dropped };
    },

    /** Upstream login of the session role: decrypted password, or a fresh RDS IAM token. */
    upstreamLogin(row: Pick<AccessSessionRow, 'id' | 'workspace_id' | 'region' | 'role_name' | 'auth_mode' | 'upstream_secret'>): {
      target: DatabaseTarget;
      login: SessionLogin;
    } {
      const target = targetFromUrl(deps.regionalUrls[row.region], { ca: deps.upstreamCa });
      if (!row.role_name) throw new Error('session has no role');
      const login: SessionLogin = {
        user: row.role_name,
        password: async () => {
          if (row.auth_mode === 'rds-iam') {
            return rdsIamToken({
              hostname: target.host,
              port: target.port,
              username: row.role_name!,
              region: settings.rdsRegions[row.region],
              credentials: deps.rdsCredentials,
            });
          }
          if (!row.upstream_secret) throw new Error('session credential is gone');
          return deps.fieldCrypto.decryptString(row.workspace_id, row.region, SECRET_CONTEXT, row.upstream_secret);
        },
      };
      return { target, login };
    },

    /**
     * A session id and token presented at login (the gateway's). A wrong token is
     * audited as a denied login on that session; an unknown session or a malformed
     * token is refused without a word more.
     */
    async checkToken(sessionId: string, token: string): Promise<TokenCheck> {
      const invalid = { ok: false, refusal: 'invalid' } as const;
      if (!UUID.test(sessionId) || typeof token !== 'string' || token.length < 20 || token.length > 200) return invalid;
      const row = await dal.get(sessionId);
      if (!row || !row.token_hash) return invalid;
      if (!crypto.timingSafeEqual(hashToken(token), row.token_hash)) {
        await audit.append(event(row, 'db.session.login', requesterOf(row), 'denied', { refusal: 'wrong token' })).catch(() => undefined);
        return invalid;
      }
      // The token is right: say plainly why the session cannot be used.
      const unusable = (message: string) => ({ ok: false, refusal: 'unusable', message }) as const;
      if (row.status === 'revoked') return unusable(`session revoked by ${row.revoked_by_name ?? 'security'}`);
      if (row.status === 'expired' || (row.expires_at && row.expires_at.getTime() <= Date.now())) return unusable('session expired');
      if (row.status !== 'active') return unusable(`session ${row.status}`);
      return {
        ok: true,
        session: {
          id: row.id,
          workspaceId: row.workspace_id,
          region: row.region,
          scope: row.scope,
          reason: row.reason,
          ticketRef: row.ticket_ref,
          expiresAt: row.expires_at!,
          roleName: row.role_name!,
          actor: { id: row.requester_id, displayName: row.requester_name, role: row.requester_role },
        },
      };
    },

    /** The upstream login of a session, read afresh (its credential may have changed since the token check). */
    async upstreamOf(sessionId: string): Promise<{ target: DatabaseTarget; login: SessionLogin }> {
      return service.upstreamLogin(await load(sessionId));
    },

    /** Where each of these sessions stands (the gateway re-reads its live ones). */
    async states(ids: string[]): Promise<Map<string, SessionState>> {
      const rows = await dal.statuses(ids);
      return new Map(rows.map((r) => [r.id, { status: r.status, expiresAt: r.expires_at, revokedByName: r.revoked_by_name }]));
    },

    /** Statements run per session through the gateway since its last report. */
    addStatements(counts: Map<string, number>) {
      return dal.addStatements(counts);
    },
  };
  return service;
}

export type AccessService = ReturnType<typeof createAccessService>;
