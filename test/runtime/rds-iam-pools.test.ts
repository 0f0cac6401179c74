import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseTarget } from '../../shared/config/config.ts';
import { clientConfigFor } from '../../shared/db/database-urls.ts';
import { createPools } from '../../shared/db/pools.ts';
import { createJobQueue } from '../../shared/jobs/job-queue.ts';
import { serviceCredential, type Databases, type RdsTokenSigner } from '../../shared/runtime/databases.ts';
import { createPlatform } from '../../shared/runtime/platform.ts';
import { testConfig } from '../support/db.ts';
import { createScratchDatabases, type ScratchDatabases } from '../support/scratch-databases.ts';

// A throw-away embedded server of its own: it asks service roles for their passwords, which a
// trust-authenticating server (CI's PostgreSQL 15 on loopback) never does, so only there can a
// test see which credential a connection used.
let scratch: ScratchDatabases;
beforeAll(async () => {
  scratch = await createScratchDatabases({ prefix: 'wact_iam' });
}, 180_000);
afterAll(async () => {
  await scratch?.drop();
});
const testDb = () => scratch;

/**
 * Issue 14.4: with WACT_SERVICE_DB_AUTH=rds-iam the services' pools log in with a token signed
 * for each new connection (15-minute RDS IAM tokens), never a stored password. The token
 * signer is mocked (AWS is unreachable); it hands out the role's real password as the "token",
 * so a successful query proves the pool used what the signer returned, per connection.
 */
describe('service pools with RDS IAM authentication', () => {
  it('every new connection of every pool asks the signer for a token for its own user, host and port', async () => {
    const config = testConfig({ WACT_SERVICE_DB_AUTH: 'rds-iam', WACT_RDS_AWS_REGION_US: 'us-west-2' });
    const { urls, servicePasswords } = testDb();
    const calls: { hostname: string; port: number; username: string; region: string }[] = [];
    const signer: RdsTokenSigner = async (o) => {
      calls.push(o);
      return servicePasswords[o.username.slice('wact_'.length) as 'ingest'];
    };
    const databases: Databases = {
      urls,
      // Stored passwords are not there to fall back on: reading one fails the test.
      servicePasswords: new Proxy({} as Databases['servicePasswords'], {
        get: () => {
          throw new Error('a stored password was read in rds-iam mode');
        },
      }),
      credential: (role, target: DatabaseTarget) => serviceCredential(config, target, urls[target], role, { signer }),
      close: async () => undefined,
    };
    const platform = createPlatform(config, databases, 'ingest', { poolMax: 2 });
    try {
      const [a, b] = await Promise.all([platform.pools.region('us').connect(), platform.pools.region('us').connect()]);
      expect((await a.query<{ u: string }>('SELECT current_user AS u')).rows[0].u).toBe('wact_ingest');
      a.release();
      b.release();
      await platform.pools.control.query('SELECT 1');
      const u = new URL(urls.us);
      const us = calls.filter((c) => c.region === 'us-west-2');
      // One token per connection, not one per pool: two pool connections (+ the key-event listener's).
      expect(us.length).toBeGreaterThanOrEqual(2);
      expect(new Set(calls.map((c) => `${c.username}@${c.hostname}:${c.port}`))).toEqual(new Set([`wact_ingest@${u.hostname}:${u.port}`]));
      expect(calls.some((c) => c.region === config.raw.WACT_RDS_AWS_REGION_EU)).toBe(true); // control, eu
    } finally {
      await platform.close();
    }
  });

  it('a token the database refuses fails the connection with the server’s error, not a fallback', async () => {
    const config = testConfig({ WACT_SERVICE_DB_AUTH: 'rds-iam' });
    const { urls } = testDb();
    const databases: Databases = {
      urls,
      servicePasswords: {} as Databases['servicePasswords'],
      credential: (role, target) => serviceCredential(config, target, urls[target], role, { signer: async () => 'expired-token' }),
      close: async () => undefined,
    };
    const platform = createPlatform(config, databases, 'broker', { poolMax: 1 });
    try {
      await expect(platform.pools.region('eu').query('SELECT 1')).rejects.toMatchObject({ code: '28P01' });
    } finally {
      await platform.close();
    }
  });

  it('pg-boss queues (ingest, worker) log in with the token function too', async () => {
    const { urls, servicePasswords } = testDb();
    let tokens = 0;
    const token = async () => {
      tokens++;
      return servicePasswords.broker;
    };
    const pool = createPools(urls, { user: 'wact_broker', password: token, max: 1 });
    const q = createJobQueue({ connection: clientConfigFor(urls.eu, 'wact_broker', token), pool: pool.region('eu'), producer: true });
    try {
      await q.start();
      await q.boss.getQueues();
      expect(tokens).toBeGreaterThanOrEqual(1);
    } finally {
      await q.stop();
      await pool.end();
    }
  });
});
