import type { JobFactory } from '../worker-types.ts';

/** Hourly, UTC. */
export const PARTITION_UPKEEP_CRON = '7 * * * *';

/**
 * Ingest's time partitions (conversations, raw payloads): yesterday to two
 * weeks ahead exist at all times. Idempotent; one worker per hour does it.
 * Ingest also ensures them once when it starts, so a fresh database takes
 * webhooks before the first run here.
 */
export const partitionJobs: JobFactory = (root) => {
  const platform = root.platform('broker');
  return {
    jobs: [
      {
        group: 'partitions',
        scope: 'region',
        queue: {
          name: 'ingest.partition_upkeep',
          policy: 'stately',
          retryLimit: 3,
          retryDelaySeconds: 300,
          retryBackoff: true,
          expireInSeconds: 900,
        },
        schedule: { cron: PARTITION_UPKEEP_CRON },
        async run(job) {
          await platform.pools.region(job.region).query('SELECT wact_private.ensure_ingest_partitions(current_date - 1, 15)');
        },
      },
    ],
  };
};
