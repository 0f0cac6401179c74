import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { foldedMigrations, legacyHead } from '../../db/legacy-head.ts';
import { loadMigrations, migrateDatabase, pendingMigrations, type Migration, type MigrationSet } from '../../db/migrator.ts';
import type { DatabaseTarget } from '../../shared/config/config.ts';
import type { DatabaseUrls } from '../../shared/db/database-urls.ts';
import { freshDatabases } from '../support/db.ts';
import { catalogOf, diffCatalogs } from '../support/schema-catalog.ts';

/**
 * Development databases made by the numbered migrations before the squash
 * migrate forward: built here from a frozen copy of those files (fixtures,
 * byte-identical to the last commit that had them: their checksums are the
 * ones db/legacy/*-head.json recognises), filled with rows, then migrated by
 * today's migrator. Rows must be intact, and the schema must equal a fresh
 * database's, compared over the whole catalogue (schema-catalog.ts).
 */
const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'legacy-migrations');
const legacyFiles = (set: MigrationSet) => loadMigrations(set, path.join(FIXTURES, set));
const setOf = (t: DatabaseTarget): MigrationSet => (t === 'control' ? 'control' : 'regional');
const TARGETS = ['control', 'eu'] as const;
/** The first published text of each baseline, expanded (before 0340, 0350 and 0700 were folded into it). */
const baselineV1 = (set: MigrationSet): Migration => {
  const sql = fs.readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'baseline-v1', `${set}.sql`), 'utf8');
  return { version: '0000', name: '0000_baseline.sql', sql, checksum: crypto.createHash('sha256').update(sql).digest('hex') };
};

/** What the old migrator did: roles, grants, bookkeeping, then each old file as wact_owner. */
async function buildLegacy(url: string, target: DatabaseTarget, files = legacyFiles(setOf(target))) {
  await migrateDatabase(url, target, { env: 'test', migrations: files, objects: [], jobQueue: false });
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Every row of every application table (not the migration bookkeeping), as one digest per table. */
async function dataOf(url: string): Promise<Record<string, string>> {
  return withClient(url, async (c) => {
    const { rows: tables } = await c.query<{ t: string }>(`
      SELECT c.oid::regclass::text AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname IN ('wact', 'wact_private', 'audit', 'pgboss') AND c.relkind IN ('r', 'p') AND NOT c.relispartition`);
    const out: Record<string, string> = {};
    for (const { t } of tables) {
      const { rows } = await c.query<{ n: string; d: string | null }>(
        `SELECT count(*)::text AS n, md5(string_agg(x::text, '|' ORDER BY x::text)) AS d FROM ${t} x`,
      );
      out[t] = `${rows[0].n}:${rows[0].d ?? '-'}`;
    }
    return out;
  });
}

/** Rows a development database holds: people, workspaces, keys, clicks, conversations, audit chains, queued jobs. */
async function fill(urls: DatabaseUrls, ws: string) {
  const user = crypto.randomUUID();
  await withClient(urls.control, async (c) => {
    await c.query(`INSERT INTO wact.workspaces (id, name, region) VALUES ($1, 'Legacy', 'eu')`, [ws]);
    await c.query(`INSERT INTO wact.users (id, kind, display_name, email) VALUES ($1, 'customer', 'Ada', 'ada@example.test')`, [user]);
    await c.query(`INSERT INTO wact.memberships (workspace_id, user_id, role) VALUES ($1, $2, 'owner')`, [ws, user]);
    await c.query(`SELECT audit.append($1::jsonb)`, [
      JSON.stringify(
        [1, 2, 3].map((i) => ({
          streamId: '00000000-0000-0000-0000-000000000000',
          action: `workspace.created`,
          actorKind: 'operator',
          actorId: `op${i}`,
          outcome: 'success',
        })),
      ),
    ]);
  });
  await withClient(urls.eu, async (c) => {
    await c.query(`INSERT INTO wact.workspaces (id, name, region) VALUES ($1, 'Legacy', 'eu')`, [ws]);
    await c.query(
      `INSERT INTO wact_private.workspace_keys (workspace_id, purpose, version, wrapped, kek_id, provider) VALUES ($1, 'data', 1, '\\x01', 'k', 'local')`,
      [ws],
    );
    await c.query(`INSERT INTO wact.links (id, workspace_id, wa_number) VALUES ('LegacyLink01', $1, '4915112345678')`, [ws]);
    await c.query(
      `INSERT INTO wact.clicks (id, workspace_id, source, link_id, ref_hash) VALUES ($1, $2, 'link', 'LegacyLink01', 'ref-hash')`,
      [crypto.randomUUID(), ws],
    );
    // A conversation through the ingest function itself (dedup receipt, conversation, payload).
    await c.query(
      `SELECT * FROM wact_private.ingest_inbound_batch(ARRAY[$1]::uuid[], ARRAY['meta'], ARRAY['msg-hash'], ARRAY['sender-hash'], ARRAY['phone'],
         ARRAY[now()], ARRAY['ref-hash'], ARRAY[NULL]::text[], ARRAY[NULL]::text[], ARRAY[NULL]::text[], ARRAY[NULL]::bytea[], ARRAY[NULL]::bytea[],
         ARRAY[NULL]::text[], ARRAY[NULL]::text[], ARRAY[NULL]::text[], ARRAY[NULL]::bytea[], ARRAY['\\x02']::bytea[], interval '24 hours', interval '7 days')`,
      [ws],
    );
    await c.query(`INSERT INTO wact.retention_settings (workspace_id, events_days, raw_days, updated_by) VALUES ($1, 365, 30, 'test')`, [
      ws,
    ]);
    await c.query(`SELECT audit.append($1::jsonb)`, [
      JSON.stringify(
        [1, 2].map((i) => ({ streamId: ws, action: 'link.created', actorKind: 'customer', actorId: `u${i}`, outcome: 'success' })),
      ),
    ]);
    await c.query(
      `SELECT wact_private.ensure_job_queue('legacy-queue', '{"policy":"standard","retryLimit":2,"retryDelay":1,"retryBackoff":true,"expireInSeconds":60,"retentionMinutes":60}'::json)`,
    );
    await c.query(`INSERT INTO pgboss.job (name, data) VALUES ('legacy-queue', '{"n":1}')`);
  });
}

describe('a database made by the migrations before the squash migrates forward', () => {
  let legacy: { urls: DatabaseUrls; drop(): Promise<void> };
  let fresh: { urls: DatabaseUrls; drop(): Promise<void> };
  const ws = crypto.randomUUID();
  const before: Record<string, Record<string, string>> = {};
  const log: string[] = [];

  beforeAll(async () => {
    [legacy, fresh] = await Promise.all([freshDatabases(), freshDatabases()]);
    // control also ran the signer-role file (0340, folded into the baseline since) under the old migrator; eu did not.
    await buildLegacy(legacy.urls.control, 'control', [
      ...legacyFiles('control'),
      ...foldedMigrations('control').filter((m) => m.version === '0340'),
    ]);
    await buildLegacy(legacy.urls.eu, 'eu');
    await fill(legacy.urls, ws);
    for (const t of TARGETS) before[t] = await dataOf(legacy.urls[t]);
    for (const t of TARGETS) {
      await migrateDatabase(legacy.urls[t], t, { env: 'test', log: (l) => log.push(l) });
      await migrateDatabase(fresh.urls[t], t, { env: 'test' });
    }
    // The one piece of schema rows make: the queue's partition (pg-boss 10 makes one per queue).
    await withClient(fresh.urls.eu, (c) => c.query(`SELECT wact_private.ensure_job_queue('legacy-queue', '{"policy":"standard"}'::json)`));
  }, 240_000);
  afterAll(async () => {
    await Promise.all([legacy?.drop(), fresh?.drop()]);
  });

  it('the fixtures are the files the migrator recognises as the old head', () => {
    for (const set of ['control', 'regional'] as const) {
      const files = legacyFiles(set).map(({ version, name, checksum }) => ({ version, name, checksum }));
      expect(files).toEqual(legacyHead(set));
    }
  });

  it('is adopted, not re-built: the baseline is recorded without running it', async () => {
    expect(log.filter((l) => l.startsWith('adopted'))).toHaveLength(2);
    expect(log.filter((l) => /applied \w+\/0000_baseline/.test(l))).toEqual([]);
    for (const t of TARGETS) {
      const versions = (url: string) =>
        withClient(
          url,
          async (c) => (await c.query('SELECT version, name, checksum FROM wact_meta.schema_migrations ORDER BY version')).rows,
        );
      expect(await versions(legacy.urls[t])).toEqual(await versions(fresh.urls[t]));
    }
  });

  it('keeps every row of every table', async () => {
    for (const t of TARGETS) {
      const after = await dataOf(legacy.urls[t]);
      const changed = Object.keys(before[t]).filter((k) => after[k] !== before[t][k]);
      expect(changed, t).toEqual([]);
      expect(Object.values(before[t]).filter((v) => !v.startsWith('0:')).length).toBeGreaterThan(t === 'control' ? 3 : 8);
    }
  });

  it('ends with the same schema as a fresh database: every table, column, constraint, index, function, view, policy, trigger and grant', async () => {
    for (const t of TARGETS) {
      const d = diffCatalogs(await catalogOf(legacy.urls[t]), await catalogOf(fresh.urls[t]));
      expect(d, t).toEqual({ onlyA: [], onlyB: [] });
    }
  });

  it('keeps working after: the audit chain continues and ingest still deduplicates', async () => {
    await withClient(legacy.urls.eu, async (c) => {
      await c.query(`SELECT audit.append($1::jsonb)`, [
        JSON.stringify({ streamId: ws, action: 'link.disabled', actorKind: 'customer', actorId: 'u3', outcome: 'success' }),
      ]);
      const { rows } = await c.query<{ seq: string; linked: boolean }>(
        `SELECT e.seq::text, e.prev_hash = (SELECT p.hash FROM audit.events p WHERE p.stream_id = e.stream_id AND p.seq = e.seq - 1) AS linked
           FROM audit.events e WHERE e.stream_id = $1 ORDER BY e.seq DESC LIMIT 1`,
        [ws],
      );
      expect(rows[0]).toEqual({ seq: '3', linked: true });
      const dup = await c.query<{ duplicate: boolean }>(
        `SELECT duplicate FROM wact_private.ingest_inbound_batch(ARRAY[$1]::uuid[], ARRAY['meta'], ARRAY['msg-hash'], ARRAY['sender-hash'], ARRAY['phone'],
           ARRAY[now()], ARRAY[NULL]::text[], ARRAY[NULL]::text[], ARRAY[NULL]::text[], ARRAY[NULL]::text[], ARRAY[NULL]::bytea[], ARRAY[NULL]::bytea[],
           ARRAY[NULL]::text[], ARRAY[NULL]::text[], ARRAY[NULL]::text[], ARRAY[NULL]::bytea[], ARRAY['\\x02']::bytea[], interval '24 hours', interval '7 days')`,
        [ws],
      );
      expect(dup.rows).toEqual([{ duplicate: true }]);
    });
  });

  it('a second migrate changes nothing', async () => {
    const cat = await catalogOf(legacy.urls.eu);
    const again = await migrateDatabase(legacy.urls.eu, 'eu', { env: 'test' });
    expect(again.applied).toEqual([]);
    expect(diffCatalogs(await catalogOf(legacy.urls.eu), cat)).toEqual({ onlyA: [], onlyB: [] });
  });
});

describe('a database made by the first text of the baseline (before 0340, 0350 and 0700 were folded into it) migrates forward', () => {
  let early: { urls: DatabaseUrls; drop(): Promise<void> };
  let fresh: { urls: DatabaseUrls; drop(): Promise<void> };
  const log: string[] = [];
  const pendingBefore: Record<string, string[]> = {};
  const pendingAfter: Record<string, string[]> = {};
  beforeAll(async () => {
    [early, fresh] = await Promise.all([freshDatabases(), freshDatabases()]);
    for (const t of TARGETS) {
      const set = setOf(t);
      // What `wact migrate` made in that hour: the first baseline, then 0340 (and 0700) as increments.
      await migrateDatabase(early.urls[t], t, {
        env: 'test',
        migrations: [baselineV1(set), ...foldedMigrations(set)],
        objects: [],
        jobQueue: t !== 'control',
      });
      // Operator commands refuse it until it is migrated (the baseline counts as pending).
      pendingBefore[t] = await pendingMigrations(early.urls[t], t);
      await migrateDatabase(early.urls[t], t, { env: 'test', log: (l) => log.push(l) });
      pendingAfter[t] = await pendingMigrations(early.urls[t], t);
      await migrateDatabase(fresh.urls[t], t, { env: 'test' });
    }
  }, 240_000);
  afterAll(async () => {
    await Promise.all([early?.drop(), fresh?.drop()]);
  });

  it('is recognised, its folded rows replaced by the current baseline, and ends with the same schema as a fresh database', async () => {
    expect(log.filter((l) => l.includes('an earlier baseline'))).toHaveLength(2);
    expect(pendingBefore).toEqual({ control: ['0000_baseline.sql'], eu: ['0000_baseline.sql'] });
    expect(pendingAfter).toEqual({ control: [], eu: [] });
    for (const t of TARGETS) {
      const rows = await withClient(
        early.urls[t],
        async (c) => (await c.query('SELECT version, checksum FROM wact_meta.schema_migrations ORDER BY version')).rows,
      );
      const freshRows = await withClient(
        fresh.urls[t],
        async (c) => (await c.query('SELECT version, checksum FROM wact_meta.schema_migrations ORDER BY version')).rows,
      );
      expect(rows).toEqual(freshRows);
      expect(diffCatalogs(await catalogOf(early.urls[t]), await catalogOf(fresh.urls[t])), t).toEqual({ onlyA: [], onlyB: [] });
    }
  });
});

describe('databases the baseline cannot stand for are refused, untouched', () => {
  let dbs: { urls: DatabaseUrls; drop(): Promise<void> };
  beforeAll(async () => {
    dbs = await freshDatabases();
  });
  afterAll(async () => dbs?.drop());

  it('part-way through the old files', async () => {
    await buildLegacy(dbs.urls.eu, 'eu', legacyFiles('regional').slice(0, -2));
    await expect(migrateDatabase(dbs.urls.eu, 'eu', { env: 'test' })).rejects.toThrow(
      /part-way through the migrations replaced by the baseline \(not applied: 0600_workspace_keks.sql, 0900_rls_caller_check.sql\)/,
    );
    const rows = await withClient(dbs.urls.eu, async (c) => (await c.query('SELECT version FROM wact_meta.schema_migrations')).rows);
    expect(rows.map((r) => r.version)).not.toContain('0000');
  });

  it('an old file applied in another version than the one the baseline replaced', async () => {
    const files = legacyFiles('control');
    files[1] = { ...files[1], sql: `${files[1].sql}\n-- local edit\n`, checksum: crypto.createHash('sha256').update('x').digest('hex') };
    await buildLegacy(dbs.urls.control, 'control', files);
    await expect(migrateDatabase(dbs.urls.control, 'control', { env: 'test' })).rejects.toThrow(/applied other versions of 0003_audit.sql/);
  });
});

// Keeps this file honest if the fixtures folder is ever moved.
if (!fs.existsSync(FIXTURES)) throw new Error(`legacy fixtures missing: ${FIXTURES}`);
