import type pg from 'pg';
import { MANIFEST_FIELDS } from './audit-canonical.ts';
import { createAuditSigner, type AuditSigner, type ExportManifest, type SignedManifest } from './audit-signing.ts';
import type { AuditDatabase, SignedHead } from './audit-types.ts';

/**
 * What the broker (and anything else without the signing key) may ask of the
 * audit signer. The signer process alone holds the key (kms:Sign in
 * production); callers insert a request row into audit.sign_requests and wait
 * for the signer's answer, which it gives only after re-checking the claim
 * against the events (audit-signing.ts).
 */
export type AuditSigningService = Pick<AuditSigner, 'checkpoint' | 'signStreamHead' | 'signManifest' | 'publicKeys'>;

export const SIGN_CHANNEL = 'wact_audit_sign';
const PURPOSES: readonly SignedHead['purpose'][] = ['export', 'retention', 'checkpoint'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class SignerUnavailableError extends Error {
  constructor(what: string, ms: number) {
    super(
      `the audit signer did not answer within ${ms} ms (${what}); is the signing worker (\`wact serve worker --queues audit-sign\`) running?`,
    );
    this.name = 'SignerUnavailableError';
  }
}

type RequestRow = {
  id: string;
  kind: 'checkpoint' | 'stream_head' | 'manifest';
  stream_id: string;
  seq: string | null;
  purpose: string | null;
  manifest: unknown;
};

/**
 * The broker's side: no key, no KMS client. Each call is one request row;
 * the answer is awaited for at most `timeoutMs` (then the export goes out
 * unsigned, which verifiers refuse).
 */
export function createSignerClient(deps: { poolFor: (db: AuditDatabase) => pg.Pool; timeoutMs?: number }): AuditSigningService {
  const timeoutMs = deps.timeoutMs ?? 10_000;
  // Reads only: the published key set comes from audit.signing_keys.
  const reader = createAuditSigner({
    poolFor: deps.poolFor,
    key: () => Promise.reject(new Error('this process holds no audit signing key')),
  });

  async function ask<T>(db: AuditDatabase, req: Omit<RequestRow, 'id'>): Promise<T> {
    const pool = deps.poolFor(db);
    const { rows } = await pool.query<{ id: string }>(
      `WITH r AS (INSERT INTO audit.sign_requests (kind, stream_id, seq, purpose, manifest) VALUES ($1, $2, $3, $4, $5) RETURNING id)
       SELECT id::text, pg_notify('${SIGN_CHANNEL}', '') FROM r`,
      [req.kind, req.stream_id, req.seq, req.purpose, req.manifest === null ? null : JSON.stringify(req.manifest)],
    );
    const id = rows[0].id;
    const deadline = Date.now() + timeoutMs;
    let wait = 20;
    for (;;) {
      const { rows: r } = await pool.query<{ done_at: Date | null; result: unknown; error: string | null }>(
        'SELECT done_at, result, error FROM audit.sign_requests WHERE id = $1',
        [id],
      );
      if (r[0]?.done_at) {
        if (r[0].error !== null) throw new Error(r[0].error);
        return r[0].result as T;
      }
      if (Date.now() >= deadline) throw new SignerUnavailableError(`${req.kind} of stream ${req.stream_id}`, timeoutMs);
      await new Promise((res) => setTimeout(res, Math.min(wait, Math.max(1, deadline - Date.now()))));
      wait = Math.min(wait * 2, 200);
    }
  }

  return {
    publicKeys: reader.publicKeys,
    checkpoint: async (db, streamId, seq, purpose) =>
      seq <= 0n
        ? undefined
        : ((await ask<SignedHead | null>(db, { kind: 'checkpoint', stream_id: streamId, seq: String(seq), purpose, manifest: null })) ??
          undefined),
    signStreamHead: async (db, streamId, purpose = 'export') =>
      (await ask<SignedHead | null>(db, { kind: 'stream_head', stream_id: streamId, seq: null, purpose, manifest: null })) ?? undefined,
    signManifest: (manifest) =>
      ask<SignedManifest>(manifest.database as AuditDatabase, {
        kind: 'manifest',
        stream_id: String(manifest.streamId),
        seq: null,
        purpose: null,
        manifest,
      }),
  };
}

const MANIFEST_KEYS = new Set<string>(MANIFEST_FIELDS.filter((f) => f !== 'signedAt' && f !== 'keyId'));

/** One request, checked for shape; the signer then re-derives its claim from the database. */
async function answer(signer: AuditSigner, db: AuditDatabase, r: RequestRow): Promise<unknown> {
  if (!UUID.test(r.stream_id)) throw new Error('refused: malformed stream id');
  const purpose = (r.purpose ?? 'export') as SignedHead['purpose'];
  if (r.kind !== 'manifest' && !PURPOSES.includes(purpose)) throw new Error(`refused: purpose ${String(r.purpose)} may not be requested`);
  if (r.kind === 'checkpoint') return (await signer.checkpoint(db, r.stream_id, BigInt(r.seq ?? '0'), purpose)) ?? null;
  if (r.kind === 'stream_head') return (await signer.signStreamHead(db, r.stream_id, purpose)) ?? null;
  const m = r.manifest as Record<string, unknown> | null;
  if (!m || typeof m !== 'object' || Array.isArray(m)) throw new Error('refused: no manifest');
  const keys = Object.keys(m);
  if (keys.length !== MANIFEST_KEYS.size || keys.some((k) => !MANIFEST_KEYS.has(k))) throw new Error('refused: manifest fields');
  if (m.database !== db || m.streamId !== r.stream_id) throw new Error('refused: the manifest names another database or stream');
  for (const v of Object.values(m))
    if (v !== null && !['string', 'number', 'boolean'].includes(typeof v)) throw new Error('refused: manifest values');
  return signer.signManifest(m as ExportManifest);
}

/**
 * Answered sign requests older than a day go (audit.prune_sign_requests: the
 * signing worker's role only, never an unanswered request); returns how many.
 */
export async function pruneSignRequests(pool: Pick<pg.Pool, 'query'>): Promise<number> {
  const { rows } = await pool.query<{ n: string }>('SELECT audit.prune_sign_requests()::text AS n');
  return Number(rows[0].n);
}

/**
 * The signer's side: answers pending requests (woken by NOTIFY, and every
 * `pollMs` anyway), oldest first, each at most once; requests older than
 * 30 s are no longer awaited and are closed unanswered.
 */
export async function serveSignRequests(deps: {
  signer: AuditSigner;
  poolFor: (db: AuditDatabase) => pg.Pool;
  databases: readonly AuditDatabase[];
  listen?: (db: AuditDatabase) => Promise<pg.Client>;
  pollMs?: number;
  log: (msg: string, extra?: Record<string, unknown>) => void;
}): Promise<{ drain(db: AuditDatabase): Promise<number>; stop(): Promise<void> }> {
  let stopped = false;
  const busy = new Map<AuditDatabase, Promise<number>>();
  const again = new Set<AuditDatabase>();

  async function drainOnce(db: AuditDatabase): Promise<number> {
    const pool = deps.poolFor(db);
    await pool.query(
      `UPDATE audit.sign_requests SET done_at = now(), error = 'expired: not answered within 30 s'
        WHERE done_at IS NULL AND requested_at < now() - interval '30 seconds'`,
    );
    let n = 0;
    for (;;) {
      const { rows } = await pool.query<RequestRow>(
        `SELECT id::text, kind, stream_id::text, seq::text, purpose, manifest FROM audit.sign_requests
          WHERE done_at IS NULL ORDER BY id LIMIT 50`,
      );
      if (!rows.length) return n;
      for (const r of rows) {
        let result: unknown = null;
        let error: string | null = null;
        try {
          result = await answer(deps.signer, db, r);
        } catch (err) {
          error = (err as Error).message;
          deps.log('audit sign request refused', { database: db, id: r.id, kind: r.kind, streamId: r.stream_id, error });
        }
        await pool.query('UPDATE audit.sign_requests SET done_at = now(), result = $2, error = $3 WHERE id = $1 AND done_at IS NULL', [
          r.id,
          result === null ? null : JSON.stringify(result),
          error,
        ]);
        n++;
      }
    }
  }

  /** Serialised per database: a wake-up during a run runs once more after it. */
  function drain(db: AuditDatabase): Promise<number> {
    const cur = busy.get(db);
    if (cur) {
      again.add(db);
      return cur;
    }
    const p = (async () => {
      let total = 0;
      do {
        again.delete(db);
        total += await drainOnce(db);
      } while (again.has(db) && !stopped);
      return total;
    })().finally(() => busy.delete(db));
    busy.set(db, p);
    return p;
  }

  const kick = (db: AuditDatabase) =>
    void drain(db).catch((err: unknown) => deps.log('audit sign requests failed', { database: db, err: (err as Error).message }));
  const clients: pg.Client[] = [];
  if (deps.listen)
    for (const db of deps.databases) {
      const c = await deps.listen(db);
      c.on('notification', () => kick(db));
      c.on('error', (err) => deps.log('audit signer listener error', { database: db, err: err.message }));
      await c.query(`LISTEN ${SIGN_CHANNEL}`);
      clients.push(c);
    }
  const timer = setInterval(() => deps.databases.forEach(kick), deps.pollMs ?? 1000);
  timer.unref();
  deps.databases.forEach(kick);
  return {
    drain,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await Promise.allSettled([...busy.values()]);
      for (const c of clients) await c.end().catch(() => undefined);
    },
  };
}
