import type pg from 'pg';
import type { z } from 'zod';
import type { Region } from '../../config/config.ts';
import type { FieldCrypto } from '../../crypto/field-cipher.ts';
import { NotFoundError } from '../../errors/errors.ts';
import { createBspCredentialsDal } from './bsp-credentials-dal.ts';
import { bspCredentialInput, type BspCredentialSummary, type ProviderName, type ProviderSecret } from './bsp-credentials-types.ts';

// The AAD names the provider too: a secret copied to another provider's row does not decrypt.
const secretCtx = (p: ProviderName) => ({ table: 'bsp_credentials', column: `secret_enc:${p}` });
const tokenCtx = (p: ProviderName) => ({ table: 'bsp_credentials', column: `verify_token_enc:${p}` });

/**
 * Per-workspace BSP webhook secrets, encrypted with the workspace data key.
 * `set` is an operator/console action (CLI, broker); `get` is what ingest uses
 * on every delivery, cached for a short period.
 */
export function createBspCredentialService(deps: { crypto: FieldCrypto; poolFor: (region: Region) => pg.Pool; ttlMs: number }) {
  const cache = new Map<string, { value: Promise<ProviderSecret | undefined>; expiresAt: number }>();
  const dal = (region: Region) => createBspCredentialsDal(deps.poolFor(region));

  async function set(
    ws: { id: string; region: Region },
    input: z.input<typeof bspCredentialInput>,
  ): Promise<{ provider: ProviderName; verifyToken: boolean }> {
    const { provider, secret, verifyToken } = bspCredentialInput.parse(input);
    const secretEnc = await deps.crypto.encrypt(ws.id, ws.region, secretCtx(provider), secret);
    const verifyTokenEnc = verifyToken ? await deps.crypto.encrypt(ws.id, ws.region, tokenCtx(provider), verifyToken) : null;
    await dal(ws.region).upsert({ workspaceId: ws.id, provider, secretEnc, verifyTokenEnc });
    cache.delete(`${ws.id}/${provider}`);
    return { provider, verifyToken: !!verifyToken };
  }

  async function load(ws: { id: string; region: Region }, provider: ProviderName): Promise<ProviderSecret | undefined> {
    const row = await dal(ws.region).find(ws.id, provider);
    if (!row) return undefined;
    const secret = await deps.crypto.decryptString(ws.id, ws.region, secretCtx(provider), row.secret_enc);
    const verifyToken = row.verify_token_enc
      ? await deps.crypto.decryptString(ws.id, ws.region, tokenCtx(provider), row.verify_token_enc)
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

  /** Which providers are configured (names and dates only). */
  function list(ws: { id: string; region: Region }): Promise<BspCredentialSummary[]> {
    return dal(ws.region).summaries(ws.id);
  }

  return { set, get, list };
}

export type BspCredentialService = ReturnType<typeof createBspCredentialService>;
