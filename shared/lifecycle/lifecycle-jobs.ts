import type pg from 'pg';
import { REGIONS, type Region } from '../config/config.ts';
import { withCredentials } from '../db/database-urls.ts';
import { createJobQueue, type JobQueue, type QueueDefinition } from '../jobs/job-queue.ts';
import { createPlatform } from '../runtime/platform.ts';
import type { RunningService, ServiceContext } from '../runtime/service-types.ts';
import { createDeletionService } from './deletion-service.ts';
import { createRetentionService, LIFECYCLE_ACTOR } from './retention-service.ts';

export const QUEUES = {
  retention: { name: 'lifecycle.retention', retryLimit: 3, retryDelaySeconds: 600, retryBackoff: true, expireInSeconds: 6 * 3600 },
  deletion: { name: 'lifecycle.deletion', retryLimit: 5, retryDelaySeconds: 60, retryBackoff: true },
  deletionSweep: { name: 'lifecycle.deletion_sweep', retryLimit: 0, retryDelaySeconds: 60, retryBackoff: false, expireInSeconds: 3600 },
} satisfies Record<string, QueueDefinition>;

const DELETION_SWEEP_CRON = '*/10 * * * *';

/**
 * Wakes the deletion worker for one request. Plain SQL on the regional pool
 * (the broker's API process does not run a pg-boss instance); the data holds
 * our own ids only. If this fails the periodic sweep still finds the request.
 */
export async function enqueueDeletion(pool: Pick<pg.Pool, 'query'>, job: { workspaceId: string; requestId: string }): Promise<void> {
  const q = QUEUES.deletion;
  await pool.query('SELECT wact_private.ensure_job_queue($1, $2::json)', [
    q.name,
    JSON.stringify({
      policy: 'standard',
      retryLimit: q.retryLimit,
      retryDelay: q.retryDelaySeconds,
      retryBackoff: q.retryBackoff,
      expireInSeconds: 900,
      retentionMinutes: 14 * 24 * 60,
    }),
  ]);
  await pool.query('INSERT INTO pgboss.job (name, data, retry_limit, retry_delay, retry_backoff) VALUES ($1, $2, $3, $4, $5)', [
    q.name,
    JSON.stringify({ workspaceId: job.workspaceId, requestId: job.requestId }),
    q.retryLimit,
    q.retryDelaySeconds,
    q.retryBackoff,
  ]);
}

/**
 * The data-lifecycle worker: one pg-boss instance per regional database (jobs
 * never cross regions), running as wact_broker. Schedules the daily retention
 * run and the deletion sweep (every ten minutes: retries and overdue checks),
 * and works deletion requests as they are submitted. Any number of workers may
 * run: pg-boss hands each job to one, and retention takes an advisory lock.
 */
export async function startLifecycleWorker(ctx: ServiceContext): Promise<RunningService> {
  const { config, databases } = ctx;
  const platform = createPlatform(config, databases, 'broker', { name: 'lifecycle', poolMax: 6 });
  const retention = createRetentionService(platform);
  const deletion = createDeletionService({
    ...platform,
    config,
    enqueue: ({ workspaceId, requestId, region }) => enqueueDeletion(platform.pools.region(region), { workspaceId, requestId }),
  });
  const queues: JobQueue[] = [];
  try {
    for (const region of REGIONS as readonly Region[]) {
      const queue = createJobQueue({
        connectionString: withCredentials(databases.urls[region], 'wact_broker', databases.servicePasswords.broker),
        pool: platform.pools.region(region),
        applicationName: `wact-lifecycle-${region}`,
        onError: (err) => platform.logger.warn({ err, region }, 'lifecycle queue error'),
      });
      await queue.start();
      queues.push(queue);
      for (const def of Object.values(QUEUES)) await queue.ensureQueue(def);
      await queue.boss.schedule(QUEUES.retention.name, config.raw.LIFECYCLE_RETENTION_CRON, { region }, { tz: 'UTC' });
      await queue.boss.schedule(QUEUES.deletionSweep.name, DELETION_SWEEP_CRON, { region }, { tz: 'UTC' });
      await queue.work(QUEUES.retention.name, async () => {
        const report = await retention.run(region);
        platform.logger.info({ region, removed: report.totalRemoved, ms: report.durationMs }, 'retention run');
      });
      await queue.work(QUEUES.deletionSweep.name, async () => {
        await deletion.sweep(region, LIFECYCLE_ACTOR);
      });
      await queue.work(QUEUES.deletion.name, async (job) => {
        const data = job.data as { workspaceId?: string; requestId?: string };
        if (typeof data?.workspaceId !== 'string' || typeof data.requestId !== 'string') return; // malformed: drop, the sweep covers it
        await deletion.processRequest(data.workspaceId, data.requestId, LIFECYCLE_ACTOR);
      });
    }
  } catch (err) {
    for (const q of queues) await q.stop().catch(() => undefined);
    await platform.close();
    throw err;
  }
  return {
    name: 'lifecycle',
    urls: {},
    notes: [`lifecycle jobs: retention at "${config.raw.LIFECYCLE_RETENTION_CRON}" UTC, deletion sweep every 10 minutes (eu, us)`],
    async close() {
      for (const q of queues) await q.stop().catch(() => undefined);
      await platform.close();
    },
  };
}
