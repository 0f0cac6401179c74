import { z } from 'zod';

/**
 * Owner sign-up invitations: the broker finds and accepts them at sign-in and
 * manages them for security employees; the CLI manages them in development.
 */
export const signupInviteInput = z.object({
  email: z.string().trim().toLowerCase().email().max(320),
  days: z.coerce.number().int().min(1).max(90).default(14),
});

export type SignupInvitationStatus = 'open' | 'expired' | 'accepted' | 'revoked';

export interface SignupInvitation {
  id: string;
  email: string;
  createdBy: string;
  createdAt: string;
  expiresAt: string;
  acceptedAt: string | null;
  acceptedBy: string | null;
  revokedAt: string | null;
  status: SignupInvitationStatus;
}
