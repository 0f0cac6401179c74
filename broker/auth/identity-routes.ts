import { z } from 'zod';
import { BadRequestError, NotFoundError } from '../../shared/errors/errors.ts';
import { clientIp } from '../http/mount-routes.ts';
import type { ApiRequest, ApiRoute } from '../http/route-types.ts';
import { pageOf, parseListQuery } from '../http/simple-rest.ts';
import { createMembersDal } from '../members/members-dal.ts';
import type { IdentityRuntime } from './identity-runtime.ts';

const rt = (req: ApiRequest) => req.services.features.identity as IdentityRuntime;
const actor = (req: ApiRequest) => ({
  id: req.auth.userId,
  kind: req.auth.kind,
  role: req.auth.employeeRole ?? req.auth.workspaceRole,
  displayName: req.auth.displayName,
});
const uuid = z.string().uuid();
export const createWorkspaceBody = z.object({ name: z.string().trim().min(1).max(200), region: z.enum(['eu', 'us']) });
export const securitySettingsBody = z.object({ requireTotp: z.boolean() });

/** /api routes of the identity feature: own sessions, employees (security), workspace security settings, setup wizard. */
export const identityRoutes: ApiRoute[] = [
  {
    method: 'get',
    path: '/me/sessions',
    permission: 'account.self',
    request: { list: {} },
    handler: async (req, res) => {
      const q = parseListQuery(req, { sortable: ['createdAt'], defaultSort: ['createdAt', 'DESC'] });
      const all = (await rt(req).sessions.listForUser(req.auth.userId)).map((s) => ({ ...s, current: s.id === req.auth.sessionId }));
      return pageOf(res, 'sessions', all, q);
    },
  },
  {
    method: 'delete',
    path: '/me/sessions/:id',
    permission: 'account.self',
    request: { params: { id: uuid } },
    handler: async (req) => {
      const id = uuid.safeParse(req.params.id);
      if (!id.success) throw new NotFoundError('unknown session', 'session_not_found');
      const { rowCount } = await req.services.platform.pools.control.query(
        `UPDATE wact.sessions SET revoked_at = now(), revoked_by = $2, revoke_reason = 'self' WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL`,
        [id.data, req.auth.userId],
      );
      if (!rowCount) throw new NotFoundError('unknown session', 'session_not_found');
      await req.services.platform.audit.append({
        action: 'auth.session.revoke',
        actor: actor(req),
        target: { type: 'session', id: id.data },
        sessionId: req.auth.sessionId,
        clientIp: clientIp(req),
        outcome: 'success',
        metadata: { scope: 'own' },
      });
      return { id: id.data };
    },
  },
  {
    method: 'post',
    path: '/me/sessions/revoke-all',
    permission: 'account.self',
    handler: async (req) => {
      const ended = await rt(req).sessions.revokeAllForUser(req.auth.userId, req.auth.userId, 'self: sign out everywhere');
      await req.services.platform.audit.append({
        action: 'auth.sessions.revoke_all',
        actor: actor(req),
        target: { type: 'user', id: req.auth.userId },
        sessionId: req.auth.sessionId,
        clientIp: clientIp(req),
        outcome: 'success',
        metadata: { ended },
      });
      return { ended };
    },
  },
  {
    method: 'get',
    path: '/employees',
    permission: 'employees.read',
    request: { list: {} },
    handler: async (req, res) => {
      const q = parseListQuery(req, { sortable: ['displayName', 'employeeRole', 'lastLoginAt'], defaultSort: ['displayName', 'ASC'] });
      const { rows } = await req.services.platform.pools.control.query<{
        id: string;
        display_name: string;
        email: string | null;
        employee_role: string;
        last_login_at: Date | null;
        disabled: boolean;
        totp: boolean;
        locked: boolean;
        sessions: string;
      }>(
        `SELECT u.id, u.display_name, u.email, u.employee_role, u.last_login_at, u.disabled_at IS NOT NULL AS disabled,
                COALESCE(t.confirmed_at IS NOT NULL, false) AS totp, COALESCE(t.locked_until > now(), false) AS locked,
                (SELECT count(*) FROM wact.sessions s WHERE s.user_id = u.id AND s.revoked_at IS NULL AND s.expires_at > now()) AS sessions
           FROM wact.users u LEFT JOIN wact.totp_credentials t ON t.user_id = u.id
          WHERE u.kind = 'employee'`,
      );
      const all = rows.map((r) => ({
        id: r.id,
        displayName: r.display_name,
        email: r.email,
        employeeRole: r.employee_role,
        lastLoginAt: r.last_login_at?.toISOString() ?? null,
        disabled: r.disabled,
        totpEnrolled: r.totp,
        totpLocked: r.locked,
        activeSessions: Number(r.sessions),
      }));
      const key = q.sort.field as 'displayName' | 'employeeRole' | 'lastLoginAt';
      all.sort((a, b) => String(a[key] ?? '').localeCompare(String(b[key] ?? '')) * (q.sort.order === 'ASC' ? 1 : -1));
      const roleFilter = typeof q.filter.employeeRole === 'string' ? q.filter.employeeRole : undefined;
      return pageOf(res, 'employees', roleFilter ? all.filter((e) => e.employeeRole === roleFilter) : all, q);
    },
  },
  {
    method: 'post',
    path: '/employees/:id/sessions/revoke',
    permission: 'employees.sessions.revoke',
    request: { params: { id: uuid } },
    handler: async (req) => {
      const id = uuid.safeParse(req.params.id);
      if (!id.success) throw new NotFoundError('unknown employee', 'employee_not_found');
      const user = await rt(req).users.get(id.data);
      if (!user || user.kind !== 'employee') throw new NotFoundError('unknown employee', 'employee_not_found');
      const ended = await rt(req).sessions.revokeAllForUser(user.id, req.auth.userId, `security: ${req.reason ?? 'revoked'}`);
      await req.services.platform.audit.append({
        action: 'auth.sessions.revoke_all',
        actor: actor(req),
        target: { type: 'user', id: user.id },
        reason: req.reason,
        sessionId: req.auth.sessionId,
        clientIp: clientIp(req),
        outcome: 'success',
        metadata: { ended, by: 'security' },
      });
      return { id: user.id, ended };
    },
  },
  {
    method: 'get',
    path: '/workspaces',
    permission: 'account.self',
    request: { list: {} },
    handler: async (req, res) => {
      const q = parseListQuery(req, { sortable: ['name'], defaultSort: ['name', 'ASC'] });
      // Customers see their own workspaces; employees the directory (names and regions only).
      const all =
        req.auth.kind === 'customer'
          ? await createMembersDal(req.services.platform.pools.control).workspacesOf(req.auth.userId)
          : (await req.services.platform.workspaces.list()).map((w) => ({ id: w.id, name: w.name, region: w.region }));
      if (q.sort.order === 'DESC') all.reverse();
      return pageOf(res, 'workspaces', all, q);
    },
  },
  {
    method: 'post',
    path: '/workspaces',
    permission: 'workspace.create',
    request: { body: createWorkspaceBody },
    handler: async (req, res) => {
      const input = createWorkspaceBody.parse(req.body ?? {});
      const ws = await req.services.platform.workspaces.create(input, actor(req));
      try {
        await createMembersDal(req.services.platform.pools.control).addMember(ws.id, req.auth.userId, 'owner');
      } catch (err) {
        req.services.platform.logger.error({ err, workspace: ws.id }, 'workspace created but owner membership failed');
        throw err;
      }
      await req.services.platform.audit.append({
        action: 'member.add',
        actor: actor(req),
        workspaceId: ws.id,
        region: ws.region,
        target: { type: 'user', id: req.auth.userId },
        outcome: 'success',
        metadata: { role: 'owner', via: 'setup' },
      });
      res.status(201);
      return { ...ws, role: 'owner' };
    },
  },
  {
    method: 'get',
    path: '/workspaces/:workspaceId/settings/security',
    permission: 'settings.manage',
    audit: { action: 'settings.security.read', target: 'workspace_settings' },
    handler: async (req) => ({ id: req.workspace!.id, requireTotp: await rt(req).members.requiresTotp(req.workspace!.id) }),
  },
  {
    method: 'put',
    path: '/workspaces/:workspaceId/settings/security',
    permission: 'settings.manage',
    request: { body: securitySettingsBody },
    handler: async (req) => {
      const body = securitySettingsBody.safeParse(req.body ?? {});
      if (!body.success) throw new BadRequestError('requireTotp must be true or false', 'invalid_input');
      const ws = req.workspace!;
      const before = await rt(req).members.requiresTotp(ws.id);
      await rt(req).members.setRequireTotp(ws.id, body.data.requireTotp, req.auth.userId);
      await req.services.platform.audit.append({
        action: 'workspace.settings.update',
        actor: actor(req),
        workspaceId: ws.id,
        region: ws.region,
        target: { type: 'workspace', id: ws.id },
        sessionId: req.auth.sessionId,
        outcome: 'success',
        metadata: { setting: 'requireTotp', from: before, to: body.data.requireTotp },
      });
      return { id: ws.id, requireTotp: body.data.requireTotp };
    },
  },
];
