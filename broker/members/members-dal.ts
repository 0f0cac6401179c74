import crypto from 'node:crypto';
import type pg from 'pg';
import type { CustomerRole } from '../../shared/permissions/permissions.ts';

export interface MemberRow {
  userId: string;
  displayName: string;
  email: string | null;
  role: CustomerRole;
  joinedAt: string;
  totpEnrolled: boolean;
  lastLoginAt: string | null;
}

export interface InvitationRow {
  id: string;
  email: string;
  role: CustomerRole;
  invitedBy: string | null;
  createdAt: string;
  expiresAt: string;
}

/** Memberships, invitations and workspace security settings (control database). */
export function createMembersDal(pool: pg.Pool | pg.PoolClient) {
  return {
    async roleOf(workspaceId: string, userId: string): Promise<CustomerRole | undefined> {
      const { rows } = await pool.query<{ role: CustomerRole }>(
        `SELECT m.role FROM wact.memberships m JOIN wact.workspaces w ON w.id = m.workspace_id
          WHERE m.workspace_id = $1 AND m.user_id = $2 AND w.wiped_at IS NULL`,
        [workspaceId, userId],
      );
      return rows[0]?.role;
    },

    async requiresTotp(workspaceId: string): Promise<boolean> {
      const { rows } = await pool.query<{ require_totp: boolean }>(
        'SELECT require_totp FROM wact.workspace_settings WHERE workspace_id = $1',
        [workspaceId],
      );
      return rows[0]?.require_totp ?? false;
    },

    async anyRequiresTotp(userId: string): Promise<boolean> {
      const { rows } = await pool.query(
        'SELECT 1 FROM wact.memberships m JOIN wact.workspace_settings s USING (workspace_id) WHERE m.user_id = $1 AND s.require_totp LIMIT 1',
        [userId],
      );
      return rows.length > 0;
    },

    async setRequireTotp(workspaceId: string, value: boolean, by: string): Promise<void> {
      await pool.query(
        `INSERT INTO wact.workspace_settings (workspace_id, require_totp, updated_by) VALUES ($1, $2, $3)
         ON CONFLICT (workspace_id) DO UPDATE SET require_totp = EXCLUDED.require_totp, updated_by = EXCLUDED.updated_by, updated_at = now()`,
        [workspaceId, value, by],
      );
    },

    async workspacesOf(userId: string) {
      const { rows } = await pool.query<{
        id: string;
        name: string;
        region: 'eu' | 'us';
        role: CustomerRole;
        require_totp: boolean | null;
      }>(
        `SELECT w.id, w.name, w.region, m.role, s.require_totp FROM wact.memberships m
           JOIN wact.workspaces w ON w.id = m.workspace_id
           LEFT JOIN wact.workspace_settings s ON s.workspace_id = w.id
          WHERE m.user_id = $1 AND w.wiped_at IS NULL ORDER BY w.name, w.id`,
        [userId],
      );
      return rows.map((r) => ({ id: r.id, name: r.name, region: r.region, role: r.role, requireTotp: r.require_totp ?? false }));
    },

    async members(workspaceId: string): Promise<MemberRow[]> {
      const { rows } = await pool.query<{
        user_id: string;
        display_name: string;
        email: string | null;
        role: CustomerRole;
        created_at: Date;
        totp: boolean;
        last_login_at: Date | null;
      }>(
        `SELECT m.user_id, u.display_name, u.email, m.role, m.created_at, u.last_login_at,
                EXISTS (SELECT 1 FROM wact.totp_credentials t WHERE t.user_id = u.id AND t.confirmed_at IS NOT NULL) AS totp
           FROM wact.memberships m JOIN wact.users u ON u.id = m.user_id
          WHERE m.workspace_id = $1 ORDER BY m.created_at, m.user_id`,
        [workspaceId],
      );
      return rows.map((r) => ({
        userId: r.user_id,
        displayName: r.display_name,
        email: r.email,
        role: r.role,
        joinedAt: r.created_at.toISOString(),
        totpEnrolled: r.totp,
        lastLoginAt: r.last_login_at?.toISOString() ?? null,
      }));
    },

    async addMember(workspaceId: string, userId: string, role: CustomerRole): Promise<void> {
      await pool.query(
        `INSERT INTO wact.memberships (workspace_id, user_id, role) VALUES ($1, $2, $3)
         ON CONFLICT (workspace_id, user_id) DO NOTHING`,
        [workspaceId, userId, role],
      );
    },

    /** Locks the workspace's memberships for a role change (last-owner protection under concurrency). */
    async lockMembers(workspaceId: string): Promise<{ userId: string; role: CustomerRole }[]> {
      const { rows } = await pool.query<{ user_id: string; role: CustomerRole }>(
        'SELECT user_id, role FROM wact.memberships WHERE workspace_id = $1 ORDER BY user_id FOR UPDATE',
        [workspaceId],
      );
      return rows.map((r) => ({ userId: r.user_id, role: r.role }));
    },

    async setRole(workspaceId: string, userId: string, role: CustomerRole): Promise<void> {
      await pool.query('UPDATE wact.memberships SET role = $3, updated_at = now() WHERE workspace_id = $1 AND user_id = $2', [
        workspaceId,
        userId,
        role,
      ]);
    },

    async removeMember(workspaceId: string, userId: string): Promise<void> {
      await pool.query('DELETE FROM wact.memberships WHERE workspace_id = $1 AND user_id = $2', [workspaceId, userId]);
    },

    async invitations(workspaceId: string): Promise<InvitationRow[]> {
      const { rows } = await pool.query<{
        id: string;
        email: string;
        role: CustomerRole;
        invited_by: string | null;
        created_at: Date;
        expires_at: Date;
      }>(
        `SELECT id, email, role, invited_by, created_at, expires_at FROM wact.invitations
          WHERE workspace_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now()
          ORDER BY created_at, id`,
        [workspaceId],
      );
      return rows.map((r) => ({
        id: r.id,
        email: r.email,
        role: r.role,
        invitedBy: r.invited_by,
        createdAt: r.created_at.toISOString(),
        expiresAt: r.expires_at.toISOString(),
      }));
    },

    async invite(workspaceId: string, email: string, role: CustomerRole, by: string, ttlDays: number): Promise<InvitationRow> {
      const id = crypto.randomUUID();
      // An expired open invitation for the same address is retired first (the unique index covers open ones).
      await pool.query(
        `UPDATE wact.invitations SET revoked_at = now() WHERE workspace_id = $1 AND lower(email) = lower($2)
            AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at <= now()`,
        [workspaceId, email],
      );
      const { rows } = await pool.query<{ created_at: Date; expires_at: Date }>(
        `INSERT INTO wact.invitations (id, workspace_id, email, role, invited_by, expires_at)
         VALUES ($1, $2, $3, $4, $5, now() + make_interval(days => $6)) RETURNING created_at, expires_at`,
        [id, workspaceId, email, role, by, ttlDays],
      );
      return { id, email, role, invitedBy: by, createdAt: rows[0].created_at.toISOString(), expiresAt: rows[0].expires_at.toISOString() };
    },

    async revokeInvitation(workspaceId: string, id: string): Promise<boolean> {
      const { rowCount } = await pool.query(
        'UPDATE wact.invitations SET revoked_at = now() WHERE workspace_id = $1 AND id = $2 AND accepted_at IS NULL AND revoked_at IS NULL',
        [workspaceId, id],
      );
      return (rowCount ?? 0) > 0;
    },

    /** Open invitations for a verified email, locked for acceptance. */
    async openInvitationsFor(email: string) {
      const { rows } = await pool.query<{ id: string; workspace_id: string; role: CustomerRole; region: 'eu' | 'us' }>(
        `SELECT i.id, i.workspace_id, i.role, w.region FROM wact.invitations i JOIN wact.workspaces w ON w.id = i.workspace_id
          WHERE lower(i.email) = lower($1) AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > now() AND w.wiped_at IS NULL
          ORDER BY i.created_at FOR UPDATE OF i`,
        [email],
      );
      return rows.map((r) => ({ id: r.id, workspaceId: r.workspace_id, role: r.role, region: r.region }));
    },

    async markAccepted(id: string, userId: string): Promise<void> {
      await pool.query('UPDATE wact.invitations SET accepted_at = now(), accepted_by = $2 WHERE id = $1', [id, userId]);
    },
  };
}

export type MembersDal = ReturnType<typeof createMembersDal>;
