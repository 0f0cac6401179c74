import type { Region } from '../config/config-schema.ts';

/**
 * What a wrapped key belongs to. The same three fields are bound into every
 * wrap (AAD for the local provider, EncryptionContext for KMS), so a wrapped
 * key copied to another workspace, purpose or region refuses to unwrap.
 */
export interface KeyContext {
  workspaceId: string;
  /** e.g. 'dek', 'hmac', 'audit-signing', 'credential' */
  purpose: string;
  region: Region;
}

export interface KeyProvider {
  /**
   * Regional KEKs: 'local' (file per region), 'aws-kms' (one KMS key per region).
   * Per-workspace KEKs (see workspace-kek.ts): 'local-ws' (file per workspace),
   * 'kms-ws' (a KMS key per workspace, ours), 'kms-customer' (the customer's KMS key).
   */
  readonly name: 'local' | 'aws-kms' | 'local-ws' | 'kms-ws' | 'kms-customer';
  /** A fresh 32-byte key, returned both in clear (use, never store) and wrapped (store). */
  generateDataKey(ctx: KeyContext): Promise<{ plaintext: Buffer; wrapped: Buffer; kekId: string }>;
  wrap(plaintext: Buffer, ctx: KeyContext): Promise<{ wrapped: Buffer; kekId: string }>;
  /** Fails closed with CryptoError; never returns wrong plaintext. */
  unwrap(wrapped: Buffer, ctx: KeyContext): Promise<Buffer>;
}

export const DATA_KEY_BYTES = 32;

/**
 * The context as the flat string map KMS wants (and we authenticate locally).
 * Only identifiers, never secrets: KMS logs EncryptionContext in CloudTrail.
 */
export function encryptionContext(ctx: KeyContext): Record<string, string> {
  return { workspace: ctx.workspaceId, purpose: ctx.purpose, region: ctx.region };
}

/** Canonical JSON (sorted keys, no whitespace) of the context: byte-identical on every run. */
export function canonicalContext(ctx: KeyContext): string {
  const map = encryptionContext(ctx);
  const sorted: Record<string, string> = {};
  for (const k of Object.keys(map).sort()) sorted[k] = map[k];
  return JSON.stringify(sorted);
}
