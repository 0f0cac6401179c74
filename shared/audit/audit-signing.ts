import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import type pg from 'pg';
import type { Region } from '../config/config.ts';
import type { KeyProvider } from '../crypto/key-provider-types.ts';
import { eventHash, GENESIS_HASH, headMessage } from './audit-canonical.ts';
import { chainHead, headsAround, readEvents, unsignedHeads } from './audit-dal.ts';
import type { AuditDatabase, SignedHead } from './audit-types.ts';

export interface PublicAuditKey {
  kty: 'OKP';
  crv: 'Ed25519';
  alg: 'EdDSA';
  use: 'sig';
  kid: string;
  x: string; // base64url raw public key
  database: AuditDatabase;
  createdAt: string;
  retiredAt: string | null;
}

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
  providerFor: (region: Region) => KeyProvider;
  /** Which region's KEK wraps the control database's signing key. */
  controlKekRegion?: Region;
  now?: () => Date;
}

/** ISO with microseconds, as PostgreSQL renders a millisecond timestamp back. */
export function isoMicros(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

const CHUNK = 5000;

/**
 * Ed25519 keys per database (private half only wrapped by the KEK) and the
 * signatures over chain heads. Before signing a head it re-verifies the events
 * since the nearest signed head, so a signature never launders tampering.
 */
export function createAuditSigner(deps: AuditSignerDeps) {
  const now = deps.now ?? (() => new Date());
  const active = new Map<AuditDatabase, Promise<{ keyId: string; privateKey: KeyObject }>>();
  const kekRegion = (db: AuditDatabase): Region => (db === 'control' ? (deps.controlKekRegion ?? 'eu') : db);
  const keyContext = (db: AuditDatabase) => ({ workspaceId: `platform-audit-${db}`, purpose: 'audit-signing', region: kekRegion(db) });

  async function loadOrCreateKey(db: AuditDatabase): Promise<{ keyId: string; privateKey: KeyObject }> {
    const pool = deps.poolFor(db);
    const provider = deps.providerFor(kekRegion(db));
    for (let attempt = 0; attempt < 3; attempt++) {
      const { rows } = await pool.query<{ key_id: string; wrapped_private: Buffer }>(
        'SELECT key_id, wrapped_private FROM audit.signing_keys WHERE retired_at IS NULL',
      );
      if (rows[0]) {
        const der = await provider.unwrap(rows[0].wrapped_private, keyContext(db));
        return { keyId: rows[0].key_id, privateKey: createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }) };
      }
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
      const { wrapped, kekId } = await provider.wrap(privateKey.export({ format: 'der', type: 'pkcs8' }), keyContext(db));
      const keyId = `${db}-${randomBytes(5).toString('hex')}`;
      try {
        await pool.query(
          'INSERT INTO audit.signing_keys (key_id, public_key, wrapped_private, kek_id, provider) VALUES ($1, $2, $3, $4, $5)',
          [keyId, raw, wrapped, kekId, provider.name],
        );
        return { keyId, privateKey };
      } catch (err) {
        if ((err as { code?: string }).code !== '23505') throw err; // another process created one first: use it
      }
    }
    throw new Error('could not establish an audit signing key');
  }

  function activeKey(db: AuditDatabase) {
    let p = active.get(db);
    if (!p) {
      p = loadOrCreateKey(db);
      active.set(db, p);
      p.catch(() => active.delete(db));
    }
    return p;
  }

  async function publicKeys(dbs: AuditDatabase[]): Promise<PublicAuditKey[]> {
    const out: PublicAuditKey[] = [];
    for (const db of dbs) {
      const { rows } = await deps
        .poolFor(db)
        .query<{ key_id: string; public_key: Buffer; created_at: Date; retired_at: Date | null }>(
          'SELECT key_id, public_key, created_at, retired_at FROM audit.signing_keys ORDER BY created_at',
        );
      for (const r of rows) {
        out.push({
          kty: 'OKP',
          crv: 'Ed25519',
          alg: 'EdDSA',
          use: 'sig',
          kid: r.key_id,
          x: r.public_key.toString('base64url'),
          database: db,
          createdAt: r.created_at.toISOString(),
          retiredAt: r.retired_at ? r.retired_at.toISOString() : null,
        });
      }
    }
    return out;
  }

  /** Recomputes events (from, to] starting from `fromHash`; returns the hash at `to`. */
  async function recompute(pool: pg.Pool, streamId: string, from: bigint, fromHash: string, to: bigint): Promise<string> {
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
    db: AuditDatabase,
    streamId: string,
    seq: bigint,
    hash: string,
    purpose: SignedHead['purpose'],
  ): Promise<SignedHead> {
    const { keyId, privateKey } = await activeKey(db);
    const signedAt = isoMicros(now());
    const head = { streamId, seq: String(seq), hash, signedAt, keyId };
    const signature = sign(null, headMessage(head), privateKey).toString('base64');
    await deps.poolFor(db).query(
      `INSERT INTO audit.signed_heads (stream_id, seq, hash, signed_at, key_id, purpose, signature)
       VALUES ($1, $2, decode($3, 'hex'), $4, $5, $6, decode($7, 'base64'))`,
      [streamId, head.seq, hash, signedAt, keyId, purpose, signature],
    );
    return { ...head, purpose, signature };
  }

  /**
   * A signed head exactly at `seq` (0 = genesis, never signed). Reuses an
   * existing one; otherwise verifies the events between `seq` and the nearest
   * signed head (or genesis) and signs.
   */
  async function checkpoint(
    db: AuditDatabase,
    streamId: string,
    seq: bigint,
    purpose: SignedHead['purpose'],
  ): Promise<SignedHead | undefined> {
    if (seq <= 0n) return undefined;
    const pool = deps.poolFor(db);
    const { below, above } = await headsAround(pool, streamId, seq);
    if (below && BigInt(below.seq) === seq) {
      const [e] = await readEvents(pool, streamId, seq, seq);
      if (e && e.hash === below.hash) return below;
    }
    const fromSeq = below ? BigInt(below.seq) : 0n;
    const useAbove = above && BigInt(above.seq) > seq && BigInt(above.seq) - seq < seq - fromSeq;
    let hash: string;
    if (useAbove) {
      // hash(seq) is authentic if the events after it recompute to the signed hash above.
      const [first] = await readEvents(pool, streamId, seq + 1n, seq + 1n);
      if (!first) throw new ChainBrokenError(streamId, seq + 1n, 'an event is missing');
      const reached = await recompute(pool, streamId, seq, first.prevHash, BigInt(above.seq));
      if (reached !== above.hash) throw new ChainBrokenError(streamId, above.seq, 'does not lead to the signed head');
      hash = first.prevHash;
    } else {
      if (below) {
        const [b] = await readEvents(pool, streamId, fromSeq, fromSeq);
        // Gone by retention (nothing at or before it is left): the signed head itself is the anchor.
        const retainedAway =
          !b &&
          (await pool.query('SELECT 1 FROM audit.events WHERE stream_id = $1 AND seq <= $2 LIMIT 1', [streamId, String(fromSeq)]))
            .rowCount === 0;
        if (!retainedAway && (!b || b.hash !== below.hash))
          throw new ChainBrokenError(streamId, fromSeq, 'the event under a signed head changed');
      }
      hash = await recompute(pool, streamId, fromSeq, below ? below.hash : GENESIS_HASH, seq);
    }
    return insertHead(db, streamId, seq, hash, purpose);
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

  return { activeKey, publicKeys, checkpoint, signHeads, signStreamHead };
}

export type AuditSigner = ReturnType<typeof createAuditSigner>;

/** A KeyObject from one published key (JWK). */
export function publicKeyFromJwk(k: Pick<PublicAuditKey, 'x'>): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: k.x }, format: 'jwk' });
}
