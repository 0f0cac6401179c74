import type pg from 'pg';
import type { AuditEventInput, AuditLog } from '../audit/audit-types.ts';
import type { Config, Region } from '../config/config.ts';
import { createKeyStore } from '../crypto/keyring-dal.ts';
import type { KeyProvider } from '../crypto/key-provider-types.ts';
import type { Keyring, KeyStore } from '../crypto/keyring-types.ts';
import type { ReencryptOptions } from '../crypto/reencrypt-service.ts';
import type { Pools } from '../db/pools.ts';
import { ForbiddenError } from '../errors/errors.ts';
import { PERMISSIONS } from '../permissions/permissions.ts';
import { createMoveService } from '../lifecycle/move-service.ts';
import type { Databases } from '../runtime/databases.ts';
import { keyProviders, workspaceKeks } from '../runtime/platform.ts';
import type { WorkspaceKeks } from '../crypto/workspace-kek.ts';
import {
  DONE_ACTIONS,
  JOB_PERMISSIONS,
  REQUEST_ACTIONS,
  WORKSPACE_QUEUES,
  saveJobProgress,
  workspaceJobData,
  type WorkspaceJobKind,
  type WorkspaceJobProgress,
} from './workspace-job-queues.ts';
import type { AuditContext, WorkspaceService } from './workspace-service.ts';

/**
 * The handlers of the long workspace jobs the broker queues (see
 * workspace-job-queues.ts): plain functions of a job `{ id, data }`, so the
 * worker registers them and tests run them directly.
 *
 * The actor of every event a job writes is the person who asked: read back
 * from the job's request event (the broker wrote it, with reason and session,
 * before queueing). No request event, no run: a job nobody asked for through
 * the broker is refused (fail closed), whatever its data says. And the person
 * must still hold the permission when the job runs — a job waits in the queue
 * and a re-encryption is retried for hours, so an owner removed, demoted or
 * disabled since asking gets nothing done in their name.
 */
export interface WorkspaceJob {
  id: string;
  data: unknown;
}

export interface WorkspaceJobDeps {
  pools: Pick<Pools, 'control' | 'region'>;
  keyring: Keyring;
  audit: AuditLog;
  workspaces: WorkspaceService;
  /** Move: the operator URLs (the audit stream is copied and erased as wact_owner, as the wipe does). */
  databases?: Pick<Databases, 'urls'>;
  /** Move: the key store and the regional KEK provider of each region. */
  keyStore?: KeyStore;
  providerFor?: (region: Region) => KeyProvider;
  /** Move: the target's own key-encryption key (per workspace, as at creation). */
  workspaceKeks?: Pick<WorkspaceKeks, 'create' | 'customer' | 'provider'>;
  /** Tests: called after each committed re-encryption batch (inject a crash). */
  afterBatch?: ReencryptOptions['afterBatch'];
}

interface Requester {
  actor: AuditEventInput['actor'];
  ctx: AuditContext;
}

/** Who asked for job `jobId` and why, from its request event in the workspace's stream. */
async function requester(pool: Pick<pg.Pool, 'query'>, kind: WorkspaceJobKind, workspaceId: string, jobId: string): Promise<Requester> {
  const { rows } = await pool.query<{
    actor_id: string;
    actor_kind: AuditEventInput['actor']['kind'];
    actor_role: string | null;
    actor_name: string | null;
    reason: string | null;
    session_id: string | null;
  }>(
    `SELECT actor_id, actor_kind, actor_role, actor_name, reason, session_id FROM audit.events
      WHERE stream_id = $1 AND action = $2 AND outcome = 'success' AND metadata::jsonb->>'jobId' = $3
      ORDER BY seq DESC LIMIT 1`,
    [workspaceId, REQUEST_ACTIONS[kind], jobId],
  );
  const r = rows[0];
  if (!r) throw new ForbiddenError('this job has no request event in the workspace’s audit log: refused', 'job_not_requested');
  return {
    actor: { id: r.actor_id, kind: r.actor_kind, role: r.actor_role ?? undefined, displayName: r.actor_name ?? undefined },
    ctx: { reason: r.reason ?? undefined, sessionId: r.session_id ?? undefined },
  };
}

/**
 * The requester, re-checked against the directory as the job runs: the same
 * rule the route's policy applied (broker/policy/policy.ts) — a customer's role
 * in THIS workspace, or the employee role, must be one the kind's permission
 * names, and the account must not be disabled. Anything else is refused.
 */
async function assertStillAllowed(
  control: Pick<pg.Pool, 'query'>,
  kind: WorkspaceJobKind,
  workspaceId: string,
  who: Requester,
): Promise<void> {
  const { rows } = await control.query<{ kind: string; employee_role: string | null; disabled: boolean; role: string | null }>(
    `SELECT u.kind, u.employee_role, u.disabled_at IS NOT NULL AS disabled, m.role
       FROM wact.users u LEFT JOIN wact.memberships m ON m.user_id = u.id AND m.workspace_id = $2
      WHERE u.id::text = $1`,
    [who.actor.id, workspaceId],
  );
  const u = rows[0];
  const role = u?.kind === 'employee' ? u.employee_role : u?.role;
  const allowed: readonly string[] = PERMISSIONS[JOB_PERMISSIONS[kind]].roles;
  if (!u || u.kind !== who.actor.kind || u.disabled || !role || !allowed.includes(role))
    throw new ForbiddenError('the person who asked for this job may no longer do it: refused', 'requester_not_allowed');
}

/** Progress onto the job row, at most once a second and always at the end; never fails the job. */
function progressWriter(pool: Pick<pg.Pool, 'query'>, kind: WorkspaceJobKind, jobId: string) {
  let last = 0;
  let chain: Promise<void> = Promise.resolve();
  return {
    report(p: WorkspaceJobProgress) {
      const now = Date.now();
      if (now - last < 1000 && p.done < p.total) return;
      last = now;
      chain = chain.then(() => saveJobProgress(pool, kind, jobId, p)).catch(() => undefined);
    },
    flushed: () => chain,
  };
}

/** A failed job, in the workspace's stream as the person's action (code only: messages may name tables, never data). */
async function recordFailure(
  deps: Pick<WorkspaceJobDeps, 'audit'>,
  kind: WorkspaceJobKind,
  ws: { id: string; region: Region },
  who: Requester,
  jobId: string,
  err: unknown,
): Promise<void> {
  const code = typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : 'error';
  await deps.audit
    .append({
      action: DONE_ACTIONS[kind],
      actor: who.actor,
      workspaceId: ws.id,
      region: ws.region,
      target: { type: 'workspace', id: ws.id },
      ...who.ctx,
      outcome: 'failure',
      metadata: { jobId, error: code.slice(0, 64) },
    })
    .catch(() => undefined);
}

/**
 * Re-encrypts every ciphertext of the workspace under its current data key,
 * then retires the older data-key versions (reencrypt-service.ts). The broker
 * made the new key version before queueing (or not, for --resume), so every
 * run, first or retried, continues from the saved cursors: idempotent.
 */
export function reencryptJob(deps: WorkspaceJobDeps): (job: WorkspaceJob) => Promise<void> {
  return async (job) => {
    const data = workspaceJobData.parse(job.data);
    const ws = await deps.workspaces.get(data.workspaceId);
    const regional = deps.pools.region(ws.region);
    const who = await requester(regional, 'reencrypt', ws.id, job.id);
    const progress = progressWriter(regional, 'reencrypt', job.id);
    try {
      await assertStillAllowed(deps.pools.control, 'reencrypt', ws.id, who);
      await deps.workspaces.reencrypt(
        ws.id,
        who.actor,
        {
          rotate: false,
          jobId: job.id,
          batchSize: data.batchSize,
          onProgress: (p) => progress.report(p),
          afterBatch: deps.afterBatch,
        },
        who.ctx,
      );
    } catch (err) {
      await recordFailure(deps, 'reencrypt', ws, who, job.id, err);
      throw err;
    } finally {
      await progress.flushed();
    }
  };
}

/**
 * Moves the workspace to `data.to` (move-service.ts): copy re-encrypted under
 * the target keys, verify, switch the directory, purge the source. The job
 * lives in the target region's queue, so purging the source never takes the
 * job's own row with it.
 */
export function moveJob(deps: WorkspaceJobDeps): (job: WorkspaceJob) => Promise<void> {
  if (!deps.keyStore || !deps.providerFor) throw new Error('moveJob needs keyStore and providerFor');
  const mover = createMoveService({
    pools: deps.pools,
    keyring: deps.keyring,
    keyStore: deps.keyStore,
    providerFor: deps.providerFor,
    workspaces: deps.workspaces,
    audit: deps.audit,
    databases: deps.databases,
    workspaceKeks: deps.workspaceKeks,
  });
  return async (job) => {
    const data = workspaceJobData.parse(job.data);
    if (!data.to) throw new Error('a move job names its target region');
    const ws = await deps.workspaces.get(data.workspaceId);
    const who = await requester(deps.pools.region(ws.region), 'move', ws.id, job.id);
    // The job row is in the target region (see above).
    const progress = progressWriter(deps.pools.region(data.to), 'move', job.id);
    try {
      await assertStillAllowed(deps.pools.control, 'move', ws.id, who);
      await mover.move(ws.id, data.to, who.actor, {
        ctx: who.ctx,
        jobId: job.id,
        onProgress: (p) => progress.report(p),
        customerKeyArn: data.kmsKeyArn,
      });
    } catch (err) {
      // The workspace is still whole in its source region (the move dropped its partial copy).
      await recordFailure(deps, 'move', ws, who, job.id, err);
      throw err;
    } finally {
      await progress.flushed();
    }
  };
}

/**
 * Both handlers from a platform, as the worker builds them:
 *   const handlers = workspaceJobHandlers(root.platform('broker'));
 *   { queue: WORKSPACE_QUEUES.reencrypt, scope: 'region', run: (job) => handlers.reencrypt(job) }
 *   { queue: WORKSPACE_QUEUES.move, scope: 'region', run: (job) => handlers.move(job) }
 */
export function workspaceJobHandlers(
  platform: {
    config: Config;
    databases: Pick<Databases, 'urls'>;
    pools: Pools;
    keyring: Keyring;
    audit: AuditLog;
    workspaces: WorkspaceService;
  },
  hooks: Pick<WorkspaceJobDeps, 'afterBatch'> = {},
): Record<WorkspaceJobKind, (job: WorkspaceJob) => Promise<void>> {
  const deps: WorkspaceJobDeps = {
    ...platform,
    keyStore: createKeyStore({ poolFor: (r) => platform.pools.region(r) }),
    providerFor: keyProviders(platform.config),
    workspaceKeks: workspaceKeks(platform.config),
    ...hooks,
  };
  return { reencrypt: reencryptJob(deps), move: moveJob(deps) };
}

/**
 * The two jobs in the shape the worker's job table takes (worker/worker-types.ts
 * WorkerJob, minus its group): per region, since a job lives in the regional
 * database of its workspace (a move: of its target region). The worker adds
 * them to a group it runs, e.g. in worker/jobs/lifecycle-jobs.ts:
 *   ...workspaceWorkerJobs(platform).map((j) => ({ group: 'lifecycle' as const, ...j })),
 */
export function workspaceWorkerJobs(
  platform: Parameters<typeof workspaceJobHandlers>[0],
  hooks: Pick<WorkspaceJobDeps, 'afterBatch'> = {},
) {
  const handlers = workspaceJobHandlers(platform, hooks);
  return (['reencrypt', 'move'] as const).map((kind) => ({
    scope: 'region' as const,
    queue: WORKSPACE_QUEUES[kind],
    pollSeconds: 5,
    run: (job: WorkspaceJob) => handlers[kind](job),
  }));
}
