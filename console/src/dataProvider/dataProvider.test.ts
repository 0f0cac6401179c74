// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createDataProvider } from './index.ts';
import { httpClient, setCsrfToken } from '../http/httpClient.ts';
import { setAccessReason } from '../workspace/accessReason.ts';

interface Call {
  url: string;
  method: string;
  headers: Headers;
  body?: string;
  credentials?: RequestCredentials;
}

function fakeFetch(respond: (call: Call) => { status?: number; body?: unknown; headers?: Record<string, string> }) {
  const calls: Call[] = [];
  const fn = vi.fn(async (url: string, init: RequestInit = {}) => {
    const call = {
      url,
      method: (init.method ?? 'GET').toUpperCase(),
      headers: new Headers(init.headers),
      body: init.body as string | undefined,
      credentials: init.credentials,
    };
    calls.push(call);
    const r = respond(call);
    return new Response(r.body === undefined ? null : JSON.stringify(r.body), {
      status: r.status ?? 200,
      headers: { 'Content-Type': 'application/json', ...(r.headers ?? {}) },
    });
  });
  vi.stubGlobal('fetch', fn);
  return calls;
}

const WS = '7b0f3c2e-1111-4a4a-9c9c-000000000001';

describe('dataProvider', () => {
  beforeEach(() => {
    setCsrfToken(undefined);
    setAccessReason(undefined);
  });
  afterEach(() => {
    vi.unstubAllGlobals();
    document.cookie = 'wact_csrf=; expires=Thu, 01 Jan 1970 00:00:00 GMT';
  });

  it('lists a workspace resource under /api/workspaces/:id with simple-REST parameters and reads the total from Content-Range', async () => {
    const calls = fakeFetch(() => ({ body: [{ id: 'c1' }, { id: 'c2' }], headers: { 'Content-Range': 'conversations 0-1/319' } }));
    const dp = createDataProvider({ getWorkspaceId: () => WS });
    const res = await dp.getList('conversations', {
      pagination: { page: 2, perPage: 25 },
      sort: { field: 'startedAt', order: 'DESC' },
      filter: { provider: 'meta' },
    });
    expect(res.total).toBe(319);
    expect(res.data.map((r) => r.id)).toEqual(['c1', 'c2']);
    const url = new URL(calls[0].url, 'https://console.test');
    expect(url.pathname).toBe(`/api/workspaces/${WS}/conversations`);
    expect(JSON.parse(url.searchParams.get('sort')!)).toEqual(['startedAt', 'DESC']);
    expect(JSON.parse(url.searchParams.get('range')!)).toEqual([25, 49]);
    expect(JSON.parse(url.searchParams.get('filter')!)).toEqual({ provider: 'meta' });
    expect(calls[0].credentials).toBe('same-origin');
    expect(calls[0].headers.get('X-CSRF-Token')).toBeNull();
  });

  it('maps employee resources to /api without a workspace', async () => {
    const calls = fakeFetch(() => ({ body: [], headers: { 'Content-Range': 'x 0-0/0' } }));
    const dp = createDataProvider({ getWorkspaceId: () => undefined });
    await dp.getList('db-sessions', { pagination: { page: 1, perPage: 10 }, sort: { field: 'createdAt', order: 'DESC' }, filter: {} });
    await dp.getList('approvals', {
      pagination: { page: 1, perPage: 10 },
      sort: { field: 'createdAt', order: 'ASC' },
      filter: { status: 'pending' },
    });
    expect(new URL(calls[0].url, 'https://x').pathname).toBe('/api/db/sessions');
    expect(new URL(calls[1].url, 'https://x').pathname).toBe('/api/db/sessions');
    expect(JSON.parse(new URL(calls[1].url, 'https://x').searchParams.get('filter')!)).toEqual({ status: 'pending' });
  });

  it('creates access requests and support sessions at their own routes and keeps the gateway password out of the record', async () => {
    const calls = fakeFetch((c) =>
      c.url === '/api/db/requests'
        ? {
            status: 201,
            body: {
              session: { id: 's1', status: 'active', scope: 'redacted' },
              connection: { host: 'gw', port: 6432, database: 'wact', user: 's1', sslmode: 'verify-full', password: 'secret-token' },
            },
          }
        : { status: 201, body: { id: 's2', status: 'active', purpose: 'support', workspaceId: WS, expiresAt: '2030-01-01T00:00:00Z' } },
    );
    const dp = createDataProvider({ getWorkspaceId: () => undefined });
    const created = await dp.create('db-sessions', {
      data: { workspaceId: WS, reason: 'INC0012345 slow query', scope: 'redacted', ttlMinutes: 5 },
    });
    expect(calls[0].url).toBe('/api/db/requests');
    expect(JSON.parse(calls[0].body!)).toEqual({ workspaceId: WS, reason: 'INC0012345 slow query', scope: 'redacted', ttl: '5m' });
    expect(created.data).toEqual({ id: 's1', status: 'active', scope: 'redacted' });
    expect(JSON.stringify(created)).not.toContain('secret-token');
    const { takeConnection } = await import('./connections.ts');
    expect(takeConnection('s1')?.password).toBe('secret-token');
    expect(takeConnection('s1')).toBeUndefined();
    const support = await dp.create('support-sessions', {
      data: { workspaceId: WS, reason: 'TICKET-5 cannot see clicks', ttlMinutes: 15 },
    });
    expect(calls[1].url).toBe(`/api/workspaces/${WS}/support/sessions`);
    expect(JSON.parse(calls[1].body!)).toEqual({ reason: 'TICKET-5 cannot see clicks', ttl: '15m' });
    expect(support.data.id).toBe('s2');
  });

  it('refuses a workspace resource when no workspace is chosen, without calling the API', async () => {
    const calls = fakeFetch(() => ({ body: [] }));
    const dp = createDataProvider({ getWorkspaceId: () => undefined });
    await expect(
      dp.getList('clicks', { pagination: { page: 1, perPage: 10 }, sort: { field: 'id', order: 'ASC' }, filter: {} }),
    ).rejects.toThrow(/workspace/i);
    expect(calls).toHaveLength(0);
  });

  it('fails loudly when the list answer has no Content-Range (the pagination total would be wrong)', async () => {
    fakeFetch(() => ({ body: [] }));
    const dp = createDataProvider({ getWorkspaceId: () => WS });
    await expect(
      dp.getList('links', { pagination: { page: 1, perPage: 10 }, sort: { field: 'id', order: 'ASC' }, filter: {} }),
    ).rejects.toThrow(/Content-Range/);
  });

  it('sends the CSRF token from the cookie on writes only', async () => {
    document.cookie = 'wact_csrf=tok-123; path=/';
    const calls = fakeFetch((c) => ({ body: c.method === 'POST' ? { id: 'l1', waNumber: '4915123456789' } : { id: 'l1' } }));
    const dp = createDataProvider({ getWorkspaceId: () => WS });
    await dp.getOne('links', { id: 'l1' });
    await dp.create('links', { data: { waNumber: '4915123456789' } });
    await dp.update('members', { id: 'm1', data: { role: 'analyst' }, previousData: { id: 'm1' } }).catch(() => undefined);
    expect(calls[0].headers.get('X-CSRF-Token')).toBeNull();
    expect(calls[1].method).toBe('POST');
    expect(calls[1].headers.get('X-CSRF-Token')).toBe('tok-123');
    expect(JSON.parse(calls[1].body!)).toEqual({ waNumber: '4915123456789' });
    expect(calls[2].method).toBe('PUT');
    expect(calls[2].headers.get('X-CSRF-Token')).toBe('tok-123');
  });

  it('prefers a CSRF token handed out by /api/me over the cookie', async () => {
    document.cookie = 'wact_csrf=from-cookie; path=/';
    setCsrfToken('from-me');
    const calls = fakeFetch(() => ({ body: { id: 'k1' } }));
    await createDataProvider({ getWorkspaceId: () => WS }).create('api-keys', { data: { label: 'crm' } });
    expect(calls[0].headers.get('X-CSRF-Token')).toBe('from-me');
  });

  it('attaches the support reason to every read while a support session is open', async () => {
    const calls = fakeFetch(() => ({ body: [], headers: { 'Content-Range': 'x 0-0/0' } }));
    setAccessReason('TICKET-42 customer cannot see conversions');
    await createDataProvider({ getWorkspaceId: () => WS }).getList('support-conversations', {
      pagination: { page: 1, perPage: 5 },
      sort: { field: 'startedAt', order: 'DESC' },
      filter: {},
    });
    expect(new URL(calls[0].url, 'https://x').pathname).toBe(`/api/workspaces/${WS}/support/conversations`);
    expect(calls[0].headers.get('X-Wact-Reason')).toBe('TICKET-42 customer cannot see conversions');
  });

  it('a reason with characters a header cannot carry does not break the request (header made Latin-1 safe)', async () => {
    const calls = fakeFetch(() => ({ body: [], headers: { 'Content-Range': 'x 0-0/0' } }));
    setAccessReason('Ticket für Kunde 🙂 #12');
    await createDataProvider({ getWorkspaceId: () => WS }).getList('support-clicks', {
      pagination: { page: 1, perPage: 5 },
      sort: { field: 'created_at', order: 'DESC' },
      filter: {},
    });
    expect(calls[0].headers.get('X-Wact-Reason')).toBe('Ticket für Kunde ?? #12');
  });

  it('unmask requires a reason and posts it (header and body) to the record', async () => {
    const calls = fakeFetch(() => ({ body: { value: '+4915123456789' } }));
    const dp = createDataProvider({ getWorkspaceId: () => WS });
    await expect(dp.unmask('conversations', { id: 'c1', field: 'sender', reason: ' ' })).rejects.toThrow(/reason/i);
    expect(calls).toHaveLength(0);
    const { value } = await dp.unmask('conversations', { id: 'c1', field: 'sender', reason: 'TICKET-7 verify sender' });
    expect(value).toBe('+4915123456789');
    expect(calls[0].url).toBe(`/api/workspaces/${WS}/conversations/c1/unmask`);
    expect(calls[0].method).toBe('POST');
    expect(calls[0].headers.get('X-Wact-Reason')).toBe('TICKET-7 verify sender');
    expect(JSON.parse(calls[0].body!)).toEqual({ field: 'sender', reason: 'TICKET-7 verify sender' });
  });

  it('turns the broker error shape into the error message and keeps the status', async () => {
    fakeFetch(() => ({ status: 403, body: { error: { code: 'forbidden', message: 'Analysts cannot manage members' } } }));
    const err = await createDataProvider({ getWorkspaceId: () => WS })
      .getOne('members', { id: 'm1' })
      .catch((e) => e);
    expect(err.status).toBe(403);
    expect(err.message).toBe('Analysts cannot manage members');
    expect(err.code).toBe('forbidden');
  });

  it('exports through the download helper with the list filter and the current workspace', async () => {
    const download = vi.fn(async () => ({ name: 'audit.csv', size: 10 }));
    const dp = createDataProvider({ getWorkspaceId: () => WS, download });
    await dp.exportList('audit', { format: 'csv', filter: { action: 'data.read' }, path: '/api/workspaces/{ws}/audit/export' });
    const [url] = download.mock.calls[0] as unknown as [string];
    const u = new URL(url, 'https://x');
    expect(u.pathname).toBe(`/api/workspaces/${WS}/audit/export`);
    expect(u.searchParams.get('format')).toBe('csv');
    expect(JSON.parse(u.searchParams.get('filter')!)).toEqual({ action: 'data.read' });
  });

  it('httpClient never puts credentials anywhere but the cookie jar', async () => {
    const calls = fakeFetch(() => ({ body: {} }));
    await httpClient('/api/me');
    expect(calls[0].headers.get('Authorization')).toBeNull();
    expect(localStorage.length).toBe(0);
  });
});
