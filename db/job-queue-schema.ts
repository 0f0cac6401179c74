import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import PgBoss from 'pg-boss';
import type pg from 'pg';
import { DB_DIR, MigrationError } from './migration-files.ts';

/**
 * pg-boss's own schema (`pgboss`, regional databases), from pg-boss itself:
 * its construction plan on a database without it, its migration plan from the
 * installed version otherwise. Applied as wact_owner, so the owner holds the
 * DDL and the services, which run pg-boss with `migrate: false`
 * (shared/jobs/job-queue.ts), only read and write its tables; then
 * db/job-queue-grants.sql gives them exactly that. Upgrading pg-boss is
 * upgrading the package (10.x: 11+ needs Node 22), nothing here.
 */
export const JOB_QUEUE_SCHEMA = 'pgboss';

const require = createRequire(import.meta.url);
/** The schema version this pg-boss package builds and expects. */
export const JOB_QUEUE_SCHEMA_VERSION: number = (require('pg-boss/version.json') as { schema: number }).schema;

export async function installJobQueueSchema(client: pg.Client, log: (line: string) => void): Promise<void> {
  const exists = await client.query<{ t: string | null }>(`SELECT to_regclass('${JOB_QUEUE_SCHEMA}.version')::text AS t`);
  const have = exists.rows[0].t
    ? Number((await client.query<{ v: string }>(`SELECT max(version)::text AS v FROM ${JOB_QUEUE_SCHEMA}.version`)).rows[0].v)
    : null;
  if (have !== null && have > JOB_QUEUE_SCHEMA_VERSION)
    throw new MigrationError(
      `pg-boss schema ${have} is newer than this checkout's pg-boss (schema ${JOB_QUEUE_SCHEMA_VERSION}): refusing to run an older pg-boss on it`,
    );
  if (have !== JOB_QUEUE_SCHEMA_VERSION) {
    // pg-boss's plans carry their own BEGIN/COMMIT and advisory lock.
    const plan = have === null ? PgBoss.getConstructionPlans(JOB_QUEUE_SCHEMA) : PgBoss.getMigrationPlans(JOB_QUEUE_SCHEMA, String(have));
    try {
      await client.query('SET ROLE wact_owner');
      await client.query(plan);
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw new MigrationError(
        `pg-boss schema ${have === null ? 'installation' : `migration from ${have}`} failed: ${(err as Error).message}`,
      );
    } finally {
      await client.query('RESET ROLE').catch(() => undefined);
    }
    log(`${have === null ? 'installed' : `migrated from ${have} to`} pg-boss schema ${JOB_QUEUE_SCHEMA_VERSION}`);
  }
  await client.query('BEGIN');
  try {
    await client.query('SET LOCAL ROLE wact_owner');
    await client.query(fs.readFileSync(path.join(DB_DIR, 'job-queue-grants.sql'), 'utf8'));
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw new MigrationError(`db/job-queue-grants.sql failed: ${(err as Error).message}`);
  }
}
