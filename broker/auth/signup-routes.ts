import { z } from 'zod';
import { BadRequestError } from '../../shared/errors/errors.ts';
import type { ApiRequest, ApiRoute } from '../http/route-types.ts';
import { createSignupService } from '../../shared/signup/signup-service.ts';
import { signupInviteInput } from '../../shared/signup/signup-types.ts';
import { actorOf } from './step-up.ts';

export const signupInviteBody = signupInviteInput.extend({ reason: z.string().max(500).optional() }).strict();
export const signupListQuery = z.object({
  all: z.enum(['true', 'false']).optional().describe('true: also accepted, revoked and expired invitations'),
});

const signups = (req: ApiRequest) => createSignupService({ pool: req.services.platform.pools.control, audit: req.services.platform.audit });

/**
 * Owner sign-up invitations for security officers (`wact signup invite/list/revoke`
 * in production, as the signed-in person): the same service and audit events
 * (auth.signup.invite / auth.signup.revoke, the address never in the log) as
 * development's direct mode; the list is an audited read.
 */
export const signupRoutes: ApiRoute[] = [
  {
    method: 'get',
    path: '/signup-invitations',
    permission: 'signup.manage',
    summary: 'Open owner sign-up invitations (all=true: also accepted, revoked and expired)',
    request: { query: signupListQuery },
    audit: { action: 'auth.signup.list', target: 'signup_invitation' },
    handler: async (req) => {
      const q = signupListQuery.safeParse(req.query ?? {});
      if (!q.success) throw new BadRequestError('all must be true or false', 'invalid_query');
      const list = await signups(req).list({ all: q.data.all === 'true' });
      await req.recordAudit({ metadata: { rowCount: list.length, all: q.data.all === 'true' } });
      return list;
    },
  },
  {
    method: 'post',
    path: '/signup-invitations',
    permission: 'signup.manage',
    summary: 'Let an email address sign up as a new owner',
    request: { body: signupInviteBody },
    handler: async (req, res) => {
      const parsed = signupInviteBody.safeParse(req.body ?? {});
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new BadRequestError(`${issue.path.join('.') || 'body'}: ${issue.message}`, 'invalid_request');
      }
      const { reason: _reason, ...input } = parsed.data;
      const created = await signups(req).invite(input, actorOf(req));
      res.status(201);
      return created;
    },
  },
  {
    method: 'delete',
    path: '/signup-invitations/:invitationId',
    permission: 'signup.manage',
    summary: 'Revoke an open sign-up invitation',
    request: { params: { invitationId: z.string().uuid().describe('unknown, used or malformed → 404') } },
    handler: async (req) => signups(req).revoke(req.params.invitationId as string, actorOf(req)),
  },
];
