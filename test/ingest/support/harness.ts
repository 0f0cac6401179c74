import { createHmac, randomUUID } from 'node:crypto';
import { Agent, request } from 'undici';
import { testConfig } from '../../support/db.ts';
import { ensureDevCertificates, loadTlsMaterial, type TlsMaterial } from '../../../shared/http/tls.ts';
import { openDatabases } from '../../../shared/runtime/databases.ts';
import { createPlatform, type Platform } from '../../../shared/runtime/platform.ts';
import { startIngest, type IngestService } from '../../../ingest/server.ts';
import { startWorker } from '../../../worker/worker-server.ts';
import { createFieldCrypto } from '../../../shared/crypto/field-cipher.ts';
import { createBspCredentialService } from '../../../shared/workspaces/bsp-credentials/bsp-credentials-service.ts';
import { createLinkService } from '../../../shared/workspaces/links/links-service.ts';
import { createApiKeyService } from '../../../shared/workspaces/api-keys/api-keys-service.ts';
import { createPlatformCredentialService } from '../../../shared/workspaces/platform-credentials/platform-credentials-service.ts';
import { twilioSignature, parseForm } from '../../../ingest/providers/twilio.ts';
import { birdSignature } from '../../../ingest/providers/bird.ts';
import type { ProviderName } from '../../../ingest/providers/provider-types.ts';
import type { Config } from '../../../shared/config/config.ts';

/** A parsed JSON response body: tests assert it field by field. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type JsonBody = any;

export interface Harness {
  config: Config;
  tls: TlsMaterial;
  ingest: IngestService;
  base: string;
  operator: Platform;
  ops: {
    bsp: ReturnType<typeof createBspCredentialService>;
    links: ReturnType<typeof createLinkService>;
    apiKeys: ReturnType<typeof createApiKeyService>;
    platforms: ReturnType<typeof createPlatformCredentialService>;
  };
  http(
    method: string,
    path: string,
    opts?: { body?: string | Buffer; headers?: Record<string, string> },
  ): Promise<{ status: number; headers: Record<string, unknown>; text: string; json: () => JsonBody }>;
  close(): Promise<void>;
}

export async function startHarness(env: Record<string, string> = {}): Promise<Harness> {
  // Tests share one database set: each harness gets its own export queue, and no export
  // worker unless asked, so no ingest of another test file picks up (and sends) its jobs.
  const config = testConfig({ INGEST_PORT: '0', EXPORT_ENABLED: 'false', EXPORT_QUEUE: `test-export-${randomUUID().slice(0, 8)}`, ...env });
  await ensureDevCertificates(config.home);
  const tls = loadTlsMaterial(config);
  const databases = await openDatabases(config);
  const ingest = await startIngest({ config, databases, tls });
  // Ingest only queues exports; the worker sends them (its export queue group only, on this harness's queue).
  const exporter = config.raw.EXPORT_ENABLED ? await startWorker({ config, databases, tls }, { queues: ['export'] }) : undefined;
  const operator = createPlatform(config, databases, 'operator');
  const crypto = createFieldCrypto(operator.keyring);
  const poolFor = (r: 'eu' | 'us') => operator.pools.region(r);
  const agent = new Agent({ connect: { ca: tls.ca }, connections: 64 });
  const base = `https://localhost:${ingest.port}`;
  return {
    config,
    tls,
    ingest,
    base,
    operator,
    ops: {
      bsp: createBspCredentialService({ crypto, poolFor, ttlMs: 0 }),
      links: createLinkService({ poolFor }),
      apiKeys: createApiKeyService({ poolFor }),
      platforms: createPlatformCredentialService({ crypto, poolFor }),
    },
    async http(method, path, opts = {}) {
      const res = await request(`${base}${path}`, { method: method as 'GET', dispatcher: agent, headers: opts.headers, body: opts.body });
      const text = await res.body.text();
      return { status: res.statusCode, headers: res.headers as Record<string, unknown>, text, json: () => JSON.parse(text) };
    },
    async close() {
      await ingest.close();
      await exporter?.close();
      await operator.close();
      await agent.close();
    },
  };
}

/** Signs a body for a provider the way that BSP would, for a given URL. */
export function signedHeaders(provider: ProviderName, secret: string, body: Buffer, url: string, now = Date.now()): Record<string, string> {
  switch (provider) {
    case 'meta':
      return {
        'content-type': 'application/json',
        'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
      };
    case '360dialog':
      return { 'content-type': 'application/json', 'x-360dialog-signature': createHmac('sha256', secret).update(body).digest('hex') };
    case 'twilio':
      return { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilioSignature(secret, url, parseForm(body)) };
    case 'bird': {
      const ts = String(Math.floor(now / 1000));
      return {
        'content-type': 'application/json',
        'messagebird-request-timestamp': ts,
        'messagebird-signature': birdSignature(secret, ts, url, body).toString('base64'),
      };
    }
    case 'gupshup':
      return { 'content-type': 'application/json', 'x-wact-token': secret };
  }
}

/** Every value of every column of every table in the given schemas, as text, for plaintext searches. */
export async function allColumnText(
  platform: Platform,
  region: 'eu' | 'us',
  schemas = ['wact', 'wact_private', 'audit', 'pgboss'],
): Promise<string> {
  const pool = platform.pools.region(region);
  const { rows } = await pool.query<{ t: string }>(
    `SELECT format('%I.%I', n.nspname, c.relname) AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = ANY($1) AND c.relkind IN ('r') `,
    [schemas],
  );
  let out = '';
  for (const { t } of rows) {
    const r = await pool.query<{ x: string }>(`SELECT string_agg(x::text, E'\\n') AS x FROM ${t} x`);
    out += r.rows[0].x ?? '';
    // bytea columns render as \x-hex in row text; also search their bytes decoded
    out += '\n';
  }
  return out;
}
