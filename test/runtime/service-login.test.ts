import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseMigrator, migrateDatabase } from '../../db/migrator.ts';
import { serveOne } from '../../cli/start/product.ts';
import { SERVICE_NAMES } from '../../cli/start/services.ts';
import { loadConfig, type Config } from '../../shared/config/config.ts';
import { connectAsOwner } from '../../shared/db/owner-connection.ts';
import { DATABASE_TARGETS, type DatabaseUrls } from '../../shared/db/database-urls.ts';
import { openDatabases, refuseOwnerLogin, SERVICE_ROLES, type Databases } from '../../shared/runtime/databases.ts';
import { QUEUE_GROUPS, type QueueGroup } from '../../worker/worker-types.ts';
import { startWorker } from '../../worker/worker-server.ts';
import type { TlsMaterial } from '../../shared/http/tls.ts';
import { connectAs, freshDatabases, testConfig, testDb, urlsWithoutLogin, withProcessEnv } from '../support/db.ts';

/**
 * Services never need the operator's (owner's) database login, and production refuses to give it to
 * them. Invariants:
 * - the start-up checks (database identity, pending migrations) log in as the service's own role:
 *   they pass with URLs that carry no login while libpq's default user cannot log in;
 * - a service role reads wact_meta and changes nothing in it;
 * - in production every service but the lifecycle worker refuses a URL with a login, in any form,
 *   and never repeats the login in its message;
 * - the owner's connection refuses a URL without a login instead of falling back to PGUSER.
 */
const NO_SUCH_LOGIN = 'wact_no_such_login';

const configWith = (urls: DatabaseUrls, env: Record<string, string> = {}): Config =>
  testConfig({ DATABASE_URL_CONTROL: urls.control, DATABASE_URL_EU: urls.eu, DATABASE_URL_US: urls.us, ...env });

describe('the start-up checks log in as the service role', () => {
  it('pass for every service role with URLs that carry no login (the default login cannot connect)', async () => {
    const config = configWith(urlsWithoutLogin());
    await withProcessEnv({ PGUSER: NO_SUCH_LOGIN, PGPASSWORD: undefined }, async () => {
      // The control: the same URLs with libpq's defaults cannot log in at all (no such role, or no password).
      await expect(openDatabases(config)).rejects.toThrow();
      for (const role of SERVICE_ROLES) {
        const dbs = await openDatabases(config, { requireCurrent: databaseMigrator, checkAs: role });
        await dbs.close();
      }
    });
  });

  it('still refuse a database given for another part, read as the service role', async () => {
    const urls = urlsWithoutLogin();
    const config = configWith({ ...urls, control: urls.eu });
    await withProcessEnv({ PGUSER: NO_SUCH_LOGIN }, async () => {
      for (const role of SERVICE_ROLES)
        await expect(openDatabases(config, { checkAs: role })).rejects.toThrow(/configured as control is a eu database/);
    });
  });

  it('a service role reads wact_meta and may change nothing in it', async () => {
    const { servicePasswords } = testDb();
    for (const role of SERVICE_ROLES) {
      for (const target of DATABASE_TARGETS) {
        const c = await connectAs(target, `wact_${role}`, servicePasswords[role]);
        try {
          for (const [table, column] of [
            ['wact_meta.database_identity', 'kind'],
            ['wact_meta.schema_migrations', 'name'],
          ]) {
            await expect(c.query(`SELECT count(*) FROM ${table}`)).resolves.toBeTruthy();
            for (const change of [
              `UPDATE ${table} SET ${column} = ${column}`,
              `DELETE FROM ${table}`,
              `TRUNCATE ${table}`,
              table.endsWith('identity')
                ? `INSERT INTO ${table} (singleton, kind, environment) VALUES (false, 'eu', 'production')`
                : `INSERT INTO ${table} (version, name, checksum) VALUES ('9999', 'forged', 'x')`,
            ])
              await expect(c.query(change), `${role} on ${target}: ${change}`).rejects.toMatchObject({ code: '42501' });
          }
        } finally {
          await c.end();
        }
      }
    }
  });
});

describe('a database migrated before the services read wact_meta', () => {
  let fresh: { urls: DatabaseUrls; drop(): Promise<void> };
  beforeAll(async () => {
    fresh = await freshDatabases();
    for (const t of DATABASE_TARGETS) await migrateDatabase(fresh.urls[t], t, { env: 'test' });
  }, 180_000);
  afterAll(async () => fresh?.drop());

  it('is refused in one line that says to migrate; `wact migrate` grants it again', async () => {
    const admin = fresh.urls.eu;
    const { default: pg } = await import('pg');
    const c = new pg.Client({ connectionString: admin });
    await c.connect();
    await c.query('REVOKE SELECT ON wact_meta.schema_migrations FROM wact_broker');
    await c.end();
    const config = configWith(urlsWithoutLogin(fresh.urls));
    await withProcessEnv({ PGUSER: NO_SUCH_LOGIN }, async () => {
      await expect(openDatabases(config, { requireCurrent: databaseMigrator, checkAs: 'broker' })).rejects.toThrow(
        /^refusing to start: wact_broker may not read wact_meta on eu \(run wact migrate/,
      );
    });
    await migrateDatabase(fresh.urls.eu, 'eu', { env: 'test' });
    await withProcessEnv({ PGUSER: NO_SUCH_LOGIN }, async () => {
      const dbs = await openDatabases(config, { requireCurrent: databaseMigrator, checkAs: 'broker' });
      await dbs.close();
    });
  }, 120_000);
});

describe('production gives services no database login', () => {
  const base = { control: 'db-c.example', eu: 'db-eu.example', us: 'db-us.example' };
  const loginForms = ['none', 'user', 'user-password', 'password-only', 'query-user', 'query-password'] as const;
  const urlWith = (host: string, form: (typeof loginForms)[number], secret: string) => {
    const s = encodeURIComponent(secret);
    switch (form) {
      case 'none':
        return `postgres://${host}:5432/wact?sslmode=verify-full`;
      case 'user':
        return `postgres://wact_owner@${host}:5432/wact?sslmode=verify-full`;
      case 'user-password':
        return `postgres://wact_owner:${s}@${host}:5432/wact?sslmode=verify-full`;
      case 'password-only':
        return `postgres://:${s}@${host}:5432/wact?sslmode=verify-full`;
      case 'query-user':
        return `postgres://${host}:5432/wact?sslmode=verify-full&user=wact_owner`;
      case 'query-password':
        return `postgres://${host}:5432/wact?sslmode=verify-full&password=${s}`;
    }
  };

  it('refuses a login in any URL, in any form, or in PGUSER/PGPASSWORD — in production only, naming the variable and never the secret', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('production', 'staging', 'development', 'test'),
        fc.record({ control: fc.constantFrom(...loginForms), eu: fc.constantFrom(...loginForms), us: fc.constantFrom(...loginForms) }),
        fc.constantFrom(undefined, 'PGUSER', 'PGPASSWORD'),
        fc.string({ minLength: 12, maxLength: 30 }).map((s) => `pw-${s}`),
        (env, forms, pgVar, secret) => {
          const urls = Object.fromEntries(DATABASE_TARGETS.map((t) => [t, urlWith(base[t], forms[t], secret)])) as DatabaseUrls;
          const processEnv = pgVar ? { [pgVar]: secret } : {};
          const config = { env, database: { kind: 'external', urls } } as Pick<Config, 'env' | 'database'>;
          const firstWithLogin = DATABASE_TARGETS.find((t) => forms[t] !== 'none');
          const refused = env === 'production' && (firstWithLogin !== undefined || pgVar !== undefined);
          let message: string | undefined;
          try {
            refuseOwnerLogin(config, 'broker', processEnv);
          } catch (err) {
            message = (err as Error).message;
          }
          expect(message !== undefined).toBe(refused);
          if (message) {
            expect(message).not.toContain(secret);
            expect(message).not.toContain(encodeURIComponent(secret));
            expect(message).toContain(firstWithLogin ? `DATABASE_URL_${firstWithLogin.toUpperCase()}` : pgVar);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  /** A production configuration whose databases cannot be reached: what refuses, refuses before connecting. */
  const production = (urlForm: (typeof loginForms)[number], extra: Record<string, string> = {}) =>
    loadConfig({
      WACT_ENV: 'production',
      WACT_KEY_PROVIDER: 'aws-kms',
      WACT_KMS_KEY_EU: 'arn:aws:kms:eu-west-1:111122223333:key/eu',
      WACT_KMS_KEY_US: 'arn:aws:kms:us-east-1:111122223333:key/us',
      DATABASE_URL_CONTROL: urlWith('127.0.0.1', urlForm, 'owner-secret').replace(':5432', ':1'),
      DATABASE_URL_EU: urlWith('127.0.0.1', 'none', 'owner-secret').replace(':5432', ':1'),
      DATABASE_URL_US: urlWith('127.0.0.1', 'none', 'owner-secret').replace(':5432', ':1'),
      WACT_DB_PASSWORD_INGEST: 'ingest-password-0123456789',
      WACT_DB_PASSWORD_BROKER: 'broker-password-0123456789',
      TLS_CERT_FILE: '/nonexistent/cert.pem',
      TLS_KEY_FILE: '/nonexistent/key.pem',
      ...extra,
    });

  it('`wact serve`: ingest, broker and gateway refuse the owner URL before connecting', async () => {
    for (const name of SERVICE_NAMES.filter((n) => n !== 'worker'))
      await expect(serveOne(production('user-password'), name), name).rejects.toThrow(
        new RegExp(`^refusing to start ${name}: DATABASE_URL_CONTROL carries a database login`),
      );
  });

  it('a worker refuses it unless it runs the lifecycle queues, before it runs a job', async () => {
    // Nothing here may be touched before the refusal: the databases and TLS material are empty shells.
    const start = (config: Config, queues?: QueueGroup[]) =>
      startWorker({ config, databases: {} as Databases, tls: {} as TlsMaterial }, { queues });
    for (const group of QUEUE_GROUPS.filter((g) => g !== 'lifecycle'))
      await expect(start(production('user-password'), [group]), group).rejects.toThrow(
        /^refusing to start a worker without the lifecycle queues: DATABASE_URL_CONTROL carries a database login/,
      );
    // LIFECYCLE_WORKER off: a worker asked for every group runs no lifecycle queue, so it may not hold the login either.
    await expect(start(production('user-password', { LIFECYCLE_WORKER: 'false' }))).rejects.toThrow(
      /^refusing to start a worker without the lifecycle queues/,
    );
    // The lifecycle worker gets past the check: it fails only where it first uses the (empty) databases.
    for (const queues of [undefined, ['lifecycle' as const]]) {
      const err = await start(production('user-password'), queues).catch((e: Error) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).not.toMatch(/carries a database login/);
    }
  });

  it("the owner's connection refuses a URL without a login (no fallback to PGUSER)", async () => {
    const urls = urlsWithoutLogin();
    await withProcessEnv({ PGUSER: 'postgres' }, async () => {
      for (const region of ['eu', 'us'] as const)
        await expect(connectAsOwner(urls[region], region, 'wact-test')).rejects.toThrow(
          new RegExp(`needs the owner's login in DATABASE_URL_${region.toUpperCase()}`),
        );
    });
  });
});
