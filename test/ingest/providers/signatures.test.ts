import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseForm, twilioSignature, twilioSignedString, urlVariants, verifyTwilioSignature } from '../../../ingest/providers/twilio.ts';
import { verifyMetaSignature, metaHandshake } from '../../../ingest/providers/meta.ts';
import { verify360DialogSignature } from '../../../ingest/providers/three-sixty-dialog.ts';
import { birdSignature, createBirdVerifier } from '../../../ingest/providers/bird.ts';
import { verifyGupshupToken } from '../../../ingest/providers/gupshup.ts';
import type { WebhookRequest } from '../../../ingest/providers/provider-types.ts';
import { fixture } from '../support/fixtures.ts';

const req = (
  rawBody: Buffer,
  headers: Record<string, string>,
  url = 'https://ingest.example.com/v1/webhooks/x/y',
  receivedAt = Date.now(),
): WebhookRequest => ({
  rawBody,
  headers,
  url,
  receivedAt,
});

describe('Twilio X-Twilio-Signature', () => {
  const url = 'https://mycompany.com/myapp.php?foo=1&bar=2';
  it('matches Twilio’s published test vector', () => {
    const params = { CallSid: 'CA1234567890ABCDE', Caller: '+14158675309', Digits: '1234', From: '+14158675309', To: '+18005551212' };
    expect(twilioSignature('12345', url, params)).toBe('RSOYDt4T1cUTdK1PDd93/VVr8B8=');
  });

  it('matches the repeated-key vector (values de-duplicated and sorted)', () => {
    const body = Buffer.from('Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234&Digits=1234');
    expect(twilioSignedString(url, parseForm(body))).toBe(`${url}Digits1234Digits5678SidCA123SidAccountAC123`);
    expect(() =>
      verifyTwilioSignature(req(body, { 'x-twilio-signature': 'IK+Dwps556ElfBT0I3Rgjkr1wJU=' }, url), { secret: '12345' }),
    ).not.toThrow();
  });

  it('verifies a form body over the raw bytes and refuses tampering, a wrong token or a missing header', () => {
    const body = Buffer.from('CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&To=%2B18005551212');
    const ok = req(body, { 'x-twilio-signature': 'RSOYDt4T1cUTdK1PDd93/VVr8B8=' }, url);
    expect(() => verifyTwilioSignature(ok, { secret: '12345' })).not.toThrow();
    expect(() => verifyTwilioSignature(ok, { secret: '12346' })).toThrow(/signature/);
    expect(() =>
      verifyTwilioSignature({ ...ok, rawBody: Buffer.from(body.toString().replace('1234&', '1235&')) }, { secret: '12345' }),
    ).toThrow(/signature/);
    expect(() => verifyTwilioSignature({ ...ok, url: url.replace('foo=1', 'foo=2') }, { secret: '12345' })).toThrow(/signature/);
    expect(() => verifyTwilioSignature({ ...ok, headers: {} }, { secret: '12345' })).toThrow(/signature/);
  });

  it('accepts the URL with or without the default port, as twilio-node does', () => {
    expect(urlVariants('https://a.example/x?y=1')).toEqual(['https://a.example/x?y=1', 'https://a.example:443/x?y=1']);
    expect(urlVariants('https://a.example:443/x')).toEqual(['https://a.example:443/x', 'https://a.example/x']);
    expect(urlVariants('https://a.example:8443/x')).toEqual(['https://a.example:8443/x']);
    const params = { A: '1' };
    const signedWithPort = twilioSignature('tok', 'https://a.example:443/x', params);
    expect(() =>
      verifyTwilioSignature(req(Buffer.from('A=1'), { 'x-twilio-signature': signedWithPort }, 'https://a.example/x'), { secret: 'tok' }),
    ).not.toThrow();
  });

  it('checks bodySHA256 for JSON-body webhooks (published body-hash example)', () => {
    const body = Buffer.from('{"property": "value", "boolean": true}');
    expect(createHash('sha256').update(body).digest('hex')).toBe('0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620');
    const u = `https://mycompany.com/myapp.php?bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620`;
    const sig = twilioSignature('12345', u, {});
    expect(() => verifyTwilioSignature(req(body, { 'x-twilio-signature': sig }, u), { secret: '12345' })).not.toThrow();
    expect(() =>
      verifyTwilioSignature(req(Buffer.from('{"property": "other", "boolean": true}'), { 'x-twilio-signature': sig }, u), {
        secret: '12345',
      }),
    ).toThrow();
  });

  it('uses HMAC-SHA256 when Webhook Rules say so', () => {
    const body = Buffer.from('A=1');
    const sig = twilioSignature('shared', 'https://a.example/x', { A: '1' }, 'sha256');
    const headers = { 'x-twilio-signature': sig, 'x-twilio-webhooks-signature-settings': 'key=k1,algorithm=HMAC_SHA256' };
    expect(() => verifyTwilioSignature(req(body, headers, 'https://a.example/x'), { secret: 'shared' })).not.toThrow();
    expect(() => verifyTwilioSignature(req(body, { 'x-twilio-signature': sig }, 'https://a.example/x'), { secret: 'shared' })).toThrow();
  });
});

describe('Meta X-Hub-Signature-256', () => {
  const body = fixture('meta-text-referral.json');
  const sign = (b: Buffer, key: string) => `sha256=${createHmac('sha256', key).update(b).digest('hex')}`;
  it('accepts the HMAC of the raw bytes, refuses re-serialised JSON, other keys, sha1 and garbage', () => {
    expect(() =>
      verifyMetaSignature(req(body, { 'x-hub-signature-256': sign(body, 'app-secret') }), { secret: 'app-secret' }),
    ).not.toThrow();
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(body.toString())));
    expect(() =>
      verifyMetaSignature(req(reserialised, { 'x-hub-signature-256': sign(body, 'app-secret') }), { secret: 'app-secret' }),
    ).toThrow();
    expect(() => verifyMetaSignature(req(body, { 'x-hub-signature-256': sign(body, 'other') }), { secret: 'app-secret' })).toThrow();
    expect(() => verifyMetaSignature(req(body, { 'x-hub-signature': 'sha1=abc' }), { secret: 'app-secret' })).toThrow();
    expect(() => verifyMetaSignature(req(body, { 'x-hub-signature-256': 'sha256=zz' }), { secret: 'app-secret' })).toThrow();
  });
  it('answers the verification handshake only with the right token and a plain challenge', () => {
    const q = { 'hub.mode': 'subscribe', 'hub.verify_token': 'vt-1', 'hub.challenge': '1158201444' };
    expect(metaHandshake(q, { secret: 's', verifyToken: 'vt-1' })).toBe('1158201444');
    expect(() => metaHandshake({ ...q, 'hub.verify_token': 'vt-2' }, { secret: 's', verifyToken: 'vt-1' })).toThrow();
    expect(() => metaHandshake({ ...q, 'hub.mode': 'unsubscribe' }, { secret: 's', verifyToken: 'vt-1' })).toThrow();
    expect(() => metaHandshake({ ...q, 'hub.challenge': '<script>' }, { secret: 's', verifyToken: 'vt-1' })).toThrow();
    expect(() => metaHandshake(q, { secret: 's' })).toThrow();
  });
});

describe('360dialog x-360dialog-signature', () => {
  const body = fixture('360dialog-text.json');
  const hex = createHmac('sha256', 'platform-secret').update(body).digest('hex');
  it('accepts hex with or without sha256=, refuses a wrong key or a missing header', () => {
    expect(() => verify360DialogSignature(req(body, { 'x-360dialog-signature': hex }), { secret: 'platform-secret' })).not.toThrow();
    expect(() =>
      verify360DialogSignature(req(body, { 'x-360dialog-signature': `sha256=${hex}` }), { secret: 'platform-secret' }),
    ).not.toThrow();
    expect(() => verify360DialogSignature(req(body, { 'x-360dialog-signature': hex }), { secret: 'other' })).toThrow();
    expect(() => verify360DialogSignature(req(body, {}), { secret: 'platform-secret' })).toThrow();
  });
});

describe('Bird messagebird-signature', () => {
  const body = fixture('bird-inbound.json');
  const url = 'https://ingest.example.com/v1/webhooks/bird/ws';
  const now = 1_750_000_000_000;
  const ts = String(now / 1000);
  const verify = createBirdVerifier(5 * 60 * 1000);
  it('follows the documented construction (timestamp \\n url \\n binary sha256(body))', () => {
    const manual = createHmac('sha256', 'signing-key')
      .update(Buffer.concat([Buffer.from(`${ts}\n${url}\n`), createHash('sha256').update(body).digest()]))
      .digest();
    expect(birdSignature('signing-key', ts, url, body).equals(manual)).toBe(true);
  });
  it('accepts within 5 minutes, refuses outside, with another URL, key or body', () => {
    const headers = {
      'messagebird-signature': birdSignature('signing-key', ts, url, body).toString('base64'),
      'messagebird-request-timestamp': ts,
    };
    expect(() => verify(req(body, headers, url, now + 299_000), { secret: 'signing-key' })).not.toThrow();
    expect(() => verify(req(body, headers, url, now + 301_000), { secret: 'signing-key' })).toThrow(/window/);
    expect(() => verify(req(body, headers, url, now - 301_000), { secret: 'signing-key' })).toThrow(/window/);
    expect(() => verify(req(body, headers, `${url}x`, now), { secret: 'signing-key' })).toThrow();
    expect(() => verify(req(body, headers, url, now), { secret: 'other' })).toThrow();
    expect(() => verify(req(Buffer.concat([body, Buffer.from(' ')]), headers, url, now), { secret: 'signing-key' })).toThrow();
  });
});

describe('Gupshup x-wact-token', () => {
  it('requires the configured token exactly', () => {
    const body = fixture('gupshup-v2.json');
    expect(() => verifyGupshupToken(req(body, { 'x-wact-token': 'tok-123' }), { secret: 'tok-123' })).not.toThrow();
    expect(() => verifyGupshupToken(req(body, { 'x-wact-token': 'tok-1234' }), { secret: 'tok-123' })).toThrow();
    expect(() => verifyGupshupToken(req(body, {}), { secret: 'tok-123' })).toThrow();
  });
});
