import express, { type Request, type Router } from 'express';
import type { Logger } from 'pino';
import { WactError } from '../../shared/errors/errors.ts';
import type { ProviderAdapter, ProviderName } from '../providers/provider-types.ts';
import { isProviderName } from '../providers/provider-types.ts';
import type { createWebhookService } from './webhook-service.ts';

const TWIML_EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>';

/** The URL the BSP called, as it signed it: the configured public base, else this request's own. */
export function signedUrl(req: Request, publicUrl?: string): string {
  return publicUrl ? `${publicUrl}${req.originalUrl}` : `${req.protocol}://${req.get('host') ?? ''}${req.originalUrl}`;
}

function lowerHeaders(req: Request): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.headers)) out[k.toLowerCase()] = Array.isArray(v) ? v[0] : v;
  return out;
}

export function webhookRoutes(deps: {
  service: ReturnType<typeof createWebhookService>;
  providers: Record<ProviderName, ProviderAdapter>;
  bodyLimitBytes: number;
  publicUrl?: string;
  logger?: Pick<Logger, 'debug'>;
}): Router {
  const router = express.Router();
  // Raw bytes, whatever the declared type: signatures are over exactly what was sent.
  const raw = express.raw({ type: () => true, limit: deps.bodyLimitBytes });

  router.get('/v1/webhooks/:provider/:workspaceId', async (req, res) => {
    const challenge = await deps.service.handshake(
      String(req.params.provider),
      String(req.params.workspaceId),
      req.query as Record<string, unknown>,
    );
    res.status(200).type('text/plain').send(challenge);
  });

  router.post('/v1/webhooks/:provider/:workspaceId', raw, async (req, res) => {
    const provider = String(req.params.provider);
    if (isProviderName(provider) && !req.is(deps.providers[provider].contentType)) {
      throw new WactError(415, 'unsupported_media_type', `this webhook expects ${deps.providers[provider].contentType}`);
    }
    const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const result = await deps.service.receive(provider, String(req.params.workspaceId), {
      rawBody,
      headers: lowerHeaders(req),
      url: signedUrl(req, deps.publicUrl),
      receivedAt: Date.now(),
    });
    // counts and ids of our own only: never the URL's query, headers or body
    deps.logger?.debug({ provider, workspaceId: String(req.params.workspaceId), ...result }, 'webhook received');
    if (provider === 'twilio') res.status(200).type('text/xml').send(TWIML_EMPTY);
    else res.status(200).json({ status: 'ok', ...result });
  });

  return router;
}
