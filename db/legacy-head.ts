import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { BASELINE_VERSION, DB_DIR, MigrationError, type Migration, type MigrationSet } from './migration-files.ts';

/**
 * Databases made before the current baseline, brought to it without losing a
 * row. Two kinds are recognised from their bookkeeping (wact_meta.schema_migrations):
 *
 *  - made by the numbered files the baseline replaced: every file of
 *    db/legacy/<set>-head.json applied (same name and checksum). Adopted: the
 *    baseline recorded as applied without running it, and
 *    db/legacy/<set>-adopt.sql run once (the few grants in which such a
 *    database differs from the baseline);
 *  - made by an earlier text of the baseline (db/legacy/previous-baselines.json),
 *    published before files added meanwhile were folded into it.
 *
 * Either way the files folded into the baseline since (db/legacy/folded/<set>,
 * frozen copies) are run if the database has not applied them yet, their rows
 * and the legacy rows are removed, and the baseline row gets the current
 * checksum, all in one transaction as wact_owner. Rows of files added after
 * the baseline stay: they are ordinary numbered migrations.
 *
 * A database part-way through the old files, or with an old file in another
 * version, is refused (fail closed): it never had the baseline's schema.
 */
export interface LegacyEntry {
  version: string;
  name: string;
  checksum: string;
}

type Applied = Map<string, { version: string; name: string; checksum: string }>;

const SQUASH_NOTE = 'migrate it first with a checkout from before the migrations were squashed (git log -- db/legacy)';

export function legacyHead(set: MigrationSet, dir = path.join(DB_DIR, 'legacy')): LegacyEntry[] {
  return JSON.parse(fs.readFileSync(path.join(dir, `${set}-head.json`), 'utf8')) as LegacyEntry[];
}

/** Numbered files folded into the baseline after it was first published, in version order. */
export function foldedMigrations(set: MigrationSet, dir = path.join(DB_DIR, 'legacy')): Migration[] {
  const folder = path.join(dir, 'folded', set);
  if (!fs.existsSync(folder)) return [];
  return fs
    .readdirSync(folder)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((name) => {
      const bytes = fs.readFileSync(path.join(folder, name));
      return {
        version: name.slice(0, 4),
        name,
        sql: bytes.toString('utf8'),
        checksum: crypto.createHash('sha256').update(bytes).digest('hex'),
      };
    });
}

function previousBaselines(set: MigrationSet, dir: string): string[] {
  return (JSON.parse(fs.readFileSync(path.join(dir, 'previous-baselines.json'), 'utf8')) as Record<MigrationSet, string[]>)[set];
}

/**
 * Brings a database made before the current baseline to it, if `applied` (its
 * bookkeeping) says it is one. Returns what it did, or undefined.
 */
export async function adoptLegacyDatabase(
  client: pg.Client,
  set: MigrationSet,
  baseline: Migration,
  applied: Applied,
  dir = path.join(DB_DIR, 'legacy'),
): Promise<string | undefined> {
  const prior = applied.get(BASELINE_VERSION);
  if (prior?.checksum === baseline.checksum) return undefined;
  const folded = foldedMigrations(set, dir);
  let remove: LegacyEntry[];
  let adoptSql: string | undefined;
  if (prior) {
    // An earlier text of the baseline; anything else is an edited baseline, refused by the migrator.
    if (!previousBaselines(set, dir).includes(prior.checksum)) return undefined;
    remove = [prior];
  } else {
    const head = legacyHead(set, dir);
    const present = head.filter((l) => applied.get(l.version)?.name === l.name);
    if (present.length === 0) return undefined;
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
    remove = head;
    adoptSql = fs.readFileSync(path.join(dir, `${set}-adopt.sql`), 'utf8');
  }
  const catchUp: Migration[] = [];
  for (const f of folded) {
    const row = applied.get(f.version);
    if (!row) catchUp.push(f);
    else if (row.name !== f.name || row.checksum !== f.checksum)
      throw new MigrationError(`${set} database applied another ${row.name} than the one folded into the baseline: ${SQUASH_NOTE}`);
    else remove.push(row);
  }
  await client.query('BEGIN');
  try {
    await client.query('SET LOCAL ROLE wact_owner');
    if (adoptSql) await client.query(adoptSql);
    for (const f of catchUp) await client.query(f.sql);
    await client.query('RESET ROLE');
    await client.query('DELETE FROM wact_meta.schema_migrations WHERE (version, name) IN (SELECT * FROM unnest($1::text[], $2::text[]))', [
      remove.map((l) => l.version),
      remove.map((l) => l.name),
    ]);
    await client.query('INSERT INTO wact_meta.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
      baseline.version,
      baseline.name,
      baseline.checksum,
    ]);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw new MigrationError(`bringing the ${set} database made before the current baseline to it failed: ${(err as Error).message}`);
  }
  for (const l of remove) applied.delete(l.version);
  applied.set(baseline.version, { version: baseline.version, name: baseline.name, checksum: baseline.checksum });
  const caught = catchUp.length ? `, caught up with ${catchUp.map((f) => f.name).join(', ')}` : '';
  return `${prior ? 'an earlier baseline' : 'the numbered files before the squash'}${caught}`;
}
