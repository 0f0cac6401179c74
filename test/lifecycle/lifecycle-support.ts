import crypto from 'node:crypto';
import type pg from 'pg';
import { openDatabases, type Databases } from '../../shared/runtime/databases.ts';
import { databaseMigrator } from '../../db/migrator.ts';
import { createPlatform, type Platform } from '../../shared/runtime/platform.ts';
import type { AuditEventInput } from '../../shared/audit/audit-types.ts';
import type { Region } from '../../shared/config/config.ts';
import type { DatabaseUrls } from '../../shared/db/database-urls.ts';
import { testConfig } from '../support/db.ts';

export const testActor: AuditEventInput['actor'] = { id: 'operator:test', kind: 'operator', role: 'operator', displayName: 'test' };

/** Operator and broker platforms on the run's databases (the broker is who runs the lifecycle jobs). */
export async function lifecyclePlatforms(urls?: DatabaseUrls): Promise<{
  operator: Platform;
  broker: Platform;
  databases: Databases;
  close(): Promise<void>;
}> {
  const config = testConfig(urls ? { DATABASE_URL_CONTROL: urls.control, DATABASE_URL_EU: urls.eu, DATABASE_URL_US: urls.us } : {});
  // Fresh databases need the service roles' passwords set (migrate does it).
  const databases = await openDatabases(config, { migrate: urls ? databaseMigrator : false });
  const operator = createPlatform(config, databases, 'operator', { poolMax: 4 });
  // Same key folder: the broker must unwrap the keys the operator created.
  const broker = createPlatform(config, databases, 'broker', { poolMax: 4 });
  return {
    operator,
    broker,
    databases,
    async close() {
      await operator.close();
      await broker.close();
      await databases.close();
    },
  };
}

export async function newWorkspace(p: Platform, region: Region = 'eu') {
  return p.workspaces.create({ name: `lc-${crypto.randomBytes(3).toString('hex')}`, region }, testActor);
}

/** Every row of any table in the database that mentions the id anywhere (row-as-text scan). */
export async function rowsMentioning(pool: pg.Pool, id: string): Promise<Record<string, number>> {
  const { rows: tables } = await pool.query<{ t: string }>(
    `SELECT c.oid::regclass::text AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')`,
  );
  const found: Record<string, number> = {};
  for (const { t } of tables) {
    const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t} x WHERE x::text LIKE $1`, [`%${id}%`]);
    if (rows[0].n) found[t] = rows[0].n;
  }
  return found;
}

export const PLATFORM_STREAM_ID = '00000000-0000-0000-0000-000000000000';

/** Audit events of one stream (a workspace's in its region, or the platform's in control), newest first. */
export async function auditEvents(
  pool: pg.Pool,
  streamId: string,
  action: string,
): Promise<{ metadata: Record<string, unknown>; targetId: string | null; actorId: string }[]> {
  const { rows } = await pool.query<{ metadata: string; target_id: string | null; actor_id: string }>(
    'SELECT metadata, target_id, actor_id FROM audit.events WHERE stream_id = $1 AND action = $2 ORDER BY seq DESC',
    [streamId, action],
  );
  return rows.map((r) => ({ metadata: JSON.parse(r.metadata) as Record<string, unknown>, targetId: r.target_id, actorId: r.actor_id }));
}
