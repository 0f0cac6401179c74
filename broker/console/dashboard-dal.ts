import type pg from 'pg';

export interface DashboardFigures {
  days: number;
  perDay: { day: string; conversations: number; attributed: number }[];
  byPlatform: { platform: string; count: number }[];
  byProvider: { provider: string; count: number }[];
  totals: { conversations: number; attributed: number; conversions: number };
}

/**
 * The ad platform a conversation is attributed to: Click-to-WhatsApp attribution is Meta's;
 * otherwise the kind of click id the matched click carried (only the kinds are read, never
 * the encrypted values).
 */
const PLATFORM_SQL = `CASE
    WHEN c.attribution_method IS NULL THEN NULL
    WHEN c.attribution_method IN ('ctwa_clid', 'ad_source_id') THEN 'meta'
    WHEN k.click_id_prefixes ? 'fbclid' OR k.click_id_prefixes ? 'ctwa_clid' THEN 'meta'
    WHEN k.click_id_prefixes ?| array['gclid', 'gbraid', 'wbraid'] THEN 'google'
    WHEN k.click_id_prefixes ? 'msclkid' THEN 'microsoft'
    WHEN k.click_id_prefixes ? 'ttclid' THEN 'tiktok'
    WHEN k.click_id_prefixes ? 'li_fat_id' THEN 'linkedin'
    ELSE 'other' END`;

/** Aggregates only (counts per day, platform, BSP): no identifier leaves the database. */
export async function dashboardFigures(pool: pg.Pool, workspaceId: string, days: number): Promise<DashboardFigures> {
  const conv = `
    WITH conv AS (
      SELECT c.started_at, c.provider, c.attribution_method IS NOT NULL AS attributed, ${PLATFORM_SQL} AS platform
        FROM wact.conversations c
        LEFT JOIN wact.clicks k
          ON k.workspace_id = c.workspace_id AND k.id = c.matched_click_id
         -- matched_click_at locates the click's partition; it may have passed through a JS Date
         -- (millisecond precision) on the way, so match within a millisecond.
         AND (c.matched_click_at IS NULL OR k.created_at BETWEEN c.matched_click_at - interval '1 millisecond' AND c.matched_click_at + interval '1 millisecond')
       WHERE c.workspace_id = $1
         AND c.started_at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - make_interval(days => $2 - 1)
    )`;
  const [perDay, byPlatform, byProvider, conversions] = await Promise.all([
    pool.query<{ day: string; conversations: string; attributed: string }>(
      `${conv}
       SELECT to_char(d.day, 'YYYY-MM-DD') AS day,
              count(conv.started_at) AS conversations,
              count(conv.started_at) FILTER (WHERE conv.attributed) AS attributed
         FROM generate_series(date_trunc('day', now() AT TIME ZONE 'UTC') - make_interval(days => $2 - 1),
                              date_trunc('day', now() AT TIME ZONE 'UTC'), interval '1 day') AS d(day)
         LEFT JOIN conv ON date_trunc('day', conv.started_at AT TIME ZONE 'UTC') = d.day
        GROUP BY d.day ORDER BY d.day`,
      [workspaceId, days],
    ),
    pool.query<{ platform: string; count: string }>(
      `${conv} SELECT platform, count(*) AS count FROM conv WHERE platform IS NOT NULL GROUP BY platform ORDER BY count DESC, platform`,
      [workspaceId, days],
    ),
    pool.query<{ provider: string; count: string }>(
      `${conv} SELECT provider, count(*) AS count FROM conv GROUP BY provider ORDER BY count DESC, provider`,
      [workspaceId, days],
    ),
    pool.query<{ count: string }>(
      `SELECT count(*) AS count FROM wact.conversions
        WHERE workspace_id = $1 AND occurred_at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - make_interval(days => $2 - 1)`,
      [workspaceId, days],
    ),
  ]);
  const rows = perDay.rows.map((r) => ({ day: r.day, conversations: Number(r.conversations), attributed: Number(r.attributed) }));
  return {
    days,
    perDay: rows,
    byPlatform: byPlatform.rows.map((r) => ({ platform: r.platform, count: Number(r.count) })),
    byProvider: byProvider.rows.map((r) => ({ provider: r.provider, count: Number(r.count) })),
    totals: {
      conversations: rows.reduce((s, r) => s + r.conversations, 0),
      attributed: rows.reduce((s, r) => s + r.attributed, 0),
      conversions: Number(conversions.rows[0]?.count ?? 0),
    },
  };
}
