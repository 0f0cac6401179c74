import { z } from 'zod';
import { BadRequestError } from '../../shared/errors/errors.ts';
import { accessActor, accessFor } from '../access/access-runtime.ts';
import type { ApiRoute, BrokerServices } from '../http/route-types.ts';
import { listResponse, parseListQuery } from '../http/simple-rest.ts';
import { createSupportService, REDACTED_VIEWS, type SupportService } from './support-service.ts';

/** One support service per broker process (its session-role pools), in `services.features.support`. */
export function supportFor(services: BrokerServices): SupportService {
  let support = services.features.support as SupportService | undefined;
  if (!support) {
    support = createSupportService({ access: accessFor(services) });
    services.features.support = support;
  }
  return support;
}

/** For the policy's `support-session` condition (registered in broker/http/route-registry.ts). */
export function supportSessionActive(services: BrokerServices, userId: string, workspaceId: string): Promise<boolean> {
  return accessFor(services).hasActiveSupportSession(userId, workspaceId);
}

export const openBody = z.object({ reason: z.string(), ttl: z.union([z.string().max(16), z.number().int()]).optional() });
const ALL_SORTABLE = [...new Set(Object.values(REDACTED_VIEWS).flatMap((v) => v.sortable as readonly string[]))];

export const supportRoutes: ApiRoute[] = [
  {
    method: 'post',
    path: '/workspaces/:workspaceId/support/sessions',
    permission: 'support.open',
    request: { body: openBody },
    handler: async (req, res) => {
      const parsed = openBody.safeParse(req.body ?? {});
      if (!parsed.success) throw new BadRequestError('reason is required', 'invalid_request');
      const session = await supportFor(req.services).open(accessActor(req), req.workspace!.id, parsed.data);
      res.status(201);
      return session;
    },
  },
  {
    method: 'get',
    path: '/workspaces/:workspaceId/support/:view',
    permission: 'support.browse',
    request: { list: {} },
    audit: { action: 'support.browse', target: 'redacted_view' },
    handler: async (req, res) => {
      // Every read states why (the audit log refuses an employee read without a reason): check before reading.
      if (!req.reason) throw new BadRequestError('state a reason for this read (X-Wact-Reason header)', 'reason_required');
      const view = String(req.params.view);
      const q = parseListQuery(req, { sortable: ALL_SORTABLE, defaultSort: ['created_at', 'DESC'], maxPage: 200 });
      const page = await supportFor(req.services).browse(accessActor(req), req.workspace!.id, view, {
        sortField: q.sort.field,
        order: q.sort.order,
        offset: q.offset,
        limit: q.limit,
      });
      // Durable before any row is sent (the machinery refuses with 503 otherwise).
      await req.recordAudit({ targetId: view, metadata: { rows: page.rows.length, total: page.total, accessSession: page.sessionId } });
      return listResponse(res, view, page.rows, q.offset, page.total);
    },
  },
];
