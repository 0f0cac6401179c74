import { REGIONS, type Region } from '../shared/config/config.ts';
import { clientConfigFor } from '../shared/db/database-urls.ts';
import { ConfigError } from '../shared/errors/errors.ts';
import { createJobQueue, type JobQueue } from '../shared/jobs/job-queue.ts';
import { serializeError } from '../shared/logging/logger.ts';
import { rootFor, type ServiceRoot } from '../shared/runtime/service-root.ts';
import { refuseOwnerLogin } from '../shared/runtime/databases.ts';
import type { RunningService, ServiceContext } from '../shared/runtime/service-types.ts';
import { auditJobs } from './jobs/audit-jobs.ts';
import { auditSignJobs } from './jobs/audit-sign-jobs.ts';
import { exportJobs } from './jobs/export-jobs.ts';
import { lifecycleJobs } from './jobs/lifecycle-jobs.ts';
import { partitionJobs } from './jobs/partition-jobs.ts';
import { sessionJobs } from './jobs/session-jobs.ts';
import { QUEUE_GROUPS, type JobFactory, type JobGroup, type QueueGroup, type WorkerJob, type WorkerOptions } from './worker-types.ts';

export type { QueueGroup };

const FACTORIES: Record<QueueGroup, JobFactory> = {
  sessions: sessionJobs,
  'audit-sign': auditSignJobs,
  audit: auditJobs,
  lifecycle: lifecycleJobs,
  export: exportJobs,
  partitions: partitionJobs,
};

/** The singleton key of an interval chain's jobs (see JobSchedule). */
const TICK = 'tick';
/** Control-plane jobs (the session sweep, signing of every database) queue in this region's database. */
export const HOME_REGION: Region = REGIONS[0];

export interface WorkerService extends RunningService {
  groups: QueueGroup[];
  /** The regional queues (tests inspect jobs through them). */
  queues: ReadonlyMap<Region, JobQueue>;
}

/** Parses `--queues a,b` (refusing unknown names). */
export function parseQueueGroups(list: string | undefined): QueueGroup[] | undefined {
  if (!list) return undefined;
  const names = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const n of names)
    if (!(QUEUE_GROUPS as readonly string[]).includes(n))
      throw new ConfigError(`unknown queue group "${n}" (one of ${QUEUE_GROUPS.join(', ')})`);
  return [...new Set(names)] as QueueGroup[];
}

/**
 * The worker (`wact serve worker [--queues …]`): every schedule and queue of
 * the product as pg-boss jobs in the regional databases, so that any number
 * of workers share them — each job runs once, scheduled ones on `stately`
 * queues one job active at a time, and failures are retried by pg-boss with
 * backoff. pg-boss does not stop a handler whose job it failed (expired, or
 * its worker's shutdown timed out), so work that must never overlap holds a
 * database lock of its own too (audit signing: shared/audit/audit-signing.ts).
 * No HTTP, no listener: workers scale by starting more.
 *
 * The audit signing key is given only to workers running `audit-sign`; in
 * production a worker holding WACT_AUDIT_SIGNING_KMS_KEY without that group
 * refuses to start, and one running it without a KMS key refuses too.
 */
export async function startWorker(ctx: ServiceContext | ServiceRoot, opts: WorkerOptions = {}): Promise<WorkerService> {
  const { root, owned } = rootFor(ctx, 'worker');
  const { config } = root;
  const groups = (opts.queues ?? QUEUE_GROUPS).filter((g) => g !== 'lifecycle' || config.raw.LIFECYCLE_WORKER);
  if (config.env === 'production' && config.raw.WACT_AUDIT_SIGNING_KMS_KEY && !groups.includes('audit-sign'))
    throw new ConfigError(
      'refusing to start a worker without the audit-sign queues while WACT_AUDIT_SIGNING_KMS_KEY is set: only the signing worker holds the key',
    );
  // Only the lifecycle queues erase as the owner: any other worker refuses the owner's login in production.
  if (!groups.includes('lifecycle')) refuseOwnerLogin(config, 'a worker without the lifecycle queues');
  const logger = root.platform('broker').logger;
  const built: JobGroup[] = [];
  const queues = new Map<Region, JobQueue>();
  const stop = async () => {
    for (const q of queues.values()) await q.stop().catch(() => undefined);
    for (const b of built) await b.close?.().catch(() => undefined);
    if (owned) await root.close();
  };
  try {
    for (const g of groups) built.push(await FACTORIES[g](root, opts));
    for (const region of REGIONS) {
      const q = createJobQueue({
        // pg-boss as wact_broker: DML on pgboss only (the schema is the migrator's).
        connection: clientConfigFor(root.databases.urls[region], 'wact_broker', root.databases.credential('broker', region)),
        pool: root.platform('broker').pools.region(region),
        applicationName: `wact-worker-${region}`,
        onError: (err) => logger.warn({ err: serializeError(err), region }, 'job queue error'),
      });
      queues.set(region, q);
      await q.start();
    }
    for (const job of built.flatMap((b) => b.jobs)) {
      for (const region of job.scope === 'region' ? REGIONS : [HOME_REGION]) await install(queues.get(region)!, region, job);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const names = built.flatMap((b) => b.jobs.map((j) => j.queue.name));
  logger.info({ groups, queues: names }, 'worker started');
  return {
    name: 'worker',
    urls: {},
    groups,
    queues,
    notes: [`worker: ${groups.join(', ')} (${names.length} queues, pg-boss in each regional database)`],
    close: stop,
  };

  async function install(q: JobQueue, region: Region, job: WorkerJob): Promise<void> {
    const name = job.queue.name;
    const data = { region };
    await q.ensureQueue(job.queue);
    const every = job.schedule && 'everySeconds' in job.schedule ? job.schedule.everySeconds : undefined;
    if (job.schedule && 'cron' in job.schedule) await q.schedule(name, job.schedule.cron, data);
    if (every) {
      // The chain's seed: now (dropped if a tick is already waiting), and every minute in case
      // the chain broke (its job expired with every worker gone).
      await q.schedule(name, '* * * * *', data, { singletonKey: TICK });
      await q.send(name, data, { singletonKey: TICK });
    }
    await q.work(
      name,
      async (j) => {
        try {
          await job.run({ ...j, region });
        } finally {
          // The next tick, sent while this one is active (stately: one waiting, one running).
          if (every) await q.send(name, data, { singletonKey: TICK, startAfterSeconds: every }).catch(() => undefined);
        }
      },
      { pollingIntervalSeconds: job.pollSeconds ?? 2 },
    );
  }
}
