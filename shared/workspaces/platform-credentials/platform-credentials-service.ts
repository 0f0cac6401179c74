import type pg from 'pg';
import type { Region } from '../../config/config.ts';
import type { FieldCrypto } from '../../crypto/field-cipher.ts';
import { BadRequestError } from '../../errors/errors.ts';
import { createPlatformCredentialsDal } from './platform-credentials-dal.ts';
import { isAdPlatform, platformCredentialSchemas, type AdPlatform, type PlatformCredentialSummary } from './platform-credentials-types.ts';

// Bound to the row's platform: credentials copied to another platform's row do not decrypt.
const ctx = (platform: string) => ({ table: 'ad_platform_credentials', column: `credentials_enc:${platform}` });

/**
 * The one decryption of stored ad-platform credentials: the ad-platform
 * export (through readPlatformCredentials) and the deletion propagation
 * (shared/lifecycle) both go through here, so the AAD binding cannot drift
 * between the writer and its readers. Throws when they do not decrypt.
 */
export async function decryptPlatformCredentials(
  crypto: Pick<FieldCrypto, 'decryptString'>,
  ws: { id: string; region: Region },
  platform: string,
  credentialsEnc: Buffer,
): Promise<unknown> {
  return JSON.parse(await crypto.decryptString(ws.id, ws.region, ctx(platform), credentialsEnc)) as unknown;
}

/** The stored credentials of one platform, decrypted; undefined when the workspace has none. */
export async function readPlatformCredentials(
  deps: { crypto: Pick<FieldCrypto, 'decryptString'>; db: Pick<pg.ClientBase, 'query'> },
  ws: { id: string; region: Region },
  platform: string,
): Promise<unknown | undefined> {
  const enc = await createPlatformCredentialsDal(deps.db).find(ws.id, platform);
  return enc ? decryptPlatformCredentials(deps.crypto, ws, platform, enc) : undefined;
}

/** Ad-platform credentials per workspace: validated, then stored as one encrypted JSON per platform. */
export function createPlatformCredentialService(deps: { crypto: FieldCrypto; poolFor: (region: Region) => pg.Pool }) {
  async function set(ws: { id: string; region: Region }, platform: string, credentials: unknown): Promise<{ platform: AdPlatform }> {
    if (!isAdPlatform(platform)) throw new BadRequestError('unknown ad platform', 'unknown_platform');
    const parsed = platformCredentialSchemas[platform].safeParse(credentials);
    if (!parsed.success) {
      // name the fields, never echo values (they are tokens)
      throw new BadRequestError(
        `invalid ${platform} credentials: ${parsed.error.issues.map((i) => i.path.join('.') || '(root)').join(', ')}`,
        'invalid_credentials',
      );
    }
    const enc = await deps.crypto.encrypt(ws.id, ws.region, ctx(platform), JSON.stringify(parsed.data));
    await createPlatformCredentialsDal(deps.poolFor(ws.region)).upsert(ws.id, platform, enc);
    return { platform };
  }

  /** The platforms this workspace has credentials for (inside the caller's transaction). */
  async function connected(client: pg.ClientBase, workspaceId: string): Promise<AdPlatform[]> {
    return createPlatformCredentialsDal(client).platforms(workspaceId);
  }

  async function get(ws: { id: string; region: Region }, platform: AdPlatform): Promise<unknown | undefined> {
    return readPlatformCredentials({ crypto: deps.crypto, db: deps.poolFor(ws.region) }, ws, platform);
  }

  /** Which platforms are configured (names and dates only). */
  function list(ws: { id: string; region: Region }): Promise<PlatformCredentialSummary[]> {
    return createPlatformCredentialsDal(deps.poolFor(ws.region)).summaries(ws.id);
  }

  return { set, get, connected, list };
}

export type PlatformCredentialService = ReturnType<typeof createPlatformCredentialService>;
