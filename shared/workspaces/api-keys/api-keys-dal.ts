import type pg from 'pg';
import type { Page, PageRequest } from '../page-types.ts';
import type { ApiKeyListItem } from './api-keys-types.ts';

const ORDER_COLUMNS = { label: 'label', createdAt: 'created_at' } as const;

/** SQL of wact.api_keys (regional): rows hold the key's hash, never the key. */
export function createApiKeysDal(db: Pick<pg.Pool, 'query'>) {
  return {
    async insert(row: { id: string; workspaceId: string; keyHash: string; label: string }): Promise<void> {
      await db.query('INSERT INTO wact.api_keys (id, workspace_id, key_hash, label) VALUES ($1, $2, $3, $4)', [
        row.id,
        row.workspaceId,
        row.keyHash,
        row.label,
      ]);
    },

    /** True when this hash is a live (not revoked) key of this workspace. */
    async isLive(workspaceId: string, keyHash: string): Promise<boolean> {
      const { rows } = await db.query('SELECT 1 FROM wact.api_keys WHERE key_hash = $1 AND workspace_id = $2 AND revoked_at IS NULL', [
        keyHash,
        workspaceId,
      ]);
      return rows.length > 0;
    },

    /** A page of the workspace's keys (revoked ones too, as such) and their total count; never a hash. */
    async page(workspaceId: string, p: PageRequest<keyof typeof ORDER_COLUMNS>): Promise<Page<ApiKeyListItem>> {
      const col = ORDER_COLUMNS[p.orderBy];
      const dir = p.order === 'ASC' ? 'ASC' : 'DESC';
      const [page, count] = await Promise.all([
        db.query<{ id: string; label: string; created_at: Date; revoked_at: Date | null }>(
          `SELECT id, label, created_at, revoked_at FROM wact.api_keys WHERE workspace_id = $1 ORDER BY ${col} ${dir}, id LIMIT $2 OFFSET $3`,
          [workspaceId, p.limit, p.offset],
        ),
        db.query<{ n: string }>('SELECT count(*) AS n FROM wact.api_keys WHERE workspace_id = $1', [workspaceId]),
      ]);
      return {
        items: page.rows.map((r) => ({ id: r.id, label: r.label, createdAt: r.created_at, revokedAt: r.revoked_at })),
        total: Number(count.rows[0].n),
      };
    },

    /** False when there was no live key with this id. */
    async revoke(workspaceId: string, id: string): Promise<boolean> {
      const { rowCount } = await db.query(
        'UPDATE wact.api_keys SET revoked_at = now() WHERE workspace_id = $1 AND id = $2 AND revoked_at IS NULL',
        [workspaceId, id],
      );
      return (rowCount ?? 0) > 0;
    },
  };
}
