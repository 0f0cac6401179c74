import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations, loadSchemaObjects, migrateDatabase, type Migration } from '../../db/migrator.ts';
import PgBoss from 'pg-boss';
import { JOB_QUEUE_SCHEMA_VERSION } from '../../db/job-queue-schema.ts';
import { catalogOf } from '../support/schema-catalog.ts';
import { freshDatabases } from '../support/db.ts';
import type { DatabaseUrls } from '../../shared/db/database-urls.ts';

describe('migrations', () => {
  let fresh: { urls: DatabaseUrls; drop(): Promise<void> };
  beforeAll(async () => {
    fresh = await freshDatabases();
  });
  afterAll(async () => fresh.drop());

  it('apply once, then report nothing pending', async () => {
    const first = await migrateDatabase(fresh.urls.eu, 'eu', { env: 'test' });
    expect(first.applied.length).toBe(loadMigrations('regional').length);
    const second = await migrateDatabase(fresh.urls.eu, 'eu', { env: 'test' });
    expect(second.applied).toEqual([]);
  });

  it('refuse an applied migration whose file was edited', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wact-mig-'));
    for (const m of loadMigrations('control')) fs.writeFileSync(path.join(dir, m.name), m.sql);
    await migrateDatabase(fresh.urls.control, 'control', { env: 'test', migrations: loadMigrations('control', dir) });
    const first = loadMigrations('control', dir)[0];
    fs.appendFileSync(path.join(dir, first.name), '\n-- edited\n');
    await expect(
      migrateDatabase(fresh.urls.control, 'control', { env: 'test', migrations: loadMigrations('control', dir) }),
    ).rejects.toThrow(/edited after it was applied/);
  });

  it('roll back a failing migration completely', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wact-mig-'));
    for (const m of loadMigrations('regional')) fs.writeFileSync(path.join(dir, m.name), m.sql);
    fs.writeFileSync(path.join(dir, '9999_broken.sql'), 'CREATE TABLE wact.half_done (id int);\nSELECT 1/0;');
    await expect(migrateDatabase(fresh.urls.eu, 'eu', { env: 'test', migrations: loadMigrations('regional', dir) })).rejects.toThrow(
      /9999_broken.sql failed.*SQLSTATE 22012/,
    );
    const c = new pg.Client({ connectionString: fresh.urls.eu });
    await c.connect();
    const { rows } = await c.query(
      "SELECT to_regclass('wact.half_done') AS t, (SELECT count(*) FROM wact_meta.schema_migrations WHERE version = '9999')::int AS n",
    );
    await c.end();
    expect(rows[0]).toEqual({ t: null, n: 0 });
  });

  it('refuse a database of another environment (production vs not)', async () => {
    await expect(migrateDatabase(fresh.urls.eu, 'eu', { env: 'production' })).rejects.toThrow(/must not use a test database/);
    await expect(migrateDatabase(fresh.urls.eu, 'us', { env: 'test' })).rejects.toThrow(/is a eu database/);
  });

  it('make wact_owner the owner of every application object', async () => {
    const c = new pg.Client({ connectionString: fresh.urls.eu });
    await c.connect();
    const { rows } = await c.query(`
      SELECT c.oid::regclass::text AS name, pg_get_userbyid(c.relowner) AS owner
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname IN ('wact', 'wact_private', 'audit', 'wact_meta', 'redacted') AND c.relkind IN ('r','p','v','S')`);
    await c.end();
    expect(rows.length).toBeGreaterThan(3);
    expect(rows.filter((r) => r.owner !== 'wact_owner')).toEqual([]);
  });

  it('apply a numbered migration added after the baseline as an ordinary increment', async () => {
    const sql = 'CREATE TABLE wact.later_probe (id integer PRIMARY KEY);';
    const later: Migration = {
      version: '9001',
      name: '9001_later_probe.sql',
      sql,
      checksum: crypto.createHash('sha256').update(sql).digest('hex'),
    };
    const res = await migrateDatabase(fresh.urls.us, 'us', { env: 'test', migrations: [...loadMigrations('regional'), later] });
    expect(res.applied.at(-1)).toBe('9001_later_probe.sql');
    const again = await migrateDatabase(fresh.urls.us, 'us', { env: 'test', migrations: [...loadMigrations('regional'), later] });
    expect(again.applied).toEqual([]);
    // Later files get the baseline's default privileges (engineer sessions read, the broker deletes).
    const c = new pg.Client({ connectionString: fresh.urls.us });
    await c.connect();
    const { rows } = await c.query(
      `SELECT has_table_privilege('wact_engineer', 'wact.later_probe', 'SELECT') AS eng, has_table_privilege('wact_broker', 'wact.later_probe', 'DELETE') AS del`,
    );
    await c.end();
    expect(rows[0]).toEqual({ eng: true, del: true });
  });

  it('re-apply every function, view, policy and trigger on each migrate: a hand-made change is undone', async () => {
    await migrateDatabase(fresh.urls.us, 'us', { env: 'test' });
    const c = new pg.Client({ connectionString: fresh.urls.us });
    await c.connect();
    try {
      const state = async () =>
        (
          await c.query(`SELECT pg_get_functiondef('wact_private.workspace_visible(uuid, name)'::regprocedure) AS f,
                                pg_get_viewdef('redacted.links'::regclass) AS v,
                                (SELECT count(*)::int FROM pg_policy WHERE polrelid = 'wact.links'::regclass) AS p,
                                has_function_privilege('wact_ingest', 'wact_private.workspace_visible(uuid, name)', 'EXECUTE') AS x`)
        ).rows[0];
      const good = await state();
      await c.query(`SET ROLE wact_owner;
        CREATE OR REPLACE FUNCTION wact_private.workspace_visible(ws uuid, who name) RETURNS boolean LANGUAGE sql AS 'SELECT true';
        CREATE OR REPLACE VIEW redacted.links AS SELECT l.id, l.workspace_id, l.created_at, l.disabled_at FROM wact.links l WHERE false;
        DROP POLICY workspace_isolation ON wact.links;
        REVOKE EXECUTE ON FUNCTION wact_private.workspace_visible(uuid, name) FROM wact_ingest;
        RESET ROLE`);
      expect(await state()).not.toEqual(good);
      await migrateDatabase(fresh.urls.us, 'us', { env: 'test' });
      expect(await state()).toEqual(good);
    } finally {
      await c.end();
    }
  });

  it('hold one definition per function file (no stale overload left by a changed signature)', async () => {
    const names = loadSchemaObjects('regional')
      .filter((o) => o.kind === 'functions')
      .map((o) => o.name.replace(/\.sql$/, ''));
    expect(names.length).toBeGreaterThan(20);
    const c = new pg.Client({ connectionString: fresh.urls.eu });
    await c.connect();
    const { rows } = await c.query<{ name: string; n: number }>(
      `SELECT n.nspname || '.' || p.proname AS name, count(*)::int AS n FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname || '.' || p.proname = ANY($1) GROUP BY 1`,
      [names],
    );
    await c.end();
    expect(rows.map((r) => r.name).sort()).toEqual([...names].sort());
    expect(rows.filter((r) => r.n !== 1)).toEqual([]);
  });

  it("install pg-boss's schema from pg-boss itself, owned by wact_owner, the services limited to reading and writing it", async () => {
    const c = new pg.Client({ connectionString: fresh.urls.eu });
    await c.connect();
    const { rows } = await c.query(`
      SELECT (SELECT max(version) FROM pgboss.version) AS version,
             (SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'pgboss') AS owner,
             has_schema_privilege('wact_ingest', 'pgboss', 'CREATE') AS ingest_ddl,
             has_table_privilege('wact_broker', 'pgboss.job', 'INSERT') AS broker_writes,
             has_function_privilege('wact_broker', 'pgboss.create_queue(text, json)', 'EXECUTE') AS broker_ddl_function`);
    await c.end();
    expect(rows[0]).toEqual({
      version: JOB_QUEUE_SCHEMA_VERSION,
      owner: 'wact_owner',
      ingest_ddl: false,
      broker_writes: true,
      broker_ddl_function: false,
    });
  });

  it("upgrade an older pg-boss schema with pg-boss's own migration plan", async () => {
    await migrateDatabase(fresh.urls.us, 'us', { env: 'test' });
    const c = new pg.Client({ connectionString: fresh.urls.us });
    await c.connect();
    try {
      // One schema version back, as a database made by the previous pg-boss release would be.
      await c.query('SET ROLE wact_owner');
      // (pg-boss's typings say string; its rollback store compares numbers strictly.)
      const rollback = PgBoss.getRollbackPlans as unknown as (schema: string, version: number) => string;
      await c.query(rollback('pgboss', JOB_QUEUE_SCHEMA_VERSION));
      await c.query('RESET ROLE');
      const version = async () => (await c.query('SELECT max(version)::int AS v FROM pgboss.version')).rows[0].v;
      expect(await version()).toBe(JOB_QUEUE_SCHEMA_VERSION - 1);
      const log: string[] = [];
      await migrateDatabase(fresh.urls.us, 'us', { env: 'test', log: (l) => log.push(l) });
      expect(await version()).toBe(JOB_QUEUE_SCHEMA_VERSION);
      expect(log).toContain(`us: migrated from ${JOB_QUEUE_SCHEMA_VERSION - 1} to pg-boss schema ${JOB_QUEUE_SCHEMA_VERSION}`);
    } finally {
      await c.end();
    }
    // The same pg-boss schema, functions and grants as a database that got it new (pg-boss's
    // migration plan indents its function bodies differently from its construction plan).
    const pgboss = async (url: string) => (await catalogOf(url)).filter((l) => l.includes('pgboss')).map((l) => l.replace(/\s+/g, ' '));
    expect(await pgboss(fresh.urls.us)).toEqual(await pgboss(fresh.urls.eu));
  });
});
