import crypto from 'node:crypto';
import type pg from 'pg';
import { z } from 'zod';
import type { Region } from '../config/config.ts';
import { customerKeyArn } from '../crypto/workspace-kek.ts';
import type { Pools } from '../db/pools.ts';
import { ConflictError, NotFoundError } from '../errors/errors.ts';
import { queueOptions, type QueueDefinition } from '../jobs/job-queue.ts';
import type { Permission } from '../permissions/permissions.ts';

/**
 * Long workspace operations requested through the broker (issue 14.4) and
 * worked by the worker: re-encryption of every ciphertext under the current
 * data key, and the move to another region. The broker's request checks the
 * permission and the step-up, records a `*.request` audit event naming the
 * job, queues the job and answers 202; the worker runs the handlers in
 * shared/workspaces/workspace-jobs.ts; the status route reads the job here.
 *
 * Jobs live in the regional database of the workspace (its region when the
 * job was requested). Job data holds our own ids only: who asked and why is
 * read back from the request event (audit.events) by the handler.
 *
 * Neither queue retries on its own for the move (a failed move has cleaned up
 * its partial copy; the person asks again); re-encryption is resumable and
 * idempotent, so pg-boss retries it with backoff. Both may run for hours:
 * `expireInSeconds` is the longest a single run may hold the job.
 */
export const WORKSPACE_QUEUES = {
  reencrypt: {
    name: 'workspace.reencrypt',
    retryLimit: 3,
    retryDelaySeconds: 60,
    retryBackoff: true,
    expireInSeconds: 12 * 3600,
    retentionDays: 14,
  },
  move: {
    name: 'workspace.move',
    retryLimit: 0,
    retryDelaySeconds: 60,
    retryBackoff: false,
    expireInSeconds: 12 * 3600,
    retentionDays: 14,
  },
} satisfies Record<string, QueueDefinition>;

export type WorkspaceJobKind = keyof typeof WORKSPACE_QUEUES;

/** The audit action of the request event of each kind (the job's own completion event is the domain's). */
export const REQUEST_ACTIONS: Record<WorkspaceJobKind, string> = {
  reencrypt: 'workspace.keys.reencrypt.request',
  move: 'workspace.move.request',
};
/** The permission that asks for each kind: its route declares it, and the handler checks it again when the job runs. */
export const JOB_PERMISSIONS = {
  reencrypt: 'workspace.keys.manage',
  move: 'workspace.move',
} as const satisfies Record<WorkspaceJobKind, Permission>;
/** The event the handler writes when the job succeeded (metadata carries the job id). */
export const DONE_ACTIONS: Record<WorkspaceJobKind, string> = {
  reencrypt: 'workspace.keys.reencrypt',
  move: 'workspace.move',
};

/** What a job's data may hold: ids, a region and a key ARN — nothing about anyone. */
export const workspaceJobData = z
  .object({
    workspaceId: z.string().uuid(),
    /** move: the target region. */
    to: z.enum(['eu', 'us']).optional(),
    /** move: the customer's KMS key in the target region (see move-service.ts, assertNoCustomerKey). */
    kmsKeyArn: customerKeyArn.optional(),
    batchSize: z.number().int().min(1).max(50_000).optional(),
  })
  .strict();
export type WorkspaceJobData = z.infer<typeof workspaceJobData>;

export interface WorkspaceJobProgress {
  done: number;
  total: number;
  table?: string;
}

export interface WorkspaceJobStatus {
  jobId: string;
  kind: WorkspaceJobKind;
  workspaceId: string;
  state: 'queued' | 'running' | 'retrying' | 'completed' | 'failed' | 'cancelled';
  progress: WorkspaceJobProgress | null;
  /** Completed: the completion event's metadata (counts and versions only). */
  result: Record<string, unknown> | null;
  /** Failed or retrying: the error's code and message (never a stack). */
  error: { code?: string; message: string } | null;
  createdAt: string;
  startedAt: string | null;
  completedAt: string | null;
}

const STATES: Record<string, WorkspaceJobStatus['state']> = {
  created: 'queued',
  retry: 'retrying',
  active: 'running',
  completed: 'completed',
  failed: 'failed',
  cancelled: 'cancelled',
};

/** A new job id, made before the request event so that the event can name the job. */
export const newJobId = (): string => crypto.randomUUID();

/**
 * Queues one job (plain SQL on the regional pool: the broker's API process
 * runs no pg-boss instance). One job of a kind per workspace at a time: a
 * second request while one is queued or running is a 409 naming it.
 */
export async function enqueueWorkspaceJob(
  pool: Pick<pg.Pool, 'connect'>,
  kind: WorkspaceJobKind,
  jobId: string,
  data: WorkspaceJobData,
): Promise<void> {
  const q = WORKSPACE_QUEUES[kind];
  const payload = workspaceJobData.parse(data);
  const client = await pool.connect();
  try {
    await client.query('SELECT wact_private.ensure_job_queue($1, $2::json)', [q.name, JSON.stringify(queueOptions(q))]);
    await client.query('BEGIN');
    // Serialises requests for one workspace (any broker instance) until commit.
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`wact.workspace-job:${payload.workspaceId}`]);
    await assertNoOpenWorkspaceJob(client, kind, payload.workspaceId);
    await client.query(
      `INSERT INTO pgboss.job (id, name, data, retry_limit, retry_delay, retry_backoff, expire_in, keep_until)
       VALUES ($1, $2, $3, $4, $5, $6, make_interval(secs => $7), now() + make_interval(days => $8))`,
      [jobId, q.name, JSON.stringify(payload), q.retryLimit, q.retryDelaySeconds, q.retryBackoff, q.expireInSeconds, q.retentionDays],
    );
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** 409 `<kind>_in_progress` naming the job when one of this kind is queued, waiting for a retry or running. */
export async function assertNoOpenWorkspaceJob(db: Pick<pg.Pool, 'query'>, kind: WorkspaceJobKind, workspaceId: string): Promise<void> {
  const open = await db.query<{ id: string }>(
    `SELECT id FROM pgboss.job WHERE name = $1 AND data->>'workspaceId' = $2 AND state IN ('created', 'retry', 'active') LIMIT 1`,
    [WORKSPACE_QUEUES[kind].name, workspaceId],
  );
  if (open.rows[0]) {
    throw new ConflictError(
      `a ${kind === 'move' ? 'move' : 're-encryption'} of this workspace is already queued or running (job ${open.rows[0].id})`,
      `${kind}_in_progress`,
    );
  }
}

/** The handler's progress, kept on the job row itself while it runs (pg-boss replaces it with the outcome). */
export async function saveJobProgress(
  pool: Pick<pg.Pool, 'query'>,
  kind: WorkspaceJobKind,
  jobId: string,
  progress: WorkspaceJobProgress,
): Promise<void> {
  await pool.query(`UPDATE pgboss.job SET output = $3 WHERE name = $1 AND id = $2 AND state = 'active'`, [
    WORKSPACE_QUEUES[kind].name,
    jobId,
    JSON.stringify({ progress }),
  ]);
}

interface JobRow {
  id: string;
  state: string;
  data: { workspaceId?: string; to?: Region };
  output: { progress?: WorkspaceJobProgress; message?: unknown; code?: unknown } | null;
  created_on: Date;
  started_on: Date | null;
  completed_on: Date | null;
}

/**
 * A job of the workspace, looked up in every region (a move's job stays in
 * the region it started from). Unknown id, another workspace's job or another
 * kind: 404, the same answer for each.
 */
export async function workspaceJobStatus(
  pools: Pick<Pools, 'region'>,
  regions: readonly Region[],
  kind: WorkspaceJobKind,
  workspaceId: string,
  jobId: string,
): Promise<WorkspaceJobStatus> {
  const notFound = new NotFoundError('no such job for this workspace', 'job_not_found');
  if (!z.string().uuid().safeParse(jobId).success) throw notFound;
  for (const region of regions) {
    const { rows } = await pools.region(region).query<JobRow>(
      `SELECT id, state::text AS state, data, output, created_on, started_on, completed_on
           FROM pgboss.job WHERE name = $1 AND id = $2 AND data->>'workspaceId' = $3`,
      [WORKSPACE_QUEUES[kind].name, jobId, workspaceId],
    );
    const row = rows[0];
    if (!row) continue;
    const state = STATES[row.state] ?? 'queued';
    const output = row.output ?? {};
    const failed = state === 'failed' || state === 'retrying';
    return {
      jobId: row.id,
      kind,
      workspaceId,
      state,
      progress: output.progress ?? null,
      result: state === 'completed' ? await completion(pools, regions, kind, workspaceId, jobId) : null,
      error:
        failed && typeof output.message === 'string'
          ? { code: typeof output.code === 'string' ? output.code : undefined, message: output.message.slice(0, 500) }
          : null,
      createdAt: row.created_on.toISOString(),
      startedAt: row.started_on?.toISOString() ?? null,
      completedAt: row.completed_on?.toISOString() ?? null,
    };
  }
  throw notFound;
}

/** The completion event's metadata (in the workspace's stream, wherever it lives now). */
async function completion(
  pools: Pick<Pools, 'region'>,
  regions: readonly Region[],
  kind: WorkspaceJobKind,
  workspaceId: string,
  jobId: string,
): Promise<Record<string, unknown> | null> {
  for (const region of regions) {
    const { rows } = await pools.region(region).query<{ metadata: string }>(
      `SELECT metadata FROM audit.events WHERE stream_id = $1 AND action = $2 AND outcome = 'success'
            AND metadata::jsonb->>'jobId' = $3 ORDER BY seq DESC LIMIT 1`,
      [workspaceId, DONE_ACTIONS[kind], jobId],
    );
    if (rows[0]) return JSON.parse(rows[0].metadata) as Record<string, unknown>;
  }
  return null;
}
