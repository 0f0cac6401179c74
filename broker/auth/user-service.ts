import crypto from 'node:crypto';
import type pg from 'pg';
import type { AuditEventInput, AuditLog } from '../../shared/audit/audit-types.ts';
import { withTransaction } from '../../shared/db/pools.ts';
import { createMembersDal } from '../members/members-dal.ts';
import type { EmployeeRole } from '../../shared/permissions/permissions.ts';
import type { IdTokenClaims } from './oidc-client.ts';
import { createSignupDal } from '../../shared/signup/signup-dal.ts';

export interface User {
  id: string;
  kind: 'employee' | 'customer';
  displayName: string;
  email: string | null;
  employeeRole?: EmployeeRole;
}

export type SignInResolution =
  | {
      ok: true;
      user: User;
      created: boolean;
      joined: { workspaceId: string; region: 'eu' | 'us'; role: string }[];
      roleChange?: { from: EmployeeRole; to: EmployeeRole };
    }
  | { ok: false; reason: 'not_invited' | 'not_staff' | 'disabled' | 'email_unverified' };

const ROLE_PRECEDENCE: EmployeeRole[] = ['security', 'support', 'engineer'];

/**
 * Maps a validated ID token to exactly one user by (issuer, subject). Unknown
 * subjects get in only as staff (verified email on the staff domain AND a
 * staff group) or through an open invitation for their verified email: to a
 * workspace, or an operator's sign-up invitation (an account without a
 * workspace, which the console's setup wizard then creates).
 * Everything is created in one transaction: a failure leaves nothing behind.
 */
export function createUserService(deps: {
  pool: pg.Pool;
  audit: AuditLog;
  staffEmailDomain: string;
  staffGroupClaim: string;
  staffGroupRoles: { group: string; role: EmployeeRole }[];
}) {
  const { pool } = deps;

  function staffRole(claims: IdTokenClaims): EmployeeRole | undefined {
    const email = typeof claims.email === 'string' ? claims.email.toLowerCase() : '';
    if (claims.email_verified !== true || !email.endsWith(`@${deps.staffEmailDomain}`)) return undefined;
    const raw = claims[deps.staffGroupClaim];
    const groups = Array.isArray(raw) ? raw.filter((g): g is string => typeof g === 'string') : typeof raw === 'string' ? [raw] : [];
    const roles = new Set(deps.staffGroupRoles.filter((m) => groups.includes(m.group)).map((m) => m.role));
    return ROLE_PRECEDENCE.find((r) => roles.has(r));
  }

  function displayNameOf(claims: IdTokenClaims): string {
    const name =
      typeof claims.name === 'string' && claims.name.trim() ? claims.name.trim() : typeof claims.email === 'string' ? claims.email : 'user';
    return name.slice(0, 200);
  }

  async function resolve(claims: IdTokenClaims): Promise<SignInResolution> {
    return withTransaction(pool, async (client) => {
      const members = createMembersDal(client);
      const email = typeof claims.email === 'string' && claims.email.length <= 320 ? claims.email.toLowerCase() : null;
      const verified = claims.email_verified === true && !!email;
      const { rows } = await client.query<{
        id: string;
        kind: 'employee' | 'customer';
        display_name: string;
        email: string | null;
        employee_role: EmployeeRole | null;
        disabled: boolean;
      }>(
        `SELECT u.id, u.kind, u.display_name, u.email, u.employee_role, u.disabled_at IS NOT NULL AS disabled
           FROM wact.user_identities i JOIN wact.users u ON u.id = i.user_id
          WHERE i.issuer = $1 AND i.subject = $2 FOR UPDATE OF u`,
        [claims.iss, claims.sub],
      );
      const existing = rows[0];
      if (existing) {
        if (existing.disabled) return { ok: false, reason: 'disabled' };
        let roleChange: { from: EmployeeRole; to: EmployeeRole } | undefined;
        if (existing.kind === 'employee') {
          // The IdP stays the authority for staff: no staff group any more, no access.
          const role = staffRole(claims);
          if (!role) return { ok: false, reason: 'not_staff' };
          if (role !== existing.employee_role) {
            roleChange = { from: existing.employee_role!, to: role };
            await client.query('UPDATE wact.users SET employee_role = $2 WHERE id = $1', [existing.id, role]);
          }
        }
        await client.query('UPDATE wact.users SET last_login_at = now(), display_name = $2, email = COALESCE($3, email) WHERE id = $1', [
          existing.id,
          displayNameOf(claims),
          verified ? email : null,
        ]);
        const joined = existing.kind === 'customer' && verified ? await acceptInvitations(members, existing.id, email!) : [];
        const user: User = {
          id: existing.id,
          kind: existing.kind,
          displayName: displayNameOf(claims),
          email: existing.email,
          employeeRole: roleChange?.to ?? existing.employee_role ?? undefined,
        };
        return { ok: true, user, created: false, joined, roleChange };
      }

      const role = staffRole(claims);
      if (!role && !verified) return { ok: false, reason: 'email_unverified' };
      const id = crypto.randomUUID();
      if (role) {
        await client.query(
          `INSERT INTO wact.users (id, kind, display_name, email, employee_role, last_login_at) VALUES ($1, 'employee', $2, $3, $4, now())`,
          [id, displayNameOf(claims), email, role],
        );
        await client.query('INSERT INTO wact.user_identities (issuer, subject, user_id) VALUES ($1, $2, $3)', [claims.iss, claims.sub, id]);
        return {
          ok: true,
          user: { id, kind: 'employee', displayName: displayNameOf(claims), email, employeeRole: role },
          created: true,
          joined: [],
        };
      }
      // Workspace invitations first; an operator's sign-up invitation lets a new owner in without one.
      const invitations = await members.openInvitationsFor(email!);
      const signup = await createSignupDal(client).openFor(email!);
      if (!invitations.length && !signup) return { ok: false, reason: 'not_invited' };
      await client.query(`INSERT INTO wact.users (id, kind, display_name, email, last_login_at) VALUES ($1, 'customer', $2, $3, now())`, [
        id,
        displayNameOf(claims),
        email,
      ]);
      await client.query('INSERT INTO wact.user_identities (issuer, subject, user_id) VALUES ($1, $2, $3)', [claims.iss, claims.sub, id]);
      const user: User = { id, kind: 'customer', displayName: displayNameOf(claims), email };
      const joined = await acceptInvitations(members, id, email!);
      if (signup) await acceptSignup(client, signup.id, user, joined.length ? 'workspace_invitation' : 'signup');
      return { ok: true, user, created: true, joined };
    });
  }

  /**
   * A sign-up invitation is spent by the first account created for its address,
   * whichever invitation let it in, so it cannot admit a second identity later.
   * Audited inside the transaction: no audit event, no account.
   */
  async function acceptSignup(client: pg.PoolClient, invitationId: string, user: User, via: 'signup' | 'workspace_invitation') {
    // The row is locked by openFor in this transaction, so this cannot lose a race.
    if (!(await createSignupDal(client).accept(invitationId, user.id))) throw new Error('sign-up invitation changed while locked');
    await deps.audit.append({
      action: 'auth.signup.accepted',
      actor: userActor(user),
      target: { type: 'signup_invitation', id: invitationId },
      outcome: 'success',
      metadata: { via },
    });
  }

  async function acceptInvitations(members: ReturnType<typeof createMembersDal>, userId: string, email: string) {
    const joined: { workspaceId: string; region: 'eu' | 'us'; role: string }[] = [];
    for (const inv of await members.openInvitationsFor(email)) {
      if (!(await members.roleOf(inv.workspaceId, userId))) {
        await members.addMember(inv.workspaceId, userId, inv.role);
        joined.push({ workspaceId: inv.workspaceId, region: inv.region, role: inv.role });
      }
      await members.markAccepted(inv.id, userId);
    }
    return joined;
  }

  async function get(userId: string): Promise<User | undefined> {
    const { rows } = await pool.query<{
      id: string;
      kind: 'employee' | 'customer';
      display_name: string;
      email: string | null;
      employee_role: EmployeeRole | null;
    }>('SELECT id, kind, display_name, email, employee_role FROM wact.users WHERE id = $1', [userId]);
    const r = rows[0];
    return r && { id: r.id, kind: r.kind, displayName: r.display_name, email: r.email, employeeRole: r.employee_role ?? undefined };
  }

  return { resolve, get, staffRole };
}

export type UserService = ReturnType<typeof createUserService>;

export function userActor(user: Pick<User, 'id' | 'kind' | 'displayName' | 'employeeRole'>): AuditEventInput['actor'] {
  return { id: user.id, kind: user.kind, role: user.employeeRole, displayName: user.displayName };
}
