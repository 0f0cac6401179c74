import type pg from 'pg';
import type { Region } from '../../shared/config/config.ts';
import type { FieldCrypto } from '../../shared/crypto/field-cipher.ts';
import { BadRequestError } from '../../shared/errors/errors.ts';
import { AD_PLATFORMS, platformCredentialSchemas, type AdPlatform } from './export-types.ts';

const ctx = (p: AdPlatform) => ({ table: 'ad_platform_credentials', column: `credentials_enc:${p}` });

/** Ad-platform credentials per workspace: validated, then stored as one encrypted JSON per platform. */
export function createPlatformCredentialService(deps: { crypto: FieldCrypto; poolFor: (region: Region) => pg.Pool }) {
  async function set(ws: { id: string; region: Region }, platform: string, credentials: unknown): Promise<{ platform: AdPlatform }> {
    if (!(AD_PLATFORMS as readonly string[]).includes(platform)) throw new BadRequestError('unknown ad platform', 'unknown_platform');
    const p = platform as AdPlatform;
    const parsed = platformCredentialSchemas[p].safeParse(credentials);
    if (!parsed.success) {
      // name the fields, never echo values (they are tokens)
      throw new BadRequestError(
        `invalid ${p} credentials: ${parsed.error.issues.map((i) => i.path.join('.') || '(root)').join(', ')}`,
        'invalid_credentials',
      );
    }
    const enc = await deps.crypto.encrypt(ws.id, ws.region, ctx(p), JSON.stringify(parsed.data));
    await deps.poolFor(ws.region).query(
      `INSERT INTO wact.ad_platform_credentials (workspace_id, platform, credentials_enc) VALUES ($1, $2, $3)
       ON CONFLICT (workspace_id, platform) DO UPDATE SET credentials_enc = EXCLUDED.credentials_enc, updated_at = now()`,
      [ws.id, p, enc],
    );
    return { platform: p };
  }

  async function connected(client: pg.ClientBase, workspaceId: string): Promise<AdPlatform[]> {
    const { rows } = await client.query<{ platform: AdPlatform }>(
      'SELECT platform FROM wact.ad_platform_credentials WHERE workspace_id = $1',
      [workspaceId],
    );
    return rows.map((r) => r.platform);
  }

  async function get(ws: { id: string; region: Region }, platform: AdPlatform): Promise<unknown | undefined> {
    const { rows } = await deps
      .poolFor(ws.region)
      .query<{ credentials_enc: Buffer }>(
        'SELECT credentials_enc FROM wact.ad_platform_credentials WHERE workspace_id = $1 AND platform = $2',
        [ws.id, platform],
      );
    if (!rows[0]) return undefined;
    return JSON.parse(await deps.crypto.decryptString(ws.id, ws.region, ctx(platform), rows[0].credentials_enc));
  }

  return { set, get, connected };
}

export type PlatformCredentialService = ReturnType<typeof createPlatformCredentialService>;
