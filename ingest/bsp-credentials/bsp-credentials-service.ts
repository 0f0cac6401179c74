import type pg from 'pg';
import { z } from 'zod';
import type { Region } from '../../shared/config/config.ts';
import type { FieldCrypto } from '../../shared/crypto/field-cipher.ts';
import { NotFoundError } from '../../shared/errors/errors.ts';
import { PROVIDERS, type ProviderName, type ProviderSecret } from '../providers/provider-types.ts';

export const bspCredentialInput = z.object({
  provider: z.enum(PROVIDERS),
  secret: z.string().min(8, 'secret must be at least 8 characters').max(1024),
  verifyToken: z.string().min(8).max(256).optional(),
});

// The AAD names the provider too: a secret copied to another provider's row does not decrypt.
const secretCtx = (p: ProviderName) => ({ table: 'bsp_credentials', column: `secret_enc:${p}` });
const tokenCtx = (p: ProviderName) => ({ table: 'bsp_credentials', column: `verify_token_enc:${p}` });

/**
 * Per-workspace BSP webhook secrets, encrypted with the workspace data key.
 * `set` is an operator action (regional pool of the operator); `get` is what
 * ingest uses on every delivery, cached for a short period.
 */
export function createBspCredentialService(deps: { crypto: FieldCrypto; poolFor: (region: Region) => pg.Pool; ttlMs: number }) {
  const cache = new Map<string, { value: Promise<ProviderSecret | undefined>; expiresAt: number }>();

  async function set(
    ws: { id: string; region: Region },
    input: z.input<typeof bspCredentialInput>,
  ): Promise<{ provider: ProviderName; verifyToken: boolean }> {
    const { provider, secret, verifyToken } = bspCredentialInput.parse(input);
    const secretEnc = await deps.crypto.encrypt(ws.id, ws.region, secretCtx(provider), secret);
    const tokenEnc = verifyToken ? await deps.crypto.encrypt(ws.id, ws.region, tokenCtx(provider), verifyToken) : null;
    await deps.poolFor(ws.region).query(
      `INSERT INTO wact.bsp_credentials (workspace_id, provider, secret_enc, verify_token_enc)
       VALUES ($1, $2, $3, $4)
       ON CONFLICT (workspace_id, provider) DO UPDATE SET secret_enc = EXCLUDED.secret_enc,
         verify_token_enc = EXCLUDED.verify_token_enc, updated_at = now()`,
      [ws.id, provider, secretEnc, tokenEnc],
    );
    cache.delete(`${ws.id}/${provider}`);
    return { provider, verifyToken: !!verifyToken };
  }

  async function load(ws: { id: string; region: Region }, provider: ProviderName): Promise<ProviderSecret | undefined> {
    const { rows } = await deps
      .poolFor(ws.region)
      .query<{ secret_enc: Buffer; verify_token_enc: Buffer | null }>(
        'SELECT secret_enc, verify_token_enc FROM wact.bsp_credentials WHERE workspace_id = $1 AND provider = $2',
        [ws.id, provider],
      );
    if (!rows[0]) return undefined;
    const secret = await deps.crypto.decryptString(ws.id, ws.region, secretCtx(provider), rows[0].secret_enc);
    const verifyToken = rows[0].verify_token_enc
      ? await deps.crypto.decryptString(ws.id, ws.region, tokenCtx(provider), rows[0].verify_token_enc)
      : undefined;
    return { secret, ...(verifyToken ? { verifyToken } : {}) };
  }

  /** The secret, or NotFoundError when the workspace has not configured this provider. */
  async function get(ws: { id: string; region: Region }, provider: ProviderName): Promise<ProviderSecret> {
    const key = `${ws.id}/${provider}`;
    const now = Date.now();
    let hit = cache.get(key);
    if (!hit || hit.expiresAt <= now) {
      hit = { value: load(ws, provider), expiresAt: now + deps.ttlMs };
      hit.value.catch(() => cache.delete(key));
      if (deps.ttlMs > 0) cache.set(key, hit);
    }
    const secret = await hit.value;
    if (!secret) throw new NotFoundError('this provider is not configured for the workspace', 'provider_not_configured');
    return secret;
  }

  return { set, get };
}

export type BspCredentialService = ReturnType<typeof createBspCredentialService>;
