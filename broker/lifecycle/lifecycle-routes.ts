import { z } from 'zod';
import { BadRequestError } from '../../shared/errors/errors.ts';
import { createDeletionService, deletionInput } from '../../shared/lifecycle/deletion-service.ts';
import { enqueueDeletion } from '../../shared/lifecycle/lifecycle-jobs.ts';
import { createRetentionService, retentionInput } from '../../shared/lifecycle/retention-service.ts';
import { createWipeService } from '../../shared/lifecycle/wipe-service.ts';
import { actorOf, requireStepUp } from '../auth/step-up.ts';
import type { ApiRequest, ApiRoute } from '../http/route-types.ts';
import { listResponse, parseListQuery } from '../http/simple-rest.ts';

const retention = (req: ApiRequest) => createRetentionService(req.services.platform);
const deletion = (req: ApiRequest) =>
  createDeletionService({
    ...req.services.platform,
    config: req.services.config,
    enqueue: ({ workspaceId, requestId, region }) =>
      enqueueDeletion(req.services.platform.pools.region(region), { workspaceId, requestId }),
  });

export const wipeBody = z
  .object({
    confirm: z.string().max(200),
    totp: z.string().max(32).optional(),
    recoveryCode: z.string().max(64).optional(),
    reason: z.string().max(500).optional(),
  })
  .strict();

/**
 * Settings → Data: retention, end-user deletion requests, workspace wipe.
 * The policy decides who (settings.manage / deletion.manage: owner, admin;
 * workspace.wipe: owner only); these handlers never re-check roles.
 */
export const lifecycleRoutes: ApiRoute[] = [
  {
    method: 'get',
    path: '/workspaces/:workspaceId/retention',
    permission: 'settings.manage',
    audit: { action: 'retention.read', target: 'retention_settings' },
    handler: async (req) => retention(req).getSettings(req.params.workspaceId as string),
  },
  {
    method: 'put',
    path: '/workspaces/:workspaceId/retention',
    permission: 'settings.manage',
    request: { body: retentionInput },
    handler: async (req) => {
      const { reason: _reason, ...body } = (req.body ?? {}) as Record<string, unknown>;
      return retention(req).setSettings(req.params.workspaceId as string, body, actorOf(req));
    },
  },
  {
    method: 'get',
    path: '/workspaces/:workspaceId/deletion-requests',
    permission: 'deletion.manage',
    request: { list: {} },
    audit: { action: 'deletion.list', target: 'deletion_request' },
    handler: async (req, res) => {
      const q = parseListQuery(req, { sortable: ['requestedAt', 'dueAt', 'status'] as const, defaultSort: ['requestedAt', 'DESC'] });
      const status = typeof q.filter.status === 'string' ? q.filter.status : undefined;
      if (status && !['pending', 'propagating', 'completed', 'overdue'].includes(status))
        throw new BadRequestError('unknown status filter', 'invalid_query');
      const { rows, total } = await deletion(req).list(req.params.workspaceId as string, {
        offset: q.offset,
        limit: q.limit,
        sort: q.sort,
        status,
        overdue: q.filter.overdue === true,
      });
      await req.recordAudit({ metadata: { rowCount: rows.length } });
      return listResponse(res, 'deletion-requests', rows, q.offset, total);
    },
  },
  {
    method: 'get',
    path: '/workspaces/:workspaceId/deletion-requests/:requestId',
    permission: 'deletion.manage',
    request: { params: { requestId: z.string().uuid().describe('unknown or malformed → 404') } },
    audit: { action: 'deletion.show', target: 'deletion_request' },
    handler: async (req) => {
      const view = await deletion(req).get(req.params.workspaceId as string, req.params.requestId as string);
      await req.recordAudit({ targetId: view.id });
      return view;
    },
  },
  {
    method: 'post',
    path: '/workspaces/:workspaceId/deletion-requests',
    permission: 'deletion.manage',
    request: { body: deletionInput },
    handler: async (req, res) => {
      const { reason: _reason, ...body } = (req.body ?? {}) as Record<string, unknown>;
      const view = await deletion(req).submit(req.params.workspaceId as string, body, actorOf(req), {
        reason: req.reason,
        sessionId: req.auth.sessionId,
      });
      res.status(201);
      return view;
    },
  },
  {
    method: 'get',
    path: '/workspaces/:workspaceId/deletion-alerts',
    permission: 'deletion.manage',
    audit: { action: 'deletion.alerts.read', target: 'deletion_request' },
    handler: async (req) => deletion(req).alerts(req.params.workspaceId as string),
  },
  {
    method: 'post',
    path: '/workspaces/:workspaceId/wipe',
    permission: 'workspace.wipe',
    request: { body: wipeBody },
    handler: async (req) => {
      const parsed = wipeBody.safeParse(req.body ?? {});
      if (!parsed.success)
        throw new BadRequestError('send {"confirm": "<the workspace name>"} (and "totp" if you use TOTP)', 'invalid_wipe_request');
      const workspace = req.workspace ?? (await req.services.platform.workspaces.get(req.params.workspaceId as string));
      // Typed confirmation: the exact name, so a wipe never happens by a stray click.
      if (parsed.data.confirm !== workspace.name)
        throw new BadRequestError('the confirmation does not match the workspace name', 'confirmation_mismatch');
      // Step-up: whoever has TOTP proves it again now, whatever their session already showed.
      await requireStepUp(req, parsed.data, {
        action: 'workspace.wipe',
        workspaceId: null,
        target: { type: 'workspace', id: workspace.id },
        doing: 'wipe the workspace',
      });
      // No operator URLs here: the broker holds no owner credential. Keys, rows and sessions go now; the
      // erasure of the workspace's audit stream (as wact_owner) is the worker's job, named in the wipe's event.
      const { pools, keyring, audit } = req.services.platform;
      const report = await createWipeService({ pools, keyring, audit }).wipe(workspace.id, actorOf(req), {
        reason: parsed.data.reason ?? req.reason,
        sessionId: req.auth.sessionId,
        history: 'queue',
      });
      return {
        workspaceId: report.workspaceId,
        region: report.region,
        wipedAt: report.wipedAt,
        keysDestroyed: report.keysDestroyed,
        rowsDeleted: Object.values(report.deleted).reduce((a, b) => a + b, 0),
        queuedJobsDeleted: report.queuedJobsDeleted,
        auditStreamErasure: 'queued', // by the worker (lifecycle.erase_history)
      };
    },
  },
];
