import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExportSender } from '../../shared/export/export-sender.ts';
import { createDeletionSender } from '../../shared/lifecycle/deletion-platforms.ts';

/** Retraction and export transports: no redirects followed, failures as categories (no socket error text). */
let hits = 0;
let target = '';
let redirector = '';
const servers: http.Server[] = [];
const listen = async (handler: http.RequestListener) => {
  const s = http.createServer(handler);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  servers.push(s);
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}/`;
};

beforeAll(async () => {
  target = await listen((_q, res) => {
    hits++;
    res.end('{}');
  });
  redirector = await listen((_q, res) => res.writeHead(307, { location: target }).end());
});
afterAll(() => servers.forEach((s) => s.close()));

const init = () => ({
  method: 'POST' as const,
  headers: { 'content-type': 'application/json' },
  body: '{}',
  signal: AbortSignal.timeout(2000),
});

describe('deletion sender', () => {
  it('does not follow a redirect: the 307 is the recorded status', async () => {
    const { send, close } = createDeletionSender();
    try {
      const before = hits;
      expect(await send(redirector, init())).toEqual({ status: 307 });
      expect(hits).toBe(before);
      expect(await send(target, init())).toEqual({ status: 200 });
      expect(hits).toBe(before + 1);
    } finally {
      await close();
    }
  });

  it('reports a connection failure as a category', async () => {
    const { send, close } = createDeletionSender();
    const closed = await listen(() => undefined);
    servers.pop()!.close();
    try {
      await expect(send(closed, init())).rejects.toThrow(/^connection_failed$/);
    } finally {
      await close();
    }
  });
});

describe('export sender', () => {
  it('does not follow a redirect and records it as an HTTP failure', async () => {
    const sender = createExportSender({ timeoutMs: 2000, allowHttp: true });
    try {
      const before = hits;
      const out = await sender.send({ url: redirector, headers: {}, body: {} });
      expect(out).toMatchObject({ ok: false, status: 307, errorCode: 'http_307' });
      expect(hits).toBe(before);
    } finally {
      await sender.close();
    }
  });
});
