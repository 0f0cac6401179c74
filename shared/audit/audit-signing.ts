import { createPublicKey, type KeyObject } from 'node:crypto';
import type pg from 'pg';
import { withTransaction } from '../db/pools.ts';
import {
  digestEventsSha256,
  digestMessage,
  eventHash,
  GENESIS_HASH,
  headMessage,
  manifestMessage,
  MANIFEST_FIELDS,
  type ManifestField,
} from './audit-canonical.ts';
import { chainHead, headsAround, readEvents, signedHeads, unsignedHeads } from './audit-dal.ts';
import { publishKey, type PublishedAuditKey } from './audit-keys.ts';
import type { AuditSigningKey } from './audit-signing-keys.ts';
import { PLATFORM_STREAM, type AuditDatabase, type SignedHead } from './audit-types.ts';

export type { PublishedAuditKey };

type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

/**
 * The key of a stream's signing lock, as SQL over the stream id (`$1`): a
 * transaction-scoped advisory lock that every signing of the stream holds
 * from its check (is this head already signed? where did the last digest
 * end?) to the commit of what it signed (see createAuditSigner).
 */
export const SIGN_LOCK_KEY = `hashtextextended('wact.audit.sign:' || $1::text, 0)`;

export class ChainBrokenError extends Error {
  readonly streamId: string;
  readonly seq: string;
  constructor(streamId: string, seq: bigint | string, detail: string) {
    super(`audit chain of stream ${streamId} does not verify at seq ${seq}: ${detail}; refusing to sign`);
    this.name = 'ChainBrokenError';
    this.streamId = streamId;
    this.seq = String(seq);
  }
}

export interface AuditSignerDeps {
  poolFor: (db: AuditDatabase) => pg.Pool;
  /**
   * The signing key: AWS KMS (production) or a local Ed25519 file (development),
   * see audit-signing-keys.ts. Never a key the services' KEK unwraps.
   */
  key: () => Promise<AuditSigningKey>;
  now?: () => Date;
}

/** ISO with microseconds, as PostgreSQL renders a millisecond timestamp back. */
export function isoMicros(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

const CHUNK = 5000;
/** Most events one digest file lists; a busier stream gets several digests per run. */
const DIGEST_MAX_EVENTS = 100_000;

interface KeyRow {
  key_id: string;
  public_key: Buffer;
  provider: string;
  created_at: Date;
  retired_at: Date | null;
}

/**
 * Signatures over chain heads, export manifests and digest files, with a key
 * held outside the database. Before signing anything it re-derives the claim
 * from the events themselves (since the nearest signed head), so a signature
 * never launders tampering, whoever asks for it.
 *
 * Two signings of one stream never interleave, whatever runs them: each
 * signed head and each digest is checked, signed and written in one
 * transaction holding the stream's advisory lock (SIGN_LOCK_KEY), every
 * statement on that transaction's connection, so a second signer waits, then
 * finds the head already signed or the digest already written and goes on
 * from there. pg-boss cannot promise this alone: its `stately` queue allows
 * one *active job row*, not one running handler (a handler still running when
 * its job expires or its worker's shutdown times out is failed and retried
 * while it goes on), and signings also run outside the queue (sign requests,
 * which any signing worker answers; `wact audit sign-heads` in development).
 * A signer whose connection dies loses the lock and its uncommitted write
 * together.
 */
export function createAuditSigner(deps: AuditSignerDeps) {
  const now = deps.now ?? (() => new Date());
  const registered = new Map<AuditDatabase, Promise<AuditSigningKey>>();

  /** The signing key, its public half recorded in `db` (signed heads reference it; the key set is published from there). */
  async function register(db: AuditDatabase): Promise<AuditSigningKey> {
    const key = await deps.key();
    const pool = deps.poolFor(db);
    const { rowCount } = await pool.query('SELECT 1 FROM audit.signing_keys WHERE key_id = $1', [key.keyId]);
    if (!rowCount) {
      try {
        // created_at from the signer's clock: validity is compared with the signing times it writes.
        await pool.query(
          `INSERT INTO audit.signing_keys (key_id, public_key, wrapped_private, kek_id, provider, alg, created_at)
           VALUES ($1, $2, NULL, NULL, $3, $4, $5)`,
          [key.keyId, key.publicKey.export({ format: 'der', type: 'spki' }), key.provider, key.alg, now()],
        );
      } catch (err) {
        if ((err as { code?: string }).code !== '23505') throw err; // another process registered it first
      }
    }
    return key;
  }

  function activeKey(db: AuditDatabase): Promise<AuditSigningKey> {
    let p = registered.get(db);
    if (!p) {
      p = register(db);
      registered.set(db, p);
      p.catch(() => registered.delete(db));
    }
    return p;
  }

  /**
   * Runs `fn` in a transaction holding the stream's signing lock (waiting for
   * another signer of the stream to commit); `fn` must use only `q`.
   */
  function underSignLock<T>(db: AuditDatabase, streamId: string, fn: (q: pg.PoolClient) => Promise<T>): Promise<T> {
    return withTransaction(deps.poolFor(db), async (q) => {
      await q.query(`SELECT pg_advisory_xact_lock(${SIGN_LOCK_KEY})`, [streamId]);
      return fn(q);
    });
  }

  /**
   * Every key that ever signed in these databases, with its validity: from its
   * first registration until the first registration of the next key in any of
   * them (rotation keeps old keys published, so old exports still verify).
   */
  async function publicKeys(dbs: AuditDatabase[]): Promise<PublishedAuditKey[]> {
    const merged = new Map<string, { key: KeyObject; from: number; to: number | null; source: string }>();
    for (const db of dbs) {
      const { rows } = await deps
        .poolFor(db)
        .query<KeyRow>('SELECT key_id, public_key, provider, created_at, retired_at FROM audit.signing_keys ORDER BY created_at, key_id');
      rows.forEach((r, i) => {
        const key =
          r.public_key.length === 32
            ? createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: r.public_key.toString('base64url') }, format: 'jwk' })
            : createPublicKey({ key: r.public_key, format: 'der', type: 'spki' });
        const from = r.created_at.getTime();
        // The successor is the next key a signer registered (KMS or local file); a retired
        // legacy row written later (tests, hand repairs) does not end the current key.
        const next = rows
          .slice(i + 1)
          .find((x) => x.provider === 'aws-kms-sign' || x.provider === 'local-file')
          ?.created_at.getTime();
        const to = r.retired_at ? r.retired_at.getTime() : (next ?? null);
        const source = r.provider === 'aws-kms-sign' ? 'aws-kms' : r.provider === 'local-file' ? 'local' : 'legacy-db';
        const m = merged.get(r.key_id);
        if (!m) merged.set(r.key_id, { key, from, to, source });
        else {
          m.from = Math.min(m.from, from);
          // A key ends where its successor was first registered, in any database: the signer
          // holds one key at a time, so once the next one is registered anywhere the old one
          // no longer signs. (Taking the latest end, or "open" while some database has not
          // seen the successor yet, kept a retired key valid — forever if a database was
          // unreachable at rotation — so whoever kept it could go on signing.)
          m.to = m.to === null ? to : to === null ? m.to : Math.min(m.to, to);
        }
      });
    }
    return [...merged.entries()]
      .sort((a, b) => a[1].from - b[1].from)
      .map(([kid, m]) =>
        publishKey(m.key, {
          kid,
          validFrom: isoMicros(new Date(m.from)),
          validTo: m.to === null ? null : isoMicros(new Date(m.to)),
          source: m.source,
        }),
      );
  }

  /** Recomputes events (from, to] starting from `fromHash`; returns the hash at `to`. */
  async function recompute(pool: Queryable, streamId: string, from: bigint, fromHash: string, to: bigint): Promise<string> {
    let prev = fromHash;
    let expectSeq = from + 1n;
    while (expectSeq <= to) {
      const upper = expectSeq + BigInt(CHUNK) - 1n < to ? expectSeq + BigInt(CHUNK) - 1n : to;
      const events = await readEvents(pool, streamId, expectSeq, upper);
      for (const e of events) {
        if (BigInt(e.seq) !== expectSeq) throw new ChainBrokenError(streamId, expectSeq, 'an event is missing');
        if (e.prevHash !== prev) throw new ChainBrokenError(streamId, e.seq, 'link to the previous event does not match');
        if (eventHash(e.prevHash, e) !== e.hash) throw new ChainBrokenError(streamId, e.seq, 'content does not match its hash');
        prev = e.hash;
        expectSeq++;
      }
      if (expectSeq <= upper) throw new ChainBrokenError(streamId, expectSeq, 'an event is missing');
    }
    return prev;
  }

  async function insertHead(
    q: pg.PoolClient,
    key: AuditSigningKey,
    streamId: string,
    seq: bigint,
    hash: string,
    purpose: SignedHead['purpose'],
  ): Promise<SignedHead> {
    const signedAt = isoMicros(now());
    const head = { streamId, seq: String(seq), hash, signedAt, keyId: key.keyId };
    const signature = await key.sign(headMessage(head));
    await q.query(
      `INSERT INTO audit.signed_heads (stream_id, seq, hash, signed_at, key_id, purpose, signature)
       VALUES ($1, $2, decode($3, 'hex'), $4, $5, $6, decode($7, 'base64'))`,
      [streamId, head.seq, hash, signedAt, key.keyId, purpose, signature],
    );
    return { ...head, purpose, signature };
  }

  /**
   * A signed head exactly at `seq` (0 = genesis, never signed). Reuses an
   * existing one (also one another signer wrote while this one waited for the
   * stream's lock); otherwise verifies the events between `seq` and the
   * nearest signed head (or genesis) and signs.
   */
  async function checkpoint(
    db: AuditDatabase,
    streamId: string,
    seq: bigint,
    purpose: SignedHead['purpose'],
  ): Promise<SignedHead | undefined> {
    if (seq <= 0n) return undefined;
    const key = await activeKey(db); // before the lock: registering the key takes a connection of its own
    return underSignLock(db, streamId, (q) => checkpointLocked(q, key, streamId, seq, purpose));
  }

  /** checkpoint's work, in the transaction holding the stream's signing lock. */
  async function checkpointLocked(
    q: pg.PoolClient,
    key: AuditSigningKey,
    streamId: string,
    seq: bigint,
    purpose: SignedHead['purpose'],
  ): Promise<SignedHead> {
    const { below, above } = await headsAround(q, streamId, seq);
    if (below && BigInt(below.seq) === seq) {
      const [e] = await readEvents(q, streamId, seq, seq);
      if (e && e.hash === below.hash) return below;
    }
    const fromSeq = below ? BigInt(below.seq) : 0n;
    const useAbove = above && BigInt(above.seq) > seq && BigInt(above.seq) - seq < seq - fromSeq;
    let hash: string;
    if (useAbove) {
      // hash(seq) is authentic if the events after it recompute to the signed hash above.
      const [first] = await readEvents(q, streamId, seq + 1n, seq + 1n);
      if (!first) throw new ChainBrokenError(streamId, seq + 1n, 'an event is missing');
      const reached = await recompute(q, streamId, seq, first.prevHash, BigInt(above.seq));
      if (reached !== above.hash) throw new ChainBrokenError(streamId, above.seq, 'does not lead to the signed head');
      hash = first.prevHash;
    } else {
      if (below) {
        const [b] = await readEvents(q, streamId, fromSeq, fromSeq);
        // Gone by retention (nothing at or before it is left): the signed head itself is the anchor.
        const retainedAway =
          !b &&
          (await q.query('SELECT 1 FROM audit.events WHERE stream_id = $1 AND seq <= $2 LIMIT 1', [streamId, String(fromSeq)])).rowCount ===
            0;
        if (!retainedAway && (!b || b.hash !== below.hash))
          throw new ChainBrokenError(streamId, fromSeq, 'the event under a signed head changed');
      }
      hash = await recompute(q, streamId, fromSeq, below ? below.hash : GENESIS_HASH, seq);
    }
    return insertHead(q, key, streamId, seq, hash, purpose);
  }

  /** Signs the current head of every stream that moved since it was last signed (the hourly job). */
  async function signHeads(
    db: AuditDatabase,
    purpose: SignedHead['purpose'] = 'periodic',
  ): Promise<{ signed: SignedHead[]; broken: ChainBrokenError[] }> {
    const signed: SignedHead[] = [];
    const broken: ChainBrokenError[] = [];
    for (const h of await unsignedHeads(deps.poolFor(db))) {
      try {
        const s = await checkpoint(db, h.streamId, h.seq, purpose);
        if (s) signed.push(s);
      } catch (err) {
        if (err instanceof ChainBrokenError) broken.push(err);
        else throw err;
      }
    }
    return { signed, broken };
  }

  /** Signs one stream's current head (at every export). */
  async function signStreamHead(
    db: AuditDatabase,
    streamId: string,
    purpose: SignedHead['purpose'] = 'export',
  ): Promise<SignedHead | undefined> {
    const head = await chainHead(deps.poolFor(db), streamId);
    if (!head || head.seq === 0n) return undefined;
    return checkpoint(db, streamId, head.seq, purpose);
  }

  /**
   * Signs an export's manifest after checking its claim against the database:
   * the first event links to the anchor (genesis or a signed head), the last
   * event has the stated hash and a signed head, the count is the seq span,
   * and "complete" means nothing after the last event existed at export time.
   */
  async function signManifest(manifest: ExportManifest): Promise<SignedManifest> {
    const db = manifest.database as AuditDatabase;
    const pool = deps.poolFor(db);
    const streamId = String(manifest.streamId);
    const refuse = (why: string): never => {
      throw new Error(`refusing to sign the export manifest of stream ${streamId}: ${why}`);
    };
    if (manifest.workspaceId !== (streamId === PLATFORM_STREAM ? null : streamId)) refuse('workspace and stream disagree');
    const head = await chainHead(pool, streamId);
    const headSeq = BigInt(String(manifest.headSeq));
    if (headSeq > (head?.seq ?? 0n)) refuse('the stated chain head is beyond the real one');
    const exportedAt = Date.parse(String(manifest.exportedAt));
    if (!(Math.abs(exportedAt - now().getTime()) < 10 * 60_000)) refuse('the export time is not now');
    if (manifest.events === 0) {
      if (manifest.firstSeq !== null || manifest.lastSeq !== null || manifest.lastHash !== null) refuse('an empty export names events');
    } else {
      const first = BigInt(String(manifest.firstSeq));
      const last = BigInt(String(manifest.lastSeq));
      if (BigInt(Number(manifest.events)) !== last - first + 1n) refuse('the event count is not the seq span');
      if (manifest.complete === true && last !== headSeq) refuse('a complete export must end at the chain head');
      if (String(manifest.anchorSeq) !== String(first - 1n)) refuse('the anchor is not the event before the first');
      const [f] = await readEvents(pool, streamId, first, first);
      const [l] = await readEvents(pool, streamId, last, last);
      if (!f || f.prevHash !== manifest.anchorHash) refuse('the first event does not link to the stated anchor');
      if (!l || l.hash !== manifest.lastHash) refuse('the last event does not have the stated hash');
      if (first === 1n ? manifest.anchorHash !== GENESIS_HASH : !(await headAt(pool, streamId, first - 1n, String(manifest.anchorHash))))
        refuse('the anchor is neither genesis nor a signed head');
      if (!(await headAt(pool, streamId, last, String(manifest.lastHash)))) refuse('the last event has no signed head');
    }
    const key = await activeKey(db);
    const signed = { ...manifest, signedAt: isoMicros(now()), keyId: key.keyId };
    return { ...signed, signature: await key.sign(manifestMessage(signed)) };
  }

  async function headAt(pool: pg.Pool, streamId: string, seq: bigint, hash: string): Promise<boolean> {
    return (await signedHeads(pool, streamId, seq, seq)).some((h) => h.hash === hash);
  }

  /**
   * The digest files of every stream that moved since its last digest (the
   * hourly job): each lists (seq, hash) of the new events and is signed over a
   * verified, signed head at its last event. Customers download and keep them;
   * `wact audit verify --digests DIR` then catches a later rewrite even by
   * someone holding the signing key.
   */
  async function makeDigests(db: AuditDatabase): Promise<{ made: DigestFile[]; broken: ChainBrokenError[] }> {
    const made: DigestFile[] = [];
    const broken: ChainBrokenError[] = [];
    const { rows } = await deps.poolFor(db).query<{ stream_id: string; seq: string }>(
      `SELECT c.stream_id::text, c.seq::text
         FROM audit.chain_heads c
        WHERE c.seq > coalesce((SELECT max(x.last_seq) FROM audit.digests x WHERE x.stream_id = c.stream_id), 0)`,
    );
    for (const r of rows) {
      try {
        made.push(...(await digestStream(db, r.stream_id, BigInt(r.seq))));
      } catch (err) {
        if (err instanceof ChainBrokenError) broken.push(err);
        else throw err;
      }
    }
    return { made, broken };
  }

  /**
   * One stream's new digest files, up to `headSeq` (default: its head now), at
   * most DIGEST_MAX_EVENTS events each. Each is made in a transaction of its
   * own under the stream's signing lock, starting where the last digest
   * written ends, so digests never overlap whoever else is writing them.
   */
  async function digestStream(db: AuditDatabase, streamId: string, headSeq?: bigint): Promise<DigestFile[]> {
    const upTo = headSeq ?? (await chainHead(deps.poolFor(db), streamId))?.seq ?? 0n;
    const key = await activeKey(db);
    const made: DigestFile[] = [];
    for (;;) {
      let file: DigestFile | undefined;
      try {
        file = await underSignLock(db, streamId, (q) => nextDigest(q, key, db, streamId, upTo));
      } catch (err) {
        // A signer outside the lock (an older release, during a rolling deploy) wrote this digest first.
        if ((err as { code?: string }).code === '23505') break;
        throw err;
      }
      if (!file) break;
      made.push(file);
    }
    return made;
  }

  /** The digest after the last one written, up to `headSeq`; undefined if there is none to make. */
  async function nextDigest(
    q: pg.PoolClient,
    key: AuditSigningKey,
    db: AuditDatabase,
    streamId: string,
    headSeq: bigint,
  ): Promise<DigestFile | undefined> {
    const { rows: last } = await q.query<{ done: string; period_start: Date }>(
      `SELECT last_seq::text AS done, period_end AS period_start FROM audit.digests WHERE stream_id = $1 ORDER BY last_seq DESC LIMIT 1`,
      [streamId],
    );
    const done = BigInt(last[0]?.done ?? 0);
    const periodStart = last[0]?.period_start;
    if (done >= headSeq) return undefined;
    // After retention the stream may start later than seq done + 1.
    const { rows: m } = await q.query<{ min: string | null }>(
      'SELECT min(seq)::text AS min FROM audit.events WHERE stream_id = $1 AND seq > $2',
      [streamId, String(done)],
    );
    if (!m[0].min) return undefined;
    const from = BigInt(m[0].min);
    const to = from + BigInt(DIGEST_MAX_EVENTS) - 1n < headSeq ? from + BigInt(DIGEST_MAX_EVENTS) - 1n : headSeq;
    await checkpointLocked(q, key, streamId, to, 'periodic'); // verifies the chain up to `to` (throws if broken)
    const events: [string, string][] = [];
    let prevHash: string | undefined;
    for (let s = from; s <= to; s += BigInt(CHUNK)) {
      const upper = s + BigInt(CHUNK) - 1n < to ? s + BigInt(CHUNK) - 1n : to;
      for (const e of await readEvents(q, streamId, s, upper)) {
        prevHash ??= e.prevHash;
        events.push([e.seq, e.hash]);
      }
    }
    if (BigInt(events.length) !== to - from + 1n || !prevHash) throw new ChainBrokenError(streamId, from, 'an event is missing');
    const periodEnd = now();
    const body = {
      database: db,
      streamId,
      periodStart: isoMicros(periodStart ?? periodEnd),
      periodEnd: isoMicros(periodEnd),
      firstSeq: String(from),
      lastSeq: String(to),
      prevHash,
      eventsSha256: digestEventsSha256(events),
      signedAt: isoMicros(periodEnd),
      keyId: key.keyId,
    };
    const file: DigestFile = {
      format: 'wact-audit-digest',
      version: 1,
      ...body,
      workspaceId: streamId === PLATFORM_STREAM ? null : streamId,
      signature: await key.sign(digestMessage(body)),
      events,
    };
    await q.query(
      `INSERT INTO audit.digests (stream_id, first_seq, last_seq, period_start, period_end, body) VALUES ($1, $2, $3, $4, $5, $6)`,
      [streamId, String(from), String(to), periodStart ?? periodEnd, periodEnd, JSON.stringify(file) + '\n'],
    );
    return file;
  }

  return { activeKey, publicKeys, checkpoint, signHeads, signStreamHead, signManifest, makeDigests, digestStream };
}

/** What an export states about itself, before the signer adds signedAt, keyId and signature. */
export type ExportManifest = Record<Exclude<ManifestField, 'signedAt' | 'keyId'>, string | number | boolean | null>;
export type SignedManifest = Record<ManifestField, string | number | boolean | null> & { signature: string };
export { MANIFEST_FIELDS };

/** One digest file as served (JSON): the signed fields, the signature and the listed events. */
export interface DigestFile {
  format: 'wact-audit-digest';
  version: 1;
  database: AuditDatabase;
  streamId: string;
  workspaceId: string | null;
  periodStart: string;
  periodEnd: string;
  firstSeq: string;
  lastSeq: string;
  prevHash: string;
  eventsSha256: string;
  signedAt: string;
  keyId: string;
  signature: string;
  events: [string, string][];
}

export type AuditSigner = ReturnType<typeof createAuditSigner>;
