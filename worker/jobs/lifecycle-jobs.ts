import { createDeletionService } from '../../shared/lifecycle/deletion-service.ts';
import { enqueueDeletion, LIFECYCLE_QUEUES } from '../../shared/lifecycle/lifecycle-jobs.ts';
import { createRetentionService, LIFECYCLE_ACTOR } from '../../shared/lifecycle/retention-service.ts';
import { createWipeService } from '../../shared/lifecycle/wipe-service.ts';
import { workspaceWorkerJobs } from '../../shared/workspaces/workspace-jobs.ts';
import type { JobFactory } from '../worker-types.ts';

const DELETION_SWEEP_CRON = '*/10 * * * *';

/** Thrown so pg-boss retries the request job with its backoff; our ids only, never a subject. */
class DeletionPending extends Error {
  constructor() {
    super('deletion request has platform retractions still pending (retried with backoff)');
    this.name = 'DeletionPending';
  }
}

/**
 * The data lifecycle: the daily retention run and end-user deletion requests
 * (local deletion, then retraction at each ad platform). A request's job is
 * retried by pg-boss with exponential backoff while a platform retraction is
 * still pending (the per-target gate in the database follows the same
 * schedule, so a retry is never early); the ten-minute sweep is the safety
 * net for a job that ran out of retries or was never queued, and marks
 * overdue requests. Retention takes an advisory lock; a deletion request one.
 * Also the workspace key re-encryption and move jobs the broker queues.
 */
export const lifecycleJobs: JobFactory = (root) => {
  const platform = root.platform('broker');
  const retention = createRetentionService(platform);
  // With the operator URLs: the stream is erased as wact_owner (the broker's wipe queued it).
  const wipes = createWipeService(platform);
  const deletion = createDeletionService({
    ...platform,
    config: root.config,
    enqueue: ({ workspaceId, requestId, region }) => enqueueDeletion(platform.pools.region(region), { workspaceId, requestId }),
  });
  return {
    jobs: [
      {
        group: 'lifecycle',
        scope: 'region',
        queue: LIFECYCLE_QUEUES.retention,
        schedule: { cron: root.config.raw.LIFECYCLE_RETENTION_CRON },
        async run(job) {
          const report = await retention.run(job.region);
          platform.logger.info({ region: job.region, removed: report.totalRemoved, ms: report.durationMs }, 'retention run');
        },
      },
      {
        group: 'lifecycle',
        scope: 'region',
        queue: LIFECYCLE_QUEUES.deletionSweep,
        schedule: { cron: DELETION_SWEEP_CRON },
        async run(job) {
          await deletion.sweep(job.region, LIFECYCLE_ACTOR);
        },
      },
      {
        group: 'lifecycle',
        scope: 'region',
        queue: LIFECYCLE_QUEUES.deletion,
        async run(job) {
          const data = job.data as { workspaceId?: unknown; requestId?: unknown };
          if (typeof data?.workspaceId !== 'string' || typeof data.requestId !== 'string') return; // malformed: dropped, the sweep covers it
          const view = await deletion.processRequest(data.workspaceId, data.requestId, LIFECYCLE_ACTOR);
          if (view.status === 'propagating' && view.targets.some((t) => t.status === 'pending')) throw new DeletionPending();
        },
      },
      {
        // The erasure of a wiped workspace's audit stream, queued by the broker's wipe (it holds no owner credential).
        group: 'lifecycle',
        scope: 'region',
        queue: LIFECYCLE_QUEUES.historyErasure,
        async run(job) {
          const r = await wipes.eraseQueuedHistory(job);
          platform.logger.info(
            { region: job.region, jobId: job.id, erased: r === 'already erased' ? r : r.events },
            'audit stream erased (wipe)',
          );
        },
      },
      // Key re-encryption and workspace moves, requested through the broker (shared/workspaces/workspace-jobs.ts).
      ...workspaceWorkerJobs(platform).map((j) => ({ group: 'lifecycle' as const, ...j })),
    ],
  };
};
