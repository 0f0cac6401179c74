import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProviderName } from '../../ingest/providers/provider-types.ts';
import { operatorActor } from '../../cli/operator.ts';
import { fixture, sensitiveValues } from './support/fixtures.ts';
import { allColumnText, signedHeaders, startHarness, type Harness } from './support/harness.ts';

let h: Harness;
let ws: { id: string; region: 'eu' | 'us' };
const secrets: Record<ProviderName, string> = {
  meta: 'meta-app-secret-1',
  twilio: 'twilio-auth-token-1',
  '360dialog': 'd360-platform-secret',
  bird: 'bird-signing-key-1',
  gupshup: 'gupshup-token-123',
};

beforeAll(async () => {
  h = await startHarness({ WACT_KEY_CACHE_TTL_SECONDS: '1' });
  ws = await h.operator.workspaces.create({ name: 'Webhook test', region: 'eu' }, operatorActor());
  for (const p of Object.keys(secrets) as ProviderName[])
    await h.ops.bsp.set(ws, { provider: p, secret: secrets[p], verifyToken: p === 'meta' ? 'verify-token-1' : undefined });
});
afterAll(async () => h?.close());

const cases: [ProviderName, string][] = [
  ['meta', 'meta-text-referral.json'],
  ['twilio', 'twilio-inbound.form'],
  ['360dialog', '360dialog-text.json'],
  ['bird', 'bird-inbound.json'],
  ['gupshup', 'gupshup-v2.json'],
];

async function counts(workspaceId: string) {
  const { rows } = await h.operator.pools.region('eu').query(
    `SELECT (SELECT count(*) FROM wact.webhook_receipts WHERE workspace_id = $1)::int AS receipts,
            (SELECT count(*) FROM wact.raw_webhook_payloads WHERE workspace_id = $1)::int AS payloads,
            (SELECT count(*) FROM wact.conversations WHERE workspace_id = $1)::int AS conversations`,
    [workspaceId],
  );
  return rows[0];
}

describe('webhooks: real formats, real authentication', () => {
  for (const [provider, file] of cases) {
    it(`${provider}: refused (401) with a bad signature and nothing stored; accepted (200) with a valid one`, async () => {
      const w = await h.operator.workspaces.create({ name: `wh-${provider}`, region: 'eu' }, operatorActor());
      await h.ops.bsp.set(w, { provider, secret: secrets[provider] });
      const path = `/v1/webhooks/${provider}/${w.id}`;
      const body = fixture(file);
      const bad = await h.http('POST', path, { body, headers: signedHeaders(provider, 'wrong-secret-xyz', body, `${h.base}${path}`) });
      expect(bad.status).toBe(401);
      expect(bad.json().error.code).toMatch(/invalid_signature/);
      expect(await counts(w.id)).toEqual({ receipts: 0, payloads: 0, conversations: 0 });

      const ok = await h.http('POST', path, { body, headers: signedHeaders(provider, secrets[provider], body, `${h.base}${path}`) });
      expect(ok.status).toBe(200);
      expect(await counts(w.id)).toEqual({ receipts: 1, payloads: 1, conversations: 1 });

      // a signature made with another workspace's secret for the same provider is refused too
      const other = await h.http('POST', `/v1/webhooks/${provider}/${ws.id}`, {
        body,
        headers: signedHeaders(provider, 'another-ws-secret', body, `${h.base}/v1/webhooks/${provider}/${ws.id}`),
      });
      expect(other.status).toBe(401);
    });
  }

  it('stores none of the fixtures’ phone numbers, texts or names (every column of every table as text)', async () => {
    const dump = (await allColumnText(h.operator, 'eu')).toLowerCase();
    const needles = new Set<string>();
    for (const [, file] of cases) {
      for (const v of sensitiveValues(file)) {
        // phone numbers in any form, texts and names; ids of ads/apps are not personal and may be kept
        if (/^\+?\d{10,15}$/.test(v) || /^whatsapp:/.test(v) || / /.test(v)) needles.add(v.toLowerCase());
      }
    }
    for (const phone of ['447700900123', '447700900456', '447700900789', '12025550177', '447700900321']) needles.add(phone);
    needles.delete('2010-04-01');
    expect(needles.size).toBeGreaterThan(15);
    expect(dump.length).toBeGreaterThan(1000);
    const hits = [...needles].filter((n) => n.length >= 6 && dump.includes(n.replace(/^whatsapp:\+?/, '')));
    expect(hits).toEqual([]);
    // and the click id of the CTWA referral is stored only encrypted
    expect(dump).not.toContain('arakLka8rmlfeicktejq'.toLowerCase());
  });

  it('meta: GET verification handshake echoes hub.challenge only for the right verify token', async () => {
    const ok = await h.http(
      'GET',
      `/v1/webhooks/meta/${ws.id}?hub.mode=subscribe&hub.verify_token=verify-token-1&hub.challenge=1158201444`,
    );
    expect(ok.status).toBe(200);
    expect(ok.text).toBe('1158201444');
    const bad = await h.http('GET', `/v1/webhooks/meta/${ws.id}?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1158201444`);
    expect(bad.status).toBe(401);
  });
});

describe('idempotency: BSP retries give exactly one record', () => {
  for (const n of [1, 3, 10]) {
    for (const mode of ['concurrent', 'sequential'] as const) {
      it(`${n} ${mode} deliveries of one message → one receipt, one payload, one conversation`, async () => {
        const w = await h.operator.workspaces.create({ name: `idem-${n}-${mode}`, region: 'eu' }, operatorActor());
        await h.ops.bsp.set(w, { provider: 'meta', secret: secrets.meta });
        const body = Buffer.from(
          fixture('meta-text-referral.json')
            .toString()
            .replace('wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=', `wamid.${randomUUID()}`),
        );
        const path = `/v1/webhooks/meta/${w.id}`;
        const send = () => h.http('POST', path, { body, headers: signedHeaders('meta', secrets.meta, body, '') });
        const results =
          mode === 'concurrent'
            ? await Promise.all(Array.from({ length: n }, send))
            : await (async () => {
                const out = [];
                for (let i = 0; i < n; i++) out.push(await send());
                return out;
              })();
        expect(results.map((r) => r.status)).toEqual(Array(n).fill(200));
        expect(results.reduce((s, r) => s + r.json().stored, 0)).toBe(1);
        expect(await counts(w.id)).toEqual({ receipts: 1, payloads: 1, conversations: 1 });
      });
    }
  }

  it('a second message of the same sender within the window joins the conversation; after it, starts a new one', async () => {
    const w = await h.operator.workspaces.create({ name: 'window', region: 'eu' }, operatorActor());
    await h.ops.bsp.set(w, { provider: 'meta', secret: secrets.meta });
    const base = JSON.parse(fixture('meta-text-referral.json').toString());
    const post = async (id: string, ts: number) => {
      const b = structuredClone(base);
      const m = b.entry[0].changes[0].value.messages[0];
      m.id = id;
      m.timestamp = String(ts);
      delete m.referral;
      m.text.body = 'hello again';
      const body = Buffer.from(JSON.stringify(b));
      return h.http('POST', `/v1/webhooks/meta/${w.id}`, { body, headers: signedHeaders('meta', secrets.meta, body, '') });
    };
    const t0 = Math.floor(Date.now() / 1000) - 3 * 86400;
    expect((await post('wamid.a1', t0)).status).toBe(200);
    expect((await post('wamid.a2', t0 + 3600)).status).toBe(200);
    expect((await counts(w.id)).conversations).toBe(1);
    expect((await post('wamid.a3', t0 + 25 * 3600)).status).toBe(200);
    expect(await counts(w.id)).toEqual({ receipts: 3, payloads: 3, conversations: 2 });
  });
});

describe('hashing-key rotation', () => {
  it('a retry stays a duplicate, the sender keeps the conversation, a ref code minted before still attributes', async () => {
    const w = await h.operator.workspaces.create({ name: 'rotation', region: 'eu' }, operatorActor());
    await h.ops.bsp.set(w, { provider: 'meta', secret: secrets.meta });
    const link = await h.ops.links.create(w, { phone: '+1 202 555 0100', text: 'Hi' });
    const click = await h.http('GET', `/r/${w.id}/${link.id}?gclid=Cj0KRotation123`);
    const text = new URL(String(click.headers.location)).searchParams.get('text')!;
    const base = JSON.parse(fixture('meta-text-referral.json').toString());
    const post = (id: string, phone: string, body: string) => {
      const b = structuredClone(base);
      const m = b.entry[0].changes[0].value.messages[0];
      m.id = id;
      m.from = phone;
      m.timestamp = String(Math.floor(Date.now() / 1000));
      m.text.body = body;
      delete m.referral;
      const raw = Buffer.from(JSON.stringify(b));
      return h.http('POST', `/v1/webhooks/meta/${w.id}`, { body: raw, headers: signedHeaders('meta', secrets.meta, raw, '') });
    };
    expect((await post('wamid.rot1', '447700900501', 'hello')).json().stored).toBe(1);
    await h.operator.workspaces.rotateKeys(w.id, operatorActor());
    await new Promise((r) => setTimeout(r, 1200)); // ingest's key cache (1 s here) notices the new version
    expect((await post('wamid.rot1', '447700900501', 'hello')).json()).toMatchObject({ stored: 0, duplicates: 1 });
    expect((await post('wamid.rot2', '447700900501', 'again')).json().stored).toBe(1);
    expect((await post('wamid.rot3', '447700900502', text)).json().stored).toBe(1);
    const { rows } = await h.operator.pools
      .region('eu')
      .query('SELECT attribution_method FROM wact.conversations WHERE workspace_id = $1 ORDER BY created_at', [w.id]);
    expect(rows.map((r) => r.attribution_method)).toEqual([null, 'ref_code']);
  });
});
