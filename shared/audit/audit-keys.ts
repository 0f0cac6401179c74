import { createHash, createPublicKey, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';

/**
 * Audit signing keys as a verifier sees them: the published key set of
 * /.well-known/wact-audit-keys, a fingerprint per key, and signature checks
 * for both algorithms WAct signs with (Ed25519 locally, ECDSA P-256 with
 * SHA-256 in AWS KMS). Dependency-free: docs/audit-export.md documents the
 * same rules for customers' own verifiers.
 */

export type AuditSigAlg = 'EdDSA' | 'ES256';

/** One entry of the published key set (a JWK with WAct's fields). */
export interface PublishedAuditKey {
  kid: string;
  alg: AuditSigAlg;
  kty: 'OKP' | 'EC';
  crv: 'Ed25519' | 'P-256';
  x: string;
  y?: string;
  use: 'sig';
  /** "sha256:" + hex SHA-256 of the DER SubjectPublicKeyInfo. */
  fingerprint: string;
  /** Signatures made at or after this instant (ISO) and … */
  validFrom: string;
  /** … at or before this one (null: still in use). */
  validTo: string | null;
  /** Where the private half lives: 'aws-kms', 'local' (development), 'legacy-db' (before issue 13). */
  source: string;
}

export interface TrustedKey {
  kid: string;
  alg: AuditSigAlg;
  key: KeyObject;
  fingerprint: string;
  validFrom: string | null;
  validTo: string | null;
}

export interface TrustedKeys {
  get(kid: string): TrustedKey | undefined;
  all: TrustedKey[];
}

export class KeyTrustError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyTrustError';
  }
}

/** "sha256:<hex>" over the DER SubjectPublicKeyInfo: the same for a JWK, a PEM or a KMS GetPublicKey answer. */
export function keyFingerprint(key: KeyObject): string {
  return (
    'sha256:' +
    createHash('sha256')
      .update(key.export({ format: 'der', type: 'spki' }))
      .digest('hex')
  );
}

export function algOf(key: KeyObject): AuditSigAlg {
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  throw new KeyTrustError('an audit key must be Ed25519 or ECDSA P-256');
}

/** A published key-set entry for a public key. */
export function publishKey(
  key: KeyObject,
  extra: { kid: string; validFrom: string; validTo: string | null; source: string },
): PublishedAuditKey {
  const alg = algOf(key);
  const jwk = key.export({ format: 'jwk' });
  return {
    kid: extra.kid,
    alg,
    kty: alg === 'EdDSA' ? 'OKP' : 'EC',
    crv: alg === 'EdDSA' ? 'Ed25519' : 'P-256',
    x: jwk.x!,
    ...(alg === 'ES256' ? { y: jwk.y! } : {}),
    use: 'sig',
    fingerprint: keyFingerprint(key),
    validFrom: extra.validFrom,
    validTo: extra.validTo,
    source: extra.source,
  };
}

/** The kid WAct derives from a key: which kind of signer, and the fingerprint's first 16 hex digits. */
export function keyIdFor(source: 'local' | 'kms', key: KeyObject): string {
  return `${source}-${keyFingerprint(key).slice(7, 23)}`;
}

/**
 * Signature check for either algorithm. Both are 64 bytes in base64:
 * Ed25519 as is, ECDSA as r‖s (IEEE P1363, not DER).
 */
export function verifyAuditSignature(alg: AuditSigAlg, key: KeyObject, message: Buffer, signatureB64: string): boolean {
  try {
    const sig = Buffer.from(signatureB64, 'base64');
    if (sig.length !== 64) return false;
    if (alg === 'EdDSA') return cryptoVerify(null, message, key, sig);
    return cryptoVerify('sha256', message, { key, dsaEncoding: 'ieee-p1363' }, sig);
  } catch {
    return false;
  }
}

/** Local signing (development): Ed25519 over the message. Used by the local signing key only. */
export function signEd25519(privateKey: KeyObject, message: Buffer): string {
  return cryptoSign(null, message, privateKey).toString('base64');
}

/** DER ECDSA-Sig-Value (what KMS returns) → 64-byte r‖s. */
export function derToP1363(der: Uint8Array): Buffer {
  const b = Buffer.from(der);
  let i = 0;
  const readLen = () => {
    let len = b[i++];
    if (len & 0x80) {
      const n = len & 0x7f;
      len = 0;
      for (let k = 0; k < n; k++) len = (len << 8) | b[i++];
    }
    return len;
  };
  if (b[i++] !== 0x30) throw new Error('not a DER ECDSA signature');
  readLen();
  const int = () => {
    if (b[i++] !== 0x02) throw new Error('not a DER ECDSA signature');
    const len = readLen();
    let v = b.subarray(i, i + len);
    i += len;
    while (v.length > 32 && v[0] === 0) v = v.subarray(1);
    if (v.length > 32) throw new Error('ECDSA integer too long for P-256');
    return Buffer.concat([Buffer.alloc(32 - v.length), v]);
  };
  return Buffer.concat([int(), int()]);
}

function keyFromJwk(k: Record<string, unknown>): KeyObject {
  if (k.kty === 'OKP' && k.crv === 'Ed25519' && typeof k.x === 'string')
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: k.x }, format: 'jwk' });
  if (k.kty === 'EC' && k.crv === 'P-256' && typeof k.x === 'string' && typeof k.y === 'string')
    return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: k.x, y: k.y }, format: 'jwk' });
  throw new KeyTrustError(`key ${String(k.kid ?? '?')}: not an Ed25519 or P-256 public key`);
}

const normFp = (f: string) => {
  const hex = f
    .trim()
    .toLowerCase()
    .replace(/^sha256:/, '')
    .replace(/:/g, '');
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new KeyTrustError(`not a SHA-256 fingerprint: ${f.slice(0, 80)}`);
  return `sha256:${hex}`;
};

/**
 * The keys a verifier trusts, from a source outside the export: the JSON of
 * /.well-known/wact-audit-keys (or one entry of it), or a PEM public key.
 * Fails closed: a key whose material does not hash to its published
 * fingerprint refuses the whole set (someone swapped the key and kept the
 * fingerprint); a bare PEM carries no published fingerprint, so it needs
 * one pinned (`pins`); with pins, only keys whose fingerprint is pinned are
 * trusted.
 */
export function loadTrustedKeys(text: string, pins: string[] = []): TrustedKeys {
  const pinned = pins.map(normFp);
  const trimmed = text.trim();
  const out: TrustedKey[] = [];
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch {
      throw new KeyTrustError('the key file is not valid JSON');
    }
    const list = (Array.isArray(json) ? json : ((json as { keys?: unknown[] }).keys ?? [json])) as Record<string, unknown>[];
    for (const k of list) {
      const key = keyFromJwk(k);
      if (typeof k.kid !== 'string' || !k.kid) throw new KeyTrustError('a published key has no kid');
      if (typeof k.fingerprint !== 'string')
        throw new KeyTrustError(`key ${k.kid} has no published fingerprint: take the key set from /.well-known/wact-audit-keys`);
      const actual = keyFingerprint(key);
      if (normFp(k.fingerprint) !== actual)
        throw new KeyTrustError(`key ${k.kid} does not match its published fingerprint (${k.fingerprint} published, the key is ${actual})`);
      out.push({
        kid: k.kid,
        alg: algOf(key),
        key,
        fingerprint: actual,
        validFrom: typeof k.validFrom === 'string' ? k.validFrom : null,
        validTo: typeof k.validTo === 'string' ? k.validTo : null,
      });
    }
  } else if (trimmed.startsWith('-----BEGIN')) {
    let key: KeyObject;
    try {
      key = createPublicKey(trimmed);
    } catch {
      throw new KeyTrustError('the PEM is not a public key');
    }
    if (!pinned.length) throw new KeyTrustError('a bare PEM key has no published fingerprint: give --fingerprint as published');
    out.push({ kid: '*', alg: algOf(key), key, fingerprint: keyFingerprint(key), validFrom: null, validTo: null });
  } else throw new KeyTrustError('the key file is neither a WAct key set (JSON) nor a PEM public key');
  if (out.length === 0) throw new KeyTrustError('the key set holds no key');
  let trusted = out;
  if (pinned.length) {
    trusted = out.filter((k) => pinned.includes(k.fingerprint));
    if (!trusted.length)
      throw new KeyTrustError(`no key matches the pinned fingerprint(s): the keys are ${out.map((k) => k.fingerprint).join(', ')}`);
  }
  const byKid = new Map(trusted.map((k) => [k.kid, k]));
  const any = byKid.get('*');
  return { get: (kid) => byKid.get(kid) ?? any, all: trusted };
}

/** Checks a signature by key id: the key must be trusted, valid at `signedAt`, and the signature must verify. */
export function checkSignature(
  keys: TrustedKeys,
  kid: string,
  signedAt: string,
  message: Buffer,
  signature: string,
): { ok: true } | { ok: false; why: string } {
  const k = keys.get(kid);
  if (!k) return { ok: false, why: `signed by unknown key ${kid}` };
  // Compared as instants (millisecond precision): the files mix microsecond and millisecond ISO forms.
  const at = Date.parse(signedAt);
  if (Number.isNaN(at)) return { ok: false, why: `signing time ${signedAt.slice(0, 40)} is not a time` };
  if ((k.validFrom && at < Date.parse(k.validFrom)) || (k.validTo && at > Date.parse(k.validTo)))
    return { ok: false, why: `signed at ${signedAt}, outside the validity of key ${kid} (${k.validFrom ?? '…'} – ${k.validTo ?? 'now'})` };
  if (!verifyAuditSignature(k.alg, k.key, message, signature)) return { ok: false, why: `signature by key ${kid} does not verify` };
  return { ok: true };
}
