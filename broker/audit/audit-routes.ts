import crypto from 'node:crypto';
import type express from 'express';
import { z } from 'zod';
import { listDigests } from '../../shared/audit/audit-digests.ts';
import { exportAuditStream } from '../../shared/audit/audit-export.ts';
import { countAuditLog, parseSearchFilter, searchAuditLog, searchFilterSchema } from '../../shared/audit/audit-search.ts';
import { PLATFORM_STREAM } from '../../shared/audit/audit-types.ts';
import { siemInput } from '../../shared/audit/audit-siem.ts';
import { BadRequestError, NotFoundError } from '../../shared/errors/errors.ts';
import type { Workspace } from '../../shared/workspaces/workspace-service.ts';
import type { ApiRequest, ApiRoute } from '../http/route-types.ts';
import { listResponse, parseListQuery } from '../http/simple-rest.ts';
import { auditFeature } from './audit-feature.ts';

const LINK_TTL_SECONDS = 300;
const formatSchema = z.enum(['csv', 'jsonl']);
export const exportQuery = z.object({ format: formatSchema, from: z.coerce.date().optional(), to: z.coerce.date().optional() });

export const exportLinkBody = z.object({ format: formatSchema, from: z.coerce.date().optional(), to: z.coerce.date().optional() });

function exportParams(req: ApiRequest): z.infer<typeof exportQuery> {
  // The console sends the list filter as JSON (`filter={"from":…,"to":…}`); the API also takes plain from/to.
  let filter: Record<string, unknown> = {};
  if (typeof req.query.filter === 'string') {
    try {
      filter = JSON.parse(req.query.filter) as Record<string, unknown>;
    } catch {
      throw new BadRequestError('filter is not valid JSON', 'invalid_query');
    }
  }
  const parsed = exportQuery.safeParse({ format: req.query.format, from: req.query.from ?? filter.from, to: req.query.to ?? filter.to });
  if (!parsed.success) throw new BadRequestError('format must be csv or jsonl; from/to ISO times', 'invalid_query');
  return parsed.data;
}

/** Streams an export after its audit event is durable; a failure mid-stream cuts the download (the verifier flags a file without trailer). */
async function streamExport(req: ApiRequest, res: express.Response, ws: Workspace, p: { format: 'csv' | 'jsonl'; from?: Date; to?: Date }) {
  await req.recordAudit({
    targetId: ws.id,
    metadata: { format: p.format, from: p.from?.toISOString() ?? null, to: p.to?.toISOString() ?? null },
  });
  const { parts } = auditFeature(req.services);
  const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, '');
  res.status(200);
  res.setHeader('Content-Type', p.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8');
  res.setHeader('Content-Disposition', `attachment; filename="wact-audit-${ws.id}-${stamp}.${p.format}"`);
  try {
    await exportAuditStream(
      { ...parts, log: (m) => req.services.platform.logger.warn(m) },
      { database: ws.region, streamId: ws.id, format: p.format, from: p.from, to: p.to },
      res,
    );
    res.end();
  } catch (err) {
    req.services.platform.logger.error({ err }, 'audit export failed mid-stream');
    res.destroy();
  }
}

async function listEvents(req: ApiRequest, res: express.Response, db: 'control' | Workspace['region'], streamId: string, resource: string) {
  const q = parseListQuery(req, { sortable: ['occurredAt', 'seq'] as const, defaultSort: ['occurredAt', 'DESC'], maxPage: 200 });
  const filter = parseSearchFilter(q.filter);
  const pool = auditFeature(req.services).parts.poolFor(db);
  const order = q.sort.order;
  const [page, total] = await Promise.all([
    searchAuditLog(pool, streamId, filter, { limit: q.limit, offset: filter.cursor ? 0 : q.offset, order }),
    countAuditLog(pool, streamId, filter),
  ]);
  if (page.nextCursor) res.setHeader('X-Next-Cursor', page.nextCursor);
  await req.recordAudit({ metadata: { rows: page.rows.length } });
  return listResponse(res, resource, page.rows, q.offset, Math.max(total, q.offset + page.rows.length));
}

const tokenHash = (token: string) => crypto.createHash('sha256').update(token, 'utf8').digest();

/**
 * The audit log in the API: search (keyset-paginated), export (streamed),
 * single-use download links, the SIEM destination, and the platform log for
 * the security team. Every read is audited by the route machinery.
 */
export const auditRoutes: ApiRoute[] = [
  {
    method: 'get',
    path: '/workspaces/:workspaceId/audit/events',
    permission: 'audit.read',
    request: { list: { filter: searchFilterSchema } },
    audit: { action: 'audit.search', target: 'audit_log' },
    handler: (req, res) => listEvents(req, res, req.workspace!.region, req.workspace!.id, 'audit'),
  },
  {
    method: 'get',
    path: '/workspaces/:workspaceId/audit/export',
    permission: 'audit.export',
    request: { query: exportQuery, jsonQuery: { filter: exportQuery.pick({ from: true, to: true }) } },
    audit: { action: 'audit.export', target: 'audit_log' },
    handler: async (req, res) => streamExport(req, res, req.workspace!, exportParams(req)),
  },
  {
    method: 'post',
    path: '/workspaces/:workspaceId/audit/export-links',
    permission: 'audit.export',
    request: { body: exportLinkBody },
    audit: { action: 'audit.export.link', target: 'audit_log' },
    handler: async (req, res) => {
      const body = exportLinkBody.safeParse(req.body ?? {});
      if (!body.success) throw new BadRequestError('format must be csv or jsonl; from/to ISO times', 'invalid_body');
      const ws = req.workspace!;
      const token = crypto.randomBytes(32).toString('base64url');
      const { rows } = await auditFeature(req.services)
        .parts.poolFor(ws.region)
        .query<{ expires_at: Date }>(
          `INSERT INTO wact.audit_export_links (token_hash, workspace_id, created_by, format, range_from, range_to, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7)) RETURNING expires_at`,
          [tokenHash(token), ws.id, req.auth.userId, body.data.format, body.data.from ?? null, body.data.to ?? null, LINK_TTL_SECONDS],
        );
      res.status(201);
      return { url: `/api/workspaces/${ws.id}/audit/downloads/${token}`, expiresAt: rows[0].expires_at.toISOString(), singleUse: true };
    },
  },
  {
    method: 'get',
    path: '/workspaces/:workspaceId/audit/downloads/:token',
    permission: 'audit.export',
    audit: { action: 'audit.download', target: 'audit_log' },
    handler: async (req, res) => {
      const ws = req.workspace!;
      const token = String(req.params.token ?? '');
      if (!/^[A-Za-z0-9_-]{43}$/.test(token)) throw new NotFoundError('unknown or expired download link', 'link_not_found');
      // Single use: the first request claims the link atomically.
      const { rows } = await auditFeature(req.services)
        .parts.poolFor(ws.region)
        .query<{ format: 'csv' | 'jsonl'; range_from: Date | null; range_to: Date | null }>(
          `UPDATE wact.audit_export_links SET used_at = now()
            WHERE token_hash = $1 AND workspace_id = $2 AND used_at IS NULL AND expires_at > now()
            RETURNING format, range_from, range_to`,
          [tokenHash(token), ws.id],
        );
      if (!rows[0]) throw new NotFoundError('unknown, used or expired download link', 'link_not_found');
      await streamExport(req, res, ws, {
        format: rows[0].format,
        from: rows[0].range_from ?? undefined,
        to: rows[0].range_to ?? undefined,
      });
    },
  },
  {
    // Digest files (docs/audit-export.md): the customer downloads and keeps them as a witness.
    method: 'get',
    path: '/workspaces/:workspaceId/audit/digests',
    permission: 'audit.export',
    request: { list: {} },
    audit: { action: 'audit.digests.list', target: 'audit_log' },
    handler: async (req, res) => {
      const ws = req.workspace!;
      const q = parseListQuery(req, { sortable: ['lastSeq'] as const, defaultSort: ['lastSeq', 'ASC'], maxPage: 1000 });
      const all = await listDigests(auditFeature(req.services).parts.poolFor(ws.region), ws.id);
      const page = all.slice(q.offset, q.offset + q.limit).map(({ body: _body, ...d }) => ({ id: d.lastSeq, ...d }));
      await req.recordAudit({ targetId: ws.id, metadata: { rows: page.length } });
      return listResponse(res, 'audit-digests', page, q.offset, all.length);
    },
  },
  {
    method: 'get',
    path: '/workspaces/:workspaceId/audit/digests/:lastSeq',
    permission: 'audit.export',
    audit: { action: 'audit.digest.download', target: 'audit_log' },
    handler: async (req, res) => {
      const ws = req.workspace!;
      const lastSeq = String(req.params.lastSeq ?? '');
      if (!/^[1-9][0-9]{0,18}$/.test(lastSeq)) throw new NotFoundError('unknown digest', 'digest_not_found');
      const [d] = (
        await listDigests(auditFeature(req.services).parts.poolFor(ws.region), ws.id, { afterSeq: String(BigInt(lastSeq) - 1n), limit: 1 })
      ).filter((x) => x.lastSeq === lastSeq);
      if (!d) throw new NotFoundError('unknown digest', 'digest_not_found');
      await req.recordAudit({ targetId: ws.id, metadata: { lastSeq } });
      res.status(200);
      res.setHeader('Content-Type', 'application/json; charset=utf-8');
      res.setHeader('Content-Disposition', `attachment; filename="${d.name}"`);
      res.end(d.body);
    },
  },
  {
    method: 'get',
    path: '/workspaces/:workspaceId/audit/siem',
    permission: 'audit.export',
    audit: { action: 'audit.siem.read', target: 'siem_destination' },
    handler: async (req) => (await auditFeature(req.services).siem.get(req.workspace!)) ?? { configured: false },
  },
  {
    method: 'put',
    path: '/workspaces/:workspaceId/audit/siem',
    permission: 'audit.export',
    request: { body: siemInput },
    audit: { action: 'audit.siem.update', target: 'siem_destination' },
    handler: async (req) => {
      const parsed = siemInput.safeParse(req.body ?? {});
      if (!parsed.success)
        throw new BadRequestError(
          `invalid SIEM destination: ${parsed.error.issues[0].path.join('.')}: ${parsed.error.issues[0].message}`,
          'invalid_body',
        );
      return auditFeature(req.services).siem.configure(req.workspace!, parsed.data);
    },
  },
  {
    method: 'delete',
    path: '/workspaces/:workspaceId/audit/siem',
    permission: 'audit.export',
    audit: { action: 'audit.siem.delete', target: 'siem_destination' },
    handler: async (req) => {
      await auditFeature(req.services).siem.remove(req.workspace!);
      return undefined;
    },
  },
  {
    method: 'get',
    path: '/platform/audit/events',
    permission: 'platform.audit.read',
    request: { list: { filter: searchFilterSchema } },
    audit: { action: 'audit.search', target: 'platform_audit_log' },
    handler: (req, res) => listEvents(req, res, 'control', PLATFORM_STREAM, 'platform-audit'),
  },
];
