import crypto from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { loadConfig, type Config } from '../../shared/config/config.ts';
import { createPools, type Pools } from '../../shared/db/pools.ts';
import { databaseNames, DATABASE_TARGETS, withCredentials, withDatabase, type DatabaseUrls } from '../../shared/db/database-urls.ts';
import { ensureDatabase, type ServiceRole } from '../../shared/runtime/databases.ts';
import { databaseEnv } from './scratch-databases.ts';

/** The databases the global setup created and migrated for this run. */
export function testDb() {
  return inject('wactDb');
}

/** Configuration of a test process pointing at the run's databases. */
export function testConfig(env: Record<string, string> = {}): Config {
  const { urls, servicePasswords } = testDb();
  const home = env.WACT_HOME ?? testDb().home;
  return loadConfig({ ...databaseEnv({ urls, servicePasswords }), WACT_HOME: home, ...env });
}

/** Operator (superuser) pools on the run's databases. Remember to `end()`. */
export function operatorPools(): Pools {
  return createPools(testDb().urls as DatabaseUrls, { max: 4 });
}

/** Pools logged in as a service role (wact_ingest, wact_broker or wact_signer). */
export function servicePools(role: ServiceRole): Pools {
  const { urls, servicePasswords } = testDb();
  return createPools(urls as DatabaseUrls, { user: `wact_${role}`, password: servicePasswords[role], max: 4 });
}

/** A client logged in as any role with a password (for grant and RLS tests). */
export async function connectAs(target: 'control' | 'eu' | 'us', user: string, password?: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: withCredentials(testDb().urls[target], user, password) });
  await client.connect();
  return client;
}

/** The run's database URLs without their login: what production gives every service but the lifecycle worker. */
export function urlsWithoutLogin(urls: DatabaseUrls = testDb().urls as DatabaseUrls): DatabaseUrls {
  const strip = (url: string) => {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  };
  return { control: strip(urls.control), eu: strip(urls.eu), us: strip(urls.us) };
}

/** Runs `fn` with process.env changed as given (undefined deletes); restores it after. */
export async function withProcessEnv<T>(env: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  const apply = (values: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  apply(env);
  try {
    return await fn();
  } finally {
    apply(saved);
  }
}

/** Creates brand-new, empty databases on the test server (for migration tests). */
export async function freshDatabases(): Promise<{ urls: DatabaseUrls; drop(): Promise<void> }> {
  const { serverUrl } = testDb();
  const names = databaseNames(`wact_f${crypto.randomBytes(4).toString('hex')}`);
  for (const t of DATABASE_TARGETS) await ensureDatabase(serverUrl, names[t]);
  const urls = Object.fromEntries(DATABASE_TARGETS.map((t) => [t, withDatabase(serverUrl, names[t])])) as DatabaseUrls;
  return {
    urls,
    async drop() {
      const admin = new pg.Client({ connectionString: serverUrl });
      await admin.connect();
      for (const t of DATABASE_TARGETS) await admin.query(`DROP DATABASE IF EXISTS ${admin.escapeIdentifier(names[t])} WITH (FORCE)`);
      await admin.end();
    },
  };
}
