import { parseCloudApiEnvelope } from './cloud-api-envelope.ts';
import { parseJson } from './parse-utils.ts';
import type { ProviderAdapter, ProviderSecret, WebhookRequest } from './provider-types.ts';
import { decodeHex, hmac, refuse, safeEqual } from './signature.ts';

/**
 * 360dialog passes the Cloud API payload through. `x-360dialog-signature` is
 * the hex HMAC-SHA256 of the raw body keyed with the platform secret; public
 * implementations disagree on a `sha256=` prefix, so both forms are accepted.
 */
export function verify360DialogSignature(req: WebhookRequest, secret: ProviderSecret): void {
  let header = req.headers['x-360dialog-signature']?.trim();
  if (!header) refuse();
  if (header.toLowerCase().startsWith('sha256=')) header = header.slice('sha256='.length);
  const given = decodeHex(header, 32);
  if (!given || !safeEqual(given, hmac('sha256', secret.secret, req.rawBody))) refuse();
}

export const threeSixtyDialogProvider: ProviderAdapter = {
  name: '360dialog',
  contentType: 'application/json',
  verify: verify360DialogSignature,
  parse: (req) => parseCloudApiEnvelope(parseJson(req.rawBody), req.receivedAt),
};
