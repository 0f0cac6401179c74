import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';

type Queryable = Pick<pg.Pool, 'query'>;

/** The server's current WAL insert position: call before a test writes what it will scan for. */
export async function currentWalLsn(db: Queryable): Promise<string> {
  return (await db.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn')).rows[0].lsn;
}

/**
 * The WAL bytes written since `startLsn`, segment by segment. Only these bytes
 * belong to the test: PostgreSQL recycles old segments by renaming them, so the
 * rest of a segment file (and every other file in pg_wal) can still hold bytes
 * of earlier runs on a shared server. Run `pg_switch_wal()`/CHECKPOINT first if
 * the test needs everything flushed.
 */
export async function walWrittenSince(db: Queryable, dataDir: string, startLsn: string): Promise<{ file: string; bytes: Buffer }[]> {
  const { rows } = await db.query<{ start_file: string; start_offset: number; end_file: string; end_offset: number }>(
    `SELECT s.file_name AS start_file, s.file_offset AS start_offset, e.file_name AS end_file, e.file_offset AS end_offset
       FROM pg_walfile_name_offset($1::pg_lsn) s, pg_walfile_name_offset(pg_current_wal_insert_lsn()) e`,
    [startLsn],
  );
  const r = rows[0];
  const walDir = path.join(dataDir, 'pg_wal');
  const names = fs
    .readdirSync(walDir)
    .filter((f) => /^[0-9A-F]{24}$/.test(f) && f >= r.start_file && f <= r.end_file)
    .sort();
  const out: { file: string; bytes: Buffer }[] = [];
  for (const name of names) {
    let buf: Buffer;
    try {
      buf = fs.readFileSync(path.join(walDir, name));
    } catch {
      continue; // recycled meanwhile: not ours any more
    }
    const from = name === r.start_file ? Number(r.start_offset) : 0;
    const to = name === r.end_file ? Number(r.end_offset) : buf.length;
    out.push({ file: path.join('pg_wal', name), bytes: buf.subarray(from, to) });
  }
  return out;
}
