import type pg from 'pg';
import type { BspCredentialSummary, ProviderName } from './bsp-credentials-types.ts';

export interface BspCredentialRow {
  secret_enc: Buffer;
  verify_token_enc: Buffer | null;
}

/** SQL of wact.bsp_credentials (regional): ciphertext in, ciphertext out. */
export function createBspCredentialsDal(db: Pick<pg.Pool, 'query'>) {
  return {
    async upsert(row: { workspaceId: string; provider: ProviderName; secretEnc: Buffer; verifyTokenEnc: Buffer | null }): Promise<void> {
      await db.query(
        `INSERT INTO wact.bsp_credentials (workspace_id, provider, secret_enc, verify_token_enc)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (workspace_id, provider) DO UPDATE SET secret_enc = EXCLUDED.secret_enc,
           verify_token_enc = EXCLUDED.verify_token_enc, updated_at = now()`,
        [row.workspaceId, row.provider, row.secretEnc, row.verifyTokenEnc],
      );
    },

    async find(workspaceId: string, provider: ProviderName): Promise<BspCredentialRow | undefined> {
      const { rows } = await db.query<BspCredentialRow>(
        'SELECT secret_enc, verify_token_enc FROM wact.bsp_credentials WHERE workspace_id = $1 AND provider = $2',
        [workspaceId, provider],
      );
      return rows[0];
    },

    async summaries(workspaceId: string): Promise<BspCredentialSummary[]> {
      const { rows } = await db.query<{ provider: ProviderName; created_at: Date; updated_at: Date; has_token: boolean }>(
        `SELECT provider, created_at, updated_at, verify_token_enc IS NOT NULL AS has_token
           FROM wact.bsp_credentials WHERE workspace_id = $1 ORDER BY provider`,
        [workspaceId],
      );
      return rows.map((r) => ({ provider: r.provider, verifyToken: r.has_token, createdAt: r.created_at, updatedAt: r.updated_at }));
    },
  };
}
