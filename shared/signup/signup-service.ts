import type pg from 'pg';
import { z } from 'zod';
import type { AuditEventInput, AuditLog } from '../audit/audit-types.ts';
import { withTransaction } from '../db/pools.ts';
import { ConflictError, NotFoundError } from '../errors/errors.ts';
import { createSignupDal } from './signup-dal.ts';
import { signupInviteInput, type SignupInvitation } from './signup-types.ts';

/**
 * Operator side of owner sign-up: invite an address, list and revoke
 * invitations. Each change is audited on the platform stream before it
 * counts (the audit write is inside the transaction: if it fails, nothing
 * is written). The address itself never enters the audit log.
 */
export function createSignupService(deps: { pool: pg.Pool; audit: AuditLog }) {
  async function invite(input: z.input<typeof signupInviteInput>, actor: AuditEventInput['actor']): Promise<SignupInvitation> {
    const { email, days } = signupInviteInput.parse(input);
    return withTransaction(deps.pool, async (client) => {
      const created = await createSignupDal(client).create(email, actor.id, days);
      if (!created)
        throw new ConflictError(
          'an open sign-up invitation for this address exists: revoke it first or let it be used',
          'signup_invitation_exists',
        );
      await deps.audit.append({
        action: 'auth.signup.invite',
        actor,
        target: { type: 'signup_invitation', id: created.id },
        outcome: 'success',
        metadata: { days },
      });
      return created;
    });
  }

  async function revoke(id: string, actor: AuditEventInput['actor']): Promise<SignupInvitation> {
    if (!z.uuid().safeParse(id).success) throw new NotFoundError('no open sign-up invitation with this id', 'signup_invitation_not_found');
    return withTransaction(deps.pool, async (client) => {
      const revoked = await createSignupDal(client).revoke(id);
      if (!revoked) throw new NotFoundError('no open sign-up invitation with this id', 'signup_invitation_not_found');
      await deps.audit.append({ action: 'auth.signup.revoke', actor, target: { type: 'signup_invitation', id }, outcome: 'success' });
      return revoked;
    });
  }

  return { invite, revoke, list: (opts?: { all?: boolean }) => createSignupDal(deps.pool).list(opts) };
}

export type SignupService = ReturnType<typeof createSignupService>;
