import pg from 'pg';
import { ForbiddenError, NotFoundError } from '../../shared/errors/errors.ts';
import type { AccessService } from '../../shared/access/access-service.ts';
import type { AccessActor, AccessSessionView } from '../../shared/access/access-types.ts';

/**
 * Support: "open workspace for ticket …" starts a redacted access session;
 * browsing then reads the `redacted` views AS that session's own database
 * role (a pool logged in with the session's credential), so masking and the
 * workspace boundary are enforced by the database, not by this code.
 */

export const REDACTED_VIEWS = {
  conversations: { sortable: ['started_at', 'created_at', 'provider', 'attribution_method'], defaultSort: 'started_at' },
  clicks: { sortable: ['created_at', 'source', 'utm_campaign'], defaultSort: 'created_at' },
  conversions: { sortable: ['occurred_at', 'created_at', 'event', 'value'], defaultSort: 'occurred_at' },
  links: { sortable: ['created_at'], defaultSort: 'created_at' },
  api_keys: { sortable: ['created_at'], defaultSort: 'created_at' },
  bsp_credentials: { sortable: ['provider', 'updated_at'], defaultSort: 'provider' },
  export_jobs: { sortable: ['created_at', 'platform'], defaultSort: 'created_at' },
  export_attempts: { sortable: ['created_at', 'outcome'], defaultSort: 'created_at' },
} as const satisfies Record<string, { sortable: readonly string[]; defaultSort: string }>;
export type RedactedView = keyof typeof REDACTED_VIEWS;

export function isRedactedView(v: string): v is RedactedView {
  return Object.hasOwn(REDACTED_VIEWS, v);
}

export function createSupportService(deps: { access: AccessService }) {
  const { access } = deps;
  const pools = new Map<string, { pool: pg.Pool; expiresAt: number }>();

  const drop = (sessionId: string) => {
    const entry = pools.get(sessionId);
    if (!entry) return;
    pools.delete(sessionId);
    void entry.pool.end().catch(() => undefined);
  };
  // An ended session's pool is never used again (browse reads the active session from the
  // database each time, and the end terminated the role's backends); it goes at its expiry.

  async function poolFor(row: NonNullable<Awaited<ReturnType<AccessService['activeSupportSession']>>>): Promise<pg.Pool> {
    const cached = pools.get(row.id);
    if (cached) return cached.pool;
    const { target, login } = access.upstreamLogin(row);
    const pool = new pg.Pool({
      host: target.host,
      port: target.port,
      database: target.database,
      user: login.user,
      password: () => login.password(),
      ssl: target.ssl || undefined,
      max: 2,
      idleTimeoutMillis: 10_000,
      application_name: `wact-support ${row.id}`.slice(0, 63),
    });
    pool.on('error', () => undefined);
    const expiresAt = row.expires_at!.getTime();
    pools.set(row.id, { pool, expiresAt });
    setTimeout(() => drop(row.id), Math.max(0, expiresAt - Date.now())).unref();
    return pool;
  }

  return {
    /** Opens (or returns the still-active) redacted support session of this agent on the workspace. */
    async open(actor: AccessActor, workspaceId: string, input: { reason: string; ttl?: string | number }): Promise<AccessSessionView> {
      if (actor.employeeRole !== 'support') throw new ForbiddenError('support sessions are for the support role', 'not_support');
      const { session } = await access.request(
        actor,
        { workspaceId, reason: input.reason, ttl: input.ttl, scope: 'redacted' },
        { purpose: 'support' },
      );
      return session;
    },

    /** One page of a redacted view, read as the session role. */
    async browse(
      actor: AccessActor,
      workspaceId: string,
      view: string,
      q: { sortField?: string; order: 'ASC' | 'DESC'; offset: number; limit: number },
    ): Promise<{ rows: Record<string, unknown>[]; total: number; sessionId: string }> {
      if (!isRedactedView(view)) throw new NotFoundError('unknown view', 'view_not_found');
      const spec = REDACTED_VIEWS[view];
      const row = await access.activeSupportSession(actor.userId, workspaceId);
      if (!row) throw new ForbiddenError('open a support session for this workspace first', 'support_session_required');
      const sort = q.sortField && (spec.sortable as readonly string[]).includes(q.sortField) ? q.sortField : spec.defaultSort;
      const pool = await poolFor(row);
      // View and column come from the allow-list above; values are parameters.
      const [page, count] = await Promise.all([
        pool.query(
          `SELECT * FROM redacted.${view} WHERE workspace_id = $1 ORDER BY ${sort} ${q.order === 'ASC' ? 'ASC' : 'DESC'} NULLS LAST LIMIT $2 OFFSET $3`,
          [workspaceId, q.limit, q.offset],
        ),
        pool.query<{ n: string }>(`SELECT count(*) AS n FROM redacted.${view} WHERE workspace_id = $1`, [workspaceId]),
      ]);
      await access.countStatements(row.id, 2).catch(() => undefined);
      return { rows: page.rows, total: Number(count.rows[0].n), sessionId: row.id };
    },

    async close(): Promise<void> {
      for (const id of [...pools.keys()]) drop(id);
    },
  };
}

export type SupportService = ReturnType<typeof createSupportService>;
