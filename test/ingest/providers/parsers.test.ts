import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WactError } from '../../../shared/errors/errors.ts';
import { createProviderRegistry } from '../../../ingest/providers/registry.ts';
import { PROVIDERS, type ParsedWebhook, type WebhookRequest } from '../../../ingest/providers/provider-types.ts';
import { fixture } from '../support/fixtures.ts';

const providers = createProviderRegistry();
const NOW = Date.UTC(2025, 6, 1);
const req = (body: Buffer | string): WebhookRequest => ({
  rawBody: Buffer.isBuffer(body) ? body : Buffer.from(body),
  headers: {},
  url: 'https://x/y',
  receivedAt: NOW,
});

describe('provider parsers keep only attribution metadata', () => {
  it('meta: text + CTWA referral → phone, id, time, ref code, ctwa_clid/source; no text, names or creative', () => {
    const out = providers.meta.parse(req(fixture('meta-text-referral.json')));
    expect(out).toEqual({
      ignored: 0,
      messages: [
        {
          messageId: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=',
          sender: { kind: 'phone', e164: '+447700900123' },
          timestamp: new Date(1750275992 * 1000),
          type: 'text',
          refCode: '7K3M9QX2T4WB',
          referral: {
            ctwaClid: 'ARAkLkA8rmlFeiCktEJQ-QTwRiyYHAFDLMNDBH0CD3qpjd0HR4irJ6LEkR7JwFF4XvnO2E4Nx0-eM-ZABe-sY6TfrAvhSrg',
            sourceId: '2048198772270498',
            sourceType: 'ad',
            sourceUrl: 'https://fb.me/3cr4Wqqkk',
          },
        },
      ],
    });
    expect(JSON.stringify(out)).not.toMatch(/sofa|Sheena|Summer sale|welcome|How can we help/);
  });

  it('meta: voice note kept as a bare message, group message and status ignored', () => {
    const out = providers.meta.parse(req(fixture('meta-media-status-group.json')));
    expect(out.messages).toHaveLength(1);
    expect(out.messages[0]).toMatchObject({ type: 'audio', sender: { kind: 'phone', e164: '+12025550142' } });
    expect(out.messages[0].refCode).toBeUndefined();
    expect(out.ignored).toBe(2);
    expect(JSON.stringify(out)).not.toMatch(/1003383421387256|ogg|Priya|Marcus|120363025246125888/);
  });

  it('meta: a sender without phone is keyed by the business-scoped user id', () => {
    const body = JSON.parse(fixture('meta-text-referral.json').toString());
    const m = body.entry[0].changes[0].value.messages[0];
    delete m.from;
    m.from_user_id = 'US.13491208655302741918';
    expect(providers.meta.parse(req(JSON.stringify(body))).messages[0].sender).toEqual({ kind: 'bsuid', id: 'US.13491208655302741918' });
  });

  it('twilio: From, MessageSid, referral; drops Body, ProfileName, location, ad creative', () => {
    const out = providers.twilio.parse(req(fixture('twilio-inbound.form')));
    expect(out.messages[0]).toMatchObject({
      messageId: 'SM8d1e4a7c2b9f40d3a6e5c1b7f2a9d3e4',
      sender: { kind: 'phone', e164: '+447700900456' },
      refCode: '9P2M7K3QX4WB',
      referral: {
        ctwaClid: 'ARAkTwilioCtwaClid0000synthetic0123456789abcdef',
        sourceId: '120208888888888888',
        sourceType: 'ad',
        sourceUrl: 'https://fb.me/7abcDEF',
      },
    });
    expect(out.messages[0].timestamp.getTime()).toBe(NOW);
    expect(JSON.stringify(out)).not.toMatch(/quote|Sheena|Downing|51\.5|Get a/);
  });

  it('twilio: status callbacks are ignored', () => {
    expect(
      providers.twilio.parse(req('MessageSid=SM8d1e4a7c2b9f40d3a6e5c1b7f2a9d3e4&MessageStatus=delivered&From=whatsapp%3A%2B14155238886')),
    ).toEqual({ messages: [], ignored: 1 });
  });

  it('360dialog: the Cloud API envelope', () => {
    const out = providers['360dialog'].parse(req(fixture('360dialog-text.json')));
    expect(out.messages[0]).toMatchObject({ sender: { e164: '+447700900789' }, refCode: '4WBX7K3M9QT2', type: 'text' });
    expect(JSON.stringify(out)).not.toMatch(/jacket|Jonas/);
  });

  it('bird: whatsapp.inbound with +E164 sender and ISO createdAt', () => {
    const out = providers.bird.parse(req(fixture('bird-inbound.json')));
    expect(out.messages[0]).toMatchObject({
      messageId: '5f0c1c1e-7d2a-4b8e-9d7e-2a1f3c4b5d6e',
      sender: { e164: '+12025550177' },
      refCode: 'QT2X4WB7K3M9',
      timestamp: new Date('2023-12-13T19:33:57.917Z'),
    });
    expect(JSON.stringify(out)).not.toMatch(/Denver|Dana/);
    expect(providers.bird.parse(req('{"service":"channels","event":"whatsapp.outbound","payload":{}}'))).toEqual({
      messages: [],
      ignored: 1,
    });
  });

  it('gupshup: v2 (ms timestamp) and v3 (Meta envelope, ms timestamp)', () => {
    const v2 = providers.gupshup.parse(req(fixture('gupshup-v2.json')));
    expect(v2.messages[0]).toMatchObject({
      messageId: 'ABEGkZlXmJkFAhDbVzEeE3v2dVbX',
      sender: { e164: '+447700900321' },
      refCode: 'M9QT2X4WB7K3',
      timestamp: new Date(1750278000123),
    });
    const v3 = providers.gupshup.parse(req(fixture('gupshup-v3.json')));
    expect(v3.messages[0]).toMatchObject({ sender: { e164: '+12025550188' }, type: 'image', timestamp: new Date(1750278100456) });
    expect(JSON.stringify([v2, v3])).not.toMatch(/Booking|Aisha|receipt|Ravi/);
    expect(providers.gupshup.parse(req('{"type":"user-event","payload":{"type":"opted-in"}}'))).toEqual({ messages: [], ignored: 1 });
  });

  it('refuses an invalid sender phone with a 400 that does not echo it', () => {
    const body = fixture('meta-text-referral.json').toString().replaceAll('447700900123', '12345');
    try {
      providers.meta.parse(req(body));
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(WactError);
      expect((err as WactError).status).toBe(400);
      expect((err as Error).message).not.toContain('12345');
    }
  });
});

/** A parser may return a result or throw a 4xx WactError: nothing else, ever. */
function mustBeClean(run: () => ParsedWebhook): void {
  try {
    const out = run();
    expect(Array.isArray(out.messages)).toBe(true);
  } catch (err) {
    if (!(err instanceof WactError) || err.status < 400 || err.status >= 500) throw err;
  }
}

const jsonFixtures: Record<string, string> = {
  meta: 'meta-text-referral.json',
  '360dialog': '360dialog-text.json',
  bird: 'bird-inbound.json',
  gupshup: 'gupshup-v2.json',
};

/** Replaces one random node of a JSON tree by an arbitrary value. */
function mutate(tree: unknown, path: number[], replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  if (Array.isArray(tree) && tree.length) {
    const i = path[0] % tree.length;
    const copy = [...tree];
    copy[i] = mutate(copy[i], path.slice(1), replacement);
    return copy;
  }
  if (tree && typeof tree === 'object') {
    const keys = Object.keys(tree);
    if (!keys.length) return replacement;
    const k = keys[path[0] % keys.length];
    return { ...(tree as object), [k]: mutate((tree as Record<string, unknown>)[k], path.slice(1), replacement) };
  }
  return replacement;
}

describe('property: no parser crashes on random or mutated input', () => {
  for (const name of PROVIDERS) {
    it(`${name}: random bytes and random JSON`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => mustBeClean(() => providers[name].parse(req(Buffer.from(bytes))))),
        { numRuns: 300 },
      );
      fc.assert(
        fc.property(fc.jsonValue(), (v) => mustBeClean(() => providers[name].parse(req(JSON.stringify(v))))),
        { numRuns: 300 },
      );
    });
  }

  for (const [name, file] of Object.entries(jsonFixtures)) {
    it(`${name}: fixture with one node replaced by anything`, () => {
      const base = JSON.parse(fixture(file).toString());
      fc.assert(
        fc.property(fc.array(fc.nat(), { maxLength: 8 }), fc.jsonValue(), (path, value) => {
          mustBeClean(() => providers[name as 'meta'].parse(req(JSON.stringify(mutate(base, path, value)))));
        }),
        { numRuns: 400 },
      );
    });
  }

  it('twilio: form with random keys/values and mutated fixture fields', () => {
    const base = [...new URLSearchParams(fixture('twilio-inbound.form').toString()).entries()];
    fc.assert(
      fc.property(
        fc.nat(),
        fc.string({ maxLength: 80 }),
        fc.dictionary(fc.string({ maxLength: 12 }), fc.string({ maxLength: 40 })),
        (i, v, extra) => {
          const entries = base.map(([k, val], j) => [k, j === i % base.length ? v : val] as [string, string]);
          const form = new URLSearchParams([...entries, ...Object.entries(extra)]).toString();
          mustBeClean(() => providers.twilio.parse(req(form)));
        },
      ),
      { numRuns: 400 },
    );
  });
});
