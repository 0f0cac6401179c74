import { UnauthorizedError } from '../../shared/errors/errors.ts';
import { parseCloudApiEnvelope } from './cloud-api-envelope.ts';
import { parseJson } from './parse-utils.ts';
import type { ProviderAdapter, ProviderSecret, WebhookRequest } from './provider-types.ts';
import { decodeHex, hmac, refuse, safeEqual, safeEqualText } from './signature.ts';

/**
 * Meta WhatsApp Cloud API. `X-Hub-Signature-256: sha256=<hex>` is the
 * HMAC-SHA256 of the raw body with the App Secret (Meta signs its escaped
 * unicode serialisation, so only the bytes as received verify).
 */
export function verifyMetaSignature(req: WebhookRequest, secret: ProviderSecret): void {
  const header = req.headers['x-hub-signature-256'];
  if (!header?.startsWith('sha256=')) refuse();
  const given = decodeHex(header.slice('sha256='.length), 32);
  if (!given || !safeEqual(given, hmac('sha256', secret.secret, req.rawBody))) refuse();
}

export const metaProvider: ProviderAdapter = {
  name: 'meta',
  contentType: 'application/json',
  verify: verifyMetaSignature,
  parse: (req) => parseCloudApiEnvelope(parseJson(req.rawBody), req.receivedAt),
};

/**
 * The GET subscription handshake: hub.mode=subscribe and our verify token →
 * echo hub.challenge. The challenge is echoed only if it looks like one
 * (Meta sends an integer), so the endpoint cannot be used to reflect content.
 */
export function metaHandshake(query: Record<string, unknown>, secret: ProviderSecret | undefined): string {
  const mode = query['hub.mode'];
  const token = query['hub.verify_token'];
  const challenge = query['hub.challenge'];
  if (mode !== 'subscribe' || typeof token !== 'string' || typeof challenge !== 'string' || !/^[A-Za-z0-9_-]{1,128}$/.test(challenge)) {
    throw new UnauthorizedError('verification handshake refused', 'handshake_refused');
  }
  if (!secret?.verifyToken || !safeEqualText(token, secret.verifyToken)) {
    throw new UnauthorizedError('verification handshake refused', 'handshake_refused');
  }
  return challenge;
}
