/**
 * Ingest throughput benchmark: signed Meta webhooks over HTTPS against the
 * product (ingest on a fresh embedded PostgreSQL, group commit on) and, in
 * the same run, against a bare express HTTPS endpoint that only answers 200.
 *
 *   npm run bench:ingest            (BENCH_SECONDS=20 per side, BENCH_CONNECTIONS=64)
 *
 * Order: bare (half) → product (≥ BENCH_SECONDS, fixed request count so every
 * response is counted) → bare (half); both servers run in their own process,
 * autocannon in this one. Afterwards every acknowledged message id is looked
 * up (by its keyed hash) in the database: acknowledged = stored, duplicates = 0.
 * Targets: ratio ≥ 0.5, p99 ≤ 50 ms. --strict exits 1 when one is missed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
// @ts-expect-error autocannon ships no type declarations
import autocannonUntyped from 'autocannon';
import { loadConfig } from '../../shared/config/config.ts';
import { createFieldCrypto } from '../../shared/crypto/field-cipher.ts';
import { ensureDevCertificates, loadTlsMaterial } from '../../shared/http/tls.ts';
import { hashIdentifier } from '../../shared/phone/phone.ts';
import { openDatabases } from '../../shared/runtime/databases.ts';
import { createPlatform } from '../../shared/runtime/platform.ts';
import { createBspCredentialService } from '../../ingest/bsp-credentials/bsp-credentials-service.ts';

interface AutocannonResult {
  duration: number;
  requests: { total: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}
const autocannon = autocannonUntyped as (opts: Record<string, unknown>) => Promise<AutocannonResult>;

const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const TARGET_RATIO = 0.5;
const TARGET_P99_MS = 50;
const SECRET = 'bench-meta-app-secret';
const here = path.dirname(fileURLToPath(import.meta.url));

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function startChild(script: string, env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; port: number; output: () => string }> {
  // BENCH_PROFILE=<dir> writes a CPU profile of each server process there
  const prof = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
  const child = spawn(process.execPath, [...prof, '--import', 'tsx', script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /READY (\d+)/.exec(out);
      if (m) resolve({ child, port: Number(m[1]), output: () => out });
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => reject(new Error(`${path.basename(script)} exited ${code}: ${out.slice(-800)}`)));
  });
}

// 1,100 synthetic senders: the UK drama range and the US 555-01xx range
const PHONES = [...Array.from({ length: 1000 }, (_, i) => `447700900${String(i).padStart(3, '0')}`), ...Array.from({ length: 100 }, (_, i) => `120255501${String(i).padStart(2, '0')}`)];

function metaBody(id: string, n: number): string {
  const phone = PHONES[n % PHONES.length];
  return JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [{ id: '102290129340398', changes: [{ field: 'messages', value: {
      messaging_product: 'whatsapp',
      metadata: { display_phone_number: '15550783881', phone_number_id: '106540352242922' },
      contacts: [{ profile: { name: 'Synthetic Person' }, wa_id: phone }],
      messages: [{ from: phone, id, timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: `synthetic benchmark message ${n}` } }],
    } }] }],
  });
}

interface Run {
  requests: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

async function drive(url: string, opts: { seconds?: number; amount?: number; ca?: string; onAck?: (id: string) => void; prefix: string }): Promise<Run> {
  let seq = 0;
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    ...(opts.amount ? { amount: opts.amount } : { duration: opts.seconds }),
    tlsOptions: { ca: opts.ca, rejectUnauthorized: true },
    requests: [
      {
        method: 'POST',
        setupRequest: (req: Record<string, unknown>, context: Record<string, unknown>) => {
          const n = seq++;
          const id = `wamid.${opts.prefix}.${n}`;
          const body = metaBody(id, n);
          context.id = id;
          return {
            ...req,
            body,
            headers: { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}` },
          };
        },
        onResponse: (status: number, _body: string, context: Record<string, unknown>) => {
          if (status === 200) opts.onAck?.(String(context.id));
        },
      },
    ],
  });
  const seconds = result.duration;
  return {
    requests: result.requests.total,
    seconds,
    rps: result.requests.total / seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

async function main() {
  const strict = process.argv.includes('--strict');
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'wact-bench-'));
  fs.chmodSync(home, 0o755);
  const config = loadConfig({ ...process.env, WACT_ENV: 'test', WACT_HOME: home, WACT_PG_PORT: String(await freePort()), LOG_LEVEL: 'warn' });
  console.log('ingest bench: fresh embedded PostgreSQL, migrating…');
  const databases = await openDatabases(config, { migrate: true });
  await ensureDevCertificates(config.home);
  const tls = loadTlsMaterial(config);
  const operator = createPlatform(config, databases, 'operator');
  const ws = await operator.workspaces.create({ name: 'Bench', region: 'eu' }, { id: 'operator:bench', kind: 'operator' });
  await createBspCredentialService({ crypto: createFieldCrypto(operator.keyring), poolFor: (r) => operator.pools.region(r), ttlMs: 0 }).set(ws, { provider: 'meta', secret: SECRET });

  const env = {
    ...process.env,
    WACT_ENV: 'test',
    WACT_HOME: home,
    LOG_LEVEL: 'warn',
    INGEST_PORT: '0',
    EXPORT_ENABLED: 'false',
    DATABASE_URL_CONTROL: databases.urls.control,
    DATABASE_URL_EU: databases.urls.eu,
    DATABASE_URL_US: databases.urls.us,
    WACT_DB_PASSWORD_INGEST: databases.servicePasswords.ingest,
    WACT_DB_PASSWORD_BROKER: databases.servicePasswords.broker,
  };
  const product = await startChild(path.join(here, '..', 'ingest', 'support', 'ingest-child.ts'), env);
  const bare = await startChild(path.join(here, 'bare-https-child.ts'), env);
  const productUrl = `https://localhost:${product.port}/v1/webhooks/meta/${ws.id}`;
  const bareUrl = `https://localhost:${bare.port}/v1/webhooks/meta/${ws.id}`;
  const acked: string[] = [];
  let exitCode = 0;
  try {
    console.log(`warm-up,, then bare ${SECONDS / 2} s → product ≥ ${SECONDS} s → bare ${SECONDS / 2} s, ${CONNECTIONS} connections, HTTPS`);
    await drive(bareUrl, { seconds: 3, ca: tls.ca, prefix: 'warm-bare' });
    // warm-up by request count too, so every request it sends is answered and counted
    const warm = await drive(productUrl, { amount: CONNECTIONS * 30, ca: tls.ca, prefix: 'warm', onAck: (id) => acked.push(id) });
    const bare1 = await drive(bareUrl, { seconds: SECONDS / 2, ca: tls.ca, prefix: 'bare1' });
    // a fixed request count sized to last ≥ SECONDS, so the run ends only when every response is in
    const amount = Math.max(CONNECTIONS * 10, Math.ceil(warm.rps * SECONDS * 1.15));
    let prod = await drive(productUrl, { amount, ca: tls.ca, prefix: 'run', onAck: (id) => acked.push(id) });
    console.log(`  product run 1: ${prod.requests} requests in ${prod.seconds.toFixed(1)} s (warm-up ${warm.rps.toFixed(0)}/s, asked ${amount})`);
    while (prod.seconds < SECONDS) {
      const more = await drive(productUrl, { amount: Math.ceil(prod.rps * (SECONDS - prod.seconds) * 1.2) + CONNECTIONS, ca: tls.ca, prefix: 'run2', onAck: (id) => acked.push(id) });
      prod = { requests: prod.requests + more.requests, seconds: prod.seconds + more.seconds, rps: (prod.requests + more.requests) / (prod.seconds + more.seconds), p50: Math.max(prod.p50, more.p50), p99: Math.max(prod.p99, more.p99), non2xx: prod.non2xx + more.non2xx, errors: prod.errors + more.errors };
    }
    const bare2 = await drive(bareUrl, { seconds: SECONDS / 2, ca: tls.ca, prefix: 'bare2' });
    const bareRps = (bare1.requests + bare2.requests) / (bare1.seconds + bare2.seconds);

    // acknowledged = stored, duplicates = 0
    const pool = operator.pools.region('eu');
    const hmac = (await operator.keyring.currentKey(ws.id, 'eu', 'hmac')).key;
    const hashes = acked.map((id) => hashIdentifier(hmac, 'msg.meta', id));
    const found = Number((await pool.query('SELECT count(*) FROM wact.webhook_receipts WHERE workspace_id = $1 AND message_hash = ANY($2)', [ws.id, hashes])).rows[0].count);
    const totals = (await pool.query(
      `SELECT (SELECT count(*) FROM wact.webhook_receipts WHERE workspace_id = $1)::int AS receipts,
              (SELECT count(*) FROM wact.raw_webhook_payloads WHERE workspace_id = $1)::int AS payloads,
              (SELECT count(*) FROM (SELECT message_hash FROM wact.raw_webhook_payloads WHERE workspace_id = $1 GROUP BY message_hash HAVING count(*) > 1) d)::int AS duplicates,
              (SELECT count(*) FROM wact.conversations WHERE workspace_id = $1)::int AS conversations`,
      [ws.id],
    )).rows[0];

    const ratio = prod.rps / bareRps;
    const f = (n: number) => n.toFixed(0);
    console.log('');
    console.log(`bare express HTTPS   ${f(bareRps)} req/s   (p50 ${bare1.p50}/${bare2.p50} ms, p99 ${bare1.p99}/${bare2.p99} ms, ${f(bare1.seconds + bare2.seconds)} s)`);
    console.log(`product ingest       ${f(prod.rps)} webhooks/s   p50 ${prod.p50} ms   p99 ${prod.p99} ms   (${prod.requests} requests, ${prod.seconds.toFixed(1)} s, non-2xx ${prod.non2xx}, errors ${prod.errors})`);
    console.log(`ratio product/bare   ${ratio.toFixed(2)}   (target ≥ ${TARGET_RATIO})`);
    console.log(`acknowledged ${acked.length}   stored ${totals.receipts} receipts / ${totals.payloads} payloads   acknowledged found stored ${found}   duplicates ${totals.duplicates}   conversations ${totals.conversations}`);
    const ok = ratio >= TARGET_RATIO && prod.p99 <= TARGET_P99_MS && found === acked.length && totals.receipts === acked.length && totals.payloads === acked.length && totals.duplicates === 0;
    console.log(ok ? 'PASS' : 'MISS: a target was not met');
    if (!ok && strict) exitCode = 1;
  } finally {
    product.child.kill('SIGTERM');
    bare.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 1500));
    await operator.close();
    await databases.close();
    fs.rmSync(home, { recursive: true, force: true });
  }
  process.exit(exitCode);
}

await main();
