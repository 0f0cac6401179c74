import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type Express, type Request, type RequestHandler, type Response } from 'express';
import { createWebhookFastPath } from './webhooks/webhook-fast-path.ts';
import type { Logger } from 'pino';
import { createErrorHandler, notFoundHandler } from '../shared/http/error-handler.ts';
import { securityHeaders } from '../shared/http/security-headers.ts';
import type { ApiKeyService } from '../shared/workspaces/api-keys/api-keys-service.ts';
import { clickRoutes } from './clicks/click-routes.ts';
import type { ClickService } from './clicks/click-service.ts';
import { conversionRoutes } from './conversions/conversion-routes.ts';
import type { ConversionService } from './conversions/conversion-service.ts';
import type { IngestSettings } from './ingest-settings.ts';
import type { LinkService } from '../shared/workspaces/links/links-service.ts';
import type { ProviderAdapter, ProviderName } from './providers/provider-types.ts';
import { webhookRoutes } from './webhooks/webhook-routes.ts';
import type { createWebhookService } from './webhooks/webhook-service.ts';
import type { WorkspaceDirectory } from '../shared/workspaces/workspace-directory.ts';

export interface IngestAppDeps {
  settings: IngestSettings;
  providers: Record<ProviderName, ProviderAdapter>;
  webhooks: ReturnType<typeof createWebhookService>;
  directory: WorkspaceDirectory;
  links: LinkService;
  clicks: ClickService;
  apiKeys: ApiKeyService;
  conversions: ConversionService;
  logger: Logger;
}

/**
 * The shared helmet headers are static (no nonces): learn them once from a
 * stub response and set them per request, instead of running a dozen
 * middlewares on every webhook.
 */
export function staticHeaders(middleware: RequestHandler): [string, number | string | readonly string[]][] | undefined {
  const headers: [string, number | string | readonly string[]][] = [];
  const stub = {
    setHeader: (name: string, value: number | string | readonly string[]) => headers.push([name, value]),
    removeHeader: () => undefined,
    getHeader: () => undefined,
  } as unknown as Response;
  let synchronous = false;
  middleware({ headers: {} } as Request, stub, () => {
    synchronous = true;
  });
  return synchronous ? headers : undefined;
}

export function precomputed(middleware: RequestHandler): RequestHandler {
  const headers = staticHeaders(middleware);
  if (!headers) return middleware; // not static after all: run it per request
  return (_req, res, next) => {
    for (const [name, value] of headers) res.setHeader(name, value);
    next();
  };
}

/**
 * The ingest HTTP surface, as one request listener: webhook deliveries on the
 * fast path (webhooks/webhook-fast-path.ts), everything else through express.
 * No request logging of URLs or bodies: they carry identifiers.
 */
export function createIngestHandler(deps: IngestAppDeps): { app: Express; listener: (req: IncomingMessage, res: ServerResponse) => void } {
  const app = buildApp(deps);
  const fast = createWebhookFastPath({
    service: deps.webhooks,
    providers: deps.providers,
    bodyLimitBytes: deps.settings.bodyLimitBytes,
    publicUrl: deps.settings.publicUrl,
    headers: staticHeaders(securityHeaders()) ?? [],
    logger: deps.logger,
  });
  return {
    app,
    listener: (req, res) => {
      if (!fast(req, res)) app(req, res);
    },
  };
}

function buildApp(deps: IngestAppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.set('query parser', 'simple');
  app.set('etag', false); // API responses are never cached; hashing every body costs CPU on the hot path
  app.use(precomputed(securityHeaders()));
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.use(webhookRoutes({ service: deps.webhooks }));
  app.use(
    clickRoutes({
      directory: deps.directory,
      links: deps.links,
      clicks: deps.clicks,
      apiKeys: deps.apiKeys,
      bodyLimitBytes: deps.settings.bodyLimitBytes,
    }),
  );
  app.use(conversionRoutes({ apiKeys: deps.apiKeys, conversions: deps.conversions, bodyLimitBytes: deps.settings.bodyLimitBytes }));
  app.use(notFoundHandler);
  app.use(createErrorHandler({ logger: deps.logger }));
  return app;
}
