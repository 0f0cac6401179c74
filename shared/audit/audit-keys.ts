import { createPublicKey, type KeyObject } from 'node:crypto';

/**
 * Public keys for offline verification, from what a customer has at hand:
 * the JSON of /.well-known/wact-audit-keys ({ keys: [JWK…] }), one JWK, a PEM
 * public key, or a raw 32-byte key in base64/base64url. A key without a key
 * id (PEM, raw) is tried for every signed head.
 */
export function parsePublicKeys(text: string): { get(keyId: string): KeyObject | undefined; size: number } {
  const trimmed = text.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    const json = JSON.parse(trimmed) as unknown;
    const list = Array.isArray(json) ? json : ((json as { keys?: unknown[] }).keys ?? [json]);
    const map = new Map<string, KeyObject>();
    for (const k of list as { kty?: string; crv?: string; x?: string; kid?: string }[]) {
      if (k?.kty !== 'OKP' || k.crv !== 'Ed25519' || typeof k.x !== 'string') continue;
      const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: k.x }, format: 'jwk' });
      map.set(k.kid ?? '*', key);
    }
    if (map.size === 0) throw new Error('no Ed25519 public key found in the key file');
    const any = map.get('*');
    return { get: (id) => map.get(id) ?? any, size: map.size };
  }
  let key: KeyObject;
  if (trimmed.startsWith('-----BEGIN')) key = createPublicKey(trimmed);
  else {
    const raw = Buffer.from(trimmed.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (raw.length !== 32) throw new Error('a raw Ed25519 public key is 32 bytes (base64)');
    key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error('not an Ed25519 public key');
  return { get: () => key, size: 1 };
}
