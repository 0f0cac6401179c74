/**
 * THE authorization table. Every /api route names one permission from here; the
 * broker's policy module (broker/policy/policy.ts) is the only code that reads it to
 * decide, the console reads it to show what a role may do (hence shared/); docs/identity.md
 * shows it (test/broker/policy/permissions-doc.test.ts keeps the two equal) and the
 * matrix test (test/broker/policy/matrix.test.ts) drives every route as every role
 * against it.
 */
export const CUSTOMER_ROLES = ['owner', 'admin', 'analyst', 'readonly'] as const;
export type CustomerRole = (typeof CUSTOMER_ROLES)[number];
export const EMPLOYEE_ROLES = ['engineer', 'support', 'security'] as const;
export type EmployeeRole = (typeof EMPLOYEE_ROLES)[number];
export type Role = CustomerRole | EmployeeRole;
export const ALL_ROLES: readonly Role[] = [...CUSTOMER_ROLES, ...EMPLOYEE_ROLES];

/**
 * - `workspace`: the route carries `:workspaceId`; customer roles are the caller's
 *   role in THAT workspace (a member of another workspace has none), employee
 *   roles are platform-wide.
 * - `platform`: no workspace; customer roles mean "a member of any workspace".
 */
export type PermissionScope = 'workspace' | 'platform';

/**
 * Extra conditions the policy checks on top of the role:
 * - `support-session`: the support agent has an active, unexpired support
 *   session on the route's workspace (provided by the access feature);
 * - `any-customer`: any signed-in customer, even one without a membership yet.
 */
export type PermissionCondition = 'support-session' | 'any-customer';

export interface PermissionSpec {
  scope: PermissionScope;
  roles: readonly Role[];
  condition?: PermissionCondition;
  /** The request must state a reason (`X-Wact-Reason` header or `reason` field). */
  reasonRequired?: boolean;
  description: string;
}

const EVERY_CUSTOMER = ['owner', 'admin', 'analyst', 'readonly'] as const;
const DATA_READERS = ['owner', 'admin', 'analyst'] as const;
const MANAGERS = ['owner', 'admin'] as const;

export const PERMISSIONS = {
  'account.self': {
    scope: 'platform',
    roles: ALL_ROLES,
    condition: 'any-customer',
    description: 'Own profile, own sessions, sign out everywhere',
  },
  'dashboard.read': { scope: 'workspace', roles: EVERY_CUSTOMER, description: 'Dashboards and aggregate figures' },
  'attribution.read': { scope: 'workspace', roles: DATA_READERS, description: 'Attribution data with masked identifiers' },
  'attribution.export': { scope: 'workspace', roles: DATA_READERS, description: 'Export attribution data' },
  'conversions.read': { scope: 'workspace', roles: DATA_READERS, description: 'Conversion events' },
  'links.manage': { scope: 'workspace', roles: MANAGERS, description: 'Click-to-WhatsApp tracking links' },
  'apikeys.manage': { scope: 'workspace', roles: MANAGERS, description: 'Workspace API keys' },
  'credentials.manage': { scope: 'workspace', roles: MANAGERS, description: 'BSP and ad-platform credentials' },
  'members.read': { scope: 'workspace', roles: MANAGERS, description: 'List members and invitations' },
  'members.manage': { scope: 'workspace', roles: MANAGERS, description: 'Invite, change roles, remove (admins cannot touch owners)' },
  'settings.manage': { scope: 'workspace', roles: MANAGERS, description: 'Workspace settings (e.g. require TOTP)' },
  'deletion.manage': { scope: 'workspace', roles: MANAGERS, description: 'Retention and deletion requests' },
  'audit.read': { scope: 'workspace', roles: MANAGERS, description: "The workspace's audit log" },
  'audit.export': { scope: 'workspace', roles: MANAGERS, description: "Export the workspace's audit log" },
  'wactaccess.read': {
    scope: 'workspace',
    roles: MANAGERS,
    description: 'WAct access: employee database and support sessions on the workspace, with transcripts (list, export)',
  },
  'identifiers.unmask': {
    scope: 'workspace',
    roles: MANAGERS,
    reasonRequired: true,
    description: 'Reveal an identifier (reason required, audited)',
  },
  'workspace.wipe': { scope: 'workspace', roles: ['owner'], description: 'Wipe the workspace (crypto-shredding)' },
  'workspace.keys.manage': {
    scope: 'workspace',
    roles: ['owner'],
    description:
      "The workspace's keys (TOTP step-up): rotate, re-encrypt (a job), re-wrap under its own key-encryption key, customer-managed KMS key",
  },
  'workspace.move': {
    scope: 'workspace',
    roles: ['owner'],
    description: 'Move the workspace to another region (TOTP step-up; a job)',
  },
  'workspace.create': {
    scope: 'platform',
    roles: EVERY_CUSTOMER,
    condition: 'any-customer',
    description: 'Create a workspace (setup wizard)',
  },
  'support.open': {
    scope: 'workspace',
    roles: ['support'],
    reasonRequired: true,
    description: 'Open a time-boxed support session for a ticket',
  },
  'support.browse': {
    scope: 'workspace',
    roles: ['support'],
    condition: 'support-session',
    description: 'Browse a workspace redacted during a support session',
  },
  'db.request': {
    scope: 'platform',
    roles: ['engineer', 'support'],
    reasonRequired: true,
    description: 'Request a database session (support: redacted only)',
  },
  'db.sessions.read': {
    scope: 'platform',
    roles: ['engineer', 'support', 'security'],
    description: 'Database sessions (own; security: all)',
  },
  'db.approve': { scope: 'platform', roles: ['security'], description: 'Approve or deny access requests' },
  'db.revoke': { scope: 'platform', roles: ['security'], description: 'Revoke database sessions' },
  'platform.audit.read': { scope: 'platform', roles: ['security'], description: 'The platform audit log' },
  'employees.read': { scope: 'platform', roles: ['security'], description: 'Employees with TOTP status' },
  'signup.manage': {
    scope: 'platform',
    roles: ['security'],
    description: 'Owner sign-up invitations: invite an address, list, revoke',
  },
  'employees.sessions.revoke': { scope: 'platform', roles: ['security'], description: "Revoke an employee's broker sessions" },
} as const satisfies Record<string, PermissionSpec>;

export type Permission = keyof typeof PERMISSIONS;
export const PERMISSION_NAMES = Object.keys(PERMISSIONS) as Permission[];

export function permissionSpec(p: Permission): PermissionSpec {
  return PERMISSIONS[p];
}

export function isCustomerRole(r: string): r is CustomerRole {
  return (CUSTOMER_ROLES as readonly string[]).includes(r);
}
export function isEmployeeRole(r: string): r is EmployeeRole {
  return (EMPLOYEE_ROLES as readonly string[]).includes(r);
}

/**
 * The table as Markdown, exactly as docs/identity.md shows it (one row per
 * permission, one column per role; ✓ allowed, ✓* allowed under a condition).
 */
export function permissionsMarkdown(): string {
  const head = `| permission | ${ALL_ROLES.join(' | ')} | notes |`;
  const rule = `|---|${ALL_ROLES.map(() => ':-:').join('|')}|---|`;
  const rows = PERMISSION_NAMES.map((name) => {
    const spec: PermissionSpec = PERMISSIONS[name];
    const cells = ALL_ROLES.map((r) => (spec.roles.includes(r) ? (spec.condition === 'support-session' ? '✓*' : '✓') : ''));
    const notes = [
      spec.description,
      spec.reasonRequired ? 'reason required' : '',
      spec.condition === 'support-session' ? '*with an active support session on the workspace' : '',
      spec.condition === 'any-customer' ? 'any signed-in customer, even without a workspace yet' : '',
    ]
      .filter(Boolean)
      .join('; ');
    return `| \`${name}\` | ${cells.join(' | ')} | ${notes} |`;
  });
  return [head, rule, ...rows].join('\n');
}
