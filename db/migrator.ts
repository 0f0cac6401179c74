import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { DatabaseTarget, WactEnv } from '../shared/config/config.ts';
import { assertIdentity } from '../shared/db/database-identity.ts';
import type { StartupConnection } from '../shared/runtime/databases.ts';
import { adoptLegacyDatabase } from './legacy-head.ts';
import { installJobQueueSchema } from './job-queue-schema.ts';
import {
  BASELINE_VERSION,
  DB_DIR,
  loadMigrations,
  loadSchemaObjects,
  MigrationError,
  type Migration,
  type MigrationSet,
  type SchemaObject,
} from './migration-files.ts';

export { loadMigrations, loadSchemaObjects, MigrationError, type Migration, type MigrationSet, type SchemaObject };

export const setFor = (target: DatabaseTarget): MigrationSet => (target === 'control' ? 'control' : 'regional');

export interface MigrateOptions {
  env: WactEnv;
  log?: (line: string) => void;
  /** The numbered files (default: db/migrations/<set>). Tests pass other sets. */
  migrations?: Migration[];
  /** The re-applied objects (default: db/functions, views, policies, triggers, upkeep). */
  objects?: SchemaObject[];
  /** Install or upgrade pg-boss's schema (default: on regional databases). */
  jobQueue?: boolean;
}

/**
 * Brings one database up to date, in this order:
 *  1. roles (db/roles.sql) and database privileges (db/database-grants.sql);
 *  2. bookkeeping (wact_meta) and the database's identity (kind, environment);
 *  3. a database made before the current baseline is brought to it (db/legacy-head.ts);
 *  4. every numbered migration not yet applied — the baseline 0000 on a new
 *     database, then later files — each in its own transaction as wact_owner.
 *     An applied migration whose text changed since is refused (checksum);
 *  5. regional: pg-boss's schema from pg-boss itself, then the services' grants;
 *  6. every function, view, policy, trigger and upkeep file, re-applied in one
 *     transaction as wact_owner (CREATE OR REPLACE; policies dropped and
 *     created), so their files are the one source of their current text.
 * One migrator per database at a time (advisory lock).
 */
export async function migrateDatabase(url: string, target: DatabaseTarget, opts: MigrateOptions): Promise<{ applied: string[] }> {
  const log = opts.log ?? (() => undefined);
  const set = setFor(target);
  const migrations = opts.migrations ?? loadMigrations(set);
  const objects = opts.objects ?? loadSchemaObjects(set);
  const client = new pg.Client({ connectionString: url, application_name: 'wact-migrate' });
  await client.connect();
  try {
    // The lock is released with the session.
    await client.query('SELECT pg_advisory_lock(7007001)');
    await prepareDatabase(client, target, opts.env);

    const applied = await appliedMigrations(client);
    const baseline = migrations.find((m) => m.version === BASELINE_VERSION);
    const adopted = baseline ? await adoptLegacyDatabase(client, set, baseline, applied) : undefined;
    if (adopted) log(`adopted ${target}: a database made by ${adopted}, recorded at ${baseline!.name}`);

    const done: string[] = [];
    for (const m of migrations) {
      const prior = applied.get(m.version);
      if (prior) {
        if (prior.checksum !== m.checksum) {
          throw new MigrationError(
            `migration ${m.name} was edited after it was applied to ${target} (checksum mismatch): add a new migration instead`,
          );
        }
        continue;
      }
      await inTransaction(client, `migration ${m.name} failed on ${target}`, async () => {
        await client.query(m.sql);
        await client.query('RESET ROLE');
        await client.query('INSERT INTO wact_meta.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
          m.version,
          m.name,
          m.checksum,
        ]);
      });
      done.push(m.name);
      log(`applied ${target}/${m.name}`);
    }

    if (opts.jobQueue ?? set === 'regional') await installJobQueueSchema(client, (l) => log(`${target}: ${l}`));
    if (objects.length) {
      await applySchemaObjects(client, target, objects);
      log(`re-applied ${objects.length} functions, views, policies, triggers and upkeep files on ${target}`);
    }
    return { applied: done };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Roles, database privileges, bookkeeping and identity: idempotent, run first on every migrate. */
async function prepareDatabase(client: pg.Client, target: DatabaseTarget, env: WactEnv): Promise<void> {
  await client.query(fs.readFileSync(path.join(DB_DIR, 'roles.sql'), 'utf8'));
  const { rows } = await client.query<{ db: string; su: boolean }>(
    'SELECT current_database() AS db, rolsuper AS su FROM pg_roles WHERE rolname = current_user',
  );
  const dbIdent = client.escapeIdentifier(rows[0].db);
  if (!rows[0].su) await client.query('GRANT wact_owner TO CURRENT_USER');
  const grants = fs.readFileSync(path.join(DB_DIR, 'database-grants.sql'), 'utf8').replaceAll(':dbname', dbIdent);
  await client.query(grants);
  if (target !== 'control') {
    await client.query(`GRANT CONNECT ON DATABASE ${dbIdent} TO wact_support, wact_engineer`);
  }
  await client.query(`
    CREATE SCHEMA IF NOT EXISTS wact_meta AUTHORIZATION wact_owner;
    CREATE TABLE IF NOT EXISTS wact_meta.schema_migrations (
      version text PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now());
    CREATE TABLE IF NOT EXISTS wact_meta.database_identity (
      singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
      kind text NOT NULL, environment text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
    ALTER TABLE wact_meta.schema_migrations OWNER TO wact_owner;
    ALTER TABLE wact_meta.database_identity OWNER TO wact_owner;
    -- The services' start-up checks read both tables as the service's own role (never the owner's).
    GRANT USAGE ON SCHEMA wact_meta TO wact_ingest, wact_broker, wact_signer;
    GRANT SELECT ON wact_meta.database_identity, wact_meta.schema_migrations TO wact_ingest, wact_broker, wact_signer;`);
  await client.query(`INSERT INTO wact_meta.database_identity (kind, environment) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [target, env]);
  const identity = await client.query<{ kind: string; environment: string }>('SELECT kind, environment FROM wact_meta.database_identity');
  try {
    assertIdentity(identity.rows[0], target, env);
  } catch (err) {
    throw new MigrationError((err as Error).message);
  }
}

async function appliedMigrations(client: pg.Client): Promise<Map<string, { version: string; name: string; checksum: string }>> {
  const { rows } = await client.query<{ version: string; name: string; checksum: string }>(
    'SELECT version, name, checksum FROM wact_meta.schema_migrations',
  );
  return new Map(rows.map((r) => [r.version, r]));
}

/**
 * All object files in one transaction: a failing file leaves every object as
 * it was. Function bodies are not checked at creation (their files are applied
 * in name order, and a SQL function may call one applied later); the tests
 * run them. A lock wait longer than 30 s (policies and triggers take their
 * table's lock) fails the migrate instead of queueing traffic behind it.
 */
async function applySchemaObjects(client: pg.Client, target: DatabaseTarget, objects: SchemaObject[]): Promise<void> {
  let current = '';
  await inTransaction(
    client,
    `re-applying schema objects on ${target} failed`,
    async () => {
      await client.query("SET LOCAL lock_timeout = '30s'");
      await client.query('SET LOCAL check_function_bodies = off');
      for (const o of objects) {
        current = `db/${o.kind}/${o.name}`;
        await client.query(o.sql);
      }
    },
    () => current,
  );
}

/** Runs `body` in a transaction as wact_owner; any failure rolls all of it back and names what failed. */
async function inTransaction(client: pg.Client, what: string, body: () => Promise<void>, where: () => string = () => ''): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SET LOCAL ROLE wact_owner');
    await body();
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    const e = err as Error & { code?: string };
    const at = where();
    throw new MigrationError(`${what}${at ? ` (${at})` : ''}: ${e.message}${e.code ? ` (SQLSTATE ${e.code})` : ''}`);
  }
}

/**
 * Numbered migrations of this checkout the database has not applied as they are (a database made
 * before the current baseline: the baseline). `connection` is an operator URL, or a service role's
 * client configuration: services run this check as themselves (wact_meta is readable to them).
 */
export async function pendingMigrations(connection: StartupConnection, target: DatabaseTarget): Promise<string[]> {
  const login = typeof connection === 'string' ? { connectionString: connection } : connection;
  const client = new pg.Client({ ...login, application_name: 'wact-schema-check' });
  await client.connect();
  try {
    const have = await appliedMigrations(client);
    // Recorded with another checksum counts too: a baseline folded since (wact migrate brings the
    // database to it), or an edited file (wact migrate refuses it, saying so).
    return loadMigrations(setFor(target))
      .filter((m) => have.get(m.version)?.checksum !== m.checksum)
      .map((m) => m.name);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** What process start-up receives to migrate or check databases (shared/runtime never imports db/). */
export const databaseMigrator = {
  migrate: (url: string, target: DatabaseTarget, opts: { env: WactEnv; log?: (line: string) => void }) =>
    migrateDatabase(url, target, opts),
  pending: pendingMigrations,
};
