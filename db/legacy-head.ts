import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { BASELINE_VERSION, DB_DIR, MigrationError, type Migration, type MigrationSet } from './migration-files.ts';

/**
 * Databases made before the squash. Their wact_meta.schema_migrations lists
 * the numbered files the baseline replaced (db/legacy/<set>-head.json: the
 * last version, name and checksum of each). Such a database already has the
 * baseline's schema: it is adopted (the baseline recorded as applied without
 * running it, the legacy rows removed, db/legacy/<set>-adopt.sql run once),
 * and everything else then proceeds as on any database. Rows of files added
 * after the squash stay: they are ordinary numbered migrations.
 *
 * A database part-way through the old files is refused (fail closed): it
 * never had the baseline's schema. Migrate it with a checkout from before the
 * squash first.
 */
export interface LegacyEntry {
  version: string;
  name: string;
  checksum: string;
}

export const SQUASH_NOTE = 'migrate it first with a checkout from before the migrations were squashed (git log -- db/legacy)';

export function legacyHead(set: MigrationSet, dir = path.join(DB_DIR, 'legacy')): LegacyEntry[] {
  return JSON.parse(fs.readFileSync(path.join(dir, `${set}-head.json`), 'utf8')) as LegacyEntry[];
}

/**
 * Adopts a legacy database if `applied` (its bookkeeping) says it is one.
 * Returns true when it did. Runs in its own transaction as wact_owner.
 */
export async function adoptLegacyDatabase(
  client: pg.Client,
  set: MigrationSet,
  baseline: Migration,
  applied: Map<string, { version: string; name: string; checksum: string }>,
  dir = path.join(DB_DIR, 'legacy'),
): Promise<boolean> {
  if (applied.has(BASELINE_VERSION)) return false;
  const head = legacyHead(set, dir);
  const present = head.filter((l) => applied.get(l.version)?.name === l.name);
  if (present.length === 0) return false;
  const missing = head.filter((l) => !present.includes(l)).map((l) => l.name);
  if (missing.length)
    throw new MigrationError(
      `${set} database is part-way through the migrations replaced by the baseline (not applied: ${missing.join(', ')}): ${SQUASH_NOTE}`,
    );
  const edited = present.filter((l) => applied.get(l.version)!.checksum !== l.checksum).map((l) => l.name);
  if (edited.length)
    throw new MigrationError(
      `${set} database applied other versions of ${edited.join(', ')} than the ones the baseline replaced: ${SQUASH_NOTE}`,
    );
  await client.query('BEGIN');
  try {
    await client.query('SET LOCAL ROLE wact_owner');
    await client.query(fs.readFileSync(path.join(dir, `${set}-adopt.sql`), 'utf8'));
    await client.query('RESET ROLE');
    await client.query('DELETE FROM wact_meta.schema_migrations WHERE (version, name) IN (SELECT * FROM unnest($1::text[], $2::text[]))', [
      head.map((l) => l.version),
      head.map((l) => l.name),
    ]);
    await client.query('INSERT INTO wact_meta.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
      baseline.version,
      baseline.name,
      baseline.checksum,
    ]);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw new MigrationError(`adopting the ${set} database made before the squash failed: ${(err as Error).message}`);
  }
  for (const l of head) applied.delete(l.version);
  applied.set(baseline.version, { version: baseline.version, name: baseline.name, checksum: baseline.checksum });
  return true;
}
