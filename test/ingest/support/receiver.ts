import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JsonBody } from './harness.ts';

export interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: JsonBody;
}

/** A local stand-in for the ad platforms: records every request; `plan` decides each status. */
export async function startReceiver(plan: (req: Received, n: number) => number = () => 200) {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => {
      const r: Received = { path: req.url ?? '', headers: req.headers, body: data ? JSON.parse(data) : undefined };
      received.push(r);
      const status = plan(r, received.length);
      res.writeHead(status, { 'content-type': 'application/json' }).end(status < 300 ? '{"ok":true}' : '{"error":"try later"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    received,
    async waitFor(pred: (r: Received) => boolean, timeoutMs = 20_000): Promise<Received> {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const hit = received.find(pred);
        if (hit) return hit;
        if (Date.now() > until) throw new Error('receiver: timed out');
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export function exportEnv(base: string): Record<string, string> {
  return {
    EXPORT_URL_META: `${base}/meta/{datasetId}/events`,
    EXPORT_URL_GOOGLE: `${base}/google/customers/{customerId}:uploadClickConversions`,
    EXPORT_URL_MICROSOFT: `${base}/microsoft/OfflineConversions/Apply`,
    EXPORT_URL_TIKTOK: `${base}/tiktok/event/track/`,
    EXPORT_URL_LINKEDIN: `${base}/linkedin/conversionEvents`,
    EXPORT_ENABLED: 'true',
    EXPORT_RETRY_DELAY_SECONDS: '1',
    EXPORT_RETRY_LIMIT: '3',
  };
}
