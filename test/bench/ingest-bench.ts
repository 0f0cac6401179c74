/**
 * Ingest throughput benchmark: signed Meta webhooks over HTTPS against the
 * product (ingest on a fresh embedded PostgreSQL, group commit on) and, in
 * the same run, against a bare express HTTPS endpoint that only answers 200.
 *
 *   npm run bench:ingest            (BENCH_SECONDS=20 per side, BENCH_CONNECTIONS=64)
 *
 * Bare and product alternate in paired slices (BENCH_SLICE_SECONDS, default 5)
 * until the product has run ≥ BENCH_SECONDS; the ratio is the median of the
 * pairs, so load from other processes on the machine hits both alike. The
 * product runs by request count so every response is counted. Both servers
 * run in their own process, autocannon in this one. Afterwards every acknowledged message id is looked
 * up (by its keyed hash) in the database: acknowledged = stored, duplicates = 0.
 * Targets: ratio ≥ 0.5, p99 ≤ 50 ms. --strict exits 1 when one is missed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
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
import { databaseMigrator } from '../../db/migrator.ts';
import { createPlatform } from '../../shared/runtime/platform.ts';
import { createBspCredentialService } from '../../shared/workspaces/bsp-credentials/bsp-credentials-service.ts';
import { freePort } from '../support/scratch-databases.ts';

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
const PHONES = [
  ...Array.from({ length: 1000 }, (_, i) => `447700900${String(i).padStart(3, '0')}`),
  ...Array.from({ length: 100 }, (_, i) => `120255501${String(i).padStart(2, '0')}`),
];

function metaBody(id: string, n: number): string {
  const phone = PHONES[n % PHONES.length];
  return JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [
      {
        id: '102290129340398',
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550783881', phone_number_id: '106540352242922' },
              contacts: [{ profile: { name: 'Synthetic Person' }, wa_id: phone }],
              messages: [
                {
                  from: phone,
                  id,
                  timestamp: String(Math.floor(Date.now() / 1000)),
                  type: 'text',
                  text: { body: `synthetic benchmark message ${n}` },
                },
              ],
            },
          },
        ],
      },
    ],
  });
}

/** CPU time (ms) used so far by these processes (Linux /proc; 0 elsewhere). */
function cpuMs(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
    } catch {
      /* gone */
    }
  }
  return ticks * 10; // USER_HZ = 100
}

/** The embedded PostgreSQL's postmaster and all its backends. */
function postgresPids(dataDir: string): number[] {
  try {
    const postmaster = Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    const kids = fs
      .readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .map(Number)
      .filter((pid) => {
        try {
          return Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]) === postmaster;
        } catch {
          return false;
        }
      });
    return [postmaster, ...kids];
  } catch {
    return [];
  }
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

async function drive(
  url: string,
  opts: { seconds?: number; amount?: number; ca?: string; onAck?: (id: string) => void; prefix: string },
): Promise<Run> {
  let seq = 0;
  const sent: string[] = [];
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    ...(opts.amount ? { amount: opts.amount } : { duration: opts.seconds }),
    tlsOptions: { ca: opts.ca, rejectUnauthorized: true },
    requests: [
      {
        method: 'POST',
        setupRequest: (req: Record<string, unknown>, _context: Record<string, unknown>) => {
          const n = seq++;
          const id = `wamid.${opts.prefix}.${n}`;
          const body = metaBody(id, n);
          sent.push(id);
          return {
            ...req,
            body,
            headers: {
              'content-type': 'application/json',
              'x-hub-signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`,
            },
          };
        },
      },
    ],
  });
  // A fixed-count run ends only when every request is answered: with no non-2xx and
  // no errors, every id sent was acknowledged (counted without a per-response
  // callback, which would cost the load generator CPU on the product side only).
  if (opts.onAck) {
    if (result.non2xx === 0 && result.errors === 0 && result.timeouts === 0 && result.requests.total === sent.length)
      sent.forEach(opts.onAck);
    else
      throw new Error(
        `product answered ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts: acknowledged ids unknown`,
      );
  }
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
  const config = loadConfig({
    ...process.env,
    WACT_ENV: 'test',
    WACT_HOME: home,
    WACT_PG_PORT: String(await freePort()),
    LOG_LEVEL: 'warn',
  });
  console.log('ingest bench: fresh embedded PostgreSQL, migrating…');
  const databases = await openDatabases(config, { migrate: databaseMigrator });
  await ensureDevCertificates(config.home);
  const tls = loadTlsMaterial(config);
  const operator = createPlatform(config, databases, 'operator');
  const ws = await operator.workspaces.create({ name: 'Bench', region: 'eu' }, { id: 'operator:bench', kind: 'operator' });
  await createBspCredentialService({ crypto: createFieldCrypto(operator.keyring), poolFor: (r) => operator.pools.region(r), ttlMs: 0 }).set(
    ws,
    { provider: 'meta', secret: SECRET },
  );

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
    // Paired slices: bare and product alternate (bare→product, product→bare, …) so load from
    // other processes on the machine hits both alike; the ratio is the median of the pairs.
    const SLICE = Number(process.env.BENCH_SLICE_SECONDS ?? 5);
    const slices = Math.max(2, Math.ceil(SECONDS / SLICE));
    console.log(`warm-up, then ${slices} paired slices of ${SLICE} s (product ≥ ${SECONDS} s in total), ${CONNECTIONS} connections, HTTPS`);
    await drive(bareUrl, { seconds: 3, ca: tls.ca, prefix: 'warm-bare' });
    // product runs by request count, so every request it sends is answered and counted
    let rate = (await drive(productUrl, { amount: CONNECTIONS * 60, ca: tls.ca, prefix: 'warm', onAck: (id) => acked.push(id) })).rps;
    const bares: Run[] = [];
    const prods: Run[] = [];
    const pgDir = (await operator.pools.region('eu').query<{ d: string }>("SELECT current_setting('data_directory') AS d")).rows[0].d;
    const cpu = { bare: { ms: 0, n: 0, server: 0, pg: 0, gen: 0 }, prod: { ms: 0, n: 0, server: 0, pg: 0, gen: 0 } };
    const measured = async (kind: 'bare' | 'prod', serverPid: number, run: () => Promise<Run>): Promise<Run> => {
      const parts = () => ({ server: cpuMs([serverPid]), pg: cpuMs(postgresPids(pgDir)), gen: cpuMs([process.pid]) });
      const before = parts();
      const r = await run();
      const after = parts();
      const c = cpu[kind];
      c.server += after.server - before.server;
      c.pg += after.pg - before.pg;
      c.gen += after.gen - before.gen;
      c.ms = c.server + c.pg + c.gen;
      c.n += r.requests;
      return r;
    };
    const pairRatios: number[] = [];
    for (let k = 0; prods.reduce((t, r) => t + r.seconds, 0) < SECONDS || k < slices; k++) {
      const runBare = () => measured('bare', bare.child.pid!, () => drive(bareUrl, { seconds: SLICE, ca: tls.ca, prefix: `bare${k}` }));
      const runProd = () =>
        measured('prod', product.child.pid!, () =>
          drive(productUrl, {
            amount: Math.max(CONNECTIONS * 5, Math.ceil(rate * SLICE)),
            ca: tls.ca,
            prefix: `run${k}`,
            onAck: (id) => acked.push(id),
          }),
        );
      let b: Run;
      let p: Run;
      if (k % 2 === 0) {
        b = await runBare();
        p = await runProd();
      } else {
        p = await runProd();
        b = await runBare();
      }
      rate = p.rps;
      bares.push(b);
      prods.push(p);
      pairRatios.push(p.rps / b.rps);
      console.log(
        `  slice ${k + 1}: bare ${b.rps.toFixed(0)}/s p99 ${b.p99} ms | product ${p.rps.toFixed(0)}/s p50 ${p.p50} ms p99 ${p.p99} ms (${p.requests} in ${p.seconds.toFixed(1)} s) | ratio ${(p.rps / b.rps).toFixed(2)}`,
      );
    }
    const sum = (rs: Run[], f: (r: Run) => number) => rs.reduce((t, r) => t + f(r), 0);
    const median = (xs: number[]) => {
      const v = [...xs].sort((a, b) => a - b);
      return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    };
    const bareRps = sum(bares, (r) => r.requests) / sum(bares, (r) => r.seconds);
    const prod = {
      requests: sum(prods, (r) => r.requests),
      seconds: sum(prods, (r) => r.seconds),
      rps: sum(prods, (r) => r.requests) / sum(prods, (r) => r.seconds),
      p50: median(prods.map((r) => r.p50)),
      p99: median(prods.map((r) => r.p99)),
      worstP99: Math.max(...prods.map((r) => r.p99)),
      non2xx: sum(prods, (r) => r.non2xx),
      errors: sum(prods, (r) => r.errors),
    };
    const bareP99 = median(bares.map((r) => r.p99));

    // acknowledged = stored, duplicates = 0
    const pool = operator.pools.region('eu');
    const hmac = (await operator.keyring.currentKey(ws.id, 'eu', 'hmac')).key;
    const hashes = acked.map((id) => hashIdentifier(hmac, 'msg.meta', id));
    const found = Number(
      (await pool.query('SELECT count(*) FROM wact.webhook_receipts WHERE workspace_id = $1 AND message_hash = ANY($2)', [ws.id, hashes]))
        .rows[0].count,
    );
    const totals = (
      await pool.query(
        `SELECT (SELECT count(*) FROM wact.webhook_receipts WHERE workspace_id = $1)::int AS receipts,
              (SELECT count(*) FROM wact.raw_webhook_payloads WHERE workspace_id = $1)::int AS payloads,
              (SELECT count(*) FROM (SELECT message_hash FROM wact.raw_webhook_payloads WHERE workspace_id = $1 GROUP BY message_hash HAVING count(*) > 1) d)::int AS duplicates,
              (SELECT count(*) FROM wact.conversations WHERE workspace_id = $1)::int AS conversations`,
        [ws.id],
      )
    ).rows[0];

    const ratio = median(pairRatios);
    const f = (n: number) => n.toFixed(0);
    console.log('');
    console.log(`bare express HTTPS   ${f(bareRps)} req/s   p99 ${bareP99} ms (median of slices)   (${f(sum(bares, (r) => r.seconds))} s)`);
    console.log(
      `product ingest       ${f(prod.rps)} webhooks/s   p50 ${prod.p50} ms   p99 ${prod.p99} ms (median of slices; worst ${prod.worstP99} ms)   (${prod.requests} requests, ${prod.seconds.toFixed(1)} s, non-2xx ${prod.non2xx}, errors ${prod.errors})`,
    );
    const perReq = (c: { ms: number; n: number }) => (c.n ? c.ms / c.n : NaN);
    const split = (c: { n: number; server: number; pg: number; gen: number }) =>
      `server ${(c.server / c.n).toFixed(3)} + PostgreSQL ${(c.pg / c.n).toFixed(3)} + autocannon ${(c.gen / c.n).toFixed(3)}`;
    console.log(`CPU split            bare: ${split(cpu.bare)} | product: ${split(cpu.prod)} (ms per request)`);
    console.log(
      `CPU per request      bare ${perReq(cpu.bare).toFixed(3)} ms, product ${perReq(cpu.prod).toFixed(3)} ms (server + PostgreSQL + load generator; the ratio a machine with idle cores would show ≈ ${(perReq(cpu.bare) / perReq(cpu.prod)).toFixed(2)})`,
    );
    console.log(
      `ratio product/bare   ${ratio.toFixed(2)} (median of ${pairRatios.length} paired slices; overall ${(prod.rps / bareRps).toFixed(2)})   (target ≥ ${TARGET_RATIO})`,
    );
    console.log(
      `acknowledged ${acked.length}   stored ${totals.receipts} receipts / ${totals.payloads} payloads   acknowledged found stored ${found}   duplicates ${totals.duplicates}   conversations ${totals.conversations}`,
    );
    const ok =
      ratio >= TARGET_RATIO &&
      prod.p99 <= TARGET_P99_MS &&
      found === acked.length &&
      totals.receipts === acked.length &&
      totals.payloads === acked.length &&
      totals.duplicates === 0;
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
