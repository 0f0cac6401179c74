import { withTransaction } from '../../shared/db/pools.ts';
import { ConflictError, ForbiddenError, NotFoundError } from '../../shared/errors/errors.ts';
import type pg from 'pg';
import type { CustomerRole } from '../../shared/permissions/permissions.ts';
import { createMembersDal } from './members-dal.ts';

/**
 * Role changes and removals with the two rules customers rely on:
 * - an admin may not make, change or remove an owner (only owners touch owners);
 * - the last owner can be neither demoted nor removed.
 * Both are checked under a lock of the workspace's memberships, so two
 * concurrent demotions cannot leave a workspace without an owner.
 */
export function createMembersService(deps: { pool: pg.Pool }) {
  function checkOwnerRule(actorRole: CustomerRole, targetRole: CustomerRole | undefined, newRole?: CustomerRole) {
    if (actorRole === 'owner') return;
    if (targetRole === 'owner' || newRole === 'owner')
      throw new ForbiddenError('only an owner can grant, change or remove the owner role', 'owner_only');
  }

  async function changeRole(
    workspaceId: string,
    actorRole: CustomerRole,
    userId: string,
    role: CustomerRole,
  ): Promise<{ from: CustomerRole; to: CustomerRole }> {
    return withTransaction(deps.pool, async (client) => {
      const dal = createMembersDal(client);
      const members = await dal.lockMembers(workspaceId);
      const target = members.find((m) => m.userId === userId);
      if (!target) throw new NotFoundError('not a member of this workspace', 'member_not_found');
      checkOwnerRule(actorRole, target.role, role);
      if (target.role === 'owner' && role !== 'owner' && members.filter((m) => m.role === 'owner').length === 1) {
        throw new ConflictError('the last owner cannot be demoted: make someone else owner first', 'last_owner');
      }
      if (target.role !== role) await dal.setRole(workspaceId, userId, role);
      return { from: target.role, to: role };
    });
  }

  async function remove(workspaceId: string, actorRole: CustomerRole, userId: string): Promise<{ role: CustomerRole }> {
    return withTransaction(deps.pool, async (client) => {
      const dal = createMembersDal(client);
      const members = await dal.lockMembers(workspaceId);
      const target = members.find((m) => m.userId === userId);
      if (!target) throw new NotFoundError('not a member of this workspace', 'member_not_found');
      checkOwnerRule(actorRole, target.role);
      if (target.role === 'owner' && members.filter((m) => m.role === 'owner').length === 1) {
        throw new ConflictError('the last owner cannot be removed', 'last_owner');
      }
      await dal.removeMember(workspaceId, userId);
      return { role: target.role };
    });
  }

  return { changeRole, remove, checkOwnerRule };
}
