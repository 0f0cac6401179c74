/* eslint-disable @typescript-eslint/no-explicit-any -- loosely shaped broker JSON, read field by field with fallbacks */
/**
 * Where each console resource lives in the broker API. Workspace resources sit under
 * `/api/workspaces/:workspaceId/` (the current workspace is part of the base path, so the
 * broker's policy resolves the member's role in that workspace); employee resources sit
 * directly under `/api/`. One table, so a renamed route is a one-line change.
 */
export interface ResourceRoute {
  scope: 'workspace' | 'global';
  path: string;
}

export const RESOURCE_ROUTES: Record<string, ResourceRoute> = {
  conversations: { scope: 'workspace', path: 'conversations' },
  clicks: { scope: 'workspace', path: 'clicks' },
  conversions: { scope: 'workspace', path: 'conversions' },
  'ad-exports': { scope: 'workspace', path: 'exports' },
  links: { scope: 'workspace', path: 'links' },
  'api-keys': { scope: 'workspace', path: 'api-keys' },
  credentials: { scope: 'workspace', path: 'credentials' },
  members: { scope: 'workspace', path: 'members' },
  invitations: { scope: 'workspace', path: 'invitations' },
  'deletion-requests': { scope: 'workspace', path: 'deletion-requests' },
  audit: { scope: 'workspace', path: 'audit/events' },
  // Support agents read the redacted views (masking done by the database) during a support session.
  'support-conversations': { scope: 'workspace', path: 'support/conversations' },
  'support-clicks': { scope: 'workspace', path: 'support/clicks' },
  workspaces: { scope: 'global', path: 'workspaces' },
  // Support sessions are access sessions with purpose 'support' (opened per workspace, listed with the others).
  'support-sessions': { scope: 'global', path: 'db/sessions' },
  'db-sessions': { scope: 'global', path: 'db/sessions' },
  approvals: { scope: 'global', path: 'db/sessions' },
  'platform-audit': { scope: 'global', path: 'platform/audit/events' },
  employees: { scope: 'global', path: 'employees' },
};

/**
 * Creations that do not follow simple-REST: the broker takes them at another path and
 * answers with more than the record. `unwrap` returns the record to keep; anything secret
 * in the answer (a gateway password) is handed to `keep` and never enters the query cache.
 */
export interface CreateRoute {
  path: (data: Record<string, any>) => string;
  body: (data: Record<string, any>) => Record<string, unknown>;
  unwrap: (json: any) => Record<string, any>;
}

export const CREATE_ROUTES: Record<string, CreateRoute> = {
  'db-sessions': {
    path: () => '/api/db/requests',
    body: (d) => ({ workspaceId: d.workspaceId, reason: d.reason, scope: d.scope, ttl: d.ttlMinutes ? `${d.ttlMinutes}m` : undefined }),
    unwrap: (json) => json.session ?? json,
  },
  'support-sessions': {
    path: (d) => `/api/workspaces/${encodeURIComponent(String(d.workspaceId ?? ''))}/support/sessions`,
    body: (d) => ({ reason: d.reason, ttl: d.ttlMinutes ? `${d.ttlMinutes}m` : undefined }),
    unwrap: (json) => json.session ?? json,
  },
};

export class NoWorkspaceError extends Error {
  status = 409;
  constructor() {
    super('Choose a workspace first.');
  }
}

export function routeOf(resource: string): ResourceRoute {
  return RESOURCE_ROUTES[resource] ?? { scope: 'workspace', path: resource };
}

/** The API base for a resource: `/api` or `/api/workspaces/<id>`. */
export function baseFor(resource: string, workspaceId: string | undefined): string {
  const route = routeOf(resource);
  if (route.scope === 'global') return '/api';
  if (!workspaceId) throw new NoWorkspaceError();
  return `/api/workspaces/${encodeURIComponent(workspaceId)}`;
}

/** Expands `{ws}` in a custom path with the current workspace. */
export function expandPath(path: string, workspaceId: string | undefined): string {
  if (!path.includes('{ws}')) return path;
  if (!workspaceId) throw new NoWorkspaceError();
  return path.replaceAll('{ws}', encodeURIComponent(workspaceId));
}
