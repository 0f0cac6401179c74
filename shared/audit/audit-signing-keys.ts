import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import type { RawConfig } from '../config/config-schema.ts';
import { algOf, derToP1363, keyIdFor, signEd25519, verifyAuditSignature, type AuditSigAlg } from './audit-keys.ts';

/**
 * The key that signs audit heads, export manifests and digest files. Held
 * outside the database and outside the services' KEK on purpose: whoever
 * holds the broker's or ingest's credentials (or a database superuser) can
 * unwrap workspace keys but cannot make these signatures.
 *
 * - production: an AWS KMS asymmetric key (ECC_NIST_P256, SIGN_VERIFY,
 *   ECDSA_SHA_256) named by WACT_AUDIT_SIGNING_KMS_KEY; kms:Sign belongs to
 *   the signer's IAM role alone (docs/audit-export.md has the policy).
 * - development: an Ed25519 key in <state folder>/keys/audit-signing-ed25519.pem
 *   (mode 0600), a file of its own, not wrapped by any regional KEK.
 */
export interface AuditSigningKey {
  keyId: string;
  alg: AuditSigAlg;
  publicKey: KeyObject;
  /** Recorded in audit.signing_keys.provider. */
  provider: 'aws-kms-sign' | 'local-file';
  /** base64 of a 64-byte signature (Ed25519, or ECDSA r‖s). */
  sign(message: Buffer): Promise<string>;
}

export function localSigningKeyPath(home: string): string {
  return path.join(home, 'keys', 'audit-signing-ed25519.pem');
}

/** The development signing key, created on first use. */
export async function localSigningKey(home: string): Promise<AuditSigningKey> {
  const file = localSigningKeyPath(home);
  let pem: string;
  try {
    pem = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const { privateKey } = generateKeyPairSync('ed25519');
    await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    try {
      // wx: two processes starting at once keep the first file.
      await fs.writeFile(file, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    pem = await fs.readFile(file, 'utf8');
  }
  const privateKey = createPrivateKey(pem);
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`${file} is not an Ed25519 private key`);
  const publicKey = createPublicKey(privateKey);
  return {
    keyId: keyIdFor('local', publicKey),
    alg: 'EdDSA',
    publicKey,
    provider: 'local-file',
    sign: (message) => Promise.resolve(signEd25519(privateKey, message)),
  };
}

/** Longest a KMS Sign call may take: a signing holds its stream's lock meanwhile (audit-signing.ts). */
export const KMS_SIGN_TIMEOUT_MS = 10_000;

/**
 * The production signing key in AWS KMS. The public half comes from
 * GetPublicKey (the key must be ECC_NIST_P256 for SIGN_VERIFY); each signature
 * is checked against it before use, so a misconfigured key fails here and not
 * at the customer's verifier. A Sign call that does not answer within
 * `timeoutMs` is aborted and fails: the signing holding the stream's lock
 * ends (nothing is written) instead of keeping every other signing of the
 * stream waiting on a hung connection.
 */
export async function kmsSigningKey(client: KMSClient, kmsKeyId: string, opts: { timeoutMs?: number } = {}): Promise<AuditSigningKey> {
  const timeoutMs = opts.timeoutMs ?? KMS_SIGN_TIMEOUT_MS;
  const pub = await client.send(new GetPublicKeyCommand({ KeyId: kmsKeyId }));
  if (pub.KeySpec !== 'ECC_NIST_P256' || pub.KeyUsage !== 'SIGN_VERIFY' || !pub.PublicKey)
    throw new Error(
      `KMS key ${kmsKeyId} must be an ECC_NIST_P256 key for SIGN_VERIFY (it is ${pub.KeySpec ?? '?'} / ${pub.KeyUsage ?? '?'})`,
    );
  const publicKey = createPublicKey({ key: Buffer.from(pub.PublicKey), format: 'der', type: 'spki' });
  const alg = algOf(publicKey);
  return {
    keyId: keyIdFor('kms', publicKey),
    alg,
    publicKey,
    provider: 'aws-kms-sign',
    async sign(message) {
      const abort = new AbortController();
      const timer = setTimeout(() => abort.abort(), timeoutMs);
      let res;
      try {
        res = await Promise.race([
          client.send(
            new SignCommand({ KeyId: pub.KeyId ?? kmsKeyId, Message: message, MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' }),
            { abortSignal: abort.signal },
          ),
          // Also when the client does not honour the signal.
          new Promise<never>((_, reject) =>
            abort.signal.addEventListener('abort', () => reject(new Error(`KMS Sign did not answer within ${timeoutMs} ms`))),
          ),
        ]);
      } finally {
        clearTimeout(timer);
      }
      if (!res.Signature) throw new Error('KMS Sign returned no signature');
      const sig = derToP1363(res.Signature).toString('base64');
      if (!verifyAuditSignature(alg, publicKey, message, sig)) throw new Error(`KMS key ${kmsKeyId}: the signature does not verify`);
      return sig;
    },
  };
}

/**
 * The signer component's key from its own configuration. Only the signer
 * calls this; the request path receives the signer, never the key or its
 * KMS client. Production refuses the local file (fail closed: no signer
 * rather than one an insider could copy).
 */
export function signingKeyFromConfig(
  config: { env: string; home: string; raw: Pick<RawConfig, 'WACT_AUDIT_SIGNING_KMS_KEY' | 'WACT_AUDIT_SIGNING_KMS_REGION'> },
  opts: { kmsClient?: KMSClient } = {},
): () => Promise<AuditSigningKey> {
  let p: Promise<AuditSigningKey> | undefined;
  const kmsKey = config.raw.WACT_AUDIT_SIGNING_KMS_KEY;
  return () => {
    if (!p) {
      if (kmsKey) p = kmsSigningKey(opts.kmsClient ?? new KMSClient({ region: config.raw.WACT_AUDIT_SIGNING_KMS_REGION }), kmsKey);
      else if (config.env === 'production')
        p = Promise.reject(new Error('refusing to sign audit heads: production needs WACT_AUDIT_SIGNING_KMS_KEY (a KMS signing key)'));
      else p = localSigningKey(config.home);
      p.catch(() => (p = undefined));
    }
    return p;
  };
}
