import pg from 'pg';
import type { DatabaseTarget, Region } from '../config/config.ts';
import { clientConfigFor, type DatabaseUrls, type DbCredential } from './database-urls.ts';

/** Connection pools for one role: the control database and each regional one. */
export interface Pools {
  readonly control: pg.Pool;
  region(region: Region): pg.Pool;
  end(): Promise<void>;
}

// Timestamps stay strings-free: parse bigint (int8) as string is pg's default; keep it,
// callers convert deliberately. numeric also stays a string.

export function createPools(
  urls: DatabaseUrls,
  opts: {
    user?: string;
    /** The user's password on every database, or per database (RDS IAM tokens are per host). */
    password?: DbCredential | { for(target: DatabaseTarget): DbCredential };
    max?: number;
    applicationName?: string;
  } = {},
): Pools {
  const make = (url: string, target: DatabaseTarget) => {
    const password = typeof opts.password === 'object' ? opts.password.for(target) : opts.password;
    const pool = new pg.Pool({
      ...(opts.user ? clientConfigFor(url, opts.user, password) : { connectionString: url }),
      max: opts.max ?? 10,
      application_name: opts.applicationName ?? 'wact',
      idleTimeoutMillis: 30_000,
    });
    // An idle client losing its connection must not crash the process.
    pool.on('error', () => undefined);
    return pool;
  };
  const control = make(urls.control, 'control');
  const regions = { eu: make(urls.eu, 'eu'), us: make(urls.us, 'us') } as Record<Region, pg.Pool>;
  return {
    control,
    region(region) {
      const pool = regions[region];
      if (!pool) throw new Error(`unknown region ${String(region)}`);
      return pool;
    },
    async end() {
      await Promise.all([control.end(), regions.eu.end(), regions.us.end()]);
    },
  };
}

/** Runs `fn` in a transaction on one client; rolls back on any error. */
export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
