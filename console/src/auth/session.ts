/* eslint-disable @typescript-eslint/no-explicit-any -- loosely shaped broker JSON, read field by field with fallbacks */
import { httpClient } from '../http/httpClient.ts';
import { setCsrfToken } from '../http/httpClient.ts';
import { CUSTOMER_ROLES, EMPLOYEE_ROLES, type CustomerRole, type EmployeeRole, type Permission } from './permissions.ts';

/** Broker endpoints the console's sign-in uses (identity's routes; one place to change them). */
export const AUTH_PATHS = {
  me: '/api/me',
  login: '/auth/login',
  logout: '/auth/logout',
  totpEnroll: '/auth/totp/enroll',
  totpConfirm: '/auth/totp/confirm',
  totpVerify: '/auth/totp/verify',
  totpRecover: '/auth/totp/recover',
} as const;

export interface WorkspaceMembership {
  id: string;
  name: string;
  region?: string;
  role: CustomerRole;
}

/** What the signed-in session still needs before the console opens. */
export type TotpState = 'ok' | 'enroll' | 'verify';

export interface Me {
  id: string;
  kind: 'employee' | 'customer';
  displayName: string;
  email?: string;
  employeeRole?: EmployeeRole;
  workspaces: WorkspaceMembership[];
  totp: TotpState;
  /** Explicit permissions from the broker, when it sends them (they win over the local table). */
  permissions?: Permission[];
  /** The session passed TOTP (a workspace may require it from customers too). */
  mfa?: boolean;
  totpEnrolled?: boolean;
}

type Json = Record<string, any>;

function pickTotp(j: Json): TotpState {
  const t = j.totp ?? j.session?.totp ?? j.mfa;
  if (typeof t === 'string') {
    if (['enroll', 'enrollment', 'enrollment_required', 'enroll_required', 'required_enrollment'].includes(t)) return 'enroll';
    if (['verify', 'pending', 'required', 'verification_required', 'challenge'].includes(t)) return 'verify';
    return 'ok';
  }
  if (t && typeof t === 'object') {
    if (t.required && !t.enrolled) return 'enroll';
    if (t.required && !t.verified) return 'verify';
    if (t.pending === 'enroll' || t.state === 'enroll') return 'enroll';
    if (t.pending === 'verify' || t.state === 'verify') return 'verify';
  }
  if (j.totpRequired === 'enroll' || j.needsTotpEnrollment) return 'enroll';
  if (j.totpRequired === 'verify' || j.needsTotp) return 'verify';
  return 'ok';
}

/**
 * Reads the broker's `/api/me` answer. Tolerant about field names on purpose: the console
 * must keep working while the identity API settles, and the broker remains the authority.
 */
export function normaliseMe(raw: unknown): Me {
  const j = (raw ?? {}) as Json;
  const u = (j.user ?? j) as Json;
  const kind = u.kind === 'employee' || j.kind === 'employee' ? 'employee' : 'customer';
  const roleCandidate = u.employeeRole ?? j.employeeRole ?? (kind === 'employee' ? u.role : undefined);
  const employeeRole = EMPLOYEE_ROLES.includes(roleCandidate) ? (roleCandidate as EmployeeRole) : undefined;
  const rawWorkspaces: Json[] = Array.isArray(j.workspaces)
    ? j.workspaces
    : Array.isArray(u.workspaces)
      ? u.workspaces
      : Array.isArray(j.memberships)
        ? j.memberships
        : [];
  const workspaces = rawWorkspaces
    .map((w) => ({
      id: String(w.id ?? w.workspaceId ?? ''),
      name: String(w.name ?? w.workspaceName ?? w.id ?? w.workspaceId ?? ''),
      region: w.region,
      role: (w.role ?? w.workspaceRole) as CustomerRole,
    }))
    .filter((w) => w.id && CUSTOMER_ROLES.includes(w.role));
  if (typeof j.csrfToken === 'string') setCsrfToken(j.csrfToken);
  return {
    id: String(u.id ?? u.userId ?? ''),
    kind,
    displayName: String(u.displayName ?? u.name ?? u.email ?? 'Signed in'),
    email: u.email,
    employeeRole,
    workspaces,
    totp: pickTotp(j),
    permissions: Array.isArray(j.permissions) ? (j.permissions as Permission[]) : undefined,
    mfa: typeof j.mfa === 'boolean' ? j.mfa : undefined,
    totpEnrolled: typeof j.totpEnrolled === 'boolean' ? j.totpEnrolled : undefined,
  };
}

export class AuthState {
  /** 'anonymous' until proven otherwise; 'totp' while the second factor is pending. */
  status: 'unknown' | 'anonymous' | 'totp' | 'ok' = 'unknown';
  /** A fully signed-in session was refused for lack of TOTP (a workspace requires it): step up. */
  stepUp = false;
  me: Me | undefined;
  private inflight: Promise<Me | undefined> | undefined;
  private fetchedAt = 0;

  constructor(private readonly ttlMs = 5_000) {}

  invalidate(): void {
    this.fetchedAt = 0;
  }

  /** GET /api/me, coalesced and cached for a few seconds (checkAuth runs on every navigation). */
  async load(force = false): Promise<Me | undefined> {
    if (!force && this.me && Date.now() - this.fetchedAt < this.ttlMs) return this.me;
    if (this.inflight) return this.inflight;
    this.inflight = (async () => {
      try {
        const { json } = await httpClient(AUTH_PATHS.me);
        this.me = normaliseMe(json);
        this.status = this.me.totp === 'ok' ? 'ok' : 'totp';
        this.fetchedAt = Date.now();
        return this.me;
      } catch (err: any) {
        if (err?.status === 401) {
          this.me = undefined;
          this.status = 'anonymous';
          return undefined;
        }
        if (err?.status === 403 && /totp|mfa|second.factor/i.test(`${err.code} ${err.message}`)) {
          this.status = 'totp';
          const enroll = /enrol/i.test(`${err.code} ${err.message}`);
          this.me = { id: '', kind: 'employee', displayName: '', workspaces: [], totp: enroll ? 'enroll' : 'verify' };
          return this.me;
        }
        throw err;
      } finally {
        this.inflight = undefined;
      }
    })();
    return this.inflight;
  }
}
