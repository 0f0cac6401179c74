/**
 * npm run bench:gateway — pgbench select-only (-S, 8 clients, 20 s each) against
 * the regional database directly and through the auditing gateway, in the same
 * run, on the same server, as the same session role. Prints both TPS, the
 * ratio, and checks that every statement run through the gateway has its
 * audit record (statements run = audit rows).
 *
 * Env: BENCH_SECONDS (default 20), BENCH_CLIENTS (8), BENCH_JOBS (2),
 * WACT_BENCH_DATABASE_URL (a superuser URL; default: a throw-away embedded server).
 */
import crypto from 'node:crypto';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import pg from 'pg';
import pino from 'pino';
import { accessServiceFor } from '../../broker/access/access-wiring.ts';
import { createGateway } from '../../broker/gateway/gateway-server.ts';
import { loadConfig } from '../../shared/config/config.ts';
import { ensureDevCertificates, loadTlsMaterial } from '../../shared/http/tls.ts';
import type { Databases } from '../../shared/runtime/databases.ts';
import { createPlatform } from '../../shared/runtime/platform.ts';
import { createScratchDatabases, databaseEnv } from '../support/scratch-databases.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 8);
const JOBS = Number(process.env.BENCH_JOBS ?? 2);
const PGBENCH = ['/usr/lib/postgresql/15/bin/pgbench', '/usr/bin/pgbench'].find((p) => fs.existsSync(p)) ?? 'pgbench';

function run(cmd: string, args: string[], env: Record<string, string>): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024, timeout: (SECONDS + 120) * 1000 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${path.basename(cmd)} failed: ${stderr || err.message}`));
        else resolve({ stdout, stderr });
      },
    );
  });
}

interface BenchResult {
  tps: number;
  transactions: number;
  latencyMs: number;
  cpu: CpuShare;
}

/** CPU seconds spent during a phase: this process (the gateway), PostgreSQL, everything else (pgbench). */
interface CpuShare {
  gateway: number;
  /** of which in the kernel (system time) */
  gatewaySystem: number;
  postgres: number;
  other: number;
}

function postgresTicks(): number {
  let ticks = 0;
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (!stat.includes('(postgres)')) continue;
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime stime cutime cstime (the postmaster's c-times hold its exited backends)
      ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    } catch {
      // the process ended while we looked
    }
  }
  return ticks;
}

function busyTicks(): number {
  const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return cpu.reduce((a, b) => a + b, 0) - cpu[3] - cpu[4]; // minus idle and iowait
}

function cpuMeter(): () => CpuShare {
  const hz = 100;
  const t0 = { self: process.cpuUsage(), pg: postgresTicks(), busy: busyTicks() };
  return () => {
    const self = process.cpuUsage(t0.self);
    const gateway = (self.user + self.system) / 1e6;
    const gatewaySystem = self.system / 1e6;
    const postgres = (postgresTicks() - t0.pg) / hz;
    const busy = (busyTicks() - t0.busy) / hz;
    return { gateway, gatewaySystem, postgres, other: Math.max(0, busy - gateway - postgres) };
  };
}

function cpuPerTransaction(r: BenchResult): string {
  const us = (s: number) => ((s / r.transactions) * 1e6).toFixed(0).padStart(4);
  return `CPU µs per transaction: node ${us(r.cpu.gateway)} (kernel ${us(r.cpu.gatewaySystem).trim()}), postgres ${us(r.cpu.postgres)}, pgbench+other ${us(r.cpu.other)}`;
}

async function pgbench(
  label: string,
  conn: { host: string; port: number; user: string; password: string; db: string; ssl: boolean },
): Promise<BenchResult> {
  process.stdout.write(`running pgbench -S -c ${CLIENTS} -j ${JOBS} -T ${SECONDS} ${label} …\n`);
  const meter = cpuMeter();
  const { stdout } = await run(
    PGBENCH,
    [
      '-n',
      '-S',
      '-c',
      String(CLIENTS),
      '-j',
      String(JOBS),
      '-T',
      String(SECONDS),
      '-h',
      conn.host,
      '-p',
      String(conn.port),
      '-U',
      conn.user,
      conn.db,
    ],
    {
      PGPASSWORD: conn.password,
      PGSSLMODE: conn.ssl ? 'require' : 'disable',
    },
  );
  const tps = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(stdout)?.[1] ?? /tps = ([\d.]+)/.exec(stdout)?.[1]);
  const transactions = Number(/number of transactions actually processed: (\d+)/.exec(stdout)?.[1]);
  const latencyMs = Number(/latency average = ([\d.]+) ms/.exec(stdout)?.[1]);
  if (!Number.isFinite(tps) || !Number.isFinite(transactions)) throw new Error(`could not read pgbench output:\n${stdout}`);
  return { tps, transactions, latencyMs, cpu: meter() };
}

/**
 * Turns TLS on for the bench's own embedded server (the dev certificate), so
 * the direct baseline can also run over TLS. Skipped for a server we did not start.
 */
async function enableServerTls(admin: pg.Client, home: string, material: { key: string; cert: string }): Promise<boolean> {
  const dataDir = path.join(home, 'pg');
  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) return false; // not our own embedded server
  const owner = fs.statSync(path.join(dataDir, 'PG_VERSION'));
  for (const [name, body] of [
    ['bench-server.crt', material.cert],
    ['bench-server.key', material.key],
  ] as const) {
    const file = path.join(dataDir, name);
    fs.writeFileSync(file, body, { mode: 0o600 });
    fs.chownSync(file, owner.uid, owner.gid);
  }
  await admin.query(`ALTER SYSTEM SET ssl_cert_file = 'bench-server.crt'`);
  await admin.query(`ALTER SYSTEM SET ssl_key_file = 'bench-server.key'`);
  await admin.query(`ALTER SYSTEM SET ssl = on`);
  await admin.query(`SELECT pg_reload_conf()`);
  for (let i = 0; i < 50; i++) {
    if ((await admin.query(`SHOW ssl`)).rows[0].ssl === 'on') return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

async function main(): Promise<void> {
  const db = await createScratchDatabases({ prefix: 'wact_b', serverUrl: process.env.WACT_BENCH_DATABASE_URL });
  const { home, names, urls, servicePasswords } = db;
  const cleanup: (() => Promise<unknown>)[] = [];
  try {
    // pgbench's tables in the regional database, readable by engineer sessions.
    const eu = new URL(urls.eu);
    await run(
      PGBENCH,
      ['-i', '-s', '1', '-q', '-h', eu.hostname, '-p', eu.port || '5432', '-U', decodeURIComponent(eu.username), names.eu],
      {
        PGPASSWORD: decodeURIComponent(eu.password),
        PGSSLMODE: 'disable',
      },
    );
    const admin = new pg.Client({ connectionString: urls.eu });
    await admin.connect();
    await admin.query(
      'GRANT USAGE ON SCHEMA public TO wact_engineer; GRANT SELECT ON pgbench_accounts, pgbench_branches, pgbench_tellers, pgbench_history TO wact_engineer',
    );

    const config = loadConfig({ ...databaseEnv(db), WACT_HOME: home, GATEWAY_PUBLIC_HOST: '127.0.0.1' });
    const databases: Databases = { urls, servicePasswords, close: async () => undefined };
    const platform = createPlatform(config, databases, 'broker', { poolMax: 10 });
    const operator = createPlatform(config, databases, 'operator', { poolMax: 2 });
    cleanup.push(
      () => platform.close(),
      () => operator.close(),
    );
    await ensureDevCertificates(home, []);
    const tls_ = loadTlsMaterial(config);
    const access = accessServiceFor(platform, { settings: { maxTtlSeconds: 900 } });

    const ws = await operator.workspaces.create({ name: 'Bench', region: 'eu' }, { id: 'operator:bench', kind: 'operator' });
    const person = async (role: 'engineer' | 'security', name: string) => {
      const id = crypto.randomUUID();
      await operator.pools.control.query(`INSERT INTO wact.users (id, kind, display_name, employee_role) VALUES ($1, 'employee', $2, $3)`, [
        id,
        name,
        role,
      ]);
      return { userId: id, displayName: name, employeeRole: role };
    };
    const engineer = await person('engineer', 'Bench Engineer');
    const security = await person('security', 'Bench Security');
    const req = await access.request(engineer, { workspaceId: ws.id, reason: 'Gateway benchmark BENCH-1', scope: 'full', ttl: '15m' });
    await access.approve(security, req.session.id);
    const { connection } = await access.issueToken(engineer, req.session.id);
    cleanup.push(() => access.end(engineer, req.session.id)); // roles are cluster-wide: drop it

    const gateway = createGateway({
      tls: tls_,
      sessions: access.gatewaySource(),
      audit: platform.audit,
      logger: pino({ level: 'silent' }),
    });
    cleanup.push(() => gateway.close());
    const { port } = await gateway.listen(0, '127.0.0.1');

    // The direct baseline logs in as the same session role with its upstream password.
    const row = (await operator.pools.control.query('SELECT * FROM wact.access_sessions WHERE id = $1', [req.session.id])).rows[0];
    const upstream = access.upstreamLogin(row);
    const rolePassword = await upstream.login.password();

    const direct = await pgbench('directly', {
      host: eu.hostname,
      port: Number(eu.port || 5432),
      user: row.role_name,
      password: rolePassword,
      db: names.eu,
      ssl: false,
    });
    // Like for like: clients reach the gateway over TLS, and production databases only over TLS.
    const directTls = (await enableServerTls(admin, home, tls_))
      ? await pgbench('directly over TLS', {
          host: eu.hostname,
          port: Number(eu.port || 5432),
          user: row.role_name,
          password: rolePassword,
          db: names.eu,
          ssl: true,
        })
      : undefined;
    const viaGateway = await pgbench('through the gateway', {
      host: '127.0.0.1',
      port,
      user: connection.user,
      password: connection.password,
      db: 'wact',
      ssl: true,
    });

    // Diagnosis only (BENCH_DIAGNOSE=1): the same relay with an audit that does not write, to
    // separate the relay's own cost from the audit log's group-commit latency. Not the product.
    let relayOnly: BenchResult | undefined;
    if (process.env.BENCH_DIAGNOSE === '1') {
      const bare = createGateway({
        tls: tls_,
        sessions: access.gatewaySource(),
        audit: { append: async () => undefined, series: () => ({ append: async () => undefined }) },
        logger: pino({ level: 'silent' }),
      });
      const bp = (await bare.listen(0, '127.0.0.1')).port;
      relayOnly = await pgbench('through the gateway WITHOUT audit writes (diagnosis)', {
        host: '127.0.0.1',
        port: bp,
        user: connection.user,
        password: connection.password,
        db: 'wact',
        ssl: true,
      });
      await bare.close();
    }

    // Diagnosis only: the floor for any Node.js TLS proxy here, a bare TLS-terminating pipe
    // with no protocol parsing and no audit (pgbench logs in upstream directly).
    let barePipe: BenchResult | undefined;
    if (process.env.BENCH_DIAGNOSE === '1') {
      const pipe = net.createServer((sock) => {
        sock.once('data', () => {
          sock.write('S'); // answer SSLRequest, then terminate TLS and pipe bytes upstream
          const secure = new tls.TLSSocket(sock, { isServer: true, key: tls_.key, cert: tls_.cert });
          const up = net.connect(Number(eu.port || 5432), eu.hostname);
          up.setNoDelay(true);
          secure.pipe(up).pipe(secure);
          secure.on('error', () => up.destroy());
          up.on('error', () => secure.destroy());
        });
      });
      await new Promise<void>((r) => pipe.listen(0, '127.0.0.1', r));
      barePipe = await pgbench('through a bare Node.js TLS pipe (diagnosis)', {
        host: '127.0.0.1',
        port: (pipe.address() as net.AddressInfo).port,
        user: row.role_name,
        password: rolePassword,
        db: names.eu,
        ssl: true,
      });
      pipe.close();
    }

    const { rows } = await operator.pools.region('eu').query<{ n: string; all: string }>(
      `SELECT count(*) FILTER (WHERE (metadata::jsonb)->>'statement' LIKE 'SELECT abalance FROM pgbench_accounts%') AS n, count(*) AS all
         FROM audit.events WHERE stream_id = $1 AND session_id = $2 AND action = 'db.statement'`,
      [ws.id, req.session.id],
    );
    const audited = Number(rows[0].n);
    const ratio = viaGateway.tps / direct.tps;
    const cores = os.cpus().length;
    const load = os.loadavg()[0].toFixed(2);
    process.stdout.write(
      [
        '',
        `pgbench -S, ${CLIENTS} clients, ${JOBS} threads, ${SECONDS} s each (scale 1, ${cores} cores, load ${load})`,
        `  direct          ${direct.tps.toFixed(0).padStart(8)} tps   ${direct.latencyMs.toFixed(3)} ms avg   ${direct.transactions} transactions`,
        ...(directTls
          ? [
              `  direct over TLS ${directTls.tps.toFixed(0).padStart(8)} tps   ${directTls.latencyMs.toFixed(3)} ms avg   ${directTls.transactions} transactions`,
            ]
          : ['  direct over TLS: n/a (the server has no TLS; set up by this script on its own embedded server only)']),
        `  through gateway ${viaGateway.tps.toFixed(0).padStart(8)} tps   ${viaGateway.latencyMs.toFixed(3)} ms avg   ${viaGateway.transactions} transactions (TLS, audited)`,
        `  ratio gateway/direct: ${ratio.toFixed(2)} (target ≥ 0.50)${directTls ? `; gateway/direct over TLS: ${(viaGateway.tps / directTls.tps).toFixed(2)}` : ''}`,
        ...(relayOnly
          ? [
              `  diagnosis: relay + TLS without audit writes ${relayOnly.tps.toFixed(0)} tps (ratio ${(relayOnly.tps / direct.tps).toFixed(2)}): the rest is the audit log's durable group commit`,
              `  direct:          ${cpuPerTransaction(direct)}`,
              `  through gateway: ${cpuPerTransaction(viaGateway)}`,
              `  relay only:      ${cpuPerTransaction(relayOnly)}`,
              ...(barePipe
                ? [
                    `  bare TLS pipe:   ${barePipe.tps.toFixed(0)} tps (ratio ${(barePipe.tps / direct.tps).toFixed(2)}), ${cpuPerTransaction(barePipe)}`,
                  ]
                : []),
            ]
          : []),
        `  statements run through the gateway: ${viaGateway.transactions}; audit rows for them: ${audited} (${Number(rows[0].all)} db.statement rows in all, incl. pgbench's own setup queries)`,
        '',
      ].join('\n'),
    );
    await admin.end();
    if (audited !== viaGateway.transactions) {
      process.stdout.write('FAIL: statements run and audit rows differ\n');
      process.exitCode = 1;
    }
    if (ratio < 0.5) {
      process.stdout.write('below target: gateway is under half the direct throughput on this machine\n');
      process.exitCode = 1;
    }
  } finally {
    for (const f of cleanup.reverse()) await f().catch(() => undefined);
    await db.drop();
  }
}

await main();
