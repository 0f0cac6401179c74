// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAuthProvider } from './authProvider.ts';
import { setCsrfToken } from './http/httpClient.ts';
import { setWorkspaceId } from './workspace/currentWorkspace.ts';
import { normaliseMe } from './auth/session.ts';

const WS_A = 'aaaaaaaa-0000-4000-8000-000000000001';
const WS_B = 'bbbbbbbb-0000-4000-8000-000000000002';

function customer(role: string, extra: object = {}) {
  return {
    user: { id: 'u1', kind: 'customer', displayName: 'Olga Owner', email: 'o@example.test' },
    workspaces: [{ id: WS_A, name: 'Acme', region: 'eu', role }],
    ...extra,
  };
}
function employee(role: string, totp: unknown = 'ok') {
  return { user: { id: 'e1', kind: 'employee', displayName: 'Emma', employeeRole: role }, workspaces: [], totp };
}

function serve(routes: Record<string, (init: RequestInit) => { status?: number; body?: unknown }>) {
  const calls: { url: string; init: RequestInit }[] = [];
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init: RequestInit = {}) => {
      calls.push({ url, init });
      const handler = routes[`${(init.method ?? 'GET').toUpperCase()} ${url}`];
      const r = handler ? handler(init) : { status: 404, body: { error: { code: 'not_found', message: 'no route' } } };
      return new Response(r.body === undefined ? null : JSON.stringify(r.body), {
        status: r.status ?? 200,
        headers: { 'Content-Type': 'application/json' },
      });
    }),
  );
  return calls;
}

describe('authProvider', () => {
  beforeEach(() => {
    setWorkspaceId(undefined);
    setCsrfToken(undefined);
  });
  afterEach(() => vi.unstubAllGlobals());

  it('login sends the browser to the broker SSO entry point, never collecting a password', async () => {
    const navigate = vi.fn();
    const ap = createAuthProvider({ navigate });
    void ap.login({ returnTo: '/' });
    await Promise.resolve();
    expect(navigate).toHaveBeenCalledWith('/auth/login?return_to=%2F');
  });

  it('an anonymous visitor is sent to the login page and logout does not call the server', async () => {
    const calls = serve({ 'GET /api/me': () => ({ status: 401, body: { error: { code: 'unauthenticated', message: 'Sign in' } } }) });
    const ap = createAuthProvider();
    await expect(ap.checkAuth({})).rejects.toMatchObject({ redirectTo: '/login' });
    expect(await ap.logout({})).toBe('/login');
    expect(calls.filter((c) => c.url === '/auth/logout')).toHaveLength(0);
  });

  it('an employee who has not passed TOTP is sent to /totp, and the pending session is kept', async () => {
    const calls = serve({ 'GET /api/me': () => ({ body: employee('engineer', 'verify') }) });
    const ap = createAuthProvider();
    await expect(ap.checkAuth({})).rejects.toMatchObject({ redirectTo: '/totp' });
    expect(await ap.logout({})).toBe('/totp');
    expect(calls.some((c) => c.url === '/auth/logout')).toBe(false);
    expect(await ap.canAccess!({ resource: 'db-sessions', action: 'list' })).toBe(false);
  });

  it('an employee still to enrol gets the enrollment state (also when the broker answers 403 totp_enrollment_required)', async () => {
    expect(normaliseMe(employee('support', 'enroll')).totp).toBe('enroll');
    expect(normaliseMe({ ...employee('support'), totp: { required: true, enrolled: false } }).totp).toBe('enroll');
    serve({ 'GET /api/me': () => ({ status: 403, body: { error: { code: 'totp_enrollment_required', message: 'Enrol TOTP first' } } }) });
    const ap = createAuthProvider();
    await expect(ap.checkAuth({})).rejects.toMatchObject({ redirectTo: '/totp' });
    expect(ap.state.me?.totp).toBe('enroll');
  });

  it('a signed-in user logs out on the server with the CSRF header', async () => {
    const calls = serve({
      'GET /api/me': () => ({ body: { ...customer('owner'), csrfToken: 'csrf-1' } }),
      'POST /auth/logout': () => ({ status: 204 }),
    });
    const ap = createAuthProvider();
    await ap.checkAuth({});
    expect(await ap.logout({})).toBe('/login');
    const logout = calls.find((c) => c.url === '/auth/logout')!;
    expect(new Headers(logout.init.headers).get('X-CSRF-Token')).toBe('csrf-1');
  });

  it('picks the first workspace the customer belongs to and exposes identity and permissions', async () => {
    serve({ 'GET /api/me': () => ({ body: customer('admin') }) });
    const ap = createAuthProvider();
    await ap.checkAuth({});
    const identity = await ap.getIdentity!();
    expect(identity).toMatchObject({ id: 'u1', fullName: 'Olga Owner', kind: 'customer' });
    const perms = await ap.getPermissions!({});
    expect(perms.workspaceId).toBe(WS_A);
    expect(perms.workspaceRole).toBe('admin');
    expect(perms.permissions.has('members.manage')).toBe(true);
    expect(perms.permissions.has('workspace.wipe')).toBe(false);
  });

  it('does not keep a workspace the user is not a member of', async () => {
    setWorkspaceId(WS_B);
    serve({ 'GET /api/me': () => ({ body: customer('analyst') }) });
    const ap = createAuthProvider();
    await ap.checkAuth({});
    expect((await ap.getPermissions!({})).workspaceId).toBe(WS_A);
  });

  const matrix: [string, object, string, string, boolean][] = [
    ['analyst', customer('analyst'), 'conversations', 'list', true],
    ['analyst', customer('analyst'), 'conversations', 'export', true],
    ['analyst', customer('analyst'), 'conversations', 'unmask', false],
    ['analyst', customer('analyst'), 'members', 'list', false],
    ['analyst', customer('analyst'), 'settings', 'list', false],
    ['analyst', customer('analyst'), 'audit', 'list', false],
    ['readonly', customer('readonly'), 'dashboard', 'list', true],
    ['readonly', customer('readonly'), 'conversations', 'list', false],
    ['admin', customer('admin'), 'conversations', 'unmask', true],
    ['admin', customer('admin'), 'audit', 'export', true],
    ['admin', customer('admin'), 'settings', 'wipe', false],
    ['owner', customer('owner'), 'settings', 'wipe', true],
    ['owner', customer('owner'), 'db-sessions', 'list', false],
    ['support', employee('support'), 'support-sessions', 'create', true],
    ['support', employee('support'), 'support-conversations', 'list', true],
    ['support', employee('support'), 'conversations', 'list', false],
    ['support', employee('support'), 'approvals', 'list', false],
    ['engineer', employee('engineer'), 'db-sessions', 'create', true],
    ['engineer', employee('engineer'), 'db-sessions', 'approve', false],
    ['engineer', employee('engineer'), 'support-sessions', 'list', false],
    ['security', employee('security'), 'approvals', 'list', true],
    ['security', employee('security'), 'db-sessions', 'revoke', true],
    ['security', employee('security'), 'platform-audit', 'list', true],
    ['security', employee('security'), 'employees', 'list', true],
    ['security', employee('security'), 'members', 'list', false],
    ['owner', customer('owner'), 'no-such-resource', 'list', false],
  ];
  it.each(matrix)('canAccess: %s on %s/%s → %s', async (_role, me, resource, action, expected) => {
    const [, , r, a, e] = [_role, me, resource, action, expected];
    serve({ 'GET /api/me': () => ({ body: me }) });
    const ap = createAuthProvider();
    expect(await ap.canAccess!({ resource: r, action: a })).toBe(e);
  });

  it('an explicit permission list from the broker wins over the local table', async () => {
    serve({ 'GET /api/me': () => ({ body: { ...customer('owner'), permissions: ['dashboard.read'] } }) });
    const ap = createAuthProvider();
    expect(await ap.canAccess!({ resource: 'members', action: 'list' })).toBe(false);
    expect(await ap.canAccess!({ resource: 'dashboard', action: 'list' })).toBe(true);
  });

  it('checkError: 401 ends the session in the UI, a plain 403 does not', async () => {
    const ap = createAuthProvider();
    await expect(ap.checkError({ status: 401 })).rejects.toMatchObject({ redirectTo: '/login' });
    await expect(ap.checkError({ status: 403, code: 'totp_required', message: 'TOTP required' })).rejects.toMatchObject({
      redirectTo: '/totp',
    });
    await expect(ap.checkError({ status: 403, code: 'forbidden', message: 'not allowed' })).resolves.toBeUndefined();
    await expect(ap.checkError({ status: 500 })).resolves.toBeUndefined();
  });

  it('a signed-in customer refused for lack of TOTP (workspace now requires it) is sent to step up, not logged out', async () => {
    const calls = serve({ 'GET /api/me': () => ({ body: { ...customer('admin'), mfa: false, totpEnrolled: false } }) });
    const ap = createAuthProvider();
    await ap.checkAuth({});
    expect(ap.state.stepUp).toBe(false);
    await expect(ap.checkError({ status: 403, code: 'totp_required', message: 'this workspace requires TOTP' })).rejects.toMatchObject({
      redirectTo: '/totp',
    });
    expect(ap.state.stepUp).toBe(true);
    expect(await ap.logout({})).toBe('/totp');
    expect(calls.some((c) => c.url === '/auth/logout')).toBe(false);
    expect(ap.state.me?.mfa).toBe(false);
  });

  it('caches /api/me briefly so navigation does not hammer the broker', async () => {
    const calls = serve({ 'GET /api/me': () => ({ body: customer('owner') }) });
    const ap = createAuthProvider();
    await Promise.all([ap.checkAuth({}), ap.checkAuth({}), ap.getPermissions!({}), ap.canAccess!({ resource: 'links', action: 'list' })]);
    expect(calls.filter((c) => c.url === '/api/me')).toHaveLength(1);
  });
});
