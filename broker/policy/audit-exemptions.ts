/**
 * THE list of read routes that write no audit event of their own, each with
 * the reason (issue 13, point 5). Every other route the broker registers for
 * GET — /api, /auth, /.well-known, the console — must declare `audit` on its
 * ApiRoute (broker/http/route-types.ts) so that the machinery writes the event
 * before any data leaves. test/audit/audit-routes.test.ts walks the express
 * app's registered routes and fails on a GET that is neither audited nor
 * listed here, and on an entry here that no longer matches a route.
 *
 * Keys are `GET <full path as registered>`; a RegExp-mounted route (the
 * console's page fallback) is keyed by its source in slashes.
 *
 * What may be listed: the caller's own account, public material, static
 * configuration, and platform records about employees that the access flow
 * itself audits. Never a route that returns customer data or a workspace's
 * security settings.
 */
export const AUDIT_EXEMPT_READS: Readonly<Record<string, string>> = {
  'GET /auth/login': 'starts sign-in: a redirect to the identity provider, no data',
  'GET /auth/callback': 'finishes sign-in: writes auth.login itself (success and failure)',
  'GET /auth/cli/device': 'device-flow approval page for the CLI: the code being approved, no data',
  'GET /.well-known/wact-audit-keys': 'public audit signing keys: published so anyone can verify exports',
  'GET /api/me': "the caller's own identity and memberships",
  'GET /api/me/sessions': "the caller's own broker sessions",
  'GET /api/workspaces': "the caller's own workspace list (names, regions, their role)",
  'GET /api/openapi.json': 'the public API description (paths, schemas, permissions), no data',
  'GET /api/console/config': 'static console configuration (feature switches, no data)',
  'GET /api/employees':
    'platform record of employees and their TOTP status, for security officers; no customer data (revocations are audited)',
  'GET /api/db/sessions':
    "employees' database access requests (own; security: the approval queue); every request, decision and statement is audited by the access flow",
  'GET /api/db/sessions/:id': 'one access request, same as GET /api/db/sessions',
  'GET /api/db/notifications': "the employee's own notifications about their access requests",
  'GET /^\\/(?!api\\/|auth\\/).*/': 'the console SPA shell (static files, no data)',
};
