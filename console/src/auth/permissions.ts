/**
 * The console reads the broker's own permission table (shared/permissions/permissions.ts, a
 * dependency-free module) so the two can never disagree. It only decides what the UI shows:
 * the broker's policy module refuses anything the role may not do, whatever the console
 * displays. When `/api/me` carries an explicit permission list, that list wins.
 */
import {
  CUSTOMER_ROLES,
  EMPLOYEE_ROLES,
  PERMISSIONS,
  type CustomerRole,
  type EmployeeRole,
  type Permission,
} from '../../../shared/permissions/permissions.ts';

export { CUSTOMER_ROLES, EMPLOYEE_ROLES };
export type { CustomerRole, EmployeeRole, Permission };

function rolesOf(p: Permission): readonly string[] {
  return PERMISSIONS[p].roles;
}

export function customerPermissions(role: CustomerRole | undefined | null): Set<Permission> {
  const out = new Set<Permission>();
  if (!role) return out;
  for (const p of Object.keys(PERMISSIONS) as Permission[]) if (rolesOf(p).includes(role)) out.add(p);
  return out;
}

export function employeePermissions(role: EmployeeRole | undefined | null): Set<Permission> {
  const out = new Set<Permission>();
  if (!role) return out;
  for (const p of Object.keys(PERMISSIONS) as Permission[]) if (rolesOf(p).includes(role)) out.add(p);
  return out;
}

/**
 * What react-admin asks (`canAccess({ resource, action })`) mapped to the permission
 * the broker checks for that route. Resources missing here are never shown.
 */
export const RESOURCE_PERMISSIONS: Record<string, Partial<Record<string, Permission>> & { list: Permission }> = {
  dashboard: { list: 'dashboard.read' },
  conversations: { list: 'attribution.read', show: 'attribution.read', export: 'attribution.export', unmask: 'identifiers.unmask' },
  clicks: { list: 'attribution.read', show: 'attribution.read', export: 'attribution.export', unmask: 'identifiers.unmask' },
  conversions: { list: 'conversions.read', show: 'conversions.read', export: 'attribution.export' },
  links: { list: 'links.manage', show: 'links.manage', create: 'links.manage', edit: 'links.manage', delete: 'links.manage' },
  'api-keys': { list: 'apikeys.manage', create: 'apikeys.manage', delete: 'apikeys.manage' },
  credentials: { list: 'credentials.manage', create: 'credentials.manage', edit: 'credentials.manage', delete: 'credentials.manage' },
  invitations: { list: 'members.read', create: 'members.manage', delete: 'members.manage' },
  workspaces: { list: 'account.self' },
  members: { list: 'members.read', show: 'members.read', create: 'members.manage', edit: 'members.manage', delete: 'members.manage' },
  settings: { list: 'settings.manage', edit: 'settings.manage', deletion: 'deletion.manage', wipe: 'workspace.wipe' },
  'deletion-requests': { list: 'deletion.manage', show: 'deletion.manage', create: 'deletion.manage' },
  audit: { list: 'audit.read', show: 'audit.read', export: 'audit.export' },
  'wact-access': { list: 'wactaccess.read', show: 'wactaccess.read', export: 'wactaccess.read' },
  setup: { list: 'workspace.create', create: 'workspace.create' },
  'support-conversations': { list: 'support.browse' },
  'support-clicks': { list: 'support.browse' },
  'support-sessions': { list: 'support.open', create: 'support.open', show: 'support.open' },
  'db-sessions': { list: 'db.sessions.read', show: 'db.sessions.read', create: 'db.request', approve: 'db.approve', revoke: 'db.revoke' },
  approvals: { list: 'db.approve', approve: 'db.approve', deny: 'db.approve' },
  'platform-audit': { list: 'platform.audit.read', show: 'platform.audit.read' },
  employees: { list: 'employees.read', show: 'employees.read', revoke: 'employees.sessions.revoke' },
};

export function permissionFor(resource: string, action: string): Permission | undefined {
  const entry = RESOURCE_PERMISSIONS[resource];
  if (!entry) return undefined;
  return entry[action] ?? (action === 'read' || action === 'show' ? entry.list : undefined);
}
