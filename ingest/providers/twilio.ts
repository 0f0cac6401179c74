import { createHash } from 'node:crypto';
import { BadRequestError } from '../../shared/errors/errors.ts';
import type { InboundMessage, ProviderAdapter, ProviderSecret, WebhookRequest } from './provider-types.ts';
import { bad, phoneSender, refFromText, referralFrom, str } from './parse-utils.ts';
import { decodeBase64, decodeHex, hmac, refuse, safeEqual } from './signature.ts';

/**
 * Twilio Programmable Messaging (WhatsApp). Form-encoded POST.
 *
 * X-Twilio-Signature = Base64(HMAC-SHA1(auth token, URL + Σ sorted(name + value)))
 * as twilio-node's webhooks.ts computes it: keys sorted, a repeated key's
 * values de-duplicated and sorted, each appended as name+value; the URL is the
 * one Twilio was configured with (we are told it by INGEST_PUBLIC_URL), tried
 * with and without the default port because Twilio is inconsistent there.
 * With Webhook Rules (`X-Twilio-Webhooks-Signature-Settings: …algorithm=HMAC_SHA256`)
 * the same string is signed with HMAC-SHA256.
 */

export type FormParams = Map<string, string[]>;

const MAX_PARAMS = 200;

export function parseForm(raw: Buffer): FormParams {
  const text = raw.toString('utf8');
  const params: FormParams = new Map();
  let count = 0;
  let search: URLSearchParams;
  try {
    search = new URLSearchParams(text);
  } catch {
    throw new BadRequestError('request body is not a valid form', 'malformed_body');
  }
  for (const [k, v] of search) {
    if (++count > MAX_PARAMS) throw new BadRequestError('too many form parameters', 'malformed_body');
    const list = params.get(k);
    if (list) list.push(v);
    else params.set(k, [v]);
  }
  return params;
}

/** The string Twilio signs: URL, then each sorted key with its de-duplicated, sorted values. */
export function twilioSignedString(url: string, params: FormParams | Record<string, string | string[]>): string {
  const entries: [string, string[]][] =
    params instanceof Map ? [...params.entries()] : Object.entries(params).map(([k, v]) => [k, Array.isArray(v) ? v : [v]]);
  let data = url;
  for (const [key, values] of entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    for (const v of [...new Set(values)].sort()) data += key + v;
  }
  return data;
}

/** Base64 HMAC-SHA1 (or -SHA256) of the signed string: what Twilio puts in the header. */
export function twilioSignature(
  token: string,
  url: string,
  params: FormParams | Record<string, string | string[]>,
  algorithm: 'sha1' | 'sha256' = 'sha1',
): string {
  return hmac(algorithm, token, twilioSignedString(url, params)).toString('base64');
}

/** The URL as configured, and its twin with/without the scheme's default port. */
export function urlVariants(url: string): string[] {
  const m = /^(https?):\/\/([^/?#]*)(.*)$/is.exec(url);
  if (!m) return [url];
  const [, scheme, authority, rest] = m;
  const defaultPort = scheme.toLowerCase() === 'https' ? '443' : '80';
  const port = /:(\d+)$/.exec(authority);
  if (!port) return [url, `${scheme}://${authority}:${defaultPort}${rest}`];
  if (port[1] === defaultPort) return [url, `${scheme}://${authority.slice(0, -port[0].length)}${rest}`];
  return [url];
}

export function verifyTwilioSignature(req: WebhookRequest, secret: ProviderSecret): void {
  const header = req.headers['x-twilio-signature'];
  if (!header) refuse();
  const settings = req.headers['x-twilio-webhooks-signature-settings'] ?? '';
  const algorithm = /algorithm=HMAC_SHA256/i.test(settings) ? 'sha256' : 'sha1';
  const given = decodeBase64(header, algorithm === 'sha1' ? 20 : 32);
  if (!given) refuse();
  // JSON-body webhooks sign the URL (carrying bodySHA256) with no params; the body hash is checked apart.
  const bodyHash = safeUrl(req.url)?.searchParams.get('bodySHA256');
  let params: FormParams;
  if (bodyHash) {
    const expected = decodeHex(bodyHash, 32);
    if (!expected || !safeEqual(expected, createHash('sha256').update(req.rawBody).digest())) refuse();
    params = new Map();
  } else {
    params = parseForm(req.rawBody);
  }
  let ok = false;
  for (const url of urlVariants(req.url)) {
    // every variant is computed and compared: no early exit on the first match
    const expected = hmac(algorithm, secret.secret, twilioSignedString(url, params));
    ok = safeEqual(expected, given) || ok;
  }
  if (!ok) refuse();
}

function safeUrl(url: string): URL | undefined {
  try {
    return new URL(url);
  } catch {
    return undefined;
  }
}

const SID = /^[A-Z]{2}[0-9a-fA-F]{32}$/;

export function parseTwilio(req: WebhookRequest): { messages: InboundMessage[]; ignored: number } {
  const form = parseForm(req.rawBody);
  const one = (k: string): string | undefined => form.get(k)?.[0];
  // Delivery status callbacks carry MessageStatus (sent, delivered, read, failed…); inbound messages do not, or say "received".
  const status = one('MessageStatus') ?? one('SmsStatus');
  if (status && status !== 'received') return { messages: [], ignored: 1 };
  const sid = str(one('MessageSid') ?? one('SmsMessageSid') ?? one('SmsSid'), 'MessageSid', 64);
  if (!SID.test(sid)) bad('MessageSid is malformed');
  const from = one('From');
  if (!from) bad('From is required');
  const numMedia = one('NumMedia');
  const type = one('MessageType') ?? (numMedia && numMedia !== '0' ? 'media' : 'text');
  const referral = referralFrom({
    ctwaClid: one('ReferralCtwaClid'),
    sourceId: one('ReferralSourceId'),
    sourceType: one('ReferralSourceType'),
    sourceUrl: one('ReferralSourceUrl'),
  });
  return {
    messages: [
      {
        messageId: sid,
        sender: phoneSender(from, 'From'),
        // Twilio sends no message time: the receive time stands in.
        timestamp: new Date(req.receivedAt),
        type: /^[a-z_]{1,32}$/.test(type) ? type : 'text',
        refCode: refFromText(one('Body')),
        ...(referral ? { referral } : {}),
      },
    ],
    ignored: 0,
  };
}

export const twilioProvider: ProviderAdapter = {
  name: 'twilio',
  contentType: 'application/x-www-form-urlencoded',
  verify: verifyTwilioSignature,
  parse: parseTwilio,
};
