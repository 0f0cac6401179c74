import { z } from 'zod';
import type { AuditEventInput } from '../../shared/audit/audit-types.ts';
import { BadRequestError, NotFoundError } from '../../shared/errors/errors.ts';
import { createApiKeyService } from '../../shared/workspaces/api-keys/api-keys-service.ts';
import { createBspCredentialService } from '../../shared/workspaces/bsp-credentials/bsp-credentials-service.ts';
import { createPlatformCredentialService } from '../../shared/workspaces/platform-credentials/platform-credentials-service.ts';
import { createLinkService } from '../../shared/workspaces/links/links-service.ts';
import { isProviderName, PROVIDERS } from '../../shared/workspaces/bsp-credentials/bsp-credentials-types.ts';
import { AD_PLATFORMS, platformCredentialSchemas } from '../../shared/workspaces/platform-credentials/platform-credentials-types.ts';
import { clientIp } from '../http/mount-routes.ts';
import type { ApiRequest, ApiRoute } from '../http/route-types.ts';
import { listResponse, parseListQuery } from '../http/simple-rest.ts';

/**
 * Workspace configuration from the console, through the workspace settings services that
 * ingest reads with (shared/workspaces/), so the console writes exactly what ingest reads: tracking links, API keys (shown once, stored hashed),
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
      const page = await createLinkService({ poolFor: poolFor(req) }).list(ws(req), {
        orderBy: q.sort.field === 'id' ? 'id' : 'createdAt',
        order: q.sort.order,
        limit: q.limit,
        offset: q.offset,
      });
      const data = page.items.map((l) => ({ ...l, createdAt: l.createdAt.toISOString() }));
      return listResponse(res, 'links', data, q.offset, page.total);
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
      await createLinkService({ poolFor: poolFor(req) }).disable(ws(req), id);
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
      const page = await createApiKeyService({ poolFor: poolFor(req) }).list(ws(req), {
        orderBy: q.sort.field === 'label' ? 'label' : 'createdAt',
        order: q.sort.order,
        limit: q.limit,
        offset: q.offset,
      });
      const data = page.items.map((k) => ({
        id: k.id,
        label: k.label,
        prefix: 'wact_…',
        createdAt: k.createdAt.toISOString(),
        revokedAt: k.revokedAt?.toISOString() ?? null,
      }));
      return listResponse(res, 'api-keys', data, q.offset, page.total);
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
      await createApiKeyService({ poolFor: poolFor(req) }).revoke(ws(req), id.data);
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
      const crypto = req.services.fieldCrypto;
      const [bsp, ad] = await Promise.all([
        createBspCredentialService({ crypto, poolFor: poolFor(req), ttlMs: 0 }).list(ws(req)),
        createPlatformCredentialService({ crypto, poolFor: poolFor(req) }).list(ws(req)),
      ]);
      // Names and dates only: a stored secret is never sent back.
      const all = [
        ...bsp.map((r) => ({
          id: `bsp:${r.provider}`,
          kind: 'bsp',
          provider: r.provider,
          verifyToken: r.verifyToken,
          createdAt: r.createdAt.toISOString(),
          updatedAt: r.updatedAt.toISOString(),
        })),
        ...ad.map((r) => ({
          id: `ad-platform:${r.platform}`,
          kind: 'ad-platform',
          platform: r.platform,
          createdAt: r.createdAt.toISOString(),
          updatedAt: r.updatedAt.toISOString(),
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
      if (!isProviderName(provider)) throw new NotFoundError('unknown BSP', 'unknown_provider');
      const body = parse(bspBody, req.body, 'invalid BSP credentials');
      const service = createBspCredentialService({ crypto: req.services.fieldCrypto, poolFor: poolFor(req), ttlMs: 0 });
      const saved = await service.set(ws(req), { provider, ...body });
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
