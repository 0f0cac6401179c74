import type pg from 'pg';
import type { Region } from '../config/config-schema.ts';
import type { Pools } from '../db/pools.ts';
import { CryptoError } from '../errors/errors.ts';
import { workspaceTables } from '../lifecycle/workspace-tables.ts';
import { decryptField, encryptField, fieldContext, readKeyVersion, type FieldContext } from './field-cipher.ts';
import type { Keyring } from './keyring-types.ts';

/**
 * Rotation that finishes: every field ciphertext of a workspace (regional and
 * control databases, every table with a workspace_id, found from the catalog)
 * is decrypted with the data-key version it names and encrypted again under
 * the current version, in batches; then the older data-key versions are
 * retired (deleted), so data under them is unreadable for good.
 *
 * Resumable and idempotent: a batch only selects rows that still hold a
 * ciphertext under another version, and each table's keyset cursor is kept in
 * wact_private.key_reencryption after every batch. A crash (or ^C) loses at
 * most the batch in flight; running it again continues from the cursor. An
 * update only lands where the row still holds the ciphertext that was read
 * (a concurrent writer wins; the final check catches what is left).
 *
 * Hashes (hmac key) are not touched: nothing here knows the phone numbers
 * behind them. Every hashing-key version stays live and matching uses all.
 */
export interface ReencryptProgress {
  done: number;
  total: number;
  table: string;
}

export interface ReencryptOptions {
  batchSize?: number;
  onProgress?: (p: ReencryptProgress) => void;
  /** Called after each committed batch (tests inject a crash here). */
  afterBatch?: (batches: number) => void | Promise<void>;
}

export interface ReencryptReport {
  workspaceId: string;
  targetVersion: number;
  reencrypted: number;
  batches: number;
  retiredVersions: number[];
  seconds: number;
}

type Db = 'control' | 'regional';
interface Column {
  name: string;
  type: string;
}
interface TablePlan {
  db: Db;
  table: string;
  bare: string;
  pk: Column[];
  cipherColumns: string[];
  /** 'provider' / 'platform' columns some ciphertexts are bound to. */
  bindings: string[];
}

const SKIP = new Set(['wact_private.workspace_keys', 'wact_private.key_reencryption']);
const qi = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** SQL: does column c hold a field ciphertext under a version other than $2? (format byte 1, version bytes 2–5) */
const needs = (c: string) =>
  `(${qi(c)} IS NOT NULL AND length(${qi(c)}) >= 33 AND get_byte(${qi(c)}, 0) = 1 AND substring(${qi(c)} from 2 for 4) <> $2)`;

export function createReencryptService(deps: { pools: Pick<Pools, 'control' | 'region'>; keyring: Keyring }) {
  const { pools, keyring } = deps;

  async function plan(pool: Pick<pg.Pool, 'query'>, db: Db): Promise<TablePlan[]> {
    const out: TablePlan[] = [];
    for (const table of await workspaceTables(pool)) {
      if (SKIP.has(table)) continue;
      const { rows: cols } = await pool.query<{ c: string }>(
        `SELECT attname AS c FROM pg_attribute WHERE attrelid = $1::regclass AND atttypid = 'bytea'::regtype AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
        [table],
      );
      if (!cols.length) continue;
      const { rows: pk } = await pool.query<Column>(
        `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type
           FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
           JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
          WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY k.ord`,
        [table],
      );
      const { rows: bind } = await pool.query<{ c: string }>(
        `SELECT attname AS c FROM pg_attribute WHERE attrelid = $1::regclass AND attname IN ('provider', 'platform') AND NOT attisdropped`,
        [table],
      );
      out.push({ db, table, bare: table.split('.').pop()!, pk, cipherColumns: cols.map((r) => r.c), bindings: bind.map((r) => r.c) });
    }
    return out;
  }

  const versionBytes = (v: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v);
    return b;
  };

  async function pending(pool: Pick<pg.Pool, 'query'>, t: TablePlan, workspaceId: string, target: number): Promise<number> {
    const { rows } = await pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${t.table} WHERE workspace_id = $1 AND (${t.cipherColumns.map(needs).join(' OR ')})`,
      [workspaceId, versionBytes(target)],
    );
    return Number(rows[0].n);
  }

  async function run(workspaceId: string, region: Region, opts: ReencryptOptions = {}): Promise<ReencryptReport> {
    const started = Date.now();
    const batchSize = opts.batchSize ?? 2000;
    const regional = pools.region(region);
    const poolOf = (db: Db) => (db === 'control' ? pools.control : regional);
    const target = await keyring.currentKey(workspaceId, region, 'dek');
    const targetBytes = versionBytes(target.version);
    const plans = [...(await plan(regional, 'regional')), ...(await plan(pools.control, 'control'))];

    let total = 0;
    const counts = new Map<TablePlan, number>();
    for (const t of plans) {
      const n = await pending(poolOf(t.db), t, workspaceId, target.version);
      counts.set(t, n);
      total += n;
    }
    let done = 0;
    let batches = 0;
    const keys = new Map<number, Buffer>();
    const keyFor = async (v: number) => {
      let k = keys.get(v);
      if (!k) keys.set(v, (k = await keyring.keyVersion(workspaceId, region, 'dek', v)));
      return k;
    };

    const progressRow = async (t: TablePlan) => {
      const { rows } = await regional.query<{ cursor: string[] | null; finished_at: Date | null }>(
        `SELECT cursor, finished_at FROM wact_private.key_reencryption
          WHERE workspace_id = $1 AND target_version = $2 AND database = $3 AND table_name = $4`,
        [workspaceId, target.version, t.db, t.table],
      );
      return rows[0];
    };
    const saveProgress = (t: TablePlan, cursor: string[] | null, rows: number, finished: boolean) =>
      regional.query(
        `INSERT INTO wact_private.key_reencryption (workspace_id, target_version, database, table_name, cursor, rows_done, finished_at)
         VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $7 THEN now() END)
         ON CONFLICT (workspace_id, target_version, database, table_name) DO UPDATE
           SET cursor = excluded.cursor, rows_done = key_reencryption.rows_done + excluded.rows_done,
               finished_at = excluded.finished_at, updated_at = now()`,
        [workspaceId, target.version, t.db, t.table, cursor ? JSON.stringify(cursor) : null, rows, finished],
      );

    async function table(t: TablePlan, fromStart: boolean): Promise<void> {
      if (!counts.get(t)) return;
      if (!t.pk.length) {
        throw new CryptoError('reencrypt_unsupported', `${t.table} holds ciphertext but has no primary key to page by`);
      }
      const pool = poolOf(t.db);
      const saved = fromStart ? undefined : await progressRow(t);
      if (saved?.finished_at) return;
      let cursor: string[] | null = saved?.cursor ?? null;
      const pkList = t.pk.map((c) => qi(c.name)).join(', ');
      for (;;) {
        const after = cursor ? `AND (${pkList}) > (${t.pk.map((c, i) => `$${i + 3}::${c.type}`).join(', ')})` : '';
        const { rows } = await pool.query<Record<string, unknown>>(
          `SELECT ${t.pk.map((c, i) => `${qi(c.name)}::text AS "pk${i}"`).join(', ')},
                  ${[...t.bindings.map((b) => `${qi(b)}::text AS "__${b}"`), ...t.cipherColumns.map(qi)].join(', ')}
             FROM ${t.table}
            WHERE workspace_id = $1 ${after} AND (${t.cipherColumns.map(needs).join(' OR ')})
            ORDER BY ${pkList} LIMIT ${batchSize}`,
          [workspaceId, targetBytes, ...(cursor ?? [])],
        );
        if (!rows.length) break;
        // New value per column and row; unchanged columns keep their old value.
        const fresh = t.cipherColumns.map(() => [] as (Buffer | null)[]);
        const old = t.cipherColumns.map(() => [] as (Buffer | null)[]);
        for (const row of rows) {
          for (const [ci, col] of t.cipherColumns.entries()) {
            const blob = row[col] as Buffer | null;
            old[ci].push(blob);
            if (!blob || blob.length < 33 || blob[0] !== 1 || blob.readUInt32BE(1) === target.version) {
              fresh[ci].push(blob);
              continue;
            }
            const { ctx, clear } = decryptAny(workspaceId, t.bare, col, row, await keyFor(readKeyVersion(blob)), blob);
            fresh[ci].push(encryptField(target, ctx, clear));
          }
        }
        const pkArrays = t.pk.map((_, i) => rows.map((r) => r[`pk${i}`] as string));
        const n = t.pk.length;
        const m = t.cipherColumns.length;
        const params: unknown[] = [workspaceId, ...pkArrays, ...fresh, ...old];
        const unnestCols = [
          ...t.pk.map((c, i) => `$${i + 2}::${c.type}[]`),
          ...t.cipherColumns.map((_, i) => `$${n + 2 + i}::bytea[]`),
          ...t.cipherColumns.map((_, i) => `$${n + m + 2 + i}::bytea[]`),
        ];
        const names = [
          ...t.pk.map((_, i) => `k${i}`),
          ...t.cipherColumns.map((_, i) => `n${i}`),
          ...t.cipherColumns.map((_, i) => `o${i}`),
        ];
        await pool.query(
          `UPDATE ${t.table} AS t SET ${t.cipherColumns.map((c, i) => `${qi(c)} = v.n${i}`).join(', ')}
             FROM unnest(${unnestCols.join(', ')}) AS v(${names.join(', ')})
            WHERE t.workspace_id = $1
              AND ${t.pk.map((c, i) => `t.${qi(c.name)} = v.k${i}`).join(' AND ')}
              AND ${t.cipherColumns.map((c, i) => `t.${qi(c)} IS NOT DISTINCT FROM v.o${i}`).join(' AND ')}`,
          params,
        );
        cursor = t.pk.map((_, i) => rows[rows.length - 1][`pk${i}`] as string);
        await saveProgress(t, cursor, rows.length, false);
        batches++;
        done += rows.length;
        opts.onProgress?.({ done: Math.min(done, total), total, table: t.table });
        await opts.afterBatch?.(batches);
        if (rows.length < batchSize) break;
      }
      await saveProgress(t, cursor, 0, true);
    }

    for (const t of plans) await table(t, false);
    // Whatever a concurrent writer (with a key cached before the rotation) left behind: up to two more passes.
    for (let pass = 0; ; pass++) {
      let left = 0;
      for (const t of plans) {
        const n = await pending(poolOf(t.db), t, workspaceId, target.version);
        counts.set(t, n);
        left += n;
      }
      if (left === 0) break;
      if (pass === 2) {
        throw new CryptoError(
          'reencrypt_incomplete',
          `${left} ciphertexts are still under an older key; nothing was retired, run it again`,
        );
      }
      for (const t of plans) await table(t, true);
    }

    // Everything is under the target version: older data-key versions go for good.
    const retiredVersions = await keyring.retire(workspaceId, region, 'dek', target.version);
    await regional.query('DELETE FROM wact_private.key_reencryption WHERE workspace_id = $1 AND target_version = $2', [
      workspaceId,
      target.version,
    ]);
    return {
      workspaceId,
      targetVersion: target.version,
      reencrypted: done,
      batches,
      retiredVersions,
      seconds: (Date.now() - started) / 1000,
    };
  }

  return { run };
}

/**
 * Field ciphertext is bound to workspace/table/column; some features bind a
 * row too by suffixing the column with the row's provider or platform
 * (ingest: 'secret_enc:twilio', 'credentials_enc:google'). Try each binding.
 */
function decryptAny(
  workspaceId: string,
  table: string,
  col: string,
  row: Record<string, unknown>,
  key: Buffer,
  blob: Buffer,
): { ctx: FieldContext; clear: Buffer } {
  const suffixes = ['provider', 'platform'].map((f) => row[`__${f}`]).filter((v): v is string => typeof v === 'string');
  const columns = [col, ...suffixes.map((s) => `${col}:${s}`)];
  for (const [i, c] of columns.entries()) {
    const ctx = fieldContext(workspaceId, table, c);
    try {
      return { ctx, clear: decryptField(() => key, ctx, blob) };
    } catch (err) {
      if (i === columns.length - 1) {
        throw new CryptoError(
          'reencrypt_failed',
          `a ciphertext in ${table}.${col} does not decrypt under its key; nothing was changed for it`,
        );
      }
      void err;
    }
  }
  throw new Error('unreachable');
}
