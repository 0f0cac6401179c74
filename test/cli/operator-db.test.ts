import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations, migrateDatabase } from '../../db/migrator.ts';
import { DATABASE_TARGETS, withCredentials, type DatabaseUrls } from '../../shared/db/database-urls.ts';
import { resolveServicePassword, resolveServicePasswords, serviceCredential, SERVICE_ROLES } from '../../shared/runtime/databases.ts';
import { runWact } from '../support/cli.ts';
import { freshDatabases, operatorPools, testConfig, testDb } from '../support/db.ts';

/** The SCRAM verifiers of the service roles: a new ALTER ROLE … PASSWORD changes them even for the same password (new salt). */
async function verifiers(): Promise<Record<string, string>> {
  const ops = operatorPools();
  try {
    const { rows } = await ops.control.query<{ rolname: string; rolpassword: string }>(
      `SELECT rolname, rolpassword FROM pg_authid WHERE rolname IN ('wact_ingest', 'wact_broker', 'wact_signer') ORDER BY rolname`,
    );
    return Object.fromEntries(rows.map((r) => [r.rolname, r.rolpassword]));
  } finally {
    await ops.end();
  }
}

const urlEnv = (urls: DatabaseUrls) => ({ DATABASE_URL_CONTROL: urls.control, DATABASE_URL_EU: urls.eu, DATABASE_URL_US: urls.us });

describe('operator commands never migrate and never touch the services’ passwords', () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'wact-cli-nomigrate-'));
  let fresh: { urls: DatabaseUrls; drop(): Promise<void> };
  beforeAll(async () => {
    fresh = await freshDatabases();
    // Everything but the newest regional migration: a checkout one migration ahead of its databases.
    // With only the baseline, that is nothing (functions and pg-boss's schema need its tables).
    const regional = loadMigrations('regional');
    const behind = regional.length > 1 ? { migrations: regional.slice(0, -1) } : { migrations: [], objects: [], jobQueue: false };
    for (const t of DATABASE_TARGETS) await migrateDatabase(fresh.urls[t], t, { env: 'test', ...(t === 'control' ? {} : behind) });
  }, 180_000);
  afterAll(async () => {
    await fresh?.drop();
  });

  async function applied(url: string): Promise<number> {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      return (await c.query<{ n: number }>('SELECT count(*)::int AS n FROM wact_meta.schema_migrations')).rows[0].n;
    } finally {
      await c.end();
    }
  }

  it('a pending migration is refused in one line, not applied; wact migrate applies it', async () => {
    const before = await applied(fresh.urls.eu);
    const res = await runWact(['workspace', 'list'], { home, env: urlEnv(fresh.urls) });
    expect(res.code).toBe(1);
    expect(res.stderr.trim().split('\n')).toEqual([
      'wact: 1 migration(s) pending on eu: run wact migrate first (commands never migrate implicitly)',
    ]);
    expect(await applied(fresh.urls.eu)).toBe(before);
    const migrated = await runWact(['migrate', '--json'], { home, env: urlEnv(fresh.urls) });
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(await applied(fresh.urls.eu)).toBe(before + 1);
    expect((await runWact(['workspace', 'list'], { home, env: urlEnv(fresh.urls) })).code).toBe(0);
  }, 120_000);

  it('operator commands and wact migrate leave the service roles’ passwords alone and generate none', async () => {
    const before = await verifiers();
    // A shell whose state folder has no service passwords at all (as on an operator's laptop).
    const created = await runWact(['workspace', 'create', '--name', 'No reset', '--region', 'eu', '--json'], { home });
    expect(created.code, created.stderr).toBe(0);
    expect((await runWact(['workspace', 'list'], { home })).code).toBe(0);
    expect((await runWact(['migrate'], { home })).code).toBe(0);
    expect(await verifiers()).toEqual(before);
    expect(fs.readdirSync(home).filter((f) => f.startsWith('db-password-'))).toEqual([]);
  }, 120_000);
});

describe('wact db rotate-service-passwords', () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'wact-cli-rotate-'));

  it('production: refused without --yes, without WACT_DB_PASSWORD_* (never generated), and with RDS IAM; nothing changes', async () => {
    const before = await verifiers();
    const prod = (args: string[], env: Record<string, string> = {}) =>
      runWact(['db', 'rotate-service-passwords', ...args], { home, env: { WACT_ENV: 'production', ...env } });
    const noYes = await prod([]);
    expect(noYes.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^wact: refusing without --yes/)]);
    // Unset (spawn skips undefined values): the shell holds no service passwords.
    const unset = {
      WACT_DB_PASSWORD_INGEST: undefined,
      WACT_DB_PASSWORD_BROKER: undefined,
      WACT_DB_PASSWORD_SIGNER: undefined,
    } as unknown as Record<string, string>;
    const noPasswords = await prod(['--yes'], unset);
    expect(noPasswords.code).toBe(1);
    expect(noPasswords.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/WACT_DB_PASSWORD_INGEST.*WACT_DB_PASSWORD_SIGNER \(never generated\)$/),
    ]);
    const iam = await prod(['--yes'], { WACT_SERVICE_DB_AUTH: 'rds-iam' });
    expect(iam.stderr.trim()).toMatch(/RDS IAM tokens.*no passwords to rotate/);
    expect(await verifiers()).toEqual(before);
    expect(fs.readdirSync(home).filter((f) => f.startsWith('db-password-'))).toEqual([]);
  });

  it('development with the passwords in the environment: sets them (new verifiers), services still log in, audited without the secret', async () => {
    const before = await verifiers();
    const res = await runWact(['db', 'rotate-service-passwords', '--json'], { home });
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual({ rotated: ['wact_ingest', 'wact_broker', 'wact_signer'], source: 'environment' });
    const after = await verifiers();
    expect(after.wact_ingest).not.toBe(before.wact_ingest);
    expect(after.wact_broker).not.toBe(before.wact_broker);
    expect(after.wact_signer).not.toBe(before.wact_signer);
    const { urls, servicePasswords } = testDb();
    for (const role of SERVICE_ROLES) {
      const c = new pg.Client({ connectionString: withCredentials(urls.control, `wact_${role}`, servicePasswords[role]) });
      await c.connect();
      await c.end();
    }
    const ops = operatorPools();
    try {
      const { rows } = await ops.control.query<{ metadata: string }>(
        `SELECT metadata FROM audit.events WHERE action = 'db.service_passwords.rotate' ORDER BY occurred_at DESC LIMIT 1`,
      );
      expect(JSON.parse(rows[0].metadata)).toEqual({ source: 'environment' });
      expect(rows[0].metadata).not.toContain(servicePasswords.ingest);
    } finally {
      await ops.end();
    }
  });
});

describe('service credentials in production', () => {
  it('passwords come only from the environment: never generated, and none in RDS IAM mode', () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'wact-svc-creds-'));
    const base = testConfig({ WACT_HOME: home });
    const prod = { ...base, env: 'production' as const };
    expect(resolveServicePasswords(prod)).toEqual(base.serviceDbPasswords);
    const missing = { ...prod, serviceDbPasswords: {} };
    expect(() => resolveServicePasswords(missing)).toThrow(/never a generated one/);
    // Each process needs only its own role's password: an ingest given only its own starts.
    const ingestOnly = { ...prod, serviceDbPasswords: { ingest: base.serviceDbPasswords.ingest } };
    expect(resolveServicePassword(ingestOnly, 'ingest')).toBe(base.serviceDbPasswords.ingest);
    expect(() => resolveServicePassword(ingestOnly, 'signer')).toThrow(/WACT_DB_PASSWORD_SIGNER .*never a generated one/);
    expect(fs.readdirSync(home).filter((f) => f.startsWith('db-password-'))).toEqual([]);
    // Development keeps generating into the state folder (0600).
    const dev = resolveServicePasswords({ ...base, serviceDbPasswords: {} });
    expect(dev.ingest).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(fs.statSync(path.join(home, 'db-password-ingest')).mode & 0o777).toBe(0o600);
  });

  it('RDS IAM: a fresh token is signed per connection for the service user, host, port and the database’s AWS region', async () => {
    const config = testConfig({ WACT_SERVICE_DB_AUTH: 'rds-iam', WACT_RDS_AWS_REGION_US: 'us-west-2' });
    const calls: unknown[] = [];
    let n = 0;
    const signer = async (o: unknown) => {
      calls.push(o);
      return `token-${++n}`;
    };
    const cred = serviceCredential(config, 'us', 'postgres://ignored@db-us.example.internal:6543/wact_us?sslmode=verify-full', 'broker', {
      signer,
    });
    expect(typeof cred).toBe('function');
    const fn = cred as () => Promise<string>;
    expect([await fn(), await fn()]).toEqual(['token-1', 'token-2']);
    expect(calls[0]).toEqual({ hostname: 'db-us.example.internal', port: 6543, username: 'wact_broker', region: 'us-west-2' });
    expect(() => resolveServicePasswords({ ...config, env: 'production' })).toThrow(/RDS IAM/);
  });
});
