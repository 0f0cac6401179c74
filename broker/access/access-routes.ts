import { z } from 'zod';
import { BadRequestError } from '../../shared/errors/errors.ts';
import type { ApiRoute } from '../http/route-types.ts';
import { listResponse, parseListQuery } from '../http/simple-rest.ts';
import { accessActor, accessFor } from './access-runtime.ts';
import { SCOPES } from '../../shared/access/access-types.ts';

/**
 * Database access requests and sessions (console "Access" pages and the CLI's
 * `wact db connect` / `wact db sessions`). The service writes the audit
 * events (request, grant, approval, denial, revocation, token issue) itself.
 */

export const requestBody = z.object({
  workspaceId: z.string().uuid(),
  reason: z.string(),
  ttl: z.union([z.string().max(16), z.number().int()]).optional(),
  scope: z.enum(SCOPES).optional(),
});
export const noteBody = z.object({ note: z.string().max(1000).optional() }).optional();
export const readBody = z.object({ ids: z.array(z.number().int().positive()).max(200) });
export const notificationsQuery = z.object({ unread: z.enum(['true', 'false']).optional() });
const SORTABLE = ['requestedAt', 'expiresAt', 'status', 'workspaceId', 'statements'] as const;

function body<T>(schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value ?? {});
  if (!parsed.success) throw new BadRequestError(parsed.error.issues[0].message, 'invalid_request');
  return parsed.data;
}

export const accessRoutes: ApiRoute[] = [
  {
    method: 'post',
    path: '/db/requests',
    permission: 'db.request',
    request: { body: requestBody },
    handler: async (req, res) => {
      const input = body(requestBody, req.body);
      const result = await accessFor(req.services).request(accessActor(req), input);
      res.status(201);
      return result;
    },
  },
  {
    method: 'get',
    path: '/db/sessions',
    permission: 'db.sessions.read',
    request: { list: {} },
    handler: async (req, res) => {
      const q = parseListQuery(req, { sortable: SORTABLE, defaultSort: ['requestedAt', 'DESC'], maxPage: 200 });
      const f = q.filter as { status?: unknown; workspaceId?: unknown; mine?: unknown };
      const { rows, total } = await accessFor(req.services)
        .list(accessActor(req), {
          status: typeof f.status === 'string' ? (f.status as never) : undefined,
          workspaceId: typeof f.workspaceId === 'string' ? f.workspaceId : undefined,
          mine: f.mine === true,
          sort: q.sort.field,
          order: q.sort.order,
          offset: q.offset,
          limit: q.limit,
        })
        .catch((err: Error) => {
          if (err.name === 'ZodError') throw new BadRequestError('invalid filter', 'invalid_query');
          throw err;
        });
      return listResponse(res, 'sessions', rows, q.offset, total);
    },
  },
  {
    method: 'get',
    path: '/db/sessions/:id',
    permission: 'db.sessions.read',
    handler: async (req) => accessFor(req.services).get(accessActor(req), String(req.params.id)),
  },
  {
    // The requester's (new) gateway token; the previous one stops working.
    method: 'post',
    path: '/db/sessions/:id/token',
    permission: 'db.sessions.read',
    handler: async (req) => accessFor(req.services).issueToken(accessActor(req), String(req.params.id)),
  },
  {
    method: 'post',
    path: '/db/sessions/:id/approve',
    permission: 'db.approve',
    request: { body: noteBody },
    handler: async (req) => accessFor(req.services).approve(accessActor(req), String(req.params.id), body(noteBody, req.body) ?? {}),
  },
  {
    method: 'post',
    path: '/db/sessions/:id/deny',
    permission: 'db.approve',
    request: { body: noteBody },
    handler: async (req) => accessFor(req.services).deny(accessActor(req), String(req.params.id), body(noteBody, req.body) ?? {}),
  },
  {
    method: 'post',
    path: '/db/sessions/:id/revoke',
    permission: 'db.revoke',
    handler: async (req) => accessFor(req.services).revoke(accessActor(req), String(req.params.id)),
  },
  {
    // The requester ends their own session early.
    method: 'post',
    path: '/db/sessions/:id/end',
    permission: 'db.sessions.read',
    handler: async (req) => accessFor(req.services).end(accessActor(req), String(req.params.id)),
  },
  {
    method: 'get',
    path: '/db/notifications',
    permission: 'db.sessions.read',
    request: { query: notificationsQuery },
    handler: async (req) =>
      accessFor(req.services).notifications(accessActor(req), { unreadOnly: body(notificationsQuery, req.query).unread === 'true' }),
  },
  {
    method: 'post',
    path: '/db/notifications/read',
    permission: 'db.sessions.read',
    request: { body: readBody },
    handler: async (req) => {
      const { ids } = body(readBody, req.body);
      await accessFor(req.services).markRead(accessActor(req), ids);
      return undefined;
    },
  },
];
