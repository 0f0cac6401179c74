import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allRoutes } from '../../../broker/http/route-registry.ts';
import type { ApiRoute } from '../../../broker/http/route-types.ts';
import { ALL_ROLES, PERMISSIONS, type PermissionSpec } from '../../../shared/permissions/permissions.ts';
import { startTestBroker, type ApiClient, type TestBroker } from '../../support/broker.ts';

/**
 * Every /api route × every role (7) + anonymous + a member of another
 * workspace. The expected cell comes from THE table (shared/permissions/permissions.ts);
 * the observed one from real HTTP through the real machinery.
 */
type Caller = (typeof ALL_ROLES)[number] | 'anonymous' | 'outsider';
const CALLERS: Caller[] = [...ALL_ROLES, 'anonymous', 'outsider'];
const POLICY_DENIALS = new Set(['forbidden', 'not_a_member', 'support_session_required', 'totp_required']);

function expected(route: ApiRoute, caller: Caller): 'allow' | 'deny' {
  if (caller === 'anonymous') return 'deny';
  const spec: PermissionSpec = PERMISSIONS[route.permission];
  if (caller === 'outsider') {
    // A member of another workspace: no role here; platform permissions open to any customer still apply.
    return spec.scope === 'platform' && spec.condition === 'any-customer' ? 'allow' : 'deny';
  }
  if (!spec.roles.includes(caller))
    return spec.scope === 'platform' && spec.condition === 'any-customer' && ['owner', 'admin', 'analyst', 'readonly'].includes(caller)
      ? 'allow'
      : 'deny';
  if (spec.condition === 'support-session') return 'deny'; // nobody has a support session here
  return 'allow';
}

let b: TestBroker;
const clients = new Map<Caller, ApiClient>();
let workspaceId: string;

beforeAll(async () => {
  b = await startTestBroker();
  const ws = await b.createWorkspace('Matrix');
  workspaceId = ws.id;
  for (const role of ['owner', 'admin', 'analyst', 'readonly'] as const) {
    const { identity } = await b.createCustomer(ws.id, role);
    clients.set(role, await b.loginAs(identity));
  }
  for (const role of ['engineer', 'support', 'security'] as const) clients.set(role, await b.loginAs(b.createEmployee(role)));
  const other = await b.createWorkspace('Elsewhere');
  clients.set('outsider', await b.loginAs((await b.createCustomer(other.id, 'owner')).identity));
  clients.set('anonymous', b.client());
}, 120_000);

afterAll(async () => {
  await b?.close();
});

/** Destructive routes last, so that a wipe cannot change the answers of other cells. */
function order(routes: ApiRoute[]): ApiRoute[] {
  // revoke-all ends the caller's own session: after it nothing else can run.
  const weight = (r: ApiRoute) =>
    r.path.endsWith('/revoke-all') ? 3 : r.permission === 'workspace.wipe' ? 2 : r.method === 'delete' ? 1 : 0;
  return [...routes].sort((x, y) => weight(x) - weight(y));
}

describe('authorization matrix', () => {
  it('every route names a permission of the table', () => {
    for (const r of allRoutes()) expect(PERMISSIONS[r.permission], `${r.method} ${r.path}`).toBeDefined();
    expect(allRoutes().length).toBeGreaterThan(5);
  });

  it('/api/me answers every signed-in caller and refuses anonymous', async () => {
    for (const caller of CALLERS) {
      const res = await clients.get(caller)!.get('/api/me');
      expect(res.status, caller).toBe(caller === 'anonymous' ? 401 : 200);
    }
  });

  it('every route × every caller matches the table', async () => {
    const mismatches: string[] = [];
    for (const route of order(allRoutes())) {
      const path = '/api' + route.path.replace(':workspaceId', workspaceId).replace(/:[A-Za-z]+/g, () => crypto.randomUUID());
      // Callers expected to be denied go first: an allowed call may change state.
      const callers = [...CALLERS].sort((x, y) => (expected(route, x) === 'deny' ? 0 : 1) - (expected(route, y) === 'deny' ? 0 : 1));
      for (const caller of callers) {
        const c = clients.get(caller)!;
        const opts = { reason: 'authorization matrix test' };
        const res =
          route.method === 'get'
            ? await c.get(path, opts)
            : route.method === 'delete'
              ? await c.delete(path, opts)
              : await c[route.method](path, {}, opts);
        const code = res.body?.error?.code as string | undefined;
        const denied = res.status === 401 || (res.status === 403 && POLICY_DENIALS.has(code ?? ''));
        const want = expected(route, caller);
        if ((want === 'deny') !== denied)
          mismatches.push(`${route.method.toUpperCase()} ${route.path} as ${caller}: expected ${want}, got ${res.status} ${code ?? ''}`);
        if (want === 'deny' && caller === 'anonymous' && res.status !== 401)
          mismatches.push(`${route.method.toUpperCase()} ${route.path} as anonymous: expected 401, got ${res.status}`);
        if (res.status >= 500 && res.status !== 503)
          mismatches.push(`${route.method.toUpperCase()} ${route.path} as ${caller}: ${res.status} (5xx)`);
      }
    }
    expect(mismatches).toEqual([]);
  }, 300_000);

  it('the table itself: a few cells that must never change silently', () => {
    expect(PERMISSIONS['workspace.wipe'].roles).toEqual(['owner']);
    expect(PERMISSIONS['attribution.read'].roles).not.toContain('readonly');
    expect(PERMISSIONS['dashboard.read'].roles).toContain('readonly');
    expect(PERMISSIONS['identifiers.unmask'].reasonRequired).toBe(true);
    for (const p of ['db.approve', 'db.revoke', 'platform.audit.read', 'employees.read'] as const)
      expect(PERMISSIONS[p].roles).toEqual(['security']);
  });
});
