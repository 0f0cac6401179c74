import pg from 'pg';
import type { AuditEventInput, AuditLog } from '../audit/audit-types.ts';
import type { Region } from '../config/config.ts';
import { decryptField, encryptField, fieldContext, readKeyVersion, type FieldContext } from '../crypto/field-cipher.ts';
import type { KeyProvider } from '../crypto/key-provider-types.ts';
import type { Keyring, KeyStore } from '../crypto/keyring-types.ts';
import type { WorkspaceKeks } from '../crypto/workspace-kek.ts';
import type { Pools } from '../db/pools.ts';
import { connectAsOwner } from '../db/owner-connection.ts';
import { BadRequestError, ConflictError } from '../errors/errors.ts';
import type { Databases } from '../runtime/databases.ts';
import type { AuditContext, WorkspaceService } from '../workspaces/workspace-service.ts';
import { createWipeService } from './wipe-service.ts';
import { workspaceTables } from './workspace-tables.ts';

export interface MoveReport {
  workspaceId: string;
  from: Region;
  to: Region;
  rows: Record<string, number>;
  reencrypted: number;
  auditEventsCopied: number;
  sourcePurged: { keysDestroyed: number; rowsDeleted: number };
}

const BATCH = 2_000;

/**
 * Not copied: a database session's grant belongs to the region whose
 * session role it names, and ends with the move (the source is purged).
 */
const NOT_COPIED = new Set(['wact_private.workspace_keys', 'wact_private.session_grants']);

export interface MoveOptions {
  /** Why and under which broker session (the person's request). */
  ctx?: AuditContext;
  /** The job that runs the move (named in the completion events, so its status finds them). */
  jobId?: string;
  /** Rows copied so far of all the workspace's rows. */
  onProgress?: (p: { done: number; total: number; table: string }) => void;
  /**
   * The customer's own KMS key in the target region: the copy's keys are
   * wrapped under it (checked with a round trip first). Required for a
   * workspace under the customer's key (see assertNoCustomerKey).
   */
  customerKeyArn?: string;
}

/**
 * A workspace whose keys are under the customer's own KMS key moves only
 * under another key of theirs, in the target region (`customerKeyArn`). Their
 * key lives in the source's AWS region, and without one named the copy would
 * be under a key of WAct's: the customer would lose, without being asked, the
 * control they chose (cutting WAct off by disabling their key). Checked by the
 * route before the job is queued and by the job before it copies anything
 * (the key may have been set in between).
 */
export async function assertNoCustomerKey(pool: Pick<pg.Pool, 'query'>, workspaceId: string): Promise<void> {
  const { rowCount } = await pool.query(
    `SELECT 1 FROM wact_private.workspace_keys WHERE workspace_id = $1 AND provider = 'kms-customer' LIMIT 1`,
    [workspaceId],
  );
  if (rowCount)
    throw new ConflictError(
      'the workspace’s keys are under your own KMS key, which lives in its current region: name a KMS key of yours in the target region (kmsKeyArn) to move it under that key',
      'customer_key_set',
    );
}

/**
 * Moving a workspace to another region (an explicit operator action):
 *  1. keys in the target region: the hashing key is re-wrapped under the
 *     target KEK (the same key, or every stored phone hash would stop
 *     matching), the data key is new;
 *  2. every row is copied, every field ciphertext decrypted with the source
 *     key and encrypted again with the target key (same table/column binding);
 *  3. verified: row counts per table match and every copied ciphertext
 *     decrypts under the target keys;
 *  4. the directory points at the target, then the source is purged (keys
 *     first). Audited in the platform log and in the workspace's new stream.
 * Run it in a quiet window: writes that reach the source after its copy are
 * refused once the source anchor is gone (foreign key), not carried over.
 */
export function createMoveService(deps: {
  pools: Pick<Pools, 'control' | 'region'>;
  keyring: Keyring;
  keyStore: KeyStore;
  providerFor: (region: Region) => KeyProvider;
  workspaces: Pick<WorkspaceService, 'get'>;
  audit: AuditLog;
  /**
   * Operator URLs: the audit stream is copied (and the source's erased) under
   * wact_owner, which no service role is. Without them the pools' own role
   * must be allowed to (development's operator).
   */
  databases?: Pick<Databases, 'urls'>;
  /**
   * Per-workspace key-encryption keys: the target's keys are wrapped by a key
   * of the workspace's own in the target region (so a wipe there still survives
   * a restore); without, by the target region's KEK.
   */
  workspaceKeks?: Pick<WorkspaceKeks, 'create' | 'customer' | 'provider'>;
}) {
  const { pools, keyring, keyStore, providerFor, audit } = deps;
  const wipes = () => createWipeService({ pools, keyring, audit, databases: deps.databases });

  async function move(workspaceId: string, to: Region, actor: AuditEventInput['actor'], opts: MoveOptions = {}): Promise<MoveReport> {
    const ws = await deps.workspaces.get(workspaceId);
    const from = ws.region;
    if (from === to) throw new BadRequestError(`the workspace already lives in ${to}`, 'same_region');
    const src = pools.region(from);
    const dst = pools.region(to);
    if (!opts.customerKeyArn) await assertNoCustomerKey(src, ws.id);
    const already = await dst.query('SELECT 1 FROM wact.workspaces WHERE id = $1', [ws.id]);
    if (already.rowCount)
      throw new BadRequestError(
        'a copy of this workspace already exists in the target region: finish or clean up the earlier move first',
        'move_in_progress',
      );

    // 1. Keys.
    await dst.query('INSERT INTO wact.workspaces (id, name, region, created_at) VALUES ($1, $2, $3, $4)', [
      ws.id,
      ws.name,
      to,
      ws.createdAt,
    ]);
    try {
      // The target's keys go under the customer's key named for it, else under a key of WAct's, per workspace.
      const keks = deps.workspaceKeks;
      if (opts.customerKeyArn && !keks) throw new Error('a move under a customer key needs per-workspace key-encryption keys');
      const wrapper = keks
        ? keks.provider(await (opts.customerKeyArn ? keks.customer(opts.customerKeyArn, ws.id, to) : keks.create(ws.id, to)), to)
        : providerFor(to);
      const hmacVersions = await keyStore.list(from, ws.id, 'hmac');
      for (const k of hmacVersions) {
        const clear = await keyring.keyVersion(ws.id, from, 'hmac', k.version);
        const { wrapped, kekId } = await wrapper.wrap(clear, { workspaceId: ws.id, purpose: 'hmac', region: to });
        await keyStore.insert(to, {
          workspaceId: ws.id,
          purpose: 'hmac',
          version: k.version,
          wrapped,
          kekId,
          provider: wrapper.name,
        });
      }
      const { plaintext, wrapped, kekId } = await wrapper.generateDataKey({ workspaceId: ws.id, purpose: 'dek', region: to });
      await keyStore.insert(to, { workspaceId: ws.id, purpose: 'dek', version: 1, wrapped, kekId, provider: wrapper.name });
      const targetDek = { version: 1, key: plaintext };

      // 2. Rows, parents first (the reverse of the delete order).
      // Keys were handled above (re-wrapped or new), never copied as rows.
      const tables = (await workspaceTables(src)).reverse().filter((t) => !NOT_COPIED.has(t));
      let total = 0;
      for (const table of tables) {
        const n = await src.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE workspace_id = $1`, [ws.id]);
        total += n.rows[0].n;
      }
      let done = 0;
      const rows: Record<string, number> = {};
      let reencrypted = 0;
      const sourceKeys = new Map<number, Buffer>();
      const sourceKey = async (v: number) => {
        if (!sourceKeys.has(v)) sourceKeys.set(v, await keyring.keyVersion(ws.id, from, 'dek', v));
        return sourceKeys.get(v)!;
      };
      for (const table of tables) {
        const bare = table.split('.').pop()!;
        const byteaCols = await byteaColumns(src, table);
        await ensurePartitionsFor(src, dst, table, ws.id);
        let copied = 0;
        for (let offset = 0; ; offset += BATCH) {
          const batch = await readRows(src, table, 'workspace_id', ws.id, offset);
          if (!batch.length) break;
          for (const row of batch) {
            for (const col of byteaCols) {
              const blob = fromHex(row[col]);
              if (!blob || !isFieldCiphertext(blob)) continue;
              const key = await sourceKey(readKeyVersion(blob));
              // Throws on anything that is not ours under any known binding: the move stops.
              const { ctx, clear } = decryptAny(ws.id, bare, col, row, key, blob);
              row[col] = toHex(encryptField(targetDek, ctx, clear));
              reencrypted++;
            }
          }
          await insertRows(dst, table, batch);
          copied += batch.length;
          done += batch.length;
          opts.onProgress?.({ done: Math.min(done, total), total, table });
        }
        if (copied) rows[table] = copied;
      }
      const auditEventsCopied = await asOwner(to, (owner) => copyAuditStream(src, owner, ws.id));

      // 3. Verify.
      for (const table of tables) {
        const n = await dst.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE workspace_id = $1`, [ws.id]);
        if ((rows[table] ?? 0) !== n.rows[0].n)
          throw new Error(`move verification failed: ${table} has ${n.rows[0].n} rows in ${to}, expected ${rows[table] ?? 0}`);
        const bare = table.split('.').pop()!;
        for (const col of await byteaColumns(dst, table)) {
          const sample = await readRows(dst, table, 'workspace_id', ws.id, 0);
          for (const r of sample) {
            const blob = fromHex(r[col]);
            if (blob && isFieldCiphertext(blob)) decryptAny(ws.id, bare, col, r, plaintext, blob);
          }
        }
      }

      // 4. Switch the directory, then purge the source.
      await pools.control.query('UPDATE wact.workspaces SET region = $2 WHERE id = $1 AND wiped_at IS NULL', [ws.id, to]);
      keyring.evict(ws.id);
      const purged = await wipes().purgeRegion(ws.id, from);
      const report: MoveReport = {
        workspaceId: ws.id,
        from,
        to,
        rows,
        reencrypted,
        auditEventsCopied,
        sourcePurged: { keysDestroyed: purged.keysDestroyed, rowsDeleted: Object.values(purged.deleted).reduce((a, b) => a + b, 0) },
      };
      const metadata = {
        ...(opts.jobId ? { jobId: opts.jobId } : {}),
        from,
        to,
        rowsCopied: Object.values(rows).reduce((a, b) => a + b, 0),
        reencrypted,
        auditEventsCopied,
        sourceRowsDeleted: report.sourcePurged.rowsDeleted,
      };
      await audit.append({
        action: 'workspace.move',
        actor,
        workspaceId: null,
        target: { type: 'workspace', id: ws.id },
        ...opts.ctx,
        outcome: 'success',
        metadata,
      });
      await audit.append({
        action: 'workspace.move',
        actor,
        workspaceId: ws.id,
        region: to,
        target: { type: 'workspace', id: ws.id },
        ...opts.ctx,
        outcome: 'success',
        metadata,
      });
      return report;
    } catch (err) {
      // Nothing switched yet: drop the partial copy so the workspace stays whole in its source region.
      const dir = await pools.control.query<{ region: Region }>('SELECT region FROM wact.workspaces WHERE id = $1', [ws.id]);
      if (dir.rows[0]?.region === from) {
        await wipes()
          .purgeRegion(ws.id, to)
          .catch(() => undefined);
      }
      throw err;
    }
  }

  /**
   * One transaction as wact_owner on the region (the owner credential of the
   * operator URLs, as the wipe's eraser): audit rows are written by no
   * service role, and a half-copied stream never becomes visible.
   */
  async function asOwner<T>(region: Region, run: (db: Pick<pg.Pool, 'query'>) => Promise<T>): Promise<T> {
    const url = deps.databases?.urls[region];
    const client = url ? await connectAsOwner(url, region, 'wact-move-audit') : await pools.region(region).connect();
    try {
      await client.query('BEGIN');
      if (url) await client.query('SET LOCAL ROLE wact_owner');
      const out = await run(client);
      await client.query('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      if (url) await (client as pg.Client).end().catch(() => undefined);
      else (client as pg.PoolClient).release();
    }
  }

  return { move };
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
  const columns = [col, ...['provider', 'platform'].filter((f) => typeof row[f] === 'string').map((f) => `${col}:${row[f] as string}`)];
  for (const [i, c] of columns.entries()) {
    const ctx = fieldContext(workspaceId, table, c);
    try {
      return { ctx, clear: decryptField(() => key, ctx, blob) };
    } catch (err) {
      if (i === columns.length - 1) throw err;
    }
  }
  throw new Error('unreachable');
}

function isFieldCiphertext(blob: Buffer): boolean {
  try {
    readKeyVersion(blob);
    return true;
  } catch {
    return false;
  }
}

async function byteaColumns(pool: Pick<pg.Pool, 'query'>, table: string): Promise<string[]> {
  const { rows } = await pool.query<{ c: string }>(
    `SELECT attname AS c FROM pg_attribute WHERE attrelid = $1::regclass AND atttypid = 'bytea'::regtype AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
    [table],
  );
  return rows.map((r) => r.c);
}

const fromHex = (v: unknown): Buffer | null => (typeof v === 'string' && v.startsWith('\\x') ? Buffer.from(v.slice(2), 'hex') : null);
const toHex = (b: Buffer) => `\\x${b.toString('hex')}`;

/**
 * Rows as PostgreSQL's own JSON (row_to_json): timestamps keep their
 * microseconds (the audit hash chain depends on them), bytea is '\\x…' hex.
 * Paged on (tableoid, ctid): unique even across partitions.
 */
async function readRows(
  pool: Pick<pg.Pool, 'query'>,
  table: string,
  column: string,
  id: string,
  offset: number,
): Promise<Record<string, unknown>[]> {
  const { rows } = await pool.query<{ j: string }>(
    `SELECT row_to_json(t)::text AS j FROM ${table} t WHERE ${column} = $1 ORDER BY t.tableoid, t.ctid LIMIT ${BATCH} OFFSET ${offset}`,
    [id],
  );
  return rows.map((r) => JSON.parse(r.j) as Record<string, unknown>);
}

/** Rows in through json_populate_recordset: one statement per batch, every column type parsed by PostgreSQL. */
async function insertRows(pool: Pick<pg.Pool, 'query'>, table: string, rows: Record<string, unknown>[]): Promise<void> {
  if (!rows.length) return;
  await pool.query(`INSERT INTO ${table} SELECT * FROM json_populate_recordset(NULL::${table}, $1::json)`, [JSON.stringify(rows)]);
}

/** The target needs the time partitions the workspace's rows fall into. */
async function ensurePartitionsFor(
  src: Pick<pg.Pool, 'query'>,
  dst: Pick<pg.Pool, 'query'>,
  table: string,
  workspaceId: string,
): Promise<void> {
  const t = await src.query<{ key: string | null }>(
    `SELECT a.attname AS key FROM pg_partitioned_table p JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]
      WHERE p.partrelid = $1::regclass`,
    [table],
  );
  const key = t.rows[0]?.key;
  if (!key) return;
  const span = await src.query<{ lo: Date | null; hi: Date | null }>(
    `SELECT min(${key}) AS lo, max(${key}) AS hi FROM ${table} WHERE workspace_id = $1`,
    [workspaceId],
  );
  const { lo, hi } = span.rows[0];
  if (!lo || !hi) return;
  for (let from = new Date(lo); from <= hi; from = new Date(from.getTime() + 400 * 86_400_000)) {
    const days = Math.min(400, Math.ceil((hi.getTime() - from.getTime()) / 86_400_000) + 1);
    await dst.query('SELECT wact_private.ensure_ingest_partitions($1::date, $2)', [from.toISOString().slice(0, 10), days]);
  }
}

/** The workspace's own audit stream moves with it (hash chain intact: same stream id, same rows). */
async function copyAuditStream(src: Pick<pg.Pool, 'query'>, dst: Pick<pg.Pool, 'query'>, workspaceId: string): Promise<number> {
  const has = await src.query<{ ok: boolean }>(`SELECT to_regclass('audit.chain_heads') IS NOT NULL AS ok`);
  if (!has.rows[0].ok) return 0;
  const months = await src.query<{ m: Date }>(
    `SELECT DISTINCT date_trunc('month', occurred_at) AS m FROM audit.events WHERE stream_id = $1`,
    [workspaceId],
  );
  for (const { m } of months.rows) await dst.query('SELECT audit.ensure_partition($1)', [m]);
  let n = 0;
  for (let offset = 0; ; offset += BATCH) {
    const batch = await readRows(src, 'audit.events', 'stream_id', workspaceId, offset);
    if (!batch.length) break;
    await insertRows(dst, 'audit.events', batch);
    n += batch.length;
  }
  await insertRows(dst, 'audit.chain_heads', await readRows(src, 'audit.chain_heads', 'stream_id', workspaceId, 0));
  // The gateway transcripts (migration 0700) go with the stream that anchors them; the source's copies
  // are erased with the source's workspace row, so they must not be left behind.
  const transcripts = await src.query<{ ok: boolean }>(`SELECT to_regclass('audit.transcripts') IS NOT NULL AS ok`);
  if (transcripts.rows[0].ok)
    for (const table of ['audit.transcripts', 'audit.transcript_records'])
      for (let offset = 0; ; offset += BATCH) {
        const batch = await readRows(src, table, 'stream_id', workspaceId, offset);
        if (!batch.length) break;
        await insertRows(dst, table, batch);
      }
  return n;
}
