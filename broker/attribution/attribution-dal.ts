import type pg from 'pg';
import { maskClickId, maskHash } from '../../shared/masking/masking.ts';

/**
 * Read side of the attribution tables for the console. Every identifier leaves here
 * masked (hash prefix, click-id prefix); the clear value is only produced by `unmask*`
 * behind `identifiers.unmask` with a reason. Workspace filtering is explicit (the broker
 * role passes row-level security for every workspace).
 */
export const CLICK_KINDS = ['fbclid', 'gclid', 'gbraid', 'wbraid', 'msclkid', 'ttclid', 'li_fat_id', 'ctwa_clid'] as const;
export type ClickKind = (typeof CLICK_KINDS)[number];

const KIND_PLATFORM: Record<string, string> = {
  fbclid: 'meta',
  ctwa_clid: 'meta',
  gclid: 'google',
  gbraid: 'google',
  wbraid: 'google',
  msclkid: 'microsoft',
  ttclid: 'tiktok',
  li_fat_id: 'linkedin',
};

export interface Page<T> {
  rows: T[];
  total: number;
}

export interface ListArgs {
  offset: number;
  limit: number;
  order: 'ASC' | 'DESC';
}

function firstKind(prefixes: Record<string, string> | null | undefined): [string, string] | undefined {
  if (!prefixes) return undefined;
  for (const k of CLICK_KINDS) if (prefixes[k]) return [k, prefixes[k]];
  return undefined;
}

/** Masked click id from a stored 4-character prefix (mask rules need the value to be longer). */
const maskedPrefix = (p: string | null | undefined) => (p ? maskClickId(`${p}....`) : null);

// ---- conversations -----------------------------------------------------------

export const CONVERSATION_SORT = { startedAt: 'c.started_at', provider: 'c.provider', attributionMethod: 'c.attribution_method' } as const;

export interface ConversationFilter {
  provider?: string;
  attributionMethod?: string;
  from?: string;
  to?: string;
}

function conversationWhere(workspaceId: string, f: ConversationFilter): { sql: string; params: unknown[] } {
  const params: unknown[] = [workspaceId];
  const parts = ['c.workspace_id = $1'];
  if (f.provider) parts.push(`c.provider = $${params.push(f.provider)}`);
  if (f.attributionMethod === 'none') parts.push('c.attribution_method IS NULL');
  else if (f.attributionMethod) parts.push(`c.attribution_method = $${params.push(f.attributionMethod)}`);
  if (f.from) parts.push(`c.started_at >= $${params.push(f.from)}`);
  if (f.to) parts.push(`c.started_at < $${params.push(f.to)}::timestamptz + interval '1 day'`);
  return { sql: parts.join(' AND '), params };
}

const CONVERSATION_SELECT = `
  SELECT c.id, c.provider, c.sender_hash, c.sender_kind, c.started_at, c.ctwa_clid_prefix, c.ad_source_id, c.ad_source_type,
         c.attribution_method, c.attribution_latency_ms, k.click_id_prefixes, k.utm_source, k.utm_campaign, k.link_id
    FROM wact.conversations c
    LEFT JOIN wact.clicks k
      ON k.workspace_id = c.workspace_id AND k.id = c.matched_click_id
     AND k.created_at BETWEEN c.matched_click_at - interval '1 millisecond' AND c.matched_click_at + interval '1 millisecond'`;

interface ConversationRow {
  id: string;
  provider: string;
  sender_hash: string;
  sender_kind: string;
  started_at: Date;
  ctwa_clid_prefix: string | null;
  ad_source_id: string | null;
  ad_source_type: string | null;
  attribution_method: string | null;
  attribution_latency_ms: string | null;
  click_id_prefixes: Record<string, string> | null;
  utm_source: string | null;
  utm_campaign: string | null;
  link_id: string | null;
}

export function conversationView(r: ConversationRow) {
  const kind = r.ctwa_clid_prefix ? (['ctwa_clid', r.ctwa_clid_prefix] as [string, string]) : firstKind(r.click_id_prefixes);
  return {
    id: r.id,
    startedAt: r.started_at.toISOString(),
    provider: r.provider,
    sender: maskHash(r.sender_hash),
    senderKind: r.sender_kind,
    attributionMethod: r.attribution_method,
    clickKind: kind?.[0] ?? null,
    clickId: maskedPrefix(kind?.[1]),
    platform: r.attribution_method
      ? r.attribution_method === 'ref_code'
        ? kind
          ? (KIND_PLATFORM[kind[0]] ?? null)
          : null
        : 'meta'
      : null,
    adSourceId: r.ad_source_id,
    adSourceType: r.ad_source_type,
    attributionLatencyMs: r.attribution_latency_ms === null ? null : Number(r.attribution_latency_ms),
    linkId: r.link_id,
    utmSource: r.utm_source,
    utmCampaign: r.utm_campaign,
  };
}
export type ConversationView = ReturnType<typeof conversationView>;

export async function listConversations(
  pool: pg.Pool,
  workspaceId: string,
  f: ConversationFilter,
  sort: keyof typeof CONVERSATION_SORT,
  a: ListArgs,
): Promise<Page<ConversationView>> {
  const w = conversationWhere(workspaceId, f);
  const [rows, count] = await Promise.all([
    pool.query<ConversationRow>(
      `${CONVERSATION_SELECT} WHERE ${w.sql} ORDER BY ${CONVERSATION_SORT[sort]} ${a.order}, c.id LIMIT ${a.limit} OFFSET ${a.offset}`,
      w.params,
    ),
    pool.query<{ n: string }>(`SELECT count(*) AS n FROM wact.conversations c WHERE ${w.sql}`, w.params),
  ]);
  return { rows: rows.rows.map(conversationView), total: Number(count.rows[0].n) };
}

export async function* allConversations(
  pool: pg.Pool,
  workspaceId: string,
  f: ConversationFilter,
  batch = 1000,
): AsyncGenerator<ConversationView> {
  const w = conversationWhere(workspaceId, f);
  for (let offset = 0; ; offset += batch) {
    const { rows } = await pool.query<ConversationRow>(
      `${CONVERSATION_SELECT} WHERE ${w.sql} ORDER BY c.started_at, c.id LIMIT ${batch} OFFSET ${offset}`,
      w.params,
    );
    for (const r of rows) yield conversationView(r);
    if (rows.length < batch) return;
  }
}

export async function getConversation(pool: pg.Pool, workspaceId: string, id: string): Promise<ConversationView | undefined> {
  const { rows } = await pool.query<ConversationRow>(`${CONVERSATION_SELECT} WHERE c.workspace_id = $1 AND c.id = $2`, [workspaceId, id]);
  return rows[0] ? conversationView(rows[0]) : undefined;
}

// ---- clicks ------------------------------------------------------------------

export const CLICK_SORT = { createdAt: 'k.created_at', source: 'k.source', utmCampaign: 'k.utm_campaign' } as const;

export interface ClickFilter {
  source?: string;
  utmCampaign?: string;
  from?: string;
  to?: string;
}

interface ClickRow {
  id: string;
  created_at: Date;
  source: string;
  link_id: string | null;
  click_id_prefixes: Record<string, string> | null;
  utm_source: string | null;
  utm_medium: string | null;
  utm_campaign: string | null;
  ad_source_id: string | null;
}

export function clickView(r: ClickRow) {
  const kind = firstKind(r.click_id_prefixes);
  return {
    id: r.id,
    createdAt: r.created_at.toISOString(),
    source: r.source,
    linkId: r.link_id,
    clickKind: kind?.[0] ?? null,
    clickId: maskedPrefix(kind?.[1]),
    platform: kind ? (KIND_PLATFORM[kind[0]] ?? null) : null,
    adSourceId: r.ad_source_id,
    utmSource: r.utm_source,
    utmMedium: r.utm_medium,
    utmCampaign: r.utm_campaign,
  };
}
export type ClickView = ReturnType<typeof clickView>;

function clickWhere(workspaceId: string, f: ClickFilter) {
  const params: unknown[] = [workspaceId];
  const parts = ['k.workspace_id = $1'];
  if (f.source) parts.push(`k.source = $${params.push(f.source)}`);
  if (f.utmCampaign) parts.push(`k.utm_campaign ILIKE $${params.push(`%${f.utmCampaign.replace(/[\\%_]/g, (c) => `\\${c}`)}%`)}`);
  if (f.from) parts.push(`k.created_at >= $${params.push(f.from)}`);
  if (f.to) parts.push(`k.created_at < $${params.push(f.to)}::timestamptz + interval '1 day'`);
  return { sql: parts.join(' AND '), params };
}

const CLICK_SELECT =
  'SELECT k.id, k.created_at, k.source, k.link_id, k.click_id_prefixes, k.utm_source, k.utm_medium, k.utm_campaign, k.ad_source_id FROM wact.clicks k';

export async function listClicks(
  pool: pg.Pool,
  workspaceId: string,
  f: ClickFilter,
  sort: keyof typeof CLICK_SORT,
  a: ListArgs,
): Promise<Page<ClickView>> {
  const w = clickWhere(workspaceId, f);
  const [rows, count] = await Promise.all([
    pool.query<ClickRow>(
      `${CLICK_SELECT} WHERE ${w.sql} ORDER BY ${CLICK_SORT[sort]} ${a.order} NULLS LAST, k.id LIMIT ${a.limit} OFFSET ${a.offset}`,
      w.params,
    ),
    pool.query<{ n: string }>(`SELECT count(*) AS n FROM wact.clicks k WHERE ${w.sql}`, w.params),
  ]);
  return { rows: rows.rows.map(clickView), total: Number(count.rows[0].n) };
}

export async function* allClicks(pool: pg.Pool, workspaceId: string, f: ClickFilter, batch = 1000): AsyncGenerator<ClickView> {
  const w = clickWhere(workspaceId, f);
  for (let offset = 0; ; offset += batch) {
    const { rows } = await pool.query<ClickRow>(
      `${CLICK_SELECT} WHERE ${w.sql} ORDER BY k.created_at, k.id LIMIT ${batch} OFFSET ${offset}`,
      w.params,
    );
    for (const r of rows) yield clickView(r);
    if (rows.length < batch) return;
  }
}

// ---- conversions -----------------------------------------------------------

export const CONVERSION_SORT = { occurredAt: 'v.occurred_at', event: 'v.event', value: 'v.value' } as const;

export interface ConversionFilter {
  event?: string;
  attributed?: boolean;
}

interface ConversionRow {
  id: string;
  event: string;
  value: string | null;
  currency: string | null;
  occurred_at: Date;
  attributed: boolean;
  match_method: string | null;
  conversation_id: string | null;
  exports: { platform: string; status: string; attempts: number; lastAttemptAt: string | null; httpStatus: number | null }[] | null;
}

function conversionWhere(workspaceId: string, f: ConversionFilter) {
  const params: unknown[] = [workspaceId];
  const parts = ['v.workspace_id = $1'];
  if (f.event) parts.push(`v.event = $${params.push(f.event)}`);
  if (typeof f.attributed === 'boolean') parts.push(`v.attributed = $${params.push(f.attributed)}`);
  return { sql: parts.join(' AND '), params };
}

/** Sync status per platform: the latest attempt of each export job (none yet = queued). */
const CONVERSION_SELECT = `
  SELECT v.id, v.event, v.value, v.currency, v.occurred_at, v.attributed, v.match_method, v.conversation_id,
         (SELECT json_agg(json_build_object(
                   'platform', j.platform,
                   'status', COALESCE(la.outcome, 'queued'),
                   'attempts', (SELECT count(*) FROM wact.export_attempts a2 WHERE a2.export_job_id = j.id),
                   'lastAttemptAt', la.created_at,
                   'httpStatus', la.http_status) ORDER BY j.platform)
            FROM wact.export_jobs j
            LEFT JOIN LATERAL (SELECT a.outcome, a.created_at, a.http_status FROM wact.export_attempts a
                                WHERE a.export_job_id = j.id ORDER BY a.attempt DESC LIMIT 1) la ON true
           WHERE j.workspace_id = v.workspace_id AND j.conversion_id = v.id) AS exports
    FROM wact.conversions v`;

export function conversionView(r: ConversionRow) {
  return {
    id: r.id,
    occurredAt: r.occurred_at.toISOString(),
    event: r.event,
    value: r.value === null ? null : Number(r.value),
    currency: r.currency,
    attributed: r.attributed,
    matchMethod: r.match_method,
    conversationId: r.conversation_id,
    exports: r.exports ?? [],
  };
}
export type ConversionView = ReturnType<typeof conversionView>;

export async function listConversions(
  pool: pg.Pool,
  workspaceId: string,
  f: ConversionFilter,
  sort: keyof typeof CONVERSION_SORT,
  a: ListArgs,
): Promise<Page<ConversionView>> {
  const w = conversionWhere(workspaceId, f);
  const [rows, count] = await Promise.all([
    pool.query<ConversionRow>(
      `${CONVERSION_SELECT} WHERE ${w.sql} ORDER BY ${CONVERSION_SORT[sort]} ${a.order} NULLS LAST, v.id LIMIT ${a.limit} OFFSET ${a.offset}`,
      w.params,
    ),
    pool.query<{ n: string }>(`SELECT count(*) AS n FROM wact.conversions v WHERE ${w.sql}`, w.params),
  ]);
  return { rows: rows.rows.map(conversionView), total: Number(count.rows[0].n) };
}

export async function* allConversions(
  pool: pg.Pool,
  workspaceId: string,
  f: ConversionFilter,
  batch = 1000,
): AsyncGenerator<ConversionView> {
  const w = conversionWhere(workspaceId, f);
  for (let offset = 0; ; offset += batch) {
    const { rows } = await pool.query<ConversionRow>(
      `${CONVERSION_SELECT} WHERE ${w.sql} ORDER BY v.occurred_at, v.id LIMIT ${batch} OFFSET ${offset}`,
      w.params,
    );
    for (const r of rows) yield conversionView(r);
    if (rows.length < batch) return;
  }
}

// ---- unmask ----------------------------------------------------------------

/** The stored form behind a masked identifier: the full keyed hash, or the ciphertext and its AAD. */
export async function identifierSource(
  pool: pg.Pool,
  workspaceId: string,
  resource: 'conversations' | 'clicks',
  id: string,
  field: string,
): Promise<{ hash: string } | { blob: Buffer; table: string; column: string } | undefined> {
  if (resource === 'conversations') {
    const { rows } = await pool.query<{
      sender_hash: string;
      ctwa_clid_enc: Buffer | null;
      matched_click_id: string | null;
      matched_click_at: Date | null;
    }>(
      'SELECT sender_hash, ctwa_clid_enc, matched_click_id, matched_click_at FROM wact.conversations WHERE workspace_id = $1 AND id = $2',
      [workspaceId, id],
    );
    const c = rows[0];
    if (!c) return undefined;
    if (field === 'sender') return { hash: c.sender_hash };
    if (field !== 'clickId') return undefined;
    if (c.ctwa_clid_enc) return { blob: c.ctwa_clid_enc, table: 'conversations', column: 'ctwa_clid_enc' };
    if (!c.matched_click_id) return undefined;
    return identifierSource(pool, workspaceId, 'clicks', c.matched_click_id, 'clickId');
  }
  if (field !== 'clickId') return undefined;
  const cols = CLICK_KINDS.map((k) => `${k}_enc`).join(', ');
  const { rows } = await pool.query<Record<string, Buffer | null>>(`SELECT ${cols} FROM wact.clicks WHERE workspace_id = $1 AND id = $2`, [
    workspaceId,
    id,
  ]);
  const k = rows[0];
  if (!k) return undefined;
  for (const kind of CLICK_KINDS) {
    const blob = k[`${kind}_enc`];
    if (blob) return { blob, table: 'clicks', column: `${kind}_enc` };
  }
  return undefined;
}
