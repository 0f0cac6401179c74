import path from 'node:path';
import pg from 'pg';
import type { Config } from '../config/config.ts';
import { startEmbeddedServer, type EmbeddedServer } from '../db/embedded-server.ts';
import { databaseNames, DATABASE_TARGETS, type DatabaseUrls } from '../db/database-urls.ts';
import { ensureHome, readOrCreateSecret } from '../db/state-files.ts';
import { assertIdentity, migrateDatabase } from '../../db/migrator.ts';
import type { WactEnv } from '../config/config.ts';

export interface Databases {
  urls: DatabaseUrls; // operator URLs
  server?: EmbeddedServer; // set when the embedded server is in use
  servicePasswords: { ingest: string; broker: string };
  close(): Promise<void>;
}

/** Creates a database if it does not exist (concurrent callers tolerated). */
export async function ensureDatabase(serverUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) {
      await client
        .query(`CREATE DATABASE ${client.escapeIdentifier(name)} ENCODING 'UTF8' TEMPLATE template0`)
        .catch((err: { code?: string }) => {
          if (err.code !== '42P04' && err.code !== '23505') throw err; // already exists
        });
    }
  } finally {
    await client.end();
  }
}

/**
 * Service roles log in with passwords. In development they are generated into
 * the state folder; elsewhere they come from configuration. Setting them here
 * keeps the cluster-wide roles and the services in step.
 */
export async function setServicePasswords(operatorUrl: string, passwords: { ingest: string; broker: string }): Promise<void> {
  const client = new pg.Client({ connectionString: operatorUrl });
  await client.connect();
  try {
    for (const [role, pw] of [
      ['wact_ingest', passwords.ingest],
      ['wact_broker', passwords.broker],
    ] as const) {
      await client.query(`ALTER ROLE ${role} WITH LOGIN PASSWORD ${client.escapeLiteral(pw)}`);
    }
  } finally {
    await client.end();
  }
}

/**
 * Resolves the databases this process uses: the configured URLs, or the
 * embedded server (started for the caller's lifetime if it is not running).
 * With `migrate`, brings every database up to date first.
 */
export async function openDatabases(config: Config, opts: { migrate?: boolean; log?: (l: string) => void } = {}): Promise<Databases> {
  let urls: DatabaseUrls;
  let server: EmbeddedServer | undefined;
  if (config.database.kind === 'embedded') {
    ensureHome(config.home);
    server = await startEmbeddedServer({ home: config.home, port: config.database.port });
    const names = databaseNames();
    for (const target of DATABASE_TARGETS) await ensureDatabase(server.urlFor('postgres'), names[target]);
    urls = { control: server.urlFor(names.control), eu: server.urlFor(names.eu), us: server.urlFor(names.us) };
  } else {
    urls = config.database.urls;
  }
  if (opts.migrate) {
    for (const target of DATABASE_TARGETS) await migrateDatabase(urls[target], target, { env: config.env, log: opts.log });
  }
  const secret = (name: string) => readOrCreateSecret(path.join(config.home, `db-password-${name}`));
  const servicePasswords = {
    ingest: config.serviceDbPasswords.ingest ?? secret('ingest'),
    broker: config.serviceDbPasswords.broker ?? secret('broker'),
  };
  if (opts.migrate) await setServicePasswords(urls.control, servicePasswords);
  // Every process checks, not only the migrator: a staging service pointed at a
  // production URL (or the reverse) must refuse before it reads or writes a row.
  await verifyDatabaseIdentities(urls, config.env);
  return {
    urls,
    server,
    servicePasswords,
    close: async () => {
      if (server?.owned) await server.stop();
    },
  };
}

/**
 * Refuses databases that belong to another environment (production vs not) or
 * play another part (a regional URL given for control…). Reads the identity the
 * migrator wrote into wact_meta.database_identity; a database without one is
 * refused too (fail closed: it was never migrated for this environment).
 */
export async function verifyDatabaseIdentities(urls: DatabaseUrls, env: WactEnv): Promise<void> {
  for (const target of DATABASE_TARGETS) {
    const client = new pg.Client({ connectionString: urls[target], application_name: 'wact-identity-check' });
    await client.connect();
    try {
      const identity = await client
        .query<{ kind: string; environment: string }>('SELECT kind, environment FROM wact_meta.database_identity')
        .then((r) => r.rows[0])
        .catch((err: { code?: string }) => {
          if (err.code === '42P01' || err.code === '3F000') return undefined; // no wact_meta yet
          throw err;
        });
      assertIdentity(identity, target, env);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}
