import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorActor } from '../../cli/operator.ts';
import { fixture } from './support/fixtures.ts';
import { signedHeaders, startHarness, type Harness, type JsonBody } from './support/harness.ts';

type HttpResult = Awaited<ReturnType<Harness['http']>>;

let h: Harness;
let ws: { id: string; region: 'eu' | 'us' };
let key: string;
const SECRET = 'bad-input-secret';

beforeAll(async () => {
  h = await startHarness({ INGEST_BODY_LIMIT_BYTES: '16384' });
  ws = await h.operator.workspaces.create({ name: 'Bad input', region: 'eu' }, operatorActor());
  for (const p of ['meta', 'twilio', 'gupshup'] as const) await h.ops.bsp.set(ws, { provider: p, secret: SECRET });
  key = (await h.ops.apiKeys.create(ws)).key;
});
afterAll(async () => h?.close());

async function stored(): Promise<number> {
  const { rows } = await h.operator.pools.region('eu').query(
    `SELECT (SELECT count(*) FROM wact.webhook_receipts WHERE workspace_id = $1) + (SELECT count(*) FROM wact.raw_webhook_payloads WHERE workspace_id = $1)
          + (SELECT count(*) FROM wact.conversations WHERE workspace_id = $1) + (SELECT count(*) FROM wact.clicks WHERE workspace_id = $1)
          + (SELECT count(*) FROM wact.conversions WHERE workspace_id = $1) AS n`,
    [ws.id],
  );
  return Number(rows[0].n);
}

function expectJsonError(res: { status: number; headers: Record<string, unknown>; json: () => JsonBody; text: string }, status: number) {
  expect(res.status).toBe(status);
  expect(String(res.headers['content-type'])).toMatch(/application\/json/);
  const body = res.json();
  expect(typeof body.error.code).toBe('string');
  expect(typeof body.error.message).toBe('string');
  return body;
}

describe('bad input: a JSON 4xx, nothing stored, nothing echoed, the process keeps serving', () => {
  const meta = (suffix = '') => `/v1/webhooks/meta/${ws.id}${suffix}`;
  const PHONE = '447700900123';

  it('webhooks', async () => {
    const good = fixture('meta-text-referral.json');
    const cases: [string, () => Promise<HttpResult>, number][] = [
      [
        'unknown provider',
        () => h.http('POST', `/v1/webhooks/whatsup/${ws.id}`, { body: good, headers: { 'content-type': 'application/json' } }),
        404,
      ],
      [
        'unknown workspace',
        () => h.http('POST', `/v1/webhooks/meta/${randomUUID()}`, { body: good, headers: signedHeaders('meta', SECRET, good, '') }),
        404,
      ],
      [
        'not a uuid workspace',
        () => h.http('POST', `/v1/webhooks/meta/not-a-workspace`, { body: good, headers: signedHeaders('meta', SECRET, good, '') }),
        404,
      ],
      [
        'provider not configured',
        () => h.http('POST', `/v1/webhooks/bird/${ws.id}`, { body: good, headers: { 'content-type': 'application/json' } }),
        404,
      ],
      [
        'wrong content type',
        () => h.http('POST', meta(), { body: good, headers: { ...signedHeaders('meta', SECRET, good, ''), 'content-type': 'text/plain' } }),
        415,
      ],
      [
        'form to a JSON provider',
        () =>
          h.http('POST', meta(), {
            body: 'a=1',
            headers: { ...signedHeaders('meta', SECRET, Buffer.from('a=1'), ''), 'content-type': 'application/x-www-form-urlencoded' },
          }),
        415,
      ],
      ['no signature', () => h.http('POST', meta(), { body: good, headers: { 'content-type': 'application/json' } }), 401],
      // Deliveries have one route (the fast path): a path it cannot read is refused there, one beside it is not found.
      [
        'malformed escapes in the path',
        () => h.http('POST', `/v1/webhooks/meta/%E0%A4%A`, { body: good, headers: signedHeaders('meta', SECRET, good, '') }),
        400,
      ],
      [
        'a path beside the route',
        () => h.http('POST', meta('/extra'), { body: good, headers: signedHeaders('meta', SECRET, good, '') }),
        404,
      ],
      [
        'malformed JSON (validly signed)',
        () => {
          const b = Buffer.from(`{"object":"whatsapp_business_account","entry":[{"from":"${PHONE}"`);
          return h.http('POST', meta(), { body: b, headers: signedHeaders('meta', SECRET, b, '') });
        },
        400,
      ],
      [
        'missing message id (validly signed)',
        () => {
          const b = Buffer.from(good.toString().replace('"id": "wamid.', '"xid": "wamid.'));
          return h.http('POST', meta(), { body: b, headers: signedHeaders('meta', SECRET, b, '') });
        },
        400,
      ],
      [
        'invalid phone (validly signed)',
        () => {
          const b = Buffer.from(good.toString().replaceAll(PHONE, '999123'));
          return h.http('POST', meta(), { body: b, headers: signedHeaders('meta', SECRET, b, '') });
        },
        400,
      ],
      [
        'oversized body',
        () => {
          const b = Buffer.from(JSON.stringify({ object: 'whatsapp_business_account', pad: 'x'.repeat(20_000) }));
          return h.http('POST', meta(), { body: b, headers: signedHeaders('meta', SECRET, b, '') });
        },
        413,
      ],
      [
        'malformed twilio form (validly signed)',
        () => {
          const b = Buffer.from(`MessageSid=nope&From=whatsapp%3A%2B${PHONE}`);
          return h.http('POST', `/v1/webhooks/twilio/${ws.id}`, {
            body: b,
            headers: signedHeaders('twilio', SECRET, b, `${h.base}/v1/webhooks/twilio/${ws.id}`),
          });
        },
        400,
      ],
      [
        'gupshup wrong token',
        () =>
          h.http('POST', `/v1/webhooks/gupshup/${ws.id}`, {
            body: fixture('gupshup-v2.json'),
            headers: { 'content-type': 'application/json', 'x-wact-token': 'nope' },
          }),
        401,
      ],
    ];
    for (const [name, run, status] of cases) {
      const res = await run();
      const body = expectJsonError(res, status);
      expect(JSON.stringify(body), name).not.toContain(PHONE);
      expect(JSON.stringify(body), name).not.toContain('999123');
    }
    expect(await stored()).toBe(0);
    // group messages and statuses only: 200, nothing stored
    const b = fixture('meta-media-status-group.json');
    const onlyGroup = Buffer.from(
      JSON.stringify(
        (() => {
          const j = JSON.parse(b.toString());
          j.entry[0].changes[0].value.messages = j.entry[0].changes[0].value.messages.filter((m: { group_id?: string }) => m.group_id);
          return j;
        })(),
      ),
    );
    const ok = await h.http('POST', meta(), { body: onlyGroup, headers: signedHeaders('meta', SECRET, onlyGroup, '') });
    expect(ok.status).toBe(200);
    expect(ok.json()).toMatchObject({ stored: 0, ignored: 2 });
    expect(await stored()).toBe(0);
    expect((await h.http('GET', '/healthz')).status).toBe(200);
  });

  it('clicks and conversions', async () => {
    const json = { 'content-type': 'application/json', authorization: `Bearer ${key}` };
    const cases: [string, () => Promise<HttpResult>, number][] = [
      ['unknown link', () => h.http('GET', `/r/${ws.id}/AAAAAAAAAA?gclid=abc`), 404],
      ['unknown workspace link', () => h.http('GET', `/r/${randomUUID()}/AAAAAAAAAA`), 404],
      ['no api key', () => h.http('POST', '/v1/conversions', { body: '{}', headers: { 'content-type': 'application/json' } }), 401],
      [
        'forged api key',
        () =>
          h.http('POST', '/v1/conversions', {
            body: '{}',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${key.slice(0, -4)}AAAA` },
          }),
        401,
      ],
      ['malformed JSON', () => h.http('POST', '/v1/conversions', { body: `{"phone":"+${PHONE}"`, headers: json }), 400],
      [
        'wrong content type',
        () => h.http('POST', '/v1/conversions', { body: 'phone=1', headers: { ...json, 'content-type': 'text/plain' } }),
        415,
      ],
      ['missing fields', () => h.http('POST', '/v1/conversions', { body: JSON.stringify({ event: 'Purchase' }), headers: json }), 400],
      [
        'both phone and conversation_id',
        () =>
          h.http('POST', '/v1/conversions', {
            body: JSON.stringify({
              phone: `+${PHONE}`,
              conversation_id: randomUUID(),
              event: 'Purchase',
              occurred_at: new Date().toISOString(),
            }),
            headers: json,
          }),
        400,
      ],
      [
        'invalid phone',
        () =>
          h.http('POST', '/v1/conversions', {
            body: JSON.stringify({ phone: '+999123', event: 'Purchase', occurred_at: new Date().toISOString() }),
            headers: json,
          }),
        400,
      ],
      [
        'unknown field',
        () =>
          h.http('POST', '/v1/conversions', {
            body: JSON.stringify({ phone: `+${PHONE}`, event: 'Purchase', occurred_at: new Date().toISOString(), name: 'Sheena Nelson' }),
            headers: json,
          }),
        400,
      ],
      ['oversized', () => h.http('POST', '/v1/conversions', { body: JSON.stringify({ pad: 'x'.repeat(20_000) }), headers: json }), 413],
      [
        'click: malformed click id',
        () => h.http('POST', '/v1/clicks', { body: JSON.stringify({ params: { gclid: 'has space' } }), headers: json }),
        400,
      ],
      [
        'click: no api key',
        () => h.http('POST', '/v1/clicks', { body: JSON.stringify({}), headers: { 'content-type': 'application/json' } }),
        401,
      ],
    ];
    for (const [name, run, status] of cases) {
      const res = await run();
      const body = expectJsonError(res, status);
      expect(JSON.stringify(body), name).not.toContain(PHONE);
      expect(JSON.stringify(body), name).not.toContain('Sheena');
    }
    expect(await stored()).toBe(0);
    // the snippet endpoint works with a valid key
    const ok = await h.http('POST', '/v1/clicks', {
      body: JSON.stringify({ url: 'https://shop.example/p?gclid=Cj0KCQ_snippet_1&utm_source=google&other=x' }),
      headers: json,
    });
    expect(ok.status).toBe(201);
    expect(ok.json().ref_code).toMatch(/^[0-9A-Z]{12}$/);
    expect(await stored()).toBe(1);
  });
});

describe('response headers', () => {
  it('every ingest response carries the shared security headers', async () => {
    const webhook = await h.http('POST', `/v1/webhooks/meta/${ws.id}`, { body: '{}', headers: { 'content-type': 'application/json' } });
    expect(webhook.status).toBe(401);
    for (const res of [
      await h.http('GET', '/healthz'),
      await h.http('POST', '/v1/conversions', { body: '{}', headers: { 'content-type': 'application/json' } }),
      webhook,
    ]) {
      expect(res.headers['strict-transport-security']).toMatch(/max-age=\d+; includeSubDomains/);
      expect(res.headers['content-security-policy']).toMatch(/default-src 'self'/);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['x-powered-by']).toBeUndefined();
    }
  });
});
