import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { DatabaseTarget, WactEnv } from '../shared/config/config.ts';

const DB_DIR = path.dirname(fileURLToPath(import.meta.url));
export type MigrationSet = 'control' | 'regional';

export interface Migration {
  version: string; // the file's numeric prefix, e.g. "0001"
  name: string; // the file name
  sql: string;
  checksum: string; // sha256 of the file's bytes
}

export class MigrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MigrationError';
  }
}

/** The versioned SQL files of one set, in order. */
export function loadMigrations(set: MigrationSet, dir = path.join(DB_DIR, 'migrations', set)): Migration[] {
  const files = fs
    .readdirSync(dir)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort();
  const seen = new Set<string>();
  return files.map((name) => {
    const version = name.slice(0, 4);
    if (seen.has(version)) throw new MigrationError(`two migrations share version ${version} in ${set}`);
    seen.add(version);
    const bytes = fs.readFileSync(path.join(dir, name));
    return { version, name, sql: bytes.toString('utf8'), checksum: crypto.createHash('sha256').update(bytes).digest('hex') };
  });
}

const setFor = (target: DatabaseTarget): MigrationSet => (target === 'control' ? 'control' : 'regional');

/**
 * Brings one database up to date: roles, database privileges, then every
 * pending migration in its own transaction as wact_owner. An applied migration
 * whose file changed since is refused (checksum), and so is a database that
 * belongs to another environment.
 */
export async function migrateDatabase(
  url: string,
  target: DatabaseTarget,
  opts: { env: WactEnv; migrations?: Migration[]; log?: (line: string) => void },
): Promise<{ applied: string[] }> {
  const log = opts.log ?? (() => undefined);
  const migrations = opts.migrations ?? loadMigrations(setFor(target));
  const client = new pg.Client({ connectionString: url, application_name: 'wact-migrate' });
  await client.connect();
  try {
    // One migrator per database at a time; the lock is released with the session.
    await client.query('SELECT pg_advisory_lock(7007001)');
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
      GRANT USAGE ON SCHEMA wact_meta TO wact_ingest, wact_broker;
      GRANT SELECT ON wact_meta.database_identity TO wact_ingest, wact_broker;`);
    await client.query(`INSERT INTO wact_meta.database_identity (kind, environment) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [
      target,
      opts.env,
    ]);
    const identity = await client.query<{ kind: string; environment: string }>('SELECT kind, environment FROM wact_meta.database_identity');
    assertIdentity(identity.rows[0], target, opts.env);

    const applied = new Map(
      (
        await client.query<{ version: string; name: string; checksum: string }>(
          'SELECT version, name, checksum FROM wact_meta.schema_migrations',
        )
      ).rows.map((r) => [r.version, r]),
    );
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
      await client.query('BEGIN');
      try {
        await client.query('SET LOCAL ROLE wact_owner');
        await client.query(m.sql);
        await client.query('RESET ROLE');
        await client.query('INSERT INTO wact_meta.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
          m.version,
          m.name,
          m.checksum,
        ]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        const e = err as Error & { code?: string };
        throw new MigrationError(`migration ${m.name} failed on ${target}: ${e.message}${e.code ? ` (SQLSTATE ${e.code})` : ''}`);
      }
      done.push(m.name);
      log(`applied ${target}/${m.name}`);
    }
    return { applied: done };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A database belongs to one environment; production and non-production never mix. */
export function assertIdentity(identity: { kind: string; environment: string } | undefined, target: DatabaseTarget, env: WactEnv): void {
  if (!identity) throw new MigrationError(`database for ${target} has no identity record: run wact migrate`);
  if (identity.kind !== target) {
    throw new MigrationError(`database configured as ${target} is a ${identity.kind} database`);
  }
  const prod = (e: string) => e === 'production';
  if (prod(identity.environment) !== prod(env)) {
    throw new MigrationError(`refusing: this ${env} process must not use a ${identity.environment} database (${target})`);
  }
}
