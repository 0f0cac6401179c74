import { createHash } from 'node:crypto';
import type { InboundMessage, ParsedWebhook, ProviderAdapter, ProviderSecret, WebhookRequest } from './provider-types.ts';
import { bad, epoch, isObject, isoTime, obj, optObj, optStr, parseJson, phoneSender, refFromText, str } from './parse-utils.ts';
import { decodeBase64, hmac, refuse, safeEqual } from './signature.ts';

/**
 * Bird (Channels API). `messagebird-signature` is
 * Base64(HMAC-SHA256(signing key, timestamp + "\n" + URL + "\n" + SHA256(body) as raw bytes)),
 * with `messagebird-request-timestamp` (Unix seconds) within a tolerance of our clock.
 */
export const BIRD_DEFAULT_TOLERANCE_MS = 5 * 60 * 1000;

export function birdSignature(signingKey: string, timestamp: string, url: string, body: Buffer): Buffer {
  const bodyHash = createHash('sha256').update(body).digest();
  return hmac('sha256', signingKey, Buffer.concat([Buffer.from(`${timestamp}\n${url}\n`, 'utf8'), bodyHash]));
}

export function createBirdVerifier(toleranceMs = BIRD_DEFAULT_TOLERANCE_MS) {
  return (req: WebhookRequest, secret: ProviderSecret): void => {
    const ts = req.headers['messagebird-request-timestamp'];
    const given = decodeBase64(req.headers['messagebird-signature'], 32);
    if (!ts || !/^\d{1,16}$/.test(ts) || !given) refuse();
    const n = Number(ts);
    const ms = n >= 1e11 ? n : n * 1000;
    if (Math.abs(req.receivedAt - ms) > toleranceMs) refuse('webhook timestamp is outside the allowed window');
    if (!safeEqual(given, birdSignature(secret.secret, ts, req.url, req.rawBody))) refuse();
  };
}

export function parseBird(req: WebhookRequest): ParsedWebhook {
  const root = obj(parseJson(req.rawBody), 'body');
  const event = str(root.event, 'event', 128);
  // Only inbound messages; outbound, status and conversation events are acknowledged and ignored.
  if (!/\.inbound$/.test(event)) return { messages: [], ignored: 1 };
  const p = obj(root.payload, 'payload');
  const direction = optStr(p.direction, 'payload.direction', 32);
  if (direction && direction !== 'incoming') return { messages: [], ignored: 1 };
  const messageId = str(p.id, 'payload.id', 128);
  const contact = obj(obj(p.sender, 'payload.sender').contact, 'payload.sender.contact');
  const key = optStr(contact.identifierKey, 'payload.sender.contact.identifierKey', 64);
  if (key && key !== 'phonenumber') return { messages: [], ignored: 1 };
  const sender = phoneSender(contact.identifierValue, 'payload.sender.contact.identifierValue');
  const extra = optObj(optObj(p.meta, 'payload.meta')?.extraInformation, 'payload.meta.extraInformation');
  const timestamp =
    p.createdAt !== undefined
      ? isoTime(p.createdAt, 'payload.createdAt', req.receivedAt)
      : extra?.timestamp !== undefined
        ? epoch(extra.timestamp, 'payload.meta.extraInformation.timestamp', req.receivedAt)
        : bad('payload.createdAt is required');
  const body = optObj(p.body, 'payload.body');
  const type = optStr(body?.type, 'payload.body.type', 64) ?? 'unknown';
  const text = type === 'text' && isObject(body?.text) ? body.text.text : undefined;
  const message: InboundMessage = { messageId, sender, timestamp, type, refCode: refFromText(text) };
  return { messages: [message], ignored: 0 };
}

export function createBirdProvider(toleranceMs = BIRD_DEFAULT_TOLERANCE_MS): ProviderAdapter {
  return { name: 'bird', contentType: 'application/json', verify: createBirdVerifier(toleranceMs), parse: parseBird };
}

export const birdProvider = createBirdProvider();
