import type pg from 'pg';
import { CANONICAL_FIELDS } from './audit-canonical.ts';
import type { SignedHead, StoredEvent } from './audit-types.ts';

type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

/**
 * The columns of an exported event, formatted by PostgreSQL exactly as the
 * canonical form hashes them (order = the StoredEvent / export column order).
 */
export const EVENT_SELECT = `e.stream_id::text, e.seq::text, e.id::text,
  to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
  e.action, e.actor_kind, e.actor_id, e.actor_role, e.actor_name, e.target_type, e.target_id,
  e.reason, e.session_id, e.client_ip, e.user_agent, e.outcome, e.metadata,
  encode(e.prev_hash, 'hex'), encode(e.hash, 'hex')`;

// The stored and exported order: the canonical fields with seq after the stream id and the two hashes last.
export const EVENT_KEYS = [
  CANONICAL_FIELDS[0],
  'seq',
  ...CANONICAL_FIELDS.slice(1),
  'prevHash',
  'hash',
] as const satisfies readonly (keyof StoredEvent)[];

/** Everything as text: no Date or bigint conversions on the hot path. */
export const TEXT_TYPES = { getTypeParser: () => (v: string) => v } as unknown as pg.CustomTypesConfig;

export function rowToEvent(r: unknown[]): StoredEvent {
  const e = {} as Record<string, unknown>;
  for (let i = 0; i < EVENT_KEYS.length; i++) e[EVENT_KEYS[i]] = r[i];
  return e as unknown as StoredEvent;
}

export async function readEvents(
  db: Queryable,
  streamId: string,
  fromSeq: bigint | number,
  toSeq: bigint | number,
): Promise<StoredEvent[]> {
  const { rows } = await db.query({
    text: `SELECT ${EVENT_SELECT} FROM audit.events e WHERE e.stream_id = $1 AND e.seq BETWEEN $2 AND $3 ORDER BY e.seq`,
    values: [streamId, String(fromSeq), String(toSeq)],
    rowMode: 'array',
    types: TEXT_TYPES,
  });
  return rows.map(rowToEvent);
}

export async function chainHead(db: Queryable, streamId: string): Promise<{ seq: bigint; hash: string } | undefined> {
  const { rows } = await db.query<{ seq: string; hash: string }>(
    `SELECT seq::text, encode(hash, 'hex') AS hash FROM audit.chain_heads WHERE stream_id = $1`,
    [streamId],
  );
  return rows[0] ? { seq: BigInt(rows[0].seq), hash: rows[0].hash } : undefined;
}

const HEAD_SELECT = `h.stream_id::text AS "streamId", h.seq::text AS seq, encode(h.hash, 'hex') AS hash,
  to_char(h.signed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "signedAt",
  h.key_id AS "keyId", h.purpose, encode(h.signature, 'base64') AS signature`;

export async function signedHeads(db: Queryable, streamId: string, fromSeq: bigint = 0n, toSeq?: bigint): Promise<SignedHead[]> {
  const { rows } = await db.query<SignedHead>(
    `SELECT ${HEAD_SELECT} FROM audit.signed_heads h
      WHERE h.stream_id = $1 AND h.seq >= $2 AND ($3::bigint IS NULL OR h.seq <= $3)
      ORDER BY h.seq, h.signed_at`,
    [streamId, String(fromSeq), toSeq === undefined ? null : String(toSeq)],
  );
  return rows.map((r) => ({ ...r, signature: r.signature.replace(/\n/g, '') }));
}

/** The newest signed head at or below `seq`, and the oldest at or above it. */
export async function headsAround(db: Queryable, streamId: string, seq: bigint): Promise<{ below?: SignedHead; above?: SignedHead }> {
  const q = (cmp: string, order: string) =>
    db.query<SignedHead>(
      `SELECT ${HEAD_SELECT} FROM audit.signed_heads h WHERE h.stream_id = $1 AND h.seq ${cmp} $2 ORDER BY h.seq ${order}, h.signed_at DESC LIMIT 1`,
      [streamId, String(seq)],
    );
  const [below, above] = await Promise.all([q('<=', 'DESC'), q('>=', 'ASC')]);
  const fix = (h?: SignedHead) => (h ? { ...h, signature: h.signature.replace(/\n/g, '') } : undefined);
  return { below: fix(below.rows[0]), above: fix(above.rows[0]) };
}

/** Every stream whose head moved since its last signature (or was never signed). */
export async function unsignedHeads(db: Queryable): Promise<{ streamId: string; seq: bigint; hash: string }[]> {
  const { rows } = await db.query<{ stream_id: string; seq: string; hash: string }>(
    `SELECT c.stream_id::text, c.seq::text, encode(c.hash, 'hex') AS hash FROM audit.chain_heads c
      WHERE c.seq > 0 AND NOT EXISTS (SELECT 1 FROM audit.signed_heads h WHERE h.stream_id = c.stream_id AND h.seq = c.seq AND h.hash = c.hash)`,
  );
  return rows.map((r) => ({ streamId: r.stream_id, seq: BigInt(r.seq), hash: r.hash }));
}
