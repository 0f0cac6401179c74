import type { AuthProvider } from 'react-admin';
import { httpClient } from './http/httpClient.ts';
import { AuthState, AUTH_PATHS, type Me } from './auth/session.ts';
import { customerPermissions, employeePermissions, permissionFor, type Permission } from './auth/permissions.ts';
import { getWorkspaceId, setWorkspaceId } from './workspace/currentWorkspace.ts';

export interface WactPermissions {
  kind: Me['kind'];
  employeeRole?: Me['employeeRole'];
  workspaceId?: string;
  workspaceRole?: string;
  permissions: Set<Permission>;
}

/** Permissions in the workspace the console currently shows (customers) or the employee role. */
export function permissionsOf(me: Me, workspaceId: string | undefined = getWorkspaceId()): WactPermissions {
  if (me.kind === 'employee') {
    const permissions = me.permissions ? new Set(me.permissions) : employeePermissions(me.employeeRole);
    return { kind: 'employee', employeeRole: me.employeeRole, permissions };
  }
  const membership = me.workspaces.find((w) => w.id === workspaceId) ?? me.workspaces[0];
  const permissions = me.permissions ? new Set(me.permissions) : customerPermissions(membership?.role);
  // Any signed-in customer may create a workspace (the setup wizard), even with none yet.
  permissions.add('workspace.create');
  return { kind: 'customer', workspaceId: membership?.id, workspaceRole: membership?.role, permissions };
}

export interface AuthProviderOptions {
  state?: AuthState;
  /** Full-page navigation (the SSO redirect); replaceable in tests. */
  navigate?: (url: string) => void;
}

/**
 * Sign-in goes through the broker: `/auth/login` redirects to the SSO issuer, the broker's
 * callback sets an HttpOnly session cookie and sends the browser back here. Employees then
 * pass TOTP (`/totp` screen). The console itself never handles a token.
 */
export function createAuthProvider(options: AuthProviderOptions = {}): AuthProvider & { state: AuthState } {
  const state = options.state ?? new AuthState();
  const navigate = options.navigate ?? ((url: string) => window.location.assign(url));

  async function requireMe(): Promise<Me> {
    const me = await state.load();
    if (!me) throw { message: false, redirectTo: '/login' };
    if (me.totp !== 'ok') throw { message: false, redirectTo: '/totp' };
    if (me.kind === 'customer') {
      const current = getWorkspaceId();
      if (!current || !me.workspaces.some((w) => w.id === current)) setWorkspaceId(me.workspaces[0]?.id);
    }
    return me;
  }

  return {
    state,
    async login(params?: { returnTo?: string }) {
      const returnTo = params?.returnTo ?? '/';
      navigate(`${AUTH_PATHS.login}?return_to=${encodeURIComponent(returnTo)}`);
      // The page is leaving; never settle so react-admin does not redirect meanwhile.
      return new Promise<void>(() => undefined);
    },
    async logout() {
      // Only a fully signed-in session is ended on the server: a session waiting for its
      // TOTP code is kept, so the redirect to the TOTP screen does not throw it away.
      const status = state.status;
      state.invalidate();
      if (status === 'totp') return '/totp';
      if (status === 'ok') {
        state.status = 'anonymous';
        state.me = undefined;
        await httpClient(AUTH_PATHS.logout, { method: 'POST', body: '{}' }).catch(() => undefined);
      }
      return '/login';
    },
    async checkAuth() {
      await requireMe();
    },
    async checkError(error: { status?: number; code?: string; message?: string } | undefined) {
      const status = error?.status;
      if (status === 401) {
        state.invalidate();
        throw { message: 'Your session has ended. Please sign in again.', redirectTo: '/login' };
      }
      if (status === 403 && /totp|mfa/i.test(`${error?.code ?? ''} ${error?.message ?? ''}`)) {
        state.invalidate();
        if (state.status === 'ok') state.stepUp = true;
        state.status = 'totp';
        throw { message: false, redirectTo: '/totp' };
      }
      // Other 403s are a refused action, not a lost session: show the error, stay signed in.
    },
    async getIdentity() {
      const me = await requireMe();
      return {
        id: me.id,
        fullName: me.displayName,
        email: me.email,
        kind: me.kind,
        employeeRole: me.employeeRole,
        workspaces: me.workspaces,
      };
    },
    async getPermissions() {
      const me = await requireMe();
      return permissionsOf(me);
    },
    async canAccess({ resource, action }: { resource: string; action: string }) {
      const me = await state.load();
      if (!me || me.totp !== 'ok') return false;
      const needed = permissionFor(resource, action);
      if (!needed) return false;
      return permissionsOf(me).permissions.has(needed);
    },
  };
}

export const authProvider = createAuthProvider();
