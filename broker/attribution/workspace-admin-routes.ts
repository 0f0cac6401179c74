import { z } from 'zod';
import type { AuditEventInput } from '../../shared/audit/audit-types.ts';
import { BadRequestError, NotFoundError } from '../../shared/errors/errors.ts';
import { createApiKeyService } from '../../ingest/apikeys/apikey-service.ts';
import { createBspCredentialService } from '../../ingest/bsp-credentials/bsp-credentials-service.ts';
import { createPlatformCredentialService } from '../../ingest/export/platform-credentials-service.ts';
import { createLinkService } from '../../ingest/links/links-service.ts';
import { PROVIDERS } from '../../ingest/providers/provider-types.ts';
import { platformCredentialSchemas } from '../../ingest/export/export-types.ts';

const AD_PLATFORMS = Object.keys(platformCredentialSchemas) as [keyof typeof platformCredentialSchemas];
import { clientIp } from '../http/mount-routes.ts';
import type { ApiRequest, ApiRoute } from '../http/route-types.ts';
import { listResponse, parseListQuery } from '../http/simple-rest.ts';

/**
 * Workspace configuration from the console, reusing ingest's own services so the console
 * writes exactly what ingest reads: tracking links, API keys (shown once, stored hashed),
 * BSP and ad-platform credentials (write-only: encrypted, never returned). Each change is
 * an audit event in the workspace's log.
 */

const poolFor = (req: ApiRequest) => (region: 'eu' | 'us') => req.services.platform.pools.region(region);
const ws = (req: ApiRequest) => req.workspace!;
const uuid = z.string().uuid();

async function audit(
  req: ApiRequest,
  action: string,
  target: { type: string; id?: string },
  metadata: Record<string, string | number | boolean | null> = {},
) {
  const w = ws(req);
  const event: AuditEventInput = {
    action,
    actor: {
      id: req.auth.userId,
      kind: req.auth.kind,
      role: req.auth.workspaceRole ?? req.auth.employeeRole,
      displayName: req.auth.displayName,
    },
    workspaceId: w.id,
    region: w.region,
    target,
    reason: req.reason,
    sessionId: req.auth.sessionId,
    clientIp: clientIp(req),
    outcome: 'success',
    metadata,
  };
  await req.services.platform.audit.append(event);
}

export const linkBody = z.object({ waNumber: z.string().trim().min(4).max(32), prefillText: z.string().max(400).optional() });
export const apiKeyBody = z.object({ label: z.string().trim().min(1).max(200) });
export const bspBody = z.object({ secret: z.string().min(8).max(1024), verifyToken: z.string().min(8).max(256).optional() }).strict();

function parse<T>(schema: z.ZodType<T>, value: unknown, message: string): T {
  const parsed = schema.safeParse(value ?? {});
  // Name the problem, never echo the values (they may be secrets).
  if (!parsed.success)
    throw new BadRequestError(`${message}: ${parsed.error.issues.map((i) => i.path.join('.') || '(body)').join(', ')}`, 'invalid_request');
  return parsed.data;
}

export const workspaceAdminRoutes: ApiRoute[] = [
  // ---- tracking links ----------------------------------------------------------
  {
    method: 'get',
    path: '/workspaces/:workspaceId/links',
    permission: 'links.manage',
    request: { list: {} },
    audit: { action: 'links.list', target: 'link' },
    handler: async (req, res) => {
      const q = parseListQuery(req, { sortable: ['createdAt', 'id'], defaultSort: ['createdAt', 'DESC'], maxPage: 200 });
      const col = q.sort.field === 'id' ? 'id' : 'created_at';
      const pool = req.services.platform.pools.region(ws(req).region);
      const [rows, count] = await Promise.all([
        pool.query<{ id: string; wa_number: string; prefill_text: string; created_at: Date }>(
          `SELECT id, wa_number, prefill_text, created_at FROM wact.links WHERE workspace_id = $1 AND disabled_at IS NULL ORDER BY ${col} ${q.sort.order}, id LIMIT ${q.limit} OFFSET ${q.offset}`,
          [ws(req).id],
        ),
        pool.query<{ n: string }>('SELECT count(*) AS n FROM wact.links WHERE workspace_id = $1 AND disabled_at IS NULL', [ws(req).id]),
      ]);
      const data = rows.rows.map((r) => ({
        id: r.id,
        waNumber: r.wa_number,
        prefillText: r.prefill_text,
        createdAt: r.created_at.toISOString(),
      }));
      return listResponse(res, 'links', data, q.offset, Number(count.rows[0].n));
    },
  },
  {
    method: 'post',
    path: '/workspaces/:workspaceId/links',
    permission: 'links.manage',
    request: { body: linkBody },
    handler: async (req, res) => {
      const body = parse(linkBody, req.body, 'invalid link');
      const phone = body.waNumber.startsWith('+') ? body.waNumber : `+${body.waNumber}`;
      const link = await createLinkService({ poolFor: poolFor(req) }).create(ws(req), { phone, text: body.prefillText ?? '' });
      await audit(req, 'link.create', { type: 'link', id: link.id });
      res.status(201);
      return { id: link.id, waNumber: link.waNumber, prefillText: link.prefillText, createdAt: new Date().toISOString() };
    },
  },
  {
    method: 'delete',
    path: '/workspaces/:workspaceId/links/:id',
    permission: 'links.manage',
    handler: async (req) => {
      const id = String(req.params.id);
      const { rowCount } = await req.services.platform.pools
        .region(ws(req).region)
        .query('UPDATE wact.links SET disabled_at = now() WHERE workspace_id = $1 AND id = $2 AND disabled_at IS NULL', [ws(req).id, id]);
      if (!rowCount) throw new NotFoundError('unknown link', 'link_not_found');
      await audit(req, 'link.disable', { type: 'link', id });
      return { id };
    },
  },
  // ---- API keys ------------------------------------------------------------------
  {
    method: 'get',
    path: '/workspaces/:workspaceId/api-keys',
    permission: 'apikeys.manage',
    request: { list: {} },
    audit: { action: 'apikeys.list', target: 'api_key' },
    handler: async (req, res) => {
      const q = parseListQuery(req, { sortable: ['createdAt', 'label'], defaultSort: ['createdAt', 'DESC'], maxPage: 200 });
      const col = q.sort.field === 'label' ? 'label' : 'created_at';
      const pool = req.services.platform.pools.region(ws(req).region);
      const [rows, count] = await Promise.all([
        pool.query<{ id: string; label: string; created_at: Date; revoked_at: Date | null }>(
          `SELECT id, label, created_at, revoked_at FROM wact.api_keys WHERE workspace_id = $1 ORDER BY ${col} ${q.sort.order}, id LIMIT ${q.limit} OFFSET ${q.offset}`,
          [ws(req).id],
        ),
        pool.query<{ n: string }>('SELECT count(*) AS n FROM wact.api_keys WHERE workspace_id = $1', [ws(req).id]),
      ]);
      const data = rows.rows.map((r) => ({
        id: r.id,
        label: r.label,
        prefix: 'wact_…',
        createdAt: r.created_at.toISOString(),
        revokedAt: r.revoked_at?.toISOString() ?? null,
      }));
      return listResponse(res, 'api-keys', data, q.offset, Number(count.rows[0].n));
    },
  },
  {
    method: 'post',
    path: '/workspaces/:workspaceId/api-keys',
    permission: 'apikeys.manage',
    request: { body: apiKeyBody },
    handler: async (req, res) => {
      const { label } = parse(apiKeyBody, req.body, 'invalid API key');
      const created = await createApiKeyService({ poolFor: poolFor(req) }).create(ws(req), label);
      await audit(req, 'apikey.create', { type: 'api_key', id: created.id });
      res.status(201);
      // The key itself is returned this once; only its hash is stored.
      return { id: created.id, label, key: created.key, createdAt: new Date().toISOString(), revokedAt: null };
    },
  },
  {
    method: 'delete',
    path: '/workspaces/:workspaceId/api-keys/:id',
    permission: 'apikeys.manage',
    request: { params: { id: uuid } },
    handler: async (req) => {
      const id = uuid.safeParse(req.params.id);
      if (!id.success) throw new NotFoundError('unknown API key', 'apikey_not_found');
      const { rowCount } = await req.services.platform.pools
        .region(ws(req).region)
        .query('UPDATE wact.api_keys SET revoked_at = now() WHERE workspace_id = $1 AND id = $2 AND revoked_at IS NULL', [
          ws(req).id,
          id.data,
        ]);
      if (!rowCount) throw new NotFoundError('unknown or already revoked API key', 'apikey_not_found');
      await audit(req, 'apikey.revoke', { type: 'api_key', id: id.data });
      return { id: id.data };
    },
  },
  // ---- credentials (write-only) ---------------------------------------------------
  {
    method: 'get',
    path: '/workspaces/:workspaceId/credentials',
    permission: 'credentials.manage',
    audit: { action: 'credentials.list', target: 'credential' },
    handler: async (req, res) => {
      const pool = req.services.platform.pools.region(ws(req).region);
      const [bsp, ad] = await Promise.all([
        pool.query<{ provider: string; created_at: Date; updated_at: Date; has_token: boolean }>(
          'SELECT provider, created_at, updated_at, verify_token_enc IS NOT NULL AS has_token FROM wact.bsp_credentials WHERE workspace_id = $1 ORDER BY provider',
          [ws(req).id],
        ),
        pool.query<{ platform: string; created_at: Date; updated_at: Date }>(
          'SELECT platform, created_at, updated_at FROM wact.ad_platform_credentials WHERE workspace_id = $1 ORDER BY platform',
          [ws(req).id],
        ),
      ]);
      // Names and dates only: a stored secret is never sent back.
      const all = [
        ...bsp.rows.map((r) => ({
          id: `bsp:${r.provider}`,
          kind: 'bsp',
          provider: r.provider,
          verifyToken: r.has_token,
          createdAt: r.created_at.toISOString(),
          updatedAt: r.updated_at.toISOString(),
        })),
        ...ad.rows.map((r) => ({
          id: `ad-platform:${r.platform}`,
          kind: 'ad-platform',
          platform: r.platform,
          createdAt: r.created_at.toISOString(),
          updatedAt: r.updated_at.toISOString(),
        })),
      ];
      return listResponse(res, 'credentials', all, 0, all.length);
    },
  },
  {
    method: 'put',
    path: '/workspaces/:workspaceId/credentials/bsp/:provider',
    permission: 'credentials.manage',
    request: { params: { provider: z.enum(PROVIDERS) }, body: bspBody },
    handler: async (req) => {
      const provider = String(req.params.provider);
      if (!(PROVIDERS as readonly string[]).includes(provider)) throw new NotFoundError('unknown BSP', 'unknown_provider');
      const body = parse(bspBody, req.body, 'invalid BSP credentials');
      const service = createBspCredentialService({ crypto: req.services.fieldCrypto, poolFor: poolFor(req), ttlMs: 0 });
      const saved = await service.set(ws(req), { provider: provider as (typeof PROVIDERS)[number], ...body });
      await audit(req, 'credentials.bsp.set', { type: 'bsp_credentials', id: provider }, { verifyToken: saved.verifyToken });
      return { id: `bsp:${provider}`, kind: 'bsp', provider, verifyToken: saved.verifyToken, updatedAt: new Date().toISOString() };
    },
  },
  {
    method: 'put',
    path: '/workspaces/:workspaceId/credentials/ad-platforms/:platform',
    permission: 'credentials.manage',
    request: { params: { platform: z.enum(AD_PLATFORMS) }, body: z.union(Object.values(platformCredentialSchemas)) },
    handler: async (req) => {
      const platform = String(req.params.platform);
      const { reason: _reason, ...fields } = (req.body ?? {}) as Record<string, unknown>;
      const saved = await createPlatformCredentialService({ crypto: req.services.fieldCrypto, poolFor: poolFor(req) }).set(
        ws(req),
        platform,
        fields,
      );
      await audit(req, 'credentials.ad_platform.set', { type: 'ad_platform_credentials', id: saved.platform });
      return { id: `ad-platform:${saved.platform}`, kind: 'ad-platform', platform: saved.platform, updatedAt: new Date().toISOString() };
    },
  },
];
