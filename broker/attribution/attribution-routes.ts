import { z } from 'zod';
import { BadRequestError, NotFoundError } from '../../shared/errors/errors.ts';
import type { ApiRequest, ApiRoute } from '../http/route-types.ts';
import { listResponse, parseListQuery } from '../http/simple-rest.ts';
import {
  allClicks,
  allConversations,
  allConversions,
  CLICK_SORT,
  CONVERSATION_SORT,
  CONVERSION_SORT,
  getConversation,
  identifierSource,
  listClicks,
  listConversations,
  listConversions,
} from './attribution-dal.ts';
import { streamRows } from './csv-stream.ts';
import { workspaceAdminRoutes } from './workspace-admin-routes.ts';

/**
 * The console's customer data API: conversations, clicks and conversions with masked
 * identifiers, their exports, and the audited unmask. Every read writes its audit event
 * before data leaves (the route table's `audit`); exports record theirs before the first byte.
 */

/**
 * Filter values reach SQL as parameters and PostgreSQL casts them: anything it
 * would refuse must be refused here with a 400, never found by the database as a
 * 500. Dates: the whole value is a real calendar date (z.iso.date is anchored and
 * knows month lengths and leap years; the old unanchored regex let
 * "2024-01-01x" through to the timestamptz cast) and not year 0, which
 * PostgreSQL rejects. Text: no NUL byte (PostgreSQL text cannot hold one).
 */
const day = z.iso
  .date()
  .refine((v) => !v.startsWith('0000'), 'year 0 does not exist')
  .optional();
const text = (max: number) =>
  z
    .string()
    .max(max)
    .refine((v) => !v.includes('\u0000'), 'no NUL bytes');
export const conversationFilter = z
  .object({
    provider: text(20).optional(),
    attributionMethod: text(20).optional(),
    from: day,
    to: day,
    q: text(200).optional(),
  })
  .strip();
export const clickFilter = z
  .object({ source: z.enum(['link', 'snippet', 'ctwa']).optional(), utmCampaign: text(200).optional(), from: day, to: day })
  .strip();
export const conversionFilter = z.object({ event: text(100).optional(), attributed: z.boolean().optional() }).strip();
const uuid = z.string().uuid();
export const unmaskBody = z.object({ field: z.enum(['sender', 'clickId']), reason: z.string().optional() });
export const exportQuery = z.object({ format: z.enum(['csv', 'jsonl']).default('csv'), filter: z.string().max(4096).optional() });

function filterOf<T>(schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value ?? {});
  if (!parsed.success) throw new BadRequestError('invalid filter', 'invalid_query');
  return parsed.data;
}

function exportParams<T>(req: ApiRequest, schema: z.ZodType<T>): { format: 'csv' | 'jsonl'; filter: T } {
  const q = exportQuery.safeParse(req.query);
  if (!q.success) throw new BadRequestError('format must be csv or jsonl', 'invalid_query');
  let raw: unknown = {};
  if (q.data.filter) {
    try {
      raw = JSON.parse(q.data.filter);
    } catch {
      throw new BadRequestError('filter is not valid JSON', 'invalid_query');
    }
  }
  return { format: q.data.format, filter: filterOf(schema, raw) };
}

const pool = (req: ApiRequest) => req.services.platform.pools.region(req.workspace!.region);
const stamp = () => new Date().toISOString().slice(0, 10);

const CONVERSATION_COLUMNS = [
  'id',
  'startedAt',
  'provider',
  'sender',
  'senderKind',
  'attributionMethod',
  'platform',
  'clickKind',
  'clickId',
  'adSourceId',
  'attributionLatencyMs',
  'linkId',
  'utmSource',
  'utmCampaign',
] as const;
const CLICK_COLUMNS = [
  'id',
  'createdAt',
  'source',
  'linkId',
  'platform',
  'clickKind',
  'clickId',
  'adSourceId',
  'utmSource',
  'utmMedium',
  'utmCampaign',
] as const;
const CONVERSION_COLUMNS = [
  'id',
  'occurredAt',
  'event',
  'value',
  'currency',
  'attributed',
  'matchMethod',
  'conversationId',
  'exports',
] as const;

async function unmask(req: ApiRequest, resource: 'conversations' | 'clicks') {
  const id = uuid.safeParse(req.params.id);
  if (!id.success) throw new NotFoundError('unknown record', 'not_found');
  const body = unmaskBody.safeParse(req.body ?? {});
  if (!body.success) throw new BadRequestError('field must be sender or clickId', 'invalid_request');
  const ws = req.workspace!;
  const source = await identifierSource(pool(req), ws.id, resource, id.data, body.data.field);
  if (!source) throw new NotFoundError('nothing to unmask here', 'not_found');
  // The event (with the reason the policy required) is durable before the value is produced.
  await req.recordAudit({ targetId: id.data, metadata: { field: body.data.field, resource } });
  if ('hash' in source) return { id: id.data, field: body.data.field, value: source.hash };
  const value = await req.services.fieldCrypto.decryptString(ws.id, ws.region, { table: source.table, column: source.column }, source.blob);
  return { id: id.data, field: body.data.field, value };
}

export const attributionRoutes: ApiRoute[] = [
  // ---- conversations ---------------------------------------------------------
  {
    method: 'get',
    path: '/workspaces/:workspaceId/conversations/export',
    permission: 'attribution.export',
    request: { query: exportQuery, jsonQuery: { filter: conversationFilter } },
    audit: { action: 'data.export', target: 'conversations' },
    handler: async (req, res) => {
      const { format, filter } = exportParams(req, conversationFilter);
      await req.recordAudit({ metadata: { format } });
      await streamRows(res, allConversations(pool(req), req.workspace!.id, filter), {
        format,
        filename: `conversations-${stamp()}`,
        columns: [...CONVERSATION_COLUMNS],
      });
    },
  },
  {
    method: 'get',
    path: '/workspaces/:workspaceId/conversations',
    permission: 'attribution.read',
    request: { list: { filter: conversationFilter } },
    audit: { action: 'data.read', target: 'conversations' },
    handler: async (req, res) => {
      const q = parseListQuery(req, {
        sortable: Object.keys(CONVERSATION_SORT) as (keyof typeof CONVERSATION_SORT)[],
        defaultSort: ['startedAt', 'DESC'],
        maxPage: 200,
      });
      const page = await listConversations(pool(req), req.workspace!.id, filterOf(conversationFilter, q.filter), q.sort.field, {
        offset: q.offset,
        limit: q.limit,
        order: q.sort.order,
      });
      await req.recordAudit({ metadata: { rows: page.rows.length } });
      return listResponse(res, 'conversations', page.rows, q.offset, page.total);
    },
  },
  {
    method: 'get',
    path: '/workspaces/:workspaceId/conversations/:id',
    permission: 'attribution.read',
    request: { params: { id: uuid } },
    audit: { action: 'data.read', target: 'conversation' },
    handler: async (req) => {
      const id = uuid.safeParse(req.params.id);
      const row = id.success ? await getConversation(pool(req), req.workspace!.id, id.data) : undefined;
      if (!row) throw new NotFoundError('unknown conversation', 'not_found');
      return row;
    },
  },
  {
    method: 'post',
    path: '/workspaces/:workspaceId/conversations/:id/unmask',
    permission: 'identifiers.unmask',
    request: { params: { id: uuid }, body: unmaskBody },
    audit: { action: 'data.unmask', target: 'conversation' },
    handler: (req) => unmask(req, 'conversations'),
  },
  // ---- clicks ------------------------------------------------------------------
  {
    method: 'get',
    path: '/workspaces/:workspaceId/clicks/export',
    permission: 'attribution.export',
    request: { query: exportQuery, jsonQuery: { filter: clickFilter } },
    audit: { action: 'data.export', target: 'clicks' },
    handler: async (req, res) => {
      const { format, filter } = exportParams(req, clickFilter);
      await req.recordAudit({ metadata: { format } });
      await streamRows(res, allClicks(pool(req), req.workspace!.id, filter), {
        format,
        filename: `clicks-${stamp()}`,
        columns: [...CLICK_COLUMNS],
      });
    },
  },
  {
    method: 'get',
    path: '/workspaces/:workspaceId/clicks',
    permission: 'attribution.read',
    request: { list: { filter: clickFilter } },
    audit: { action: 'data.read', target: 'clicks' },
    handler: async (req, res) => {
      const q = parseListQuery(req, {
        sortable: Object.keys(CLICK_SORT) as (keyof typeof CLICK_SORT)[],
        defaultSort: ['createdAt', 'DESC'],
        maxPage: 200,
      });
      const page = await listClicks(pool(req), req.workspace!.id, filterOf(clickFilter, q.filter), q.sort.field, {
        offset: q.offset,
        limit: q.limit,
        order: q.sort.order,
      });
      await req.recordAudit({ metadata: { rows: page.rows.length } });
      return listResponse(res, 'clicks', page.rows, q.offset, page.total);
    },
  },
  {
    method: 'post',
    path: '/workspaces/:workspaceId/clicks/:id/unmask',
    permission: 'identifiers.unmask',
    request: { params: { id: uuid }, body: unmaskBody },
    audit: { action: 'data.unmask', target: 'click' },
    handler: (req) => unmask(req, 'clicks'),
  },
  // ---- conversions -------------------------------------------------------------
  {
    method: 'get',
    path: '/workspaces/:workspaceId/conversions/export',
    permission: 'attribution.export',
    request: { query: exportQuery, jsonQuery: { filter: conversionFilter } },
    audit: { action: 'data.export', target: 'conversions' },
    handler: async (req, res) => {
      const { format, filter } = exportParams(req, conversionFilter);
      await req.recordAudit({ metadata: { format } });
      await streamRows(res, allConversions(pool(req), req.workspace!.id, filter), {
        format,
        filename: `conversions-${stamp()}`,
        columns: [...CONVERSION_COLUMNS],
      });
    },
  },
  {
    method: 'get',
    path: '/workspaces/:workspaceId/conversions',
    permission: 'conversions.read',
    request: { list: { filter: conversionFilter } },
    audit: { action: 'data.read', target: 'conversions' },
    handler: async (req, res) => {
      const q = parseListQuery(req, {
        sortable: Object.keys(CONVERSION_SORT) as (keyof typeof CONVERSION_SORT)[],
        defaultSort: ['occurredAt', 'DESC'],
        maxPage: 200,
      });
      const page = await listConversions(pool(req), req.workspace!.id, filterOf(conversionFilter, q.filter), q.sort.field, {
        offset: q.offset,
        limit: q.limit,
        order: q.sort.order,
      });
      await req.recordAudit({ metadata: { rows: page.rows.length } });
      return listResponse(res, 'conversions', page.rows, q.offset, page.total);
    },
  },
  ...workspaceAdminRoutes,
];
