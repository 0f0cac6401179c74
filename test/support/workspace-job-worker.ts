import { REGIONS, type Region } from '../../shared/config/config.ts';
import { clientConfigFor } from '../../shared/db/database-urls.ts';
import { createJobQueue, type JobQueue } from '../../shared/jobs/job-queue.ts';
import type { Platform } from '../../shared/runtime/platform.ts';
import { workspaceWorkerJobs } from '../../shared/workspaces/workspace-jobs.ts';
import { testDb } from './db.ts';

/**
 * What the worker will do with the workspace jobs (it registers the same
 * handlers): one pg-boss instance per regional database, logged in as
 * wact_broker, working `workspace.reencrypt` and `workspace.move` with
 * workspaceWorkerJobs (shared/workspaces/workspace-jobs.ts) built on a
 * broker-role platform. Tests use it until the worker process registers them.
 */
export async function startWorkspaceJobWorker(
  platform: Platform,
  hooks: Parameters<typeof workspaceWorkerJobs>[1] = {},
): Promise<{ queues: Map<Region, JobQueue>; close(): Promise<void> }> {
  const jobs = workspaceWorkerJobs(platform, hooks);
  const queues = new Map<Region, JobQueue>();
  const { urls, servicePasswords } = testDb();
  for (const region of REGIONS) {
    const q = createJobQueue({
      connection: clientConfigFor(urls[region], 'wact_broker', servicePasswords.broker),
      pool: platform.pools.region(region),
      applicationName: `wact-test-workspace-jobs-${region}`,
    });
    await q.start();
    queues.set(region, q);
    for (const job of jobs) {
      await q.ensureQueue(job.queue);
      await q.work(job.queue.name, (j) => job.run(j), { pollingIntervalSeconds: 0.5 });
    }
  }
  return {
    queues,
    async close() {
      for (const q of queues.values()) await q.stop().catch(() => undefined);
    },
  };
}
