import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorActor } from '../../cli/operator.ts';
import { createFieldCrypto } from '../../shared/crypto/field-cipher.ts';
import { ensureDevCertificates, loadTlsMaterial } from '../../shared/http/tls.ts';
import { openDatabases } from '../../shared/runtime/databases.ts';
import { createPlatform, type Platform } from '../../shared/runtime/platform.ts';
import { createApiKeyService } from '../../shared/workspaces/api-keys/api-keys-service.ts';
import { createBspCredentialService } from '../../shared/workspaces/bsp-credentials/bsp-credentials-service.ts';
import { createLinkService } from '../../shared/workspaces/links/links-service.ts';
import { testConfig } from '../support/db.ts';
import { currentWalLsn, walWrittenSince } from '../support/server-files.ts';
import { allColumnText, signedHeaders } from './support/harness.ts';

/**
 * 1,000 synthetic conversations through a separately running ingest whose
 * entire output (trace level) is captured; then CHECKPOINT and a byte search
 * of the PostgreSQL data directory (heap, indexes, WAL, logs) and of the log
 * output for every raw phone number, click id and message text used.
 */
const N = 1000;
const TOKEN = `Q${randomBytes(6).toString('hex')}Z`; // unique to this run: texts and click ids carry it
const phoneOf = (i: number) => `44770090${String(i).padStart(4, '0').slice(0, 1)}${String(i).padStart(4, '0').slice(1)}`; // 447700900000…447700900999
const textOf = (i: number) => `Synthetic message ${TOKEN} number ${i} from Jane Doe-${i}`;
const gclidOf = (i: number) => `Cj0K${TOKEN}g${i}`;
const fbclidOf = (i: number) => `IwAR${TOKEN}f${i}`;
const ctwaOf = (i: number) => `ARAk${TOKEN}c${i}`;

let child: ChildProcess;
let logs = '';
let operator: Platform;
let base: string;
let agent: Agent;
let dataDirNote = '';

beforeAll(async () => {
  const config = testConfig();
  await ensureDevCertificates(config.home);
  const tls = loadTlsMaterial(config);
  const databases = await openDatabases(config);
  operator = createPlatform(config, databases, 'operator');
  const env = {
    ...process.env,
    WACT_ENV: 'test',
    WACT_HOME: config.home,
    LOG_LEVEL: 'trace',
    INGEST_PORT: '0',
    EXPORT_ENABLED: 'false',
    DATABASE_URL_CONTROL: databases.urls.control,
    DATABASE_URL_EU: databases.urls.eu,
    DATABASE_URL_US: databases.urls.us,
    WACT_DB_PASSWORD_INGEST: databases.servicePasswords.ingest,
    WACT_DB_PASSWORD_BROKER: databases.servicePasswords.broker,
  };
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'support', 'ingest-child.ts');
  child = spawn(process.execPath, ['--import', 'tsx', script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ingest child did not start: ${logs.slice(-500)}`)), 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      logs += d.toString('utf8');
      const m = /READY (\d+)/.exec(logs);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.stderr!.on('data', (d: Buffer) => (logs += d.toString('utf8')));
    child.on('exit', (code) => reject(new Error(`ingest child exited ${code}: ${logs.slice(-500)}`)));
  });
  base = `https://localhost:${port}`;
  agent = new Agent({ connect: { ca: tls.ca }, connections: 16 });
}, 120_000);

afterAll(async () => {
  child?.kill('SIGTERM');
  await agent?.close();
  await operator?.close();
});

async function http(method: string, p: string, body?: Buffer | string, headers?: Record<string, string>) {
  const res = await request(`${base}${p}`, { method: method as 'GET', dispatcher: agent, body, headers });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text };
}

async function pool<T>(items: number[], width: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = items[next++];
        out[i] = await fn(i);
      }
    }),
  );
  return out;
}

/** Every file under dir (skipping what we cannot read and the WAL, scanned by range), yielding its bytes. */
function* files(dir: string): Generator<[string, Buffer]> {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory() && entry.name === 'pg_wal') continue;
    if (entry.isDirectory()) yield* files(p);
    else if (entry.isFile()) {
      try {
        yield [p, fs.readFileSync(p)];
      } catch {
        /* vanished (WAL recycling) or unreadable */
      }
    }
  }
}

/** Finds our phone numbers (any of the N, with or without +/00/0) and the run token in bytes. */
function findLeaks(buf: Buffer, used: Set<string>): string[] {
  const hits: string[] = [];
  for (const marker of [TOKEN]) if (buf.includes(marker)) hits.push(`token ${marker}`);
  for (let at = buf.indexOf('7700900'); at !== -1; at = buf.indexOf('7700900', at + 1)) {
    const digits = buf.subarray(at + 7, at + 10).toString('latin1');
    if (/^\d{3}$/.test(digits) && used.has(digits)) hits.push(`phone …7700900${digits}`);
  }
  return hits;
}

describe('no plaintext at rest or in logs', () => {
  it(`ingests ${N} synthetic conversations, then finds none of their phones, texts or click ids on disk or in the logs`, async () => {
    // Only WAL written from here on is this test's (recycled segments of a shared server keep older bytes).
    const walStart = await currentWalLsn(operator.pools.region('eu'));
    const ws = await operator.workspaces.create({ name: 'No plaintext', region: 'eu' }, operatorActor());
    const crypto = createFieldCrypto(operator.keyring);
    const poolFor = (r: 'eu' | 'us') => operator.pools.region(r);
    await createBspCredentialService({ crypto, poolFor, ttlMs: 0 }).set(ws, { provider: 'meta', secret: 'no-plaintext-secret' });
    const link = await createLinkService({ poolFor }).create(ws, { phone: '+1 202 555 0100', text: 'Hi' });
    const key = (await createApiKeyService({ poolFor }).create(ws)).key;
    const ids = Array.from({ length: N }, (_, i) => i);

    const statuses = await pool(ids, 16, async (i) => {
      const click = await http('GET', `/r/${ws.id}/${link.id}?gclid=${gclidOf(i)}&fbclid=${fbclidOf(i)}&utm_source=test`);
      const ref = /ref: ([0-9A-Z]{12})/.exec(new URL(String(click.headers.location)).searchParams.get('text') ?? '')?.[1];
      const message: Record<string, unknown> = {
        from: phoneOf(i),
        id: `wamid.${TOKEN}.${i}`,
        timestamp: String(Math.floor(Date.now() / 1000)),
        type: 'text',
        text: { body: `${textOf(i)} (ref: ${ref})` },
        ...(i % 3 === 0
          ? {
              referral: {
                source_id: '120200000000',
                source_type: 'ad',
                source_url: 'https://fb.me/x',
                ctwa_clid: ctwaOf(i),
                headline: `Ad for ${TOKEN}`,
              },
            }
          : {}),
      };
      const body = Buffer.from(
        JSON.stringify({
          object: 'whatsapp_business_account',
          entry: [
            {
              id: '1',
              changes: [
                {
                  field: 'messages',
                  value: {
                    messaging_product: 'whatsapp',
                    contacts: [{ profile: { name: `Jane Doe-${i} ${TOKEN}` }, wa_id: phoneOf(i) }],
                    messages: [message],
                  },
                },
              ],
            },
          ],
        }),
      );
      const wh = await http('POST', `/v1/webhooks/meta/${ws.id}`, body, signedHeaders('meta', 'no-plaintext-secret', body, ''));
      let conv = 201;
      if (i % 5 === 0) {
        conv = (
          await http(
            'POST',
            '/v1/conversions',
            JSON.stringify({
              phone: `+${phoneOf(i)}`,
              event: 'Purchase',
              value: 10,
              currency: 'EUR',
              occurred_at: new Date().toISOString(),
            }),
            {
              'content-type': 'application/json',
              authorization: `Bearer ${key}`,
            },
          )
        ).status;
      }
      return [click.status, wh.status, conv];
    });
    expect(statuses.filter(([c, w, v]) => c !== 302 || w !== 200 || v !== 201)).toEqual([]);

    // bad requests carrying raw values must not leak through error logs either
    const bad = Buffer.from(
      JSON.stringify({
        object: 'whatsapp_business_account',
        entry: [{ changes: [{ field: 'messages', value: { messages: [{ from: `99${TOKEN}`, id: 'x', timestamp: '1' }] } }] }],
      }),
    );
    expect((await http('POST', `/v1/webhooks/meta/${ws.id}`, bad, signedHeaders('meta', 'no-plaintext-secret', bad, ''))).status).toBe(400);
    expect(
      (
        await http('POST', '/v1/conversions', JSON.stringify({ phone: `+${TOKEN}`, event: 'x', occurred_at: 'y' }), {
          'content-type': 'application/json',
          authorization: `Bearer ${key}`,
        })
      ).status,
    ).toBe(400);

    const eu = operator.pools.region('eu');
    const counts = (
      await eu.query(
        `SELECT (SELECT count(*) FROM wact.conversations WHERE workspace_id = $1)::int AS c, (SELECT count(*) FROM wact.conversations WHERE workspace_id = $1 AND attribution_method = 'ref_code')::int AS a`,
        [ws.id],
      )
    ).rows[0];
    expect(counts).toEqual({ c: N, a: N });

    const used = new Set(ids.map((i) => phoneOf(i).slice(-3)));
    // a planted plaintext value the scan must find (the search can fail)
    const canary = `CANARY${TOKEN}`;
    await eu.query('CREATE TABLE IF NOT EXISTS public.no_plaintext_canary (v text)');
    await eu.query('INSERT INTO public.no_plaintext_canary VALUES ($1)', [canary]);
    await eu.query('CHECKPOINT');
    const dataDir = (await eu.query<{ data_directory: string }>('SHOW data_directory')).rows[0].data_directory;
    let readable = false;
    try {
      fs.readdirSync(dataDir);
      readable = true;
    } catch {
      readable = false;
    }
    const leaks: string[] = [];
    if (readable) {
      let bytes = 0;
      let canaryFound = false;
      const wal = (await walWrittenSince(eu, dataDir, walStart)).map((w): [string, Buffer] => [path.join(dataDir, w.file), w.bytes]);
      for (const [file, buf] of [...files(dataDir), ...wal]) {
        bytes += buf.length;
        if (buf.includes(canary)) {
          canaryFound = true;
          continue; // the canary carries the token by design
        }
        for (const hit of findLeaks(buf, used)) leaks.push(`${path.relative(dataDir, file)}: ${hit}`);
      }
      expect(canaryFound).toBe(true);
      dataDirNote = `scanned ${dataDir} (${(bytes / 1e6).toFixed(0)} MB)`;
      expect(bytes).toBeGreaterThan(1e6);
    } else {
      // PostgreSQL 15 of the machine may keep its data directory from us: search every column as text instead
      const euText = await allColumnText(operator, 'eu', ['wact', 'wact_private', 'audit', 'pgboss', 'public']);
      expect(euText).toContain(canary);
      for (const [region, text] of [
        ['eu', euText.replaceAll(canary, '')],
        ['us', await allColumnText(operator, 'us')],
      ] as const) {
        for (const hit of findLeaks(Buffer.from(text), used)) leaks.push(`${region} (as text): ${hit}`);
      }
      dataDirNote = `data directory ${dataDir} unreadable: searched every column of every table as text`;
    }
    await eu.query('DROP TABLE public.no_plaintext_canary');
    process.stdout.write(`no-plaintext: ${dataDirNote}; ${logs.length} bytes of ingest log output\n`);
    expect(leaks.slice(0, 20)).toEqual([]);

    // the log output of the ingest process (trace level)
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    expect(logs).toMatch(/ingest listening/); // the capture works
    expect(logs.match(/webhook received/g)?.length ?? 0).toBeGreaterThanOrEqual(N);
    expect(findLeaks(Buffer.from(logs), used)).toEqual([]);
    for (const i of [0, 1, 2, 500, 999]) {
      expect(logs).not.toContain(textOf(i));
      expect(logs).not.toContain(gclidOf(i));
    }
  }, 300_000);
});
