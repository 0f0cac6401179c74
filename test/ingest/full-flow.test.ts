import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorActor } from '../../cli/operator.ts';
import { fixture } from './support/fixtures.ts';
import { signedHeaders, startHarness, type Harness } from './support/harness.ts';
import { exportEnv, startReceiver } from './support/receiver.ts';

let h: Harness;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let failFirstTiktok = true;

beforeAll(async () => {
  receiver = await startReceiver((r) => {
    // TikTok's first attempt fails with 503: the queue must retry with backoff
    if (r.path.startsWith('/tiktok') && failFirstTiktok) {
      failFirstTiktok = false;
      return 503;
    }
    return 200;
  });
  h = await startHarness({ ...exportEnv(receiver.base), WACT_KEY_CACHE_TTL_SECONDS: '1' });
});
afterAll(async () => {
  await h?.close();
  await receiver?.close();
});

const CREDS = {
  meta: { accessToken: 'meta-token-abc', datasetId: '1234567890', wabaId: '102290129340398' },
  google: { accessToken: 'g-token', developerToken: 'dev-token', customerId: '1234567890', conversionActionId: '987654' },
  microsoft: {
    accessToken: 'ms-token',
    developerToken: 'ms-dev',
    customerId: '111',
    customerAccountId: '222',
    conversionName: 'WhatsApp purchase',
  },
  tiktok: { accessToken: 'tt-token', eventSourceId: 'CPIXEL123' },
  linkedin: { accessToken: 'li-token', conversionRuleId: '424242' },
};

describe('full flow: click → redirect with ref → webhook → attributed conversation → conversion → exports', () => {
  it('carries the right click ids to every connected platform, audits the exporter, retries failures', async () => {
    const ws = await h.operator.workspaces.create({ name: 'Full flow', region: 'us' }, operatorActor());
    await h.ops.bsp.set(ws, { provider: 'meta', secret: 'meta-secret-flow' });
    for (const [p, c] of Object.entries(CREDS)) await h.ops.platforms.set(ws, p, c);
    const link = await h.ops.links.create(ws, { phone: '+1 202 555 0100', text: 'Hello Demo Shop' });
    const key = (await h.ops.apiKeys.create(ws)).key;

    const gclid = 'Cj0KCQjwFullFlowGclid_0123456789abcdef';
    const msclkid = '3f2e1d0c9b8a7f6e5d4c3b2a19081726';
    const ttclid = 'E.C.P.FullFlowTtclid0123456789';
    const liFatId = 'f4e3d2c1-b0a9-4876-9543-210fedcba987';
    const fbclid = 'IwAR3FullFlowFbclid_abcdefghijklmnopqrstuvwxyz';
    const click = await h.http(
      'GET',
      `/r/${ws.id}/${link.id}?gclid=${gclid}&msclkid=${msclkid}&ttclid=${ttclid}&li_fat_id=${liFatId}&fbclid=${fbclid}&utm_source=facebook&utm_campaign=summer&evil=<x>`,
    );
    expect(click.status).toBe(302);
    expect(click.headers['cache-control']).toBe('no-store');
    const location = new URL(String(click.headers.location));
    expect(location.origin + location.pathname).toBe('https://wa.me/12025550100');
    const text = location.searchParams.get('text')!;
    const ref = /ref: ([0-9A-Z]{12})/.exec(text)![1];
    expect(text).toBe(`Hello Demo Shop (ref: ${ref})`);

    // the visitor sends the prefilled text from their phone
    const body = Buffer.from(
      fixture('meta-text-referral.json')
        .toString()
        .replace('Hi, I saw your ad about the blue sofa (ref: 7K3M9QX2T4WB)', text)
        .replaceAll('447700900123', '12025550199')
        .replace(/"timestamp": "\d+"/, `"timestamp": "${Math.floor(Date.now() / 1000)}"`),
    );
    const wh = await h.http('POST', `/v1/webhooks/meta/${ws.id}`, { body, headers: signedHeaders('meta', 'meta-secret-flow', body, '') });
    expect(wh.status).toBe(200);

    const pool = h.operator.pools.region('us');
    const conv = (await pool.query('SELECT * FROM wact.conversations WHERE workspace_id = $1', [ws.id])).rows;
    const clicks = (await pool.query('SELECT * FROM wact.clicks WHERE workspace_id = $1 AND source = $2', [ws.id, 'link'])).rows;
    expect(conv).toHaveLength(1);
    expect(conv[0].attribution_method).toBe('ref_code'); // the ref code wins over the CTWA referral
    expect(conv[0].matched_click_id).toBe(clicks[0].id);
    expect(Number(conv[0].attribution_latency_ms)).toBeGreaterThanOrEqual(0);
    expect(clicks[0].utm_source).toBe('facebook');
    expect(clicks[0].click_id_prefixes).toMatchObject({ gclid: 'Cj0K', fbclid: 'IwAR' });

    // the customer's backend reports a purchase by phone
    const conversion = await h.http('POST', '/v1/conversions', {
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        phone: '+1 (202) 555-0199',
        event: 'Purchase',
        value: 49.9,
        currency: 'USD',
        occurred_at: new Date().toISOString(),
        event_id: 'order-1001',
      }),
    });
    expect(conversion.status).toBe(201);
    const c = conversion.json();
    expect(c).toMatchObject({ attributed: true, conversation_id: conv[0].id });
    expect(c.exports.sort()).toEqual(['google', 'linkedin', 'meta', 'microsoft', 'tiktok']);

    const google = await receiver.waitFor((r) => r.path.startsWith('/google'));
    expect(google.path).toBe('/google/customers/1234567890:uploadClickConversions');
    expect(google.headers['developer-token']).toBe('dev-token');
    // REST JSON (lowerCamelCase), orderId = our conversion id (what a retraction identifies it by).
    expect(google.body.conversions[0]).toMatchObject({
      gclid,
      conversionAction: 'customers/1234567890/conversionActions/987654',
      conversionValue: 49.9,
      currencyCode: 'USD',
      orderId: c.id,
    });
    expect(google.body.partialFailure).toBe(true);
    expect(google.body.conversions[0].conversionDateTime).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+00:00$/);

    const meta = await receiver.waitFor((r) => r.path.startsWith('/meta'));
    expect(meta.body.data[0]).toMatchObject({
      event_name: 'Purchase',
      event_id: c.id,
      action_source: 'chat',
      user_data: { fbc: expect.stringMatching(new RegExp(`^fb\\.1\\.\\d{13}\\.${fbclid}$`)) },
    });
    expect(Number.isInteger(meta.body.data[0].event_time)).toBe(true);

    const ms = await receiver.waitFor((r) => r.path.startsWith('/microsoft'));
    expect(ms.body.OfflineConversions[0]).toMatchObject({
      MicrosoftClickId: msclkid,
      ConversionName: 'WhatsApp purchase',
      ConversionValue: 49.9,
    });
    expect(ms.body.OfflineConversions[0].ConversionTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(ms.headers.authorization).toMatch(/^Bearer /); // REST: Authorization, as the deletion call

    const li = await receiver.waitFor((r) => r.path.startsWith('/linkedin'));
    expect(li.body).toMatchObject({
      conversion: 'urn:lla:llaPartnerConversion:424242',
      eventId: c.id,
      user: { userIds: [{ idType: 'LINKEDIN_FIRST_PARTY_ADS_TRACKING_UUID', idValue: liFatId }] },
    });
    expect(li.body.conversionHappenedAt).toBeGreaterThan(1e12);

    // TikTok: first attempt 503, then the retry succeeds
    await receiver.waitFor(
      (r) => r.path.startsWith('/tiktok') && receiver.received.filter((x) => x.path.startsWith('/tiktok')).length >= 2,
      30_000,
    );
    const tt = receiver.received.filter((r) => r.path.startsWith('/tiktok'));
    expect(tt[1].headers['access-token']).toBe('tt-token');
    expect(tt[1].body).toMatchObject({
      event_source: 'web',
      event_source_id: 'CPIXEL123',
      data: [{ event: 'Purchase', event_id: c.id, user: { ttclid } }],
    });

    // every attempt recorded; tiktok: failed then sent
    const until = Date.now() + 10_000;
    let attempts: { platform: string; outcome: string; http_status: number }[] = [];
    while (Date.now() < until) {
      attempts = (
        await pool.query(
          `SELECT j.platform, a.outcome, a.http_status FROM wact.export_attempts a JOIN wact.export_jobs j ON j.id = a.export_job_id WHERE a.workspace_id = $1 ORDER BY j.platform, a.attempt`,
          [ws.id],
        )
      ).rows;
      if (attempts.filter((a) => a.outcome === 'sent').length === 5) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(attempts.filter((a) => a.platform === 'tiktok').map((a) => [a.outcome, a.http_status])).toEqual([
      ['failed', 503],
      ['sent', 200],
    ]);
    expect(attempts.filter((a) => a.outcome === 'sent')).toHaveLength(5);

    // each exporter read is in the audit log as service:exporter
    const audit = await pool.query(
      `SELECT actor_id, target_type, reason FROM audit.events WHERE stream_id IS NOT NULL AND actor_id = 'service:exporter' AND target_type = 'export_job' AND metadata LIKE '%' || $1 || '%'`,
      ['tiktok'],
    );
    expect(audit.rows.length).toBeGreaterThanOrEqual(2);

    // the same event_id again is a duplicate, not a second conversion or export
    const again = await h.http('POST', '/v1/conversions', {
      headers: { 'x-api-key': key, 'content-type': 'application/json' },
      body: JSON.stringify({ phone: '+12025550199', event: 'Purchase', occurred_at: new Date().toISOString(), event_id: 'order-1001' }),
    });
    expect(again.status).toBe(200);
    expect(again.json()).toMatchObject({ id: c.id, duplicate: true });

    // a CTWA conversation without a ref code is attributed by ctwa_clid
    const ctwa = Buffer.from(
      fixture('meta-text-referral.json')
        .toString()
        .replaceAll('447700900123', '12025550198')
        .replace('(ref: 7K3M9QX2T4WB)', '')
        .replace('wamid.HBgLMTY1', 'wamid.CTWA')
        .replace(/"timestamp": "\d+"/, `"timestamp": "${Math.floor(Date.now() / 1000)}"`),
    );
    expect(
      (await h.http('POST', `/v1/webhooks/meta/${ws.id}`, { body: ctwa, headers: signedHeaders('meta', 'meta-secret-flow', ctwa, '') }))
        .status,
    ).toBe(200);
    const c2 = await h.http('POST', '/v1/conversions', {
      headers: { 'x-api-key': key, 'content-type': 'application/json' },
      body: JSON.stringify({ phone: '12025550198', event: 'Lead', occurred_at: new Date().toISOString() }),
    });
    expect(c2.json()).toMatchObject({ attributed: true, exports: ['meta'] });
    const metaCtwa = await receiver.waitFor((r) => r.path.startsWith('/meta') && r.body.data[0].event_name === 'Lead');
    expect(metaCtwa.body.data[0]).toMatchObject({
      action_source: 'business_messaging',
      messaging_channel: 'whatsapp',
      user_data: {
        ctwa_clid: 'ARAkLkA8rmlFeiCktEJQ-QTwRiyYHAFDLMNDBH0CD3qpjd0HR4irJ6LEkR7JwFF4XvnO2E4Nx0-eM-ZABe-sY6TfrAvhSrg',
        whatsapp_business_account_id: '102290129340398',
      },
    });

    // an unknown phone is stored, unattributed, with no export
    const c3 = await h.http('POST', '/v1/conversions', {
      headers: { 'x-api-key': key, 'content-type': 'application/json' },
      body: JSON.stringify({ phone: '+447700900999', event: 'Purchase', occurred_at: new Date().toISOString() }),
    });
    expect(c3.status).toBe(201);
    expect(c3.json()).toMatchObject({ attributed: false, conversation_id: null, exports: [] });
  }, 60_000);
});

describe('conversions after a hashing-key rotation', () => {
  it('still match the conversation hashed under the previous key version', async () => {
    const ws = await h.operator.workspaces.create({ name: 'Rotation', region: 'eu' }, operatorActor());
    await h.ops.bsp.set(ws, { provider: 'gupshup', secret: 'gupshup-rotation-token' });
    const key = (await h.ops.apiKeys.create(ws)).key;
    const body = Buffer.from(
      fixture('gupshup-v2.json')
        .toString()
        .replace('1750278000123', String(Date.now() - 60_000)),
    );
    const wh = await h.http('POST', `/v1/webhooks/gupshup/${ws.id}`, {
      body,
      headers: signedHeaders('gupshup', 'gupshup-rotation-token', body, ''),
    });
    expect(wh.status).toBe(200);
    await h.operator.workspaces.rotateKeys(ws.id, operatorActor());
    // ingest sees another process's rotation after WACT_KEY_CACHE_TTL_SECONDS (1 s in this file)
    await new Promise((r) => setTimeout(r, 1200));
    const res = await h.http('POST', '/v1/conversions', {
      headers: { 'x-api-key': key, 'content-type': 'application/json' },
      body: JSON.stringify({ phone: '+44 7700 900321', event: 'Booking', occurred_at: new Date().toISOString() }),
    });
    expect(res.status).toBe(201);
    expect(res.json().conversation_id).not.toBeNull();
  });
});
