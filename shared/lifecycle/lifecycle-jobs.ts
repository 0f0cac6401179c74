import type pg from 'pg';
import { enqueueJobBySql, type QueueDefinition } from '../jobs/job-queue.ts';

/**
 * The data-lifecycle queues (worked by the worker: worker/jobs/lifecycle-jobs.ts).
 * Scheduled ones are `stately`: one waiting and one running at most, whatever
 * the number of workers. A deletion request is retried with backoff while a
 * platform retraction is pending: 60 s doubling, as the per-target gate in
 * deletion-service.ts, over about two weeks.
 */
export const LIFECYCLE_QUEUES = {
  retention: {
    name: 'lifecycle.retention',
    policy: 'stately',
    retryLimit: 3,
    retryDelaySeconds: 600,
    retryBackoff: true,
    expireInSeconds: 6 * 3600,
  },
  deletion: { name: 'lifecycle.deletion', retryLimit: 14, retryDelaySeconds: 60, retryBackoff: true },
  /** The erasure of a wiped workspace's audit stream (wipe-service.ts, eraseQueuedHistory): the worker holds the owner credential, the broker does not. */
  historyErasure: { name: 'lifecycle.erase_history', retryLimit: 20, retryDelaySeconds: 30, retryBackoff: true },
  deletionSweep: {
    name: 'lifecycle.deletion_sweep',
    policy: 'stately',
    retryLimit: 0,
    retryDelaySeconds: 60,
    retryBackoff: false,
    expireInSeconds: 3600,
  },
} satisfies Record<string, QueueDefinition>;

/**
 * Wakes the worker for one deletion request. Plain SQL on the regional pool
 * (the broker's API process runs no pg-boss instance); the data holds
 * our own ids only. If this fails the periodic sweep still finds the request.
 */
export async function enqueueDeletion(pool: Pick<pg.Pool, 'query'>, job: { workspaceId: string; requestId: string }): Promise<void> {
  await enqueueJobBySql(pool, LIFECYCLE_QUEUES.deletion, { workspaceId: job.workspaceId, requestId: job.requestId });
}

/**
 * Queues the erasure of a wiped workspace's audit stream (id = the job id the
 * wipe's platform event names). Plain SQL on the regional pool, as above.
 */
export async function enqueueHistoryErasure(pool: Pick<pg.Pool, 'query'>, job: { workspaceId: string; jobId: string }): Promise<void> {
  await enqueueJobBySql(pool, LIFECYCLE_QUEUES.historyErasure, { workspaceId: job.workspaceId }, job.jobId);
}
