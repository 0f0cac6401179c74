import express, { type Router } from 'express';
import { presentedKey, requireMediaType } from '../http-guards.ts';
import { prefillWithRef } from '../attribution/ref-code.ts';
import type { ApiKeyService } from '../../shared/workspaces/api-keys/api-keys-service.ts';
import type { LinkService } from '../../shared/workspaces/links/links-service.ts';
import type { WorkspaceDirectory } from '../../shared/workspaces/workspace-directory.ts';
import { WactError } from '../../shared/errors/errors.ts';
import { snippetInput } from '../../shared/ingest-api/ingest-api-types.ts';
import { clickParamsFrom, type ClickService } from './click-service.ts';

function waLink(number: string, text: string): string {
  return `https://wa.me/${number}?text=${encodeURIComponent(text)}`;
}

export function clickRoutes(deps: {
  directory: WorkspaceDirectory;
  links: LinkService;
  clicks: ClickService;
  apiKeys: ApiKeyService;
  bodyLimitBytes: number;
}): Router {
  const router = express.Router();

  router.get('/r/:workspaceId/:linkId', async (req, res) => {
    const ws = await deps.directory.resolve(String(req.params.workspaceId));
    const link = await deps.links.get(ws, String(req.params.linkId));
    const params = clickParamsFrom(req.query as Record<string, unknown>);
    const click = await deps.clicks.capture(ws, { source: 'link', linkId: link.id, params });
    // no caching, no referrer: the URL carries click ids
    res.set({ 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer' });
    res.redirect(302, waLink(link.waNumber, prefillWithRef(link.prefillText, click.refCode)));
  });

  router.post(
    '/v1/clicks',
    requireMediaType('application/json'),
    express.json({ limit: deps.bodyLimitBytes, type: 'application/json' }),
    async (req, res) => {
      const ws = await deps.apiKeys.authenticate(presentedKey(req.headers));
      const input = snippetInput.parse(req.body ?? {});
      let query: Record<string, unknown> = { ...(input.params ?? {}) };
      if (input.url) {
        let u: URL;
        try {
          u = new URL(input.url);
        } catch {
          throw new WactError(400, 'invalid_url', 'url is not a valid URL');
        }
        query = { ...Object.fromEntries(u.searchParams), ...query };
      }
      const link = input.link_id ? await deps.links.get(ws, input.link_id) : undefined;
      const click = await deps.clicks.capture(ws, { source: 'snippet', linkId: link?.id, params: clickParamsFrom(query) });
      res.status(201).json({
        click_id: click.id,
        ref_code: click.refCode,
        ...(link ? { whatsapp_url: waLink(link.waNumber, prefillWithRef(link.prefillText, click.refCode)) } : {}),
      });
    },
  );

  return router;
}
