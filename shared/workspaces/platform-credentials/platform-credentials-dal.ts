import type pg from 'pg';
import type { AdPlatform, PlatformCredentialSummary } from './platform-credentials-types.ts';

type Db = Pick<pg.ClientBase, 'query'>;

/** SQL of wact.ad_platform_credentials (regional): one encrypted JSON per workspace and platform. */
export function createPlatformCredentialsDal(db: Db) {
  return {
    async upsert(workspaceId: string, platform: AdPlatform, credentialsEnc: Buffer): Promise<void> {
      await db.query(
        `INSERT INTO wact.ad_platform_credentials (workspace_id, platform, credentials_enc) VALUES ($1, $2, $3)
         ON CONFLICT (workspace_id, platform) DO UPDATE SET credentials_enc = EXCLUDED.credentials_enc, updated_at = now()`,
        [workspaceId, platform, credentialsEnc],
      );
    },

    async find(workspaceId: string, platform: string): Promise<Buffer | undefined> {
      const { rows } = await db.query<{ credentials_enc: Buffer }>(
        'SELECT credentials_enc FROM wact.ad_platform_credentials WHERE workspace_id = $1 AND platform = $2',
        [workspaceId, platform],
      );
      return rows[0]?.credentials_enc;
    },

    async platforms(workspaceId: string): Promise<AdPlatform[]> {
      const { rows } = await db.query<{ platform: AdPlatform }>(
        'SELECT platform FROM wact.ad_platform_credentials WHERE workspace_id = $1',
        [workspaceId],
      );
      return rows.map((r) => r.platform);
    },

    async summaries(workspaceId: string): Promise<PlatformCredentialSummary[]> {
      const { rows } = await db.query<{ platform: AdPlatform; created_at: Date; updated_at: Date }>(
        'SELECT platform, created_at, updated_at FROM wact.ad_platform_credentials WHERE workspace_id = $1 ORDER BY platform',
        [workspaceId],
      );
      return rows.map((r) => ({ platform: r.platform, createdAt: r.created_at, updatedAt: r.updated_at }));
    },
  };
}
