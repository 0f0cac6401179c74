import type pg from 'pg';
import type { Page, PageRequest } from '../page-types.ts';
import type { LinkListItem } from './links-types.ts';

const ORDER_COLUMNS = { id: 'id', createdAt: 'created_at' } as const;

export interface LinkRow {
  id: string;
  wa_number: string;
  prefill_text: string;
}

/** SQL of wact.links (regional): the service decides, this only reads and writes rows. */
export function createLinksDal(db: Pick<pg.Pool, 'query'>) {
  return {
    async insert(row: { id: string; workspaceId: string; waNumber: string; prefillText: string }): Promise<void> {
      await db.query('INSERT INTO wact.links (id, workspace_id, wa_number, prefill_text) VALUES ($1, $2, $3, $4)', [
        row.id,
        row.workspaceId,
        row.waNumber,
        row.prefillText,
      ]);
    },

    /** An enabled link of this workspace (a disabled one is as good as unknown). */
    async findEnabled(workspaceId: string, linkId: string): Promise<LinkRow | undefined> {
      const { rows } = await db.query<LinkRow>(
        'SELECT id, wa_number, prefill_text FROM wact.links WHERE workspace_id = $1 AND id = $2 AND disabled_at IS NULL',
        [workspaceId, linkId],
      );
      return rows[0];
    },

    /** A page of the enabled links and their total count. */
    async page(workspaceId: string, p: PageRequest<keyof typeof ORDER_COLUMNS>): Promise<Page<LinkListItem>> {
      const col = ORDER_COLUMNS[p.orderBy];
      const dir = p.order === 'ASC' ? 'ASC' : 'DESC';
      const [page, count] = await Promise.all([
        db.query<LinkRow & { created_at: Date }>(
          `SELECT id, wa_number, prefill_text, created_at FROM wact.links WHERE workspace_id = $1 AND disabled_at IS NULL
            ORDER BY ${col} ${dir}, id LIMIT $2 OFFSET $3`,
          [workspaceId, p.limit, p.offset],
        ),
        db.query<{ n: string }>('SELECT count(*) AS n FROM wact.links WHERE workspace_id = $1 AND disabled_at IS NULL', [workspaceId]),
      ]);
      return {
        items: page.rows.map((r) => ({ id: r.id, waNumber: r.wa_number, prefillText: r.prefill_text, createdAt: r.created_at })),
        total: Number(count.rows[0].n),
      };
    },

    /** False when there was no enabled link with this id. */
    async disable(workspaceId: string, linkId: string): Promise<boolean> {
      const { rowCount } = await db.query(
        'UPDATE wact.links SET disabled_at = now() WHERE workspace_id = $1 AND id = $2 AND disabled_at IS NULL',
        [workspaceId, linkId],
      );
      return (rowCount ?? 0) > 0;
    },
  };
}
