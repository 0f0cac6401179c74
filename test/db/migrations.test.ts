import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations, migrateDatabase } from '../../db/migrator.ts';
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
});
