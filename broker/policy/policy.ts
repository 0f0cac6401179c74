import { PERMISSIONS, type CustomerRole, type Permission, type PermissionSpec, type Role } from '../../shared/permissions/permissions.ts';

/**
 * The one place that decides access. Routes only name a permission; the
 * machinery (broker/http/mount-routes.ts) gathers the facts below and asks here.
 */
export interface PolicySubject {
  kind: 'employee' | 'customer';
  employeeRole?: Role;
  mfa: boolean;
}

export interface PolicyFacts {
  /** The route's workspace, if any, and the caller's role in it (customers). */
  workspaceId?: string;
  workspaceRole?: CustomerRole;
  /** Whether the caller belongs to any workspace (platform-scoped customer permissions). */
  hasAnyMembership?: boolean;
  /** Lazily asked only for `support-session` permissions. */
  supportSessionActive?: () => Promise<boolean>;
  /** The workspace requires TOTP for customers. */
  workspaceRequiresTotp?: boolean;
  reason?: string;
}

export type Decision = { allowed: true; role: Role } | { allowed: false; status: 400 | 403; code: string; message: string };

const deny = (code: string, message: string, status: 400 | 403 = 403): Decision => ({ allowed: false, status, code, message });

/** The role that counts for this permission: a customer's role in the route's workspace, or the employee role. */
export function effectiveRole(subject: PolicySubject, spec: PermissionSpec, facts: PolicyFacts): Role | undefined {
  if (subject.kind === 'employee') return subject.employeeRole;
  if (spec.scope === 'workspace') return facts.workspaceRole;
  return facts.workspaceRole;
}

export async function decide(subject: PolicySubject, permission: Permission, facts: PolicyFacts): Promise<Decision> {
  const spec: PermissionSpec | undefined = PERMISSIONS[permission];
  if (!spec) return deny('unknown_permission', 'route declares an unknown permission');
  if (spec.scope === 'workspace' && !facts.workspaceId)
    return deny('policy_misconfigured', 'workspace permission on a route without :workspaceId');

  let role: Role | undefined;
  if (subject.kind === 'employee') {
    role = subject.employeeRole;
    if (!role || !spec.roles.includes(role)) return deny('forbidden', 'your role does not allow this');
    // Employees never act without TOTP (the session machinery guarantees it; checked again here).
    if (!subject.mfa) return deny('totp_required', 'employees must complete TOTP');
  } else if (spec.scope === 'workspace') {
    role = facts.workspaceRole;
    if (!role) return deny('not_a_member', 'you are not a member of this workspace');
    if (!spec.roles.includes(role)) return deny('forbidden', 'your role in this workspace does not allow this');
    if (facts.workspaceRequiresTotp && !subject.mfa)
      return deny('totp_required', 'this workspace requires TOTP: enroll or verify a code first');
  } else {
    // Platform-scoped permission for a customer.
    if (spec.condition === 'any-customer') {
      role = 'readonly';
    } else {
      return deny('forbidden', 'employees only');
    }
  }

  if (spec.condition === 'support-session') {
    const active = facts.supportSessionActive ? await facts.supportSessionActive() : false;
    if (!active) return deny('support_session_required', 'open a support session for this workspace first');
  }
  if (spec.reasonRequired && !facts.reason) return deny('reason_required', 'state a reason (X-Wact-Reason header or reason field)', 400);
  return { allowed: true, role: role! };
}

/** For the matrix and the documented table: may a role do this at all (ignoring conditions)? */
export function roleMay(role: Role | 'anonymous', permission: Permission): boolean {
  if (role === 'anonymous') return false;
  const spec: PermissionSpec = PERMISSIONS[permission];
  return spec.roles.includes(role);
}
