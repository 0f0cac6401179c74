// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { DigestFiles, PublishedKeysTable } from './AuditKeys.tsx';
import { VerifyPanel } from './VerifyPanel.tsx';

const FP_OLD = 'sha256:' + '0a'.repeat(32);
const FP_NEW = 'sha256:' + 'b7'.repeat(32);
const KEYS = {
  keys: [
    {
      kid: 'local-0a0a0a0a0a0a0a0a',
      alg: 'EdDSA',
      kty: 'OKP',
      crv: 'Ed25519',
      x: 'AAAA',
      use: 'sig',
      fingerprint: FP_OLD,
      validFrom: '2026-01-01T00:00:00.000000Z',
      validTo: '2026-03-01T12:00:00.000000Z',
      source: 'local',
    },
    {
      kid: 'kms-b7b7b7b7b7b7b7b7',
      alg: 'ES256',
      kty: 'EC',
      crv: 'P-256',
      x: 'BBBB',
      y: 'CCCC',
      use: 'sig',
      fingerprint: FP_NEW,
      validFrom: '2026-03-01T12:00:00.000000Z',
      validTo: null,
      source: 'aws-kms',
    },
  ],
};

type Route = (url: string, init?: RequestInit) => Response | undefined;
let routes: Route[] = [];
const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
  const url = String(input);
  for (const r of routes) {
    const res = r(url, init);
    if (res) return res;
  }
  return new Response(JSON.stringify({ error: { code: 'not_found', message: `no route ${url}` } }), { status: 404 });
});
const json = (body: unknown, headers: Record<string, string> = {}, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });

beforeEach(() => {
  routes = [];
  fetchMock.mockClear();
  vi.stubGlobal('fetch', fetchMock);
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

function rowOf(kid: string): HTMLElement {
  return document.querySelector(`tr[data-kid="${kid}"]`) as HTMLElement;
}

describe('console: published audit keys', () => {
  it('the audit page fetches /.well-known/wact-audit-keys and shows each key whole: fingerprint, algorithm, validity, where it is held', async () => {
    routes.push((url) => (url === '/.well-known/wact-audit-keys' ? json(KEYS) : undefined));
    render(<VerifyPanel />);
    await screen.findByText(FP_NEW);
    expect(fetchMock).toHaveBeenCalledWith('/.well-known/wact-audit-keys', expect.anything());

    const retired = rowOf('local-0a0a0a0a0a0a0a0a');
    // The whole fingerprint, not a prefix: the customer compares it with the saved file.
    expect(within(retired).getByText(FP_OLD)).toBeTruthy();
    expect(within(retired).getByText('Ed25519')).toBeTruthy();
    const times = [...retired.querySelectorAll('time')].map((t) => t.getAttribute('dateTime'));
    expect(times).toEqual([KEYS.keys[0].validFrom, KEYS.keys[0].validTo]);
    expect(within(retired).queryByText('in use')).toBeNull();
    expect(within(retired).getByText(/development/)).toBeTruthy();

    const current = rowOf('kms-b7b7b7b7b7b7b7b7');
    expect(within(current).getByText(FP_NEW)).toBeTruthy();
    expect(within(current).getByText('ECDSA P-256 / SHA-256')).toBeTruthy();
    expect([...current.querySelectorAll('time')].map((t) => t.getAttribute('dateTime'))).toEqual([KEYS.keys[1].validFrom]);
    expect(within(current).getByText('in use')).toBeTruthy();
    expect(within(current).getByText(/AWS KMS/)).toBeTruthy();

    // The raw key set stays available to save as wact-audit-keys.json.
    const fields = [...document.querySelectorAll('textarea')].map((t) => t.value).filter((v) => v.startsWith('{'));
    expect(fields.map((v) => JSON.parse(v) as unknown)).toEqual([KEYS]);
  });

  it('an empty key set is a warning, not an empty table', () => {
    render(<PublishedKeysTable keys={[]} />);
    expect(screen.getByText(/nothing can be verified/)).toBeTruthy();
  });
});

describe('console: digest files', () => {
  const WS = 'ws-1';
  const digest = (first: number, last: number) => ({
    id: String(last),
    name: `wact-audit-digest-${WS}-${String(first).padStart(12, '0')}-${String(last).padStart(12, '0')}.json`,
    firstSeq: String(first),
    lastSeq: String(last),
    periodStart: '2026-03-01T10:00:00.000Z',
    periodEnd: '2026-03-01T11:00:00.000Z',
  });

  it('lists the newest page first and downloads a file as the broker serves it', async () => {
    const all = Array.from({ length: 30 }, (_, i) => digest(i * 10 + 1, i * 10 + 10));
    const body = '{"format":"wact-audit-digest","version":1,"lastSeq":"300","signature":"c2ln"}\n';
    routes.push((url) => {
      const m = /^\/api\/workspaces\/ws-1\/audit\/digests\?range=(.*)$/.exec(url);
      if (!m) return undefined;
      const [from, to] = JSON.parse(decodeURIComponent(m[1])) as [number, number];
      const page = all.slice(from, to + 1);
      return json(page, { 'Content-Range': `audit-digests ${from}-${from + page.length - 1}/${all.length}` });
    });
    routes.push((url) =>
      url === '/api/workspaces/ws-1/audit/digests/300'
        ? new Response(body, {
            status: 200,
            headers: { 'Content-Type': 'application/json', 'Content-Disposition': `attachment; filename="${all[29].name}"` },
          })
        : undefined,
    );
    const blobs: Blob[] = [];
    vi.stubGlobal('URL', Object.assign(URL, { createObjectURL: (b: Blob) => (blobs.push(b), 'blob:digest'), revokeObjectURL: () => {} }));
    const clicked: { href: string; download: string }[] = [];
    vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      clicked.push({ href: this.href, download: this.download });
    });

    render(<DigestFiles workspaceId={WS} />);
    // Opens on the newest page (the broker lists oldest first), newest on top.
    await screen.findByText(all[29].name);
    const rows = screen.getAllByRole('row').slice(1);
    expect(within(rows[0]).getByText(all[29].name)).toBeTruthy();
    expect(rows).toHaveLength(25);
    expect(screen.queryByText(all[0].name)).toBeNull();
    const listCalls = fetchMock.mock.calls.map(([u]) => decodeURIComponent(String(u)));
    expect(listCalls).toEqual(['/api/workspaces/ws-1/audit/digests?range=[0,24]', '/api/workspaces/ws-1/audit/digests?range=[5,29]']);
    expect(screen.getByText('6–30 of 30')).toBeTruthy();

    fireEvent.click(screen.getByRole('button', { name: 'Download digest 300' }));
    await screen.findByText(`Saved ${all[29].name}`);
    expect(fetchMock).toHaveBeenLastCalledWith(
      '/api/workspaces/ws-1/audit/digests/300',
      expect.objectContaining({ credentials: 'same-origin' }),
    );
    expect(clicked).toEqual([{ href: 'blob:digest', download: all[29].name }]);
    // Byte for byte what the broker sent: the signature covers it.
    expect(await blobs[0].text()).toBe(body);

    fireEvent.click(screen.getByRole('button', { name: 'Older' }));
    await screen.findByText(all[0].name);
  });

  it('a refused listing (not an owner or admin) shows the broker message and no files', async () => {
    routes.push((url) =>
      url.startsWith('/api/workspaces/ws-1/audit/digests')
        ? json({ error: { code: 'forbidden', message: 'You do not have permission to do this' } }, {}, 403)
        : undefined,
    );
    render(<DigestFiles workspaceId={WS} />);
    await waitFor(() => expect(screen.getByText(/Digest files unavailable: You do not have permission/)).toBeTruthy());
    expect(screen.queryByRole('table')).toBeNull();
  });
});
