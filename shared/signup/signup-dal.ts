import crypto from 'node:crypto';
import type pg from 'pg';

import type { SignupInvitation, SignupInvitationStatus } from './signup-types.ts';

interface Row {
  id: string;
  email: string;
  created_by: string;
  created_at: Date;
  expires_at: Date;
  accepted_at: Date | null;
  accepted_by: string | null;
  revoked_at: Date | null;
  expired: boolean;
}

const COLUMNS = 'id, email, created_by, created_at, expires_at, accepted_at, accepted_by, revoked_at, expires_at <= now() AS expired';

function toInvitation(r: Row): SignupInvitation {
  const status: SignupInvitationStatus = r.accepted_at ? 'accepted' : r.revoked_at ? 'revoked' : r.expired ? 'expired' : 'open';
  return {
    id: r.id,
    email: r.email,
    createdBy: r.created_by,
    createdAt: r.created_at.toISOString(),
    expiresAt: r.expires_at.toISOString(),
    acceptedAt: r.accepted_at?.toISOString() ?? null,
    acceptedBy: r.accepted_by,
    revokedAt: r.revoked_at?.toISOString() ?? null,
    status,
  };
}

/** Owner sign-up invitations (control database). The broker only finds and accepts; the operator writes. */
export function createSignupDal(pool: pg.Pool | pg.PoolClient) {
  return {
    /** The open, unexpired invitation for an email (lower-cased match), locked for acceptance. */
    async openFor(email: string): Promise<{ id: string } | undefined> {
      const { rows } = await pool.query<{ id: string }>(
        `SELECT id FROM wact.signup_invitations
          WHERE lower(email) = lower($1) AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now()
          FOR UPDATE`,
        [email],
      );
      return rows[0];
    },

    /** Marks an invitation found (and locked) by `openFor` in the same transaction as accepted; false if it no longer is open. */
    async accept(id: string, userId: string): Promise<boolean> {
      const { rowCount } = await pool.query(
        `UPDATE wact.signup_invitations SET accepted_at = now(), accepted_by = $2
          WHERE id = $1 AND accepted_at IS NULL AND revoked_at IS NULL`,
        [id, userId],
      );
      return rowCount === 1;
    },

    /** Writes an invitation; an expired open one for the same address is retired first (the unique index covers open ones). */
    async create(email: string, createdBy: string, ttlDays: number): Promise<SignupInvitation | undefined> {
      await pool.query(
        `UPDATE wact.signup_invitations SET revoked_at = now()
          WHERE lower(email) = lower($1) AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at <= now()`,
        [email],
      );
      const { rows } = await pool.query<Row>(
        `INSERT INTO wact.signup_invitations (id, email, created_by, expires_at)
         VALUES ($1, $2, $3, now() + make_interval(days => $4))
         ON CONFLICT DO NOTHING
         RETURNING ${COLUMNS}`,
        [crypto.randomUUID(), email, createdBy, ttlDays],
      );
      return rows[0] && toInvitation(rows[0]);
    },

    async revoke(id: string): Promise<SignupInvitation | undefined> {
      const { rows } = await pool.query<Row>(
        `UPDATE wact.signup_invitations SET revoked_at = now()
          WHERE id = $1 AND accepted_at IS NULL AND revoked_at IS NULL
          RETURNING ${COLUMNS}`,
        [id],
      );
      return rows[0] && toInvitation(rows[0]);
    },

    async list(opts: { all?: boolean } = {}): Promise<SignupInvitation[]> {
      const { rows } = await pool.query<Row>(
        `SELECT ${COLUMNS} FROM wact.signup_invitations
          ${opts.all ? '' : 'WHERE accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now()'}
          ORDER BY created_at DESC, id`,
      );
      return rows.map(toInvitation);
    },
  };
}

export type SignupDal = ReturnType<typeof createSignupDal>;
