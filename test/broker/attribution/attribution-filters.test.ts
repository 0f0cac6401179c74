import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type ApiClient, type TestBroker } from '../../support/broker.ts';

/**
 * Bad input yields 400 JSON, never a 500: every date / text filter of the
 * attribution lists and exports and of the WAct-access list, with malformed
 * values that used to reach PostgreSQL's casts (e.g. from=2024-01-01x passed an
 * unanchored regex and failed in the timestamptz cast).
 */
describe('list and export filters refuse malformed values with 400 JSON', () => {
  let broker: TestBroker;
  let ws: { id: string };
  let admin: ApiClient;

  beforeAll(async () => {
    broker = await startTestBroker();
    ws = (await broker.createWorkspace()) as typeof ws;
    admin = await broker.createCustomer(ws.id, 'admin').then((c) => broker.loginAs(c.identity));
  }, 120_000);
  afterAll(async () => broker?.close());

  const badDays = [
    '2024-01-01x',
    '2024-02-30',
    '2023-02-29',
    '2024-13-01',
    '0000-01-01',
    '2024-1-1',
    ' 2024-01-01',
    'yesterday',
    '2024-01-01T00:00:00Z',
    12,
  ];
  const badTimestamps = ['2024-01-01x', '2024-02-30T00:00:00Z', '0000-01-01T00:00:00Z', '2024-01-01T24:00:00Z', '2024-01-01', 'now'];
  const nul = 'a\u0000b';

  const cases: Array<[string, Record<string, unknown>]> = [
    ...badDays.flatMap((v): Array<[string, Record<string, unknown>]> => [
      ['conversations', { from: v }],
      ['conversations', { to: v }],
      ['clicks', { from: v }],
      ['clicks', { to: v }],
    ]),
    ['conversations', { provider: nul }],
    ['conversations', { attributionMethod: nul }],
    ['conversations', { q: nul }],
    ['clicks', { utmCampaign: nul }],
    ['clicks', { source: 'email' }],
    ['conversions', { event: nul }],
    ['conversions', { attributed: 'yes' }],
    ...badTimestamps.flatMap((v): Array<[string, Record<string, unknown>]> => [
      ['wact-access', { from: v }],
      ['wact-access', { to: v }],
    ]),
    ['wact-access', { q: nul }],
  ];

  it.each(cases.map(([r, f]) => [`${r} ${JSON.stringify(f)}`, r, f]))('%s', async (_label, resource, filter) => {
    const f = encodeURIComponent(JSON.stringify(filter));
    const list = await admin.get(`/api/workspaces/${ws.id}/${resource}?filter=${f}`);
    expect(list.status).toBe(400);
    expect(list.headers.get('content-type')).toMatch(/application\/json/);
    expect(list.body.error?.code ?? list.body.code).toBe('invalid_query');
    const exp = await admin.get(`/api/workspaces/${ws.id}/${resource}/export?format=csv&filter=${f}`);
    expect(exp.status).toBe(400);
  });

  it('well-formed dates still work (the refusals are not blanket)', async () => {
    for (const resource of ['conversations', 'clicks']) {
      const f = encodeURIComponent(JSON.stringify({ from: '2024-02-29', to: '2030-12-31' }));
      expect((await admin.get(`/api/workspaces/${ws.id}/${resource}?filter=${f}`)).status).toBe(200);
    }
    const f = encodeURIComponent(JSON.stringify({ from: '2024-02-29T00:00:00Z', to: '2030-12-31T23:59:59+02:00' }));
    expect((await admin.get(`/api/workspaces/${ws.id}/wact-access?filter=${f}`)).status).toBe(200);
  });
});
