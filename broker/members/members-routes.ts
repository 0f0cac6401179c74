import { z } from 'zod';
import { ConflictError, NotFoundError } from '../../shared/errors/errors.ts';
import { clientIp } from '../http/mount-routes.ts';
import type { ApiRequest, ApiRoute } from '../http/route-types.ts';
import { pageOf, parseListQuery } from '../http/simple-rest.ts';
import { CUSTOMER_ROLES } from '../../shared/permissions/permissions.ts';
import { createMembersDal } from './members-dal.ts';
import { createMembersService } from './members-service.ts';

const INVITATION_DAYS = 14;
const roleSchema = z.enum(CUSTOMER_ROLES);
const uuid = z.string().uuid();
export const memberRoleBody = z.object({ role: roleSchema });
export const invitationBody = z.object({ email: z.string().trim().toLowerCase().email().max(320), role: roleSchema });
const dal = (req: ApiRequest) => createMembersDal(req.services.platform.pools.control);
const service = (req: ApiRequest) => createMembersService({ pool: req.services.platform.pools.control });

async function audit(
  req: ApiRequest,
  action: string,
  target: { type: string; id?: string },
  metadata: Record<string, string | number | boolean | null>,
) {
  const ws = req.workspace!;
  await req.services.platform.audit.append({
    action,
    actor: { id: req.auth.userId, kind: req.auth.kind, role: req.auth.workspaceRole, displayName: req.auth.displayName },
    workspaceId: ws.id,
    region: ws.region,
    target,
    reason: req.reason,
    sessionId: req.auth.sessionId,
    clientIp: clientIp(req),
    outcome: 'success',
    metadata,
  });
}

function idParam(req: ApiRequest, what: string): string {
  const id = uuid.safeParse(req.params.id);
  if (!id.success) throw new NotFoundError(`unknown ${what}`, `${what}_not_found`);
  return id.data;
}

/** Members, invitations and role changes of a workspace (react-admin resources `members` and `invitations`). */
export const memberRoutes: ApiRoute[] = [
  {
    method: 'get',
    path: '/workspaces/:workspaceId/members',
    permission: 'members.read',
    request: { list: {} },
    audit: { action: 'members.list', target: 'members' },
    handler: async (req, res) => {
      const q = parseListQuery(req, { sortable: ['displayName', 'role', 'joinedAt'], defaultSort: ['joinedAt', 'ASC'] });
      const all = (await dal(req).members(req.workspace!.id)).map((m) => ({ id: m.userId, ...m }));
      const key = q.sort.field;
      all.sort((a, b) => String(a[key]).localeCompare(String(b[key])) * (q.sort.order === 'ASC' ? 1 : -1));
      return pageOf(res, 'members', all, q);
    },
  },
  {
    method: 'put',
    path: '/workspaces/:workspaceId/members/:id',
    permission: 'members.manage',
    request: { params: { id: uuid }, body: memberRoleBody },
    handler: async (req) => {
      const userId = idParam(req, 'member');
      const { role } = memberRoleBody.parse(req.body ?? {});
      const change = await service(req).changeRole(req.workspace!.id, req.auth.workspaceRole!, userId, role);
      if (change.from !== change.to)
        await audit(req, 'member.role.change', { type: 'user', id: userId }, { from: change.from, to: change.to });
      return { id: userId, role: change.to };
    },
  },
  {
    method: 'delete',
    path: '/workspaces/:workspaceId/members/:id',
    permission: 'members.manage',
    request: { params: { id: uuid } },
    handler: async (req) => {
      const userId = idParam(req, 'member');
      const removed = await service(req).remove(req.workspace!.id, req.auth.workspaceRole!, userId);
      await audit(req, 'member.remove', { type: 'user', id: userId }, { role: removed.role });
      return { id: userId };
    },
  },
  {
    method: 'get',
    path: '/workspaces/:workspaceId/invitations',
    permission: 'members.read',
    request: { list: {} },
    audit: { action: 'invitations.list', target: 'invitation' },
    handler: async (req, res) => {
      const q = parseListQuery(req, { sortable: ['createdAt'], defaultSort: ['createdAt', 'DESC'] });
      const all = await dal(req).invitations(req.workspace!.id);
      if (q.sort.order === 'DESC') all.reverse();
      return pageOf(res, 'invitations', all, q);
    },
  },
  {
    method: 'post',
    path: '/workspaces/:workspaceId/invitations',
    permission: 'members.manage',
    request: { body: invitationBody },
    handler: async (req, res) => {
      const input = invitationBody.parse(req.body ?? {});
      service(req).checkOwnerRule(req.auth.workspaceRole!, undefined, input.role);
      const members = await dal(req).members(req.workspace!.id);
      if (members.some((m) => m.email?.toLowerCase() === input.email))
        throw new ConflictError('this person is already a member', 'already_member');
      let invitation;
      try {
        invitation = await dal(req).invite(req.workspace!.id, input.email, input.role, req.auth.userId, INVITATION_DAYS);
      } catch (err) {
        if ((err as { code?: string }).code === '23505')
          throw new ConflictError('an invitation for this email is already open', 'invitation_exists');
        throw err;
      }
      // The email itself stays out of the audit metadata: the invitation id points to it.
      await audit(req, 'member.invite', { type: 'invitation', id: invitation.id }, { role: input.role });
      res.status(201);
      return invitation;
    },
  },
  {
    method: 'delete',
    path: '/workspaces/:workspaceId/invitations/:id',
    permission: 'members.manage',
    request: { params: { id: uuid } },
    handler: async (req) => {
      const id = idParam(req, 'invitation');
      if (!(await dal(req).revokeInvitation(req.workspace!.id, id))) throw new NotFoundError('unknown invitation', 'invitation_not_found');
      await audit(req, 'member.invite.revoke', { type: 'invitation', id }, {});
      return { id };
    },
  },
];
