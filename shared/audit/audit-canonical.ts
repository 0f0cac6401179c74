import { createHash, createPublicKey, verify as verifySignature, type KeyObject } from 'node:crypto';

/**
 * The canonical form of an audit event and of a signed head. The database
 * computes the same bytes in audit.append_at (db/functions/audit.append_at.sql);
 * the verifier recomputes them from an export. Documented in docs/audit-export.md
 * (section audit) so a customer can write their own verifier.
 *
 *   canonical = "wact.audit.v1|" + f(streamId) + f(id) + f(occurredAt) + f(action)
 *             + f(actorKind) + f(actorId) + f(actorRole) + f(actorName) + f(targetType)
 *             + f(targetId) + f(reason) + f(sessionId) + f(clientIp) + f(userAgent)
 *             + f(outcome) + f(metadata)
 *   f(null) = "~"        f(s) = <byte length of UTF-8 s, decimal> ":" s
 *   hash    = SHA-256(prevHash (32 bytes) || UTF-8(canonical))
 *
 * `seq` is deliberately not hashed: order is what the links say, so a
 * renumbered (reordered) event is recognised as such rather than as altered.
 */
export const CANONICAL_FIELDS = [
  'streamId',
  'id',
  'occurredAt',
  'action',
  'actorKind',
  'actorId',
  'actorRole',
  'actorName',
  'targetType',
  'targetId',
  'reason',
  'sessionId',
  'clientIp',
  'userAgent',
  'outcome',
  'metadata',
] as const;
export type CanonicalField = (typeof CANONICAL_FIELDS)[number];
export type CanonicalEvent = Record<CanonicalField, string | null>;

export const CANONICAL_PREFIX = 'wact.audit.v1|';
export const GENESIS_HASH = '0'.repeat(64);

export function canonicalString(ev: CanonicalEvent): string {
  let out = CANONICAL_PREFIX;
  for (const f of CANONICAL_FIELDS) {
    const v = ev[f];
    out += v === null || v === undefined ? '~' : `${Buffer.byteLength(v, 'utf8')}:${v}`;
  }
  return out;
}

/** hex SHA-256(prev || canonical). */
export function eventHash(prevHashHex: string, ev: CanonicalEvent): string {
  return createHash('sha256').update(Buffer.from(prevHashHex, 'hex')).update(canonicalString(ev), 'utf8').digest('hex');
}

/**
 * What a signed head's Ed25519 signature covers (UTF-8, no trailing newline):
 *   "wact.audit.head.v1\n<streamId>\n<seq>\n<hash hex>\n<signedAt>\n<keyId>"
 */
export function headMessage(h: { streamId: string; seq: string; hash: string; signedAt: string; keyId: string }): Buffer {
  return Buffer.from(`wact.audit.head.v1\n${h.streamId}\n${h.seq}\n${h.hash}\n${h.signedAt}\n${h.keyId}`, 'utf8');
}

/** A raw 32-byte Ed25519 public key as a KeyObject. */
export function ed25519PublicKey(raw: Buffer): KeyObject {
  if (raw.length !== 32) throw new Error('an Ed25519 public key is 32 bytes');
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
}

export function verifyHeadSignature(
  h: { streamId: string; seq: string; hash: string; signedAt: string; keyId: string; signature: string },
  key: KeyObject,
): boolean {
  try {
    return verifySignature(null, headMessage(h), key, Buffer.from(h.signature, 'base64'));
  } catch {
    return false;
  }
}

/** Spreadsheet formula neutralisation (and its exact inverse for the verifier). */
const FORMULA_START = /^[=+\-@\t\r\0']/;
export function neutraliseCell(v: string): string {
  return FORMULA_START.test(v) ? `'${v}` : v;
}
export function unneutraliseCell(v: string): string {
  return v.startsWith("'") ? v.slice(1) : v;
}

// ---- issue 13: what the export manifest and the digest files sign (docs/audit-export.md) ----

/** Fields of an export manifest, in signed order. Values never contain a newline. */
export const MANIFEST_FIELDS = [
  'database',
  'streamId',
  'workspaceId',
  'from',
  'to',
  'exportedAt',
  'firstSeq',
  'lastSeq',
  'anchorSeq',
  'anchorHash',
  'lastHash',
  'headSeq',
  'complete',
  'events',
  'signedAt',
  'keyId',
] as const;
export type ManifestField = (typeof MANIFEST_FIELDS)[number];

/** Fields of a digest file, in signed order. */
export const DIGEST_FIELDS = [
  'database',
  'streamId',
  'periodStart',
  'periodEnd',
  'firstSeq',
  'lastSeq',
  'prevHash',
  'eventsSha256',
  'signedAt',
  'keyId',
] as const;
export type DigestField = (typeof DIGEST_FIELDS)[number];

/**
 * "<tag>\n" + one "name=value" line per field in the listed order (null → "~",
 * booleans and numbers in their JSON form), no trailing newline. A value with a
 * newline is refused: it could forge a following line.
 */
export function fieldsMessage(tag: string, fields: readonly string[], v: Record<string, unknown>): Buffer {
  const lines = [tag];
  for (const f of fields) {
    const x = v[f];
    const s = x === null || x === undefined ? '~' : String(x);
    if (/[\r\n]/.test(s)) throw new Error(`field ${f} contains a newline`);
    lines.push(`${f}=${s}`);
  }
  return Buffer.from(lines.join('\n'), 'utf8');
}

export const manifestMessage = (m: Record<string, unknown>) => fieldsMessage('wact.audit.manifest.v1', MANIFEST_FIELDS, m);
export const digestMessage = (d: Record<string, unknown>) => fieldsMessage('wact.audit.digest.v1', DIGEST_FIELDS, d);

/** hex SHA-256 of "<seq> <hash>\n" for every event a digest lists, in order. */
export function digestEventsSha256(events: readonly (readonly [string, string])[]): string {
  const h = createHash('sha256');
  for (const [seq, hash] of events) h.update(`${seq} ${hash}\n`, 'utf8');
  return h.digest('hex');
}
