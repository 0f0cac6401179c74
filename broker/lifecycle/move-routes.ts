import { z } from 'zod';
import { REGIONS } from '../../shared/config/config.ts';
import { BadRequestError, ConflictError } from '../../shared/errors/errors.ts';
import {
  assertNoOpenWorkspaceJob,
  enqueueWorkspaceJob,
  JOB_PERMISSIONS,
  newJobId,
  REQUEST_ACTIONS,
  workspaceJobStatus,
} from '../../shared/workspaces/workspace-job-queues.ts';
import { assertNoCustomerKey } from '../../shared/lifecycle/move-service.ts';
import { workspaceKeks } from '../../shared/runtime/platform.ts';
import { actorOf } from '../auth/step-up.ts';
import type { ApiRoute } from '../http/route-types.ts';
import { jobParams, prepare } from './key-routes.ts';

export const moveBody = z
  .object({
    region: z.enum(['eu', 'us']),
    /** A workspace under the customer's own KMS key: another key of theirs, in the target region. */
    kmsKeyArn: z.string().max(300).optional(),
    totp: z.string().max(32).optional(),
    recoveryCode: z.string().max(64).optional(),
    reason: z.string().max(500).optional(),
  })
  .strict();

/**
 * Settings → Data residency: what `wact workspace move` does, for the
 * signed-in owner (workspace.move, TOTP step-up). A move copies every row of
 * the workspace into the other region re-encrypted under new keys, verifies,
 * switches the directory and purges the source: hours for a large workspace,
 * so the request validates, records `workspace.move.request` naming the job,
 * queues it for the worker (shared/workspaces/workspace-jobs.ts, moveJob) in
 * the TARGET region's queue (the purge of the source never takes the job with
 * it) and answers 202; the GET route reports its progress.
 */
export const moveRoutes: ApiRoute[] = [
  {
    method: 'post',
    path: '/workspaces/:workspaceId/move',
    permission: JOB_PERMISSIONS.move,
    summary: 'Move the workspace to another region (a job: 202 with its id)',
    request: { body: moveBody },
    handler: async (req, res) => {
      const { platform } = req.services;
      const { body, workspace, ctx } = await prepare(
        req,
        moveBody,
        'workspace.move.request',
        'move the workspace to another region',
        async (body, ws) => {
          const { region } = body;
          if (region === ws.region) throw new BadRequestError(`the workspace already lives in ${region}`, 'same_region');
          // Under the customer's own key: only under another of theirs in the target region, usable now (400 if not).
          if (body.kmsKeyArn) await workspaceKeks(platform.config).customer(body.kmsKeyArn, ws.id, region);
          else await assertNoCustomerKey(platform.pools.region(ws.region), ws.id);
          const target = platform.pools.region(region);
          await assertNoOpenWorkspaceJob(target, 'move', ws.id);
          const copy = await target.query('SELECT 1 FROM wact.workspaces WHERE id = $1', [ws.id]);
          if (copy.rowCount)
            throw new ConflictError(
              'a copy of this workspace already exists in the target region: an earlier move did not finish',
              'move_in_progress',
            );
        },
      );
      const to = body.region;
      const target = platform.pools.region(to);
      const jobId = newJobId();
      await platform.audit.append({
        action: REQUEST_ACTIONS.move,
        actor: actorOf(req),
        workspaceId: workspace.id,
        region: workspace.region,
        target: { type: 'workspace', id: workspace.id },
        ...ctx,
        outcome: 'success',
        metadata: { jobId, from: workspace.region, to },
      });
      await enqueueWorkspaceJob(target, 'move', jobId, {
        workspaceId: workspace.id,
        to,
        ...(body.kmsKeyArn ? { kmsKeyArn: body.kmsKeyArn.trim() } : {}),
      });
      res.status(202);
      return { jobId, state: 'queued', from: workspace.region, to, status: `/api/workspaces/${workspace.id}/move/${jobId}` };
    },
  },
  {
    method: 'get',
    path: '/workspaces/:workspaceId/move/:jobId',
    permission: 'workspace.move',
    summary: 'Progress of a move job: state, rows copied of total, outcome',
    request: { params: jobParams },
    // A read under a workspace: audited like every other (counts and states only; the CLI polls every 2 s).
    audit: { action: 'workspace.move.read', target: 'job' },
    handler: async (req) => {
      const status = await workspaceJobStatus(req.services.platform.pools, REGIONS, 'move', req.workspace!.id, String(req.params.jobId));
      await req.recordAudit({ targetId: status.jobId, metadata: { state: status.state } });
      return status;
    },
  },
];
