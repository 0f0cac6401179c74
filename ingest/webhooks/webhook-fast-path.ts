import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { WactError } from '../../shared/errors/errors.ts';
import { errorResponse } from '../../shared/http/error-handler.ts';
import { serializeError } from '../../shared/logging/logger.ts';
import { isProviderName, type ProviderAdapter, type ProviderName } from '../providers/provider-types.ts';
import type { createWebhookService } from './webhook-service.ts';

const TWIML_EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>';
const PATH = /^\/v1\/webhooks\/([^/?#]+)\/([^/?#]+)(?:\?[^#]*)?$/;
/** The one route the fast path serves, as the OpenAPI document names it (test/http/openapi.test.ts). */
export const WEBHOOK_FAST_PATH_ROUTE = { method: 'post', path: '/v1/webhooks/:provider/:workspaceId' } as const;

/**
 * `POST /v1/webhooks/{provider}/{workspaceId}` without the express stack.
 *
 * This is the hot path BSPs hammer: a delivery is read into one buffer (with
 * the same body limit, 413), checked (415 on the wrong media type) and handed
 * to the webhook service; errors map through the same errorResponse() as every
 * other route, and the same security headers are set. It is the only route
 * that receives deliveries; everything else (the Meta GET handshake, clicks,
 * conversions) stays on express. Measured in
 * `npm run bench:ingest`: express routing and raw-body were ~15 % of ingest's
 * CPU per webhook.
 */
export function createWebhookFastPath(deps: {
  service: ReturnType<typeof createWebhookService>;
  providers: Record<ProviderName, ProviderAdapter>;
  bodyLimitBytes: number;
  publicUrl?: string;
  headers: readonly [string, number | string | readonly string[]][];
  logger?: Pick<Logger, 'debug' | 'error'>;
}): (req: IncomingMessage, res: ServerResponse) => boolean {
  function send(res: ServerResponse, status: number, type: string, body: string, close = false): void {
    if (res.headersSent) return;
    for (const [name, value] of deps.headers) res.setHeader(name, value);
    res.setHeader('Content-Type', type);
    res.setHeader('Content-Length', Buffer.byteLength(body));
    if (close) res.setHeader('Connection', 'close');
    res.statusCode = status;
    res.end(body);
  }

  function fail(res: ServerResponse, err: unknown, close = false): void {
    const { status, body } = errorResponse(err);
    if (status >= 500)
      deps.logger?.error({ err: serializeError(err), route: '/v1/webhooks/:provider/:workspaceId', status }, 'request failed');
    else deps.logger?.debug({ route: '/v1/webhooks/:provider/:workspaceId', status, errorCode: body.error.code }, 'request refused');
    send(res, status, 'application/json; charset=utf-8', JSON.stringify(body), close);
  }

  async function handle(req: IncomingMessage, res: ServerResponse, provider: string, workspaceId: string, rawBody: Buffer): Promise<void> {
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v[0] : v;
    const path = req.url ?? '';
    const url = deps.publicUrl ? `${deps.publicUrl}${path}` : `https://${headers.host ?? ''}${path}`;
    const result = await deps.service.receive(provider, workspaceId, { rawBody, headers, url, receivedAt: Date.now() });
    // counts and ids of our own only: never the URL's query, headers or body
    deps.logger?.debug({ provider, workspaceId, ...result }, 'webhook received');
    if (provider === 'twilio') send(res, 200, 'text/xml; charset=utf-8', TWIML_EMPTY);
    else send(res, 200, 'application/json; charset=utf-8', JSON.stringify({ status: 'ok', ...result }));
  }

  return (req, res) => {
    if (req.method !== 'POST' || !req.url?.startsWith('/v1/webhooks/')) return false;
    const m = PATH.exec(req.url);
    if (!m) return false;
    let provider: string;
    let workspaceId: string;
    try {
      provider = decodeURIComponent(m[1]);
      workspaceId = decodeURIComponent(m[2]);
    } catch {
      // Malformed escapes: refused here, since no other route receives webhook deliveries.
      req.resume();
      fail(res, new WactError(400, 'bad_request', 'malformed webhook path'));
      return true;
    }
    if (isProviderName(provider)) {
      const expected = deps.providers[provider].contentType;
      const given = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
      if (given !== expected) {
        req.resume();
        fail(res, new WactError(415, 'unsupported_media_type', `this webhook expects ${expected}`));
        return true;
      }
    }
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > deps.bodyLimitBytes) {
      fail(res, new WactError(413, 'payload_too_large', 'request body is too large'), true);
      req.resume();
      return true;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > deps.bodyLimitBytes) {
        refused = true;
        chunks.length = 0;
        fail(res, new WactError(413, 'payload_too_large', 'request body is too large'), true);
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', () => {
      refused = true;
    });
    req.on('end', () => {
      if (refused) return;
      const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
      handle(req, res, provider, workspaceId, body).catch((err: unknown) => fail(res, err));
    });
    return true;
  };
}
