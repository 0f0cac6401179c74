import { z } from 'zod';
import { REGIONS } from '../../shared/config/config.ts';
import { customerKeyArn } from '../../shared/crypto/workspace-kek.ts';
import { BadRequestError } from '../../shared/errors/errors.ts';
import {
  assertNoOpenWorkspaceJob,
  enqueueWorkspaceJob,
  JOB_PERMISSIONS,
  newJobId,
  REQUEST_ACTIONS,
  workspaceJobStatus,
} from '../../shared/workspaces/workspace-job-queues.ts';
import type { Workspace } from '../../shared/workspaces/workspace-service.ts';
import { actorOf, requireStepUp } from '../auth/step-up.ts';
import type { ApiRequest, ApiRoute } from '../http/route-types.ts';

const stepUpFields = {
  totp: z.string().max(32).optional(),
  recoveryCode: z.string().max(64).optional(),
  reason: z.string().max(500).optional(),
};

export const rotateKeysBody = z.object(stepUpFields).strict();
export const protectKeysBody = z.object(stepUpFields).strict();
export const customerKeyBody = z.object({ ...stepUpFields, kmsKeyArn: customerKeyArn }).strict();
export const reencryptBody = z
  .object({
    ...stepUpFields,
    /** Continue an interrupted re-encryption: no new key version. */
    resume: z.boolean().optional(),
    batchSize: z.number().int().min(1).max(50_000).optional(),
  })
  .strict();
export const jobParams = { jobId: z.string().uuid() };

/**
 * Parses the body with `schema` (a clear 400 naming the field), runs `check`
 * (the request's own 4xx: same region, a job already running — before a code
 * is spent), then the owner's TOTP step-up, audited under `action`.
 */
export async function prepare<S extends z.ZodTypeAny>(
  req: ApiRequest,
  schema: S,
  action: string,
  doing: string,
  check?: (body: z.infer<S>, workspace: Workspace) => Promise<void>,
): Promise<{ body: z.infer<S>; workspace: Workspace; ctx: { reason?: string; sessionId?: string } }> {
  const parsed = schema.safeParse(req.body ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new BadRequestError(`${issue.path.join('.') || 'body'}: ${issue.message}`, 'invalid_request');
  }
  const workspace = req.workspace ?? (await req.services.platform.workspaces.get(req.params.workspaceId as string));
  const body = parsed.data as { totp?: string; recoveryCode?: string; reason?: string };
  await check?.(parsed.data, workspace);
  await requireStepUp(req, body, {
    action,
    workspaceId: workspace.id,
    region: workspace.region,
    target: { type: 'workspace', id: workspace.id },
    doing,
  });
  return { body: parsed.data, workspace, ctx: { reason: body.reason ?? req.reason, sessionId: req.auth.sessionId } };
}

/**
 * Settings → Keys: what `wact workspace rotate-keys [--reencrypt [--resume]]`,
 * `protect-keys` and `set-customer-key` do, for the signed-in owner (the CLI's
 * production mode and any API client). Owner only (workspace.keys.manage),
 * TOTP step-up as for the wipe, audited as the person by the workspace
 * service (the same code and events as development's direct mode).
 *
 * Re-wrapping (protect, customer key) is short: it runs in the request.
 * Re-encryption rewrites every ciphertext of the workspace, up to millions of
 * rows: the request makes the new key version (unless resuming), records
 * `workspace.keys.reencrypt.request` naming the job, queues the job for the
 * worker (shared/workspaces/workspace-jobs.ts) and answers 202; the GET route
 * reports its progress. The broker's database rights for all this: regional
 * migration 0350.
 */
export const keyRoutes: ApiRoute[] = [
  {
    method: 'post',
    path: '/workspaces/:workspaceId/keys/rotate',
    permission: 'workspace.keys.manage',
    summary: "Add a new version of the workspace's data and hashing keys (new writes use it; older versions stay readable)",
    request: { body: rotateKeysBody },
    handler: async (req) => {
      const { workspace, ctx } = await prepare(req, rotateKeysBody, 'workspace.keys.rotate', "rotate the workspace's keys");
      await req.services.platform.workspaces.rotateKeys(workspace.id, actorOf(req), ctx);
      return { rotated: workspace.id };
    },
  },
  {
    method: 'post',
    path: '/workspaces/:workspaceId/keys/protect',
    permission: 'workspace.keys.manage',
    summary: 'Give the workspace a key-encryption key of its own (re-wrap its keys, so a wipe survives a restore)',
    request: { body: protectKeysBody },
    handler: async (req) => {
      const { workspace, ctx } = await prepare(req, protectKeysBody, 'workspace.keys.protect', "re-wrap the workspace's keys");
      const out = await req.services.platform.workspaces.protectKeys(workspace.id, actorOf(req), ctx);
      return { workspace: workspace.id, ...out };
    },
  },
  {
    method: 'post',
    path: '/workspaces/:workspaceId/keys/customer-key',
    permission: 'workspace.keys.manage',
    summary: "Use the customer's own AWS KMS key (ARN) as the workspace's key-encryption key",
    request: { body: customerKeyBody },
    handler: async (req) => {
      const { body, workspace, ctx } = await prepare(
        req,
        customerKeyBody,
        'workspace.keys.customer_key',
        "put the workspace's keys under your KMS key",
      );
      // A key WAct cannot use is a 400 customer_key_unusable before anything changes; the current
      // customer key cut off at the customer's end is a 503 customer_key_unavailable (never a 500).
      return req.services.platform.workspaces.setCustomerKey(workspace.id, body.kmsKeyArn, actorOf(req), ctx);
    },
  },
  {
    method: 'post',
    path: '/workspaces/:workspaceId/keys/reencrypt',
    permission: JOB_PERMISSIONS.reencrypt,
    summary:
      'Re-encrypt every stored ciphertext under a new data key, then retire the old ones (a job: 202 with its id; resume: no new key)',
    request: { body: reencryptBody },
    handler: async (req, res) => {
      const { platform } = req.services;
      const { body, workspace, ctx } = await prepare(
        req,
        reencryptBody,
        'workspace.keys.reencrypt.request',
        're-encrypt the workspace',
        // Before making a key version nobody would use yet: one re-encryption at a time.
        (_body, ws) => assertNoOpenWorkspaceJob(platform.pools.region(ws.region), 'reencrypt', ws.id),
      );
      const pool = platform.pools.region(workspace.region);
      if (!body.resume) await platform.workspaces.rotateKeys(workspace.id, actorOf(req), ctx);
      const jobId = newJobId();
      await platform.audit.append({
        action: REQUEST_ACTIONS.reencrypt,
        actor: actorOf(req),
        workspaceId: workspace.id,
        region: workspace.region,
        target: { type: 'workspace', id: workspace.id },
        ...ctx,
        outcome: 'success',
        metadata: { jobId, resume: !!body.resume },
      });
      await enqueueWorkspaceJob(pool, 'reencrypt', jobId, { workspaceId: workspace.id, batchSize: body.batchSize });
      res.status(202);
      return { jobId, state: 'queued', status: `/api/workspaces/${workspace.id}/keys/reencrypt/${jobId}` };
    },
  },
  {
    method: 'get',
    path: '/workspaces/:workspaceId/keys/reencrypt/:jobId',
    permission: 'workspace.keys.manage',
    summary: 'Progress of a re-encryption job: state, rows done of total, outcome',
    request: { params: jobParams },
    // A read under a workspace: audited like every other (counts and states only; the CLI polls every 2 s).
    audit: { action: 'workspace.keys.reencrypt.read', target: 'job' },
    handler: async (req) => {
      const status = await workspaceJobStatus(
        req.services.platform.pools,
        REGIONS,
        'reencrypt',
        req.workspace!.id,
        String(req.params.jobId),
      );
      await req.recordAudit({ targetId: status.jobId, metadata: { state: status.state } });
      return status;
    },
  },
];
