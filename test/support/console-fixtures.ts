import crypto from 'node:crypto';
import type pg from 'pg';

/**
 * Attribution rows written straight into a regional database for console tests (the
 * ingest pipeline has its own tests). Identifiers are random hex standing in for keyed
 * hashes; click ids are never stored in clear anyway.
 */
export async function insertConversations(
  pool: pg.Pool,
  workspaceId: string,
  rows: { daysAgo: number; provider: string; method?: 'ref_code' | 'ctwa_clid' | 'ad_source_id'; clickKind?: string }[],
): Promise<string[]> {
  await pool.query('SELECT wact_private.ensure_ingest_partitions(current_date - 1, 15)');
  const ids: string[] = [];
  for (const r of rows) {
    const startedAt = new Date(Date.now() - r.daysAgo * 86_400_000);
    let clickId: string | null = null;
    let clickAt: Date | null = null;
    if (r.method === 'ref_code' && r.clickKind) {
      clickId = crypto.randomUUID();
      const res = await pool.query<{ created_at: Date }>(
        `INSERT INTO wact.clicks (id, workspace_id, source, click_id_prefixes, utm_source) VALUES ($1, $2, 'link', $3, 'e2e') RETURNING created_at`,
        [clickId, workspaceId, JSON.stringify({ [r.clickKind]: 'AbC1' })],
      );
      clickAt = res.rows[0].created_at;
    }
    const id = crypto.randomUUID();
    await pool.query(
      `INSERT INTO wact.conversations (id, workspace_id, provider, sender_hash, sender_kind, started_at, matched_click_id, matched_click_at, attribution_method)
       VALUES ($1, $2, $3, $4, 'phone', $5, $6, $7, $8)`,
      [id, workspaceId, r.provider, crypto.randomBytes(32).toString('hex'), startedAt, clickId, clickAt, r.method ?? null],
    );
    ids.push(id);
  }
  return ids;
}
