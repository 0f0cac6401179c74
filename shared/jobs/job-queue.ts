import PgBoss from 'pg-boss';
import type pg from 'pg';

/**
 * A small wrapper around pg-boss 10 for one regional database.
 *
 * Least privilege: the pg-boss schema (`pgboss`) is installed by the migrator
 * as wact_owner from pg-boss's own plans (db/job-queue-schema.ts); services connect
 * as their own role and run pg-boss with `migrate: false`, so they never need
 * DDL rights. Queues are created through the definer function
 * wact_private.ensure_job_queue (pg-boss 10 creates one table partition per
 * queue, which is DDL), not through boss.createQueue.
 *
 * Job data must never carry personal data or identifiers: ids of our own rows
 * only (the worker re-reads what it needs and audits that read).
 */
export interface QueueDefinition {
  name: string;
  retryLimit: number;
  retryDelaySeconds: number;
  retryBackoff: boolean;
  expireInSeconds?: number;
  /** Days a completed/failed job is kept before pg-boss deletes it. */
  retentionDays?: number;
  /**
   * pg-boss queue policy. `stately`: at most one job waiting and one active
   * per singleton key, whichever worker holds it — what a schedule needs so
   * that N workers run each tick once. One active job row, not one running
   * handler: a handler outliving its job (expired, or its worker's shutdown
   * timed out: failed and retried) goes on, so work that must never overlap
   * takes a database lock too.
   */
  policy?: 'standard' | 'short' | 'singleton' | 'stately';
}

export interface JobContext {
  id: string;
  name: string;
  data: unknown;
  retryCount: number;
}

export interface JobQueue {
  start(): Promise<void>;
  ensureQueue(def: QueueDefinition): Promise<void>;
  /** Enqueue; with `client`, inside that client's open transaction (transactional outbox). */
  send(
    name: string,
    data: Record<string, string | number | boolean>,
    opts?: { singletonKey?: string; client?: pg.PoolClient; startAfterSeconds?: number },
  ): Promise<string | null>;
  /** A cron schedule (UTC) of `name`; pg-boss sends at most one job per minute across every instance. */
  schedule(name: string, cron: string, data: Record<string, string | number | boolean>, opts?: { singletonKey?: string }): Promise<void>;
  work(
    name: string,
    handler: (job: JobContext) => Promise<void>,
    opts?: { pollingIntervalSeconds?: number; batchSize?: number },
  ): Promise<string>;
  stop(): Promise<void>;
  boss: PgBoss;
}

export function createJobQueue(opts: {
  /** pg-boss's own pool: the service role's client config (password or RDS IAM token function, see clientConfigFor). */
  connection: pg.ClientConfig;
  pool: pg.Pool;
  max?: number;
  applicationName?: string;
  onError?: (err: Error) => void;
  /**
   * Only sends jobs (ingest, broker): no maintenance, no cron monitor. The
   * worker is the process that supervises queues and runs schedules.
   */
  producer?: boolean;
}): JobQueue {
  const boss = new PgBoss({
    ...(opts.connection as Record<string, unknown>),
    schema: 'pgboss',
    migrate: false,
    max: opts.max ?? 4,
    application_name: opts.applicationName ?? 'wact-jobs',
    // maintenance (expire, archive, delete) runs under the service role: DML only
    supervise: !opts.producer,
    schedule: !opts.producer,
  });
  // Ctrl-C reaches the embedded PostgreSQL server too (same process group), so
  // at shutdown the server may close pg-boss's connections first: an
  // administrator shutdown (SQLSTATE 57P01..57P03) is expected, not an error.
  boss.on('error', (err: Error) => {
    if (/^57P0[123]$/.test((err as { code?: string }).code ?? '')) return;
    opts.onError?.(err);
  });
  let started = false;

  return {
    boss,
    async start() {
      if (started) return;
      await boss.start();
      started = true;
    },
    async ensureQueue(def) {
      const options = queueOptions(def);
      await opts.pool.query('SELECT wact_private.ensure_job_queue($1, $2::json)', [def.name, JSON.stringify(options)]);
      // A queue created by an older release keeps its first options: bring them up to this definition (DML only).
      await opts.pool.query(
        `UPDATE pgboss.queue SET policy = $2, retry_limit = $3, retry_delay = $4, retry_backoff = $5, expire_seconds = $6,
                retention_minutes = $7, updated_on = now()
          WHERE name = $1 AND (policy, retry_limit, retry_delay, retry_backoff, expire_seconds, retention_minutes)
                IS DISTINCT FROM ($2, $3, $4, $5, $6, $7)`,
        [
          def.name,
          options.policy,
          options.retryLimit,
          options.retryDelay,
          options.retryBackoff,
          options.expireInSeconds,
          options.retentionMinutes,
        ],
      );
    },
    async schedule(name, cron, data, o = {}) {
      await boss.schedule(name, cron, data, { tz: 'UTC', ...(o.singletonKey ? { singletonKey: o.singletonKey } : {}) });
    },
    async send(name, data, o = {}) {
      const options: PgBoss.SendOptions = {};
      if (o.singletonKey) options.singletonKey = o.singletonKey;
      if (o.startAfterSeconds) options.startAfter = o.startAfterSeconds;
      if (o.client) {
        const client = o.client;
        options.db = { executeSql: (text: string, values: unknown[]) => client.query(text, values) };
      }
      return boss.send(name, data, options);
    },
    async work(name, handler, o = {}) {
      return boss.work(name, { pollingIntervalSeconds: o.pollingIntervalSeconds ?? 2, batchSize: o.batchSize ?? 1 }, async (jobs) => {
        for (const job of jobs) {
          await handler({
            id: job.id,
            name: job.name,
            data: job.data,
            retryCount: (job as unknown as { retryCount?: number }).retryCount ?? 0,
          });
        }
      });
    },
    async stop() {
      if (!started) return;
      started = false;
      await boss.stop({ graceful: true, wait: true, timeout: 10_000 });
    },
  };
}

/** A definition as pg-boss's queue options (what wact_private.ensure_job_queue takes). */
export function queueOptions(def: QueueDefinition) {
  return {
    policy: def.policy ?? 'standard',
    retryLimit: def.retryLimit,
    retryDelay: def.retryDelaySeconds,
    retryBackoff: def.retryBackoff,
    expireInSeconds: def.expireInSeconds ?? 15 * 60,
    retentionMinutes: (def.retentionDays ?? 14) * 24 * 60,
  };
}

/**
 * Queues one job with plain SQL, for a process that runs no pg-boss instance
 * (the broker's API): the queue through the definer function, then the row.
 * `id` lets an audit event name the job before it exists.
 */
export async function enqueueJobBySql(
  pool: Pick<pg.Pool, 'query'>,
  def: QueueDefinition,
  data: Record<string, string>,
  id?: string,
): Promise<void> {
  await pool.query('SELECT wact_private.ensure_job_queue($1, $2::json)', [def.name, JSON.stringify(queueOptions(def))]);
  await pool.query(
    `INSERT INTO pgboss.job (id, name, data, retry_limit, retry_delay, retry_backoff)
     VALUES (coalesce($1::uuid, gen_random_uuid()), $2, $3, $4, $5, $6)`,
    [id ?? null, def.name, JSON.stringify(data), def.retryLimit, def.retryDelaySeconds, def.retryBackoff],
  );
}
