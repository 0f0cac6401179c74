import express from 'express';
import type { AuditEventInput } from '../../shared/audit/audit-types.ts';
import { BadRequestError, ForbiddenError, UnauthorizedError, WactError } from '../../shared/errors/errors.ts';
import { decide } from '../policy/policy.ts';
import type { CustomerRole } from '../../shared/permissions/permissions.ts';
import type { ApiRequest, ApiRoute, AuthContext, BrokerServices } from './route-types.ts';
import { sendError, ServiceUnavailableError } from './api-errors.ts';
import { readCookie, SESSION_COOKIE } from '../auth/cookies.ts';
import { csrfTokenFor, safeEqual } from '../auth/tokens.ts';
import { buildOpenApi } from './openapi.ts';
import type { SessionService, SessionUser } from '../auth/session-service.ts';

export interface MembershipLookup {
  roleOf(workspaceId: string, userId: string): Promise<CustomerRole | undefined>;
  requiresTotp(workspaceId: string): Promise<boolean>;
}

export interface ConditionChecks {
  /** Provided by the access feature: an active, unexpired support session of this agent on this workspace. */
  supportSessionActive?: (services: BrokerServices, userId: string, workspaceId: string) => Promise<boolean>;
}

export interface MountDeps {
  services: BrokerServices;
  sessions: Pick<SessionService, 'authenticate'>;
  memberships: MembershipLookup;
  conditions: ConditionChecks;
  /** The broker's own origin (scheme://host:port): a state-changing request from another Origin is refused. */
  publicOrigin: () => string;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The presented credential: a CLI bearer token, else the session cookie. */
export function presentedToken(req: express.Request): { token: string | undefined; via: 'browser' | 'cli' } {
  const authz = req.headers.authorization;
  if (typeof authz === 'string' && /^Bearer /i.test(authz)) return { token: authz.slice(7).trim(), via: 'cli' };
  return { token: readCookie(req, SESSION_COOKIE), via: 'browser' };
}

/**
 * Resolves the caller's session. `allowPending` admits sessions still in a
 * TOTP stage (only the /auth/totp endpoints use it).
 */
export async function authenticateRequest(
  req: express.Request,
  sessions: Pick<SessionService, 'authenticate'>,
  opts: { allowPending?: boolean } = {},
): Promise<{ session: SessionUser; token: string }> {
  const { token, via } = presentedToken(req);
  if (!token) throw new UnauthorizedError('sign in first', 'unauthenticated');
  const result = await sessions.authenticate(token);
  if (!result.ok) {
    if (result.reason === 'expired') throw new UnauthorizedError('your session has expired: sign in again', 'session_expired');
    if (result.reason === 'revoked') throw new UnauthorizedError('your session was ended: sign in again', 'session_revoked');
    throw new UnauthorizedError('sign in first', 'unauthenticated');
  }
  // A CLI token is never accepted from a cookie, nor a browser token as a bearer.
  if (result.session.via !== via) throw new UnauthorizedError('sign in first', 'unauthenticated');
  if (result.session.stage !== 'active' && !opts.allowPending) {
    // 403, not 401: the caller IS signed in (the console then shows the TOTP step, not the login page).
    throw new ForbiddenError(
      'finish signing in (TOTP) first',
      result.session.stage === 'totp_enroll' ? 'totp_enrollment_required' : 'totp_required',
    );
  }
  return { session: result.session, token };
}

/** CSRF for cookie sessions: the derived token in X-CSRF-Token, and no foreign Origin. */
export function checkCsrf(req: express.Request, via: 'browser' | 'cli', sessionToken: string, publicOrigin: string): void {
  if (SAFE_METHODS.has(req.method) || via === 'cli') return;
  const origin = req.headers.origin;
  if (typeof origin === 'string' && origin !== 'null' && origin !== publicOrigin)
    throw new ForbiddenError('cross-origin request refused', 'csrf_failed');
  const presented = req.headers['x-csrf-token'];
  if (typeof presented !== 'string' || !safeEqual(presented, csrfTokenFor(sessionToken))) {
    throw new ForbiddenError('missing or invalid CSRF token (X-CSRF-Token)', 'csrf_failed');
  }
}

export function reasonOf(req: express.Request): string | undefined {
  const header = req.headers['x-wact-reason'];
  const fromBody =
    req.body && typeof req.body === 'object' && typeof (req.body as { reason?: unknown }).reason === 'string'
      ? (req.body as { reason: string }).reason
      : undefined;
  const raw = typeof header === 'string' ? header : fromBody;
  const trimmed = raw?.trim();
  if (!trimmed) return undefined;
  if (trimmed.length > 500) throw new BadRequestError('reason is longer than 500 characters', 'invalid_reason');
  return trimmed;
}

export function clientIp(req: express.Request): string {
  return req.socket.remoteAddress ?? 'unknown';
}

function actorOf(auth: AuthContext): AuditEventInput['actor'] {
  return { id: auth.userId, kind: auth.kind, role: auth.employeeRole ?? auth.workspaceRole, displayName: auth.displayName };
}

/** Mounts declarative routes on `router` with authentication, CSRF, policy and audit in front of every handler. */
export function mountApiRoutes(router: express.Router, routes: readonly ApiRoute[], deps: MountDeps): void {
  const { services } = deps;
  // The API description, built once from these very routes and their schemas. Public: it
  // describes shapes and permissions, no data (the console bundle tells as much).
  let openApi: string | undefined;
  router.get('/openapi.json', (_req, res) => {
    openApi ??= JSON.stringify(buildOpenApi({ routes }));
    res.type('application/json').send(openApi);
  });
  for (const route of routes) {
    router[route.method](route.path, async (req: express.Request, res: express.Response) => {
      const apiReq = req as ApiRequest;
      try {
        const { session, token } = await authenticateRequest(req, deps.sessions);
        checkCsrf(req, session.via, token, deps.publicOrigin());
        const auth: AuthContext = {
          userId: session.userId,
          kind: session.kind,
          displayName: session.displayName,
          employeeRole: session.employeeRole,
          sessionId: session.sessionId,
          mfa: session.mfa,
          via: session.via,
        };
        apiReq.auth = auth;
        apiReq.services = services;
        const reason = reasonOf(req);
        apiReq.reason = reason;

        const workspaceId = typeof req.params.workspaceId === 'string' ? req.params.workspaceId : undefined;
        if (workspaceId !== undefined) apiReq.workspace = await services.platform.workspaces.get(workspaceId); // 404 if unknown
        let workspaceRole: CustomerRole | undefined;
        let requiresTotp = false;
        if (workspaceId && auth.kind === 'customer') {
          workspaceRole = await deps.memberships.roleOf(workspaceId, auth.userId);
          requiresTotp = workspaceRole ? await deps.memberships.requiresTotp(workspaceId) : false;
          auth.workspaceRole = workspaceRole;
        }
        const decision = await decide({ kind: auth.kind, employeeRole: auth.employeeRole, mfa: auth.mfa }, route.permission, {
          workspaceId,
          workspaceRole,
          workspaceRequiresTotp: requiresTotp,
          reason,
          supportSessionActive:
            workspaceId && deps.conditions.supportSessionActive
              ? () => deps.conditions.supportSessionActive!(services, auth.userId, workspaceId)
              : undefined,
        });
        if (!decision.allowed) {
          await services.platform.audit
            .append({
              action: 'access.denied',
              actor: actorOf(auth),
              target: { type: 'route', id: `${route.method.toUpperCase()} ${route.path}` },
              sessionId: auth.sessionId,
              clientIp: clientIp(req),
              outcome: 'denied',
              metadata: { permission: route.permission, code: decision.code, workspace: workspaceId ?? null },
            })
            .catch((err: unknown) => services.platform.logger.warn({ err }, 'could not audit a denial'));
          throw new WactError(decision.status, decision.code, decision.message);
        }

        let recorded = false;
        apiReq.recordAudit = async (extra = {}) => {
          if (!route.audit || recorded) return;
          const ws = apiReq.workspace;
          try {
            await services.platform.audit.append({
              action: route.audit.action,
              actor: actorOf(auth),
              workspaceId: ws?.id ?? null,
              region: ws?.region,
              target: { type: route.audit.target, id: extra.targetId ?? (typeof req.params.id === 'string' ? req.params.id : undefined) },
              reason,
              sessionId: auth.sessionId,
              clientIp: clientIp(req),
              userAgent: typeof req.headers['user-agent'] === 'string' ? req.headers['user-agent'].slice(0, 200) : undefined,
              outcome: 'success',
              metadata: extra.metadata,
            });
          } catch (err) {
            // A refused event (e.g. an employee read without a reason) is the caller's 4xx.
            if (err instanceof WactError && err.status < 500) throw err;
            services.platform.logger.error({ err }, 'audit append failed: refusing to send data');
            throw new ServiceUnavailableError('the audit log is unavailable, so this data cannot be shown', 'audit_unavailable');
          }
          recorded = true;
        };

        const result = await route.handler(apiReq, res);
        if (res.headersSent) {
          if (route.audit && !recorded)
            services.platform.logger.error({ route: route.path }, 'handler sent data before recording its audit event');
          return;
        }
        await apiReq.recordAudit();
        if (result === undefined) res.status(res.statusCode === 200 ? 204 : res.statusCode).end();
        else res.json(result);
      } catch (err) {
        sendError(res, err, services.platform.logger);
      }
    });
  }
}
