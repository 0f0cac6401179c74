import { parseCloudApiEnvelope } from './cloud-api-envelope.ts';
import type { ParsedWebhook, ProviderAdapter, ProviderSecret, WebhookRequest } from './provider-types.ts';
import { epoch, isObject, obj, optStr, parseJson, phoneSender, refFromText, str } from './parse-utils.ts';
import { refuse, safeEqualText } from './signature.ts';

/**
 * Gupshup signs nothing. The customer sets a secret on the subscription's
 * `meta` (passed to us as headers); we require it as `x-wact-token` and
 * compare it in constant time. Two body formats: v2 (Gupshup's own) and v3
 * (the Cloud API envelope plus `gs_app_id`, timestamps in ms).
 */
export const GUPSHUP_TOKEN_HEADER = 'x-wact-token';

export function verifyGupshupToken(req: WebhookRequest, secret: ProviderSecret): void {
  const token = req.headers[GUPSHUP_TOKEN_HEADER];
  if (!token || !safeEqualText(token, secret.secret)) refuse('webhook token is missing or invalid');
}

export function parseGupshup(req: WebhookRequest): ParsedWebhook {
  const root = obj(parseJson(req.rawBody), 'body');
  if (root.object !== undefined || root.gs_app_id !== undefined) return parseCloudApiEnvelope(root, req.receivedAt);
  const type = str(root.type, 'type', 64);
  // user-event (opt-in/out), message-event (delivery reports), billing-event…
  if (type !== 'message') return { messages: [], ignored: 1 };
  const p = obj(root.payload, 'payload');
  const messageId = str(p.id, 'payload.id');
  const sender =
    isObject(p.sender) && p.sender.phone !== undefined
      ? phoneSender(p.sender.phone, 'payload.sender.phone')
      : phoneSender(p.source, 'payload.source');
  const timestamp = epoch(root.timestamp, 'timestamp', req.receivedAt);
  const msgType = optStr(p.type, 'payload.type', 64) ?? 'unknown';
  const text = msgType === 'text' && isObject(p.payload) ? p.payload.text : undefined;
  return { messages: [{ messageId, sender, timestamp, type: msgType, refCode: refFromText(text) }], ignored: 0 };
}

export const gupshupProvider: ProviderAdapter = {
  name: 'gupshup',
  contentType: 'application/json',
  verify: verifyGupshupToken,
  parse: parseGupshup,
};
