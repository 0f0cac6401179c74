/**
 * npm run bench:gateway — the auditing gateway against its peers, in one run,
 * on the same server, as the same session role (issue 17):
 *
 *   - pgbench select-only (-S, BENCH_CLIENTS clients sharing one access session)
 *     directly, directly over TLS, through PgBouncer (transaction mode, TLS to
 *     the client; installed with apt-get if missing, else that line is skipped)
 *     and through the gateway: TPS, the ratios gateway/direct-TLS and
 *     gateway/PgBouncer, CPU µs per statement of the gateway (this process,
 *     /proc/self/stat) and of PostgreSQL (/proc/<pid>/stat of its processes);
 *   - one client: the p50 latency added by the gateway over direct TLS (pgbench's
 *     per-transaction log);
 *   - a large result: `COPY (…) TO STDOUT` of ≥ 200 MB through the gateway and
 *     directly over TLS, in MB/s;
 *   - statements run through the gateway = their records (the gateway's
 *     transcript records or audit events, whichever holds them);
 *   - what bounds the gateway on this machine, measured in the same run: the
 *     p50 of one durable commit on this server (one client, a one-row INSERT
 *     with synchronous_commit on — every statement's reply waits for one), and
 *     the same relay with an audit that writes nothing (the ceiling of the
 *     relay itself).
 *
 * The gateway runs in this process: a short pgbench run through it first
 * (not measured, its statements still recorded and counted) lets V8 compile
 * the relay's hot path before the measured run, as a long-running gateway has.
 *
 * The throughput lines run in BENCH_ROUNDS interleaved rounds (direct, direct
 * TLS, PgBouncer, gateway, relay without audit, then again): each line shows
 * its median round, each ratio is the median of the ratios within a round, so
 * a slow spell of a shared machine does not land on one line only. The
 * one-client latencies and the large result run in interleaved rounds too.
 *
 * Env: BENCH_SECONDS (10), BENCH_ROUNDS (3), BENCH_CLIENTS (8), BENCH_JOBS (2), BENCH_LATENCY_SECONDS (5),
 * BENCH_WARMUP_SECONDS (3), BENCH_COPY_MB (210), BENCH_DIAGNOSE=1 (also how long records take to become
 * durable, the one-client latency with the records' commits not flushed, and a bare TLS pipe), BENCH_PROFILE=<dir> (a CPU profile of this process during the first
 * round's gateway run, and one of its first COPY), WACT_BENCH_DATABASE_URL (a superuser URL; default: a throw-away embedded server).
 */
import crypto from 'node:crypto';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import inspector from 'node:inspector/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import pg from 'pg';
import pino from 'pino';
import { accessServiceFor } from '../../shared/access/access-wiring.ts';
import { accessSessionSource } from '../../broker/gateway/access-session-source.ts';
import { createGateway } from '../../broker/gateway/gateway-server.ts';
import type { AuditLog } from '../../shared/audit/audit-types.ts';
import { NOT_OUTCOME_PART } from '../../shared/audit/transcript-statements.ts';
import { loadConfig } from '../../shared/config/config.ts';
import { ensureDevCertificates, loadTlsMaterial } from '../../shared/http/tls.ts';
import type { Databases } from '../../shared/runtime/databases.ts';
import { createPlatform } from '../../shared/runtime/platform.ts';
import { createScratchDatabases, databaseEnv, freePort, databasesOf } from '../support/scratch-databases.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 8);
const JOBS = Number(process.env.BENCH_JOBS ?? 2);
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 5);
const COPY_MB = Number(process.env.BENCH_COPY_MB ?? 210);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 3);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const PGBENCH = ['/usr/lib/postgresql/15/bin/pgbench', '/usr/bin/pgbench'].find((p) => fs.existsSync(p)) ?? 'pgbench';
const PSQL = ['/usr/lib/postgresql/15/bin/psql', '/usr/bin/psql'].find((p) => fs.existsSync(p)) ?? 'psql';
const PGBOUNCER = '/usr/sbin/pgbouncer';
const HZ = 100; // USER_HZ: /proc/<pid>/stat counts CPU time in ticks of 10 ms

function run(
  cmd: string,
  args: string[],
  env: Record<string, string>,
  timeoutS = SECONDS + 120,
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024, timeout: timeoutS * 1000 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${path.basename(cmd)} failed: ${stderr || err.message}`));
        else resolve({ stdout, stderr });
      },
    );
  });
}

interface Conn {
  host: string;
  port: number;
  user: string;
  password: string;
  db: string;
  ssl: boolean;
}

interface BenchResult {
  tps: number;
  transactions: number;
  latencyMs: number;
  cpu: CpuShare;
}

/** CPU seconds spent during a phase, per process group (from /proc/<pid>/stat). */
interface CpuShare {
  gateway: number;
  postgres: number;
  pgbouncer: number;
  /** Share of the machine's CPU time the hypervisor gave to others (/proc/stat steal): a busy host, not the code. */
  steal: number;
}

/** All CPUs' jiffies from /proc/stat: [total, steal]. */
function machineTicks(): [number, number] {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
  return [f.reduce((a, b) => a + b, 0), f[7]];
}

/** The bench's own PostgreSQL server (its postmaster's pid): other servers on the machine do not count. */
let postmaster = 0;

/**
 * utime+stime (+ the children's, which hold exited backends) of the processes
 * named `name` — for postgres only the bench server's postmaster and its children.
 */
function ticksOf(name: string): number {
  let ticks = 0;
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (!stat.includes(`(${name})`)) continue;
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (name === 'postgres' && postmaster && Number(pid) !== postmaster && Number(f[1]) !== postmaster) continue;
      ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    } catch {
      // the process ended while we looked
    }
  }
  return ticks;
}

/** This process's utime+stime: the gateway runs here, and nothing else does while pgbench runs. */
function selfTicks(): number {
  const stat = fs.readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

function cpuMeter(): () => CpuShare {
  const t0 = { self: selfTicks(), pg: ticksOf('postgres'), bouncer: ticksOf('pgbouncer'), machine: machineTicks() };
  return () => {
    const [total, steal] = machineTicks();
    return {
      gateway: (selfTicks() - t0.self) / HZ,
      postgres: (ticksOf('postgres') - t0.pg) / HZ,
      pgbouncer: (ticksOf('pgbouncer') - t0.bouncer) / HZ,
      steal: (steal - t0.machine[1]) / Math.max(1, total - t0.machine[0]),
    };
  };
}

const us = (s: number, n: number) => ((s / n) * 1e6).toFixed(0);

/** One interleaved round of the throughput lines. */
interface Round {
  direct: BenchResult;
  directTls?: BenchResult;
  bouncer?: BenchResult;
  viaGateway: BenchResult;
  relayOnly: BenchResult;
}

function median(values: number[]): number {
  const v = [...values].sort((a, b) => a - b);
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
}

/** One interleaved round of one-client p50 latencies (ms). */
interface LatencyRound {
  direct?: number;
  bouncer?: number;
  gateway: number;
  relay: number;
  commit: number;
  slowDirect?: number;
  slowGateway: number;
  /** Diagnosis: the gateway with its records' commits not flushed. */
  unflushed?: number;
}

/**
 * Diagnosis only (BENCH_DIAGNOSE=1, on the bench's own scratch database): runs
 * `measure` with audit.append_transcript committing without a WAL flush, then
 * puts the function back as it was (checked). What the gateway adds then, set
 * against what it adds with durable records, is what the flush costs on a
 * reply's path — the part of the one-client latency that no relay change can
 * remove.
 */
async function withUnflushedRecords<T>(admin: pg.Client, measure: () => Promise<T>): Promise<T> {
  const definition = async () =>
    (await admin.query<{ d: string }>(`SELECT pg_get_functiondef('audit.append_transcript'::regproc) AS d`)).rows[0].d;
  const durable = await definition();
  const forced = "PERFORM set_config('synchronous_commit', 'on', true);";
  if (!durable.includes(forced)) throw new Error('audit.append_transcript no longer forces its commit as this diagnosis expects');
  await admin.query(durable.replace(forced, "PERFORM set_config('synchronous_commit', 'off', true);"));
  const result = await measure().finally(() => admin.query(durable));
  if ((await definition()) !== durable) throw new Error('audit.append_transcript could not be restored');
  return result;
}

/** The median over rounds of a per-round figure, and the text to print (with every round's value). */
function roundMedian<R>(rounds: R[], pick: (r: R) => number | undefined): { value: number; text: string } | undefined {
  const values = rounds.map(pick).filter((v): v is number => v !== undefined);
  if (!values.length) return undefined;
  const value = median(values);
  const ms = (v: number) => v.toFixed(3);
  return { value, text: `${ms(value)} ms${values.length > 1 ? ` (rounds ${values.map(ms).join(', ')})` : ''}` };
}

/** One interleaved round of the large-result lines. */
interface CopyRound {
  direct?: CopyResult;
  gateway: CopyResult;
}

interface CopyResult {
  mbps: number;
  bytes: number;
  seconds: number;
  cpu: CpuShare;
}

/** The round holding the median of `value` (its other figures come with it). */
function medianBy<R>(rounds: R[], value: (r: R) => number): R {
  return [...rounds].sort((a, b) => value(a) - value(b))[(rounds.length - 1) >> 1];
}

/** The line's run of median TPS (with its own latency and CPU figures). */
function medianRound(rounds: Round[], pick: (r: Round) => BenchResult): BenchResult {
  const runs = rounds.map(pick).sort((a, b) => a.tps - b.tps);
  return runs[(runs.length - 1) >> 1];
}

/** A ratio taken within each round, then the median over rounds (with every round's value, to show the spread). */
function roundRatio(rounds: Round[], a: keyof Round, b: keyof Round): string {
  const values = rounds.map((r) => ({ x: r[a]?.tps, y: r[b]?.tps })).filter((v) => v.x !== undefined && v.y);
  if (!values.length) return 'n/a';
  const ratios = values.map((v) => v.x! / v.y!);
  return ratios.length > 1 ? `${median(ratios).toFixed(2)} (rounds ${ratios.map((r) => r.toFixed(2)).join(', ')})` : ratios[0].toFixed(2);
}

/** BENCH_PROFILE=<dir>: a CPU profile of this process (the gateway) while `run` runs. */
async function profiled<T>(wanted: boolean, run: () => Promise<T>): Promise<T> {
  const dir = process.env.BENCH_PROFILE;
  if (!wanted || !dir) return run();
  const session = new inspector.Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    return await run();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `gateway-${Date.now()}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  }
}

function pgEnv(c: Conn): Record<string, string> {
  return { PGPASSWORD: c.password, PGSSLMODE: c.ssl ? 'require' : 'disable' };
}

async function pgbench(
  label: string,
  conn: Conn,
  clients = CLIENTS,
  seconds = SECONDS,
  logPrefix?: string,
  script: string[] = ['-S'],
): Promise<BenchResult> {
  process.stdout.write(`running pgbench ${script.join(' ')} -c ${clients} -T ${seconds} ${label} …\n`);
  const meter = cpuMeter();
  const jobs = Math.min(JOBS, clients);
  const args = ['-n', ...script, '-c', String(clients), '-j', String(jobs), '-T', String(seconds)];
  if (logPrefix) args.push('-l', `--log-prefix=${logPrefix}`);
  args.push('-h', conn.host, '-p', String(conn.port), '-U', conn.user, conn.db);
  const { stdout } = await run(PGBENCH, args, pgEnv(conn), seconds + 120);
  const tps = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(stdout)?.[1] ?? /tps = ([\d.]+)/.exec(stdout)?.[1]);
  const transactions = Number(/number of transactions actually processed: (\d+)/.exec(stdout)?.[1]);
  const latencyMs = Number(/latency average = ([\d.]+) ms/.exec(stdout)?.[1]);
  if (!Number.isFinite(tps) || !Number.isFinite(transactions)) throw new Error(`could not read pgbench output:\n${stdout}`);
  // The server's backends end a moment after their clients (through a gateway, after its upstream connections
  // close): read their CPU once they are gone and reaped into the postmaster's children's time, not in between.
  await new Promise((r) => setTimeout(r, 300));
  return { tps, transactions, latencyMs, cpu: meter() };
}

/** p50 latency (ms) of one client, from pgbench's per-transaction log (column 3: latency in µs). */
async function p50OneClient(label: string, conn: Conn, dir: string, script?: string[]): Promise<number> {
  const prefix = path.join(dir, `lat-${label.replace(/\W+/g, '-')}`);
  await pgbench(`${label} (1 client, latency)`, conn, 1, LATENCY_SECONDS, prefix, script);
  const latencies: number[] = [];
  for (const f of fs.readdirSync(dir).filter((n) => path.join(dir, n).startsWith(prefix))) {
    for (const line of fs.readFileSync(path.join(dir, f), 'utf8').split('\n')) {
      const cols = line.split(' ');
      if (cols.length >= 3) latencies.push(Number(cols[2]));
    }
    fs.rmSync(path.join(dir, f));
  }
  latencies.sort((a, b) => a - b);
  return latencies[Math.floor(latencies.length / 2)] / 1000;
}

/** MB/s of one `COPY … TO STDOUT` of ≥ COPY_MB megabytes, counted by `wc -c` outside this process. */
async function copyThroughput(label: string, conn: Conn): Promise<CopyResult> {
  process.stdout.write(`running COPY … TO STDOUT (${COPY_MB} MB) ${label} …\n`);
  const meter = cpuMeter();
  const rows = Math.ceil((COPY_MB * 1e6) / 1001);
  const sql = `COPY (SELECT repeat('x', 1000) FROM generate_series(1, ${rows})) TO STDOUT`;
  const t0 = performance.now();
  const { stdout } = await run(
    'sh',
    ['-c', `"$PSQL" -X -q -h "$H" -p "$P" -U "$U" -d "$D" -c "$SQL" | wc -c`],
    { ...pgEnv(conn), PSQL, H: conn.host, P: String(conn.port), U: conn.user, D: conn.db, SQL: sql },
    600,
  );
  const seconds = (performance.now() - t0) / 1000;
  const bytes = Number(stdout.trim());
  if (bytes < COPY_MB * 1e6) throw new Error(`COPY ${label} returned ${bytes} bytes`);
  return { mbps: bytes / 1e6 / seconds, bytes, seconds, cpu: meter() };
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

/** PgBouncer's binary: present, or installed with apt-get; undefined (with the reason) if neither works. */
function pgbouncerBinary(): { bin?: string; why?: string } {
  if (fs.existsSync(PGBOUNCER)) return { bin: PGBOUNCER };
  try {
    process.stdout.write('PgBouncer missing: apt-get install -y pgbouncer …\n');
    execFileSync('apt-get', ['install', '-y', '-q', 'pgbouncer'], {
      stdio: 'ignore',
      timeout: 300_000,
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  } catch (err) {
    return { why: `could not install pgbouncer (${(err as Error).message.split('\n')[0]})` };
  }
  return fs.existsSync(PGBOUNCER) ? { bin: PGBOUNCER } : { why: 'pgbouncer not found after apt-get install' };
}

/**
 * PgBouncer 1.18 in transaction mode in front of the same database, TLS to
 * the client (the dev certificate), plain TCP to the server like the gateway's
 * loopback upstream, logging in as the same session role.
 */
async function startPgbouncer(
  bin: string,
  dir: string,
  upstream: { host: string; port: number; db: string; user: string; password: string },
  material: { key: string; cert: string },
): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const file = (name: string, body: string) => {
    fs.writeFileSync(path.join(dir, name), body, { mode: 0o600 });
    fs.chownSync(path.join(dir, name), uid, gid);
  };
  // PgBouncer refuses to run as root: it drops to the postgres user (-u), which must read its files.
  const pw = fs.existsSync('/etc/passwd') ? /^postgres:x:(\d+):(\d+):/m.exec(fs.readFileSync('/etc/passwd', 'utf8')) : null;
  const uid = pw ? Number(pw[1]) : process.getuid!();
  const gid = pw ? Number(pw[2]) : process.getgid!();
  fs.chmodSync(dir, 0o755);
  fs.chownSync(dir, uid, gid); // it writes its log here
  file('bouncer.key', material.key);
  file('bouncer.crt', material.cert);
  file('userlist.txt', `"${upstream.user}" "${upstream.password}"\n`);
  file(
    'pgbouncer.ini',
    [
      '[databases]',
      `${upstream.db} = host=${upstream.host} port=${upstream.port} dbname=${upstream.db}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = plain',
      `auth_file = ${path.join(dir, 'userlist.txt')}`,
      'pool_mode = transaction',
      'max_client_conn = 200',
      `default_pool_size = ${CLIENTS}`,
      'client_tls_sslmode = require',
      `client_tls_key_file = ${path.join(dir, 'bouncer.key')}`,
      `client_tls_cert_file = ${path.join(dir, 'bouncer.crt')}`,
      'server_tls_sslmode = disable',
      'ignore_startup_parameters = extra_float_digits',
      `logfile = ${path.join(dir, 'pgbouncer.log')}`,
      '',
    ].join('\n'),
  );
  const args = [path.join(dir, 'pgbouncer.ini')];
  if (process.getuid?.() === 0) args.unshift('-u', 'postgres');
  const child = spawn(bin, args, { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (up) return { port, child };
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error(
    `pgbouncer did not start: ${fs.existsSync(path.join(dir, 'pgbouncer.log')) ? fs.readFileSync(path.join(dir, 'pgbouncer.log'), 'utf8').slice(-500) : ''}`,
  );
}

/** Statement records of the session for pgbench's query: audit events and transcript records alike. */
async function countRecords(
  db: pg.Pool,
  workspaceId: string,
  sessionId: string,
): Promise<{ bench: number; all: number; startsWithoutOutcome: number }> {
  const like = 'SELECT abalance FROM pgbench_accounts%';
  const ev = await db.query<{ n: string; all: string }>(
    `SELECT count(*) FILTER (WHERE (metadata::jsonb)->>'statement' LIKE $3) AS n, count(*) AS all
       FROM audit.events WHERE stream_id = $1 AND session_id = $2 AND action = 'db.statement'`,
    [workspaceId, sessionId, like],
  );
  let bench = Number(ev.rows[0].n);
  let all = Number(ev.rows[0].all);
  let startsWithoutOutcome = 0;
  const hasTranscripts = (await db.query(`SELECT to_regclass('audit.transcript_records') IS NOT NULL AS t`)).rows[0].t as boolean;
  if (hasTranscripts) {
    const tr = await db.query<{ n: string; all: string; open: string }>(
      // One statement = one record, or a start part and its outcome part (shared/audit/transcript-statements.ts).
      `SELECT count(*) FILTER (WHERE (r.metadata::jsonb)->>'statement' LIKE $2) AS n, count(*) FILTER (WHERE ${NOT_OUTCOME_PART}) AS all,
              count(*) FILTER (WHERE (r.metadata::jsonb)->>'part' = 'start') - count(*) FILTER (WHERE NOT ${NOT_OUTCOME_PART}) AS open
         FROM audit.transcript_records r JOIN audit.transcripts t USING (transcript_id) WHERE t.session_id = $1`,
      [sessionId, like],
    );
    bench += Number(tr.rows[0].n);
    all += Number(tr.rows[0].all);
    startsWithoutOutcome = Number(tr.rows[0].open);
  }
  return { bench, all, startsWithoutOutcome };
}

async function main(): Promise<void> {
  const db = await createScratchDatabases({ prefix: 'wact_b', serverUrl: process.env.WACT_BENCH_DATABASE_URL });
  const { home, names, urls, servicePasswords } = db;
  const cleanup: (() => Promise<unknown>)[] = [];
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wact-gwbench-'));
  fs.chmodSync(work, 0o755); // PgBouncer runs as postgres and reads its files here
  cleanup.push(async () => fs.rmSync(work, { recursive: true, force: true }));
  try {
    // pgbench's tables in the regional database, readable by engineer sessions.
    const eu = new URL(urls.eu);
    const pgHost = eu.hostname;
    const pgPort = Number(eu.port || 5432);
    await run(PGBENCH, ['-i', '-s', '1', '-q', '-h', pgHost, '-p', String(pgPort), '-U', decodeURIComponent(eu.username), names.eu], {
      PGPASSWORD: decodeURIComponent(eu.password),
      PGSSLMODE: 'disable',
    });
    const admin = new pg.Client({ connectionString: urls.eu });
    await admin.connect();
    cleanup.push(() => admin.end());
    const backend = (await admin.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    const backendStat = fs.readFileSync(`/proc/${backend}/stat`, 'utf8');
    postmaster = Number(backendStat.slice(backendStat.lastIndexOf(')') + 2).split(' ')[1]);
    await admin.query(
      'GRANT USAGE ON SCHEMA public TO wact_engineer; GRANT SELECT ON pgbench_accounts, pgbench_branches, pgbench_tellers, pgbench_history TO wact_engineer',
    );

    const config = loadConfig({ ...databaseEnv(db), WACT_HOME: home, GATEWAY_PUBLIC_HOST: '127.0.0.1' });
    const databases: Databases = databasesOf({ urls, servicePasswords });
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

    // Diagnosis (BENCH_DIAGNOSE=1): how long each statement record takes to become durable.
    const recordMs: number[] = [];
    const audit: AuditLog =
      process.env.BENCH_DIAGNOSE === '1'
        ? {
            append: (e) => platform.audit.append(e),
            series: (t) => {
              const s = platform.audit.series(t);
              return {
                append: async (e) => {
                  const t0 = performance.now();
                  await s.append(e);
                  recordMs.push(performance.now() - t0);
                },
              };
            },
          }
        : platform.audit;
    const gateway = createGateway({
      tls: tls_,
      sessions: accessSessionSource(access),
      audit,
      logger: pino({ level: 'silent' }),
    });
    cleanup.push(() => gateway.close());
    const { port } = await gateway.listen(0, '127.0.0.1');

    // The direct baselines and PgBouncer log in as the same session role with its upstream password.
    const row = (await operator.pools.control.query('SELECT * FROM wact.access_sessions WHERE id = $1', [req.session.id])).rows[0];
    const upstream = access.upstreamLogin(row);
    const rolePassword = await upstream.login.password();
    const directConn: Conn = { host: pgHost, port: pgPort, user: row.role_name, password: rolePassword, db: names.eu, ssl: false };
    const gatewayConn: Conn = { host: '127.0.0.1', port, user: connection.user, password: connection.password, db: 'wact', ssl: true };

    // Like for like: clients reach the gateway over TLS, and production databases only over TLS.
    const serverTls = await enableServerTls(admin, home, tls_);
    const directTlsConn: Conn = { ...directConn, ssl: true };

    let bouncerConn: Conn | undefined;
    let bouncerWhy: string | undefined;
    const found = pgbouncerBinary();
    if (found.bin) {
      try {
        const dir = path.join(work, 'pgbouncer');
        fs.mkdirSync(dir);
        const pb = await startPgbouncer(
          found.bin,
          dir,
          { host: pgHost, port: pgPort, db: names.eu, user: row.role_name, password: rolePassword },
          tls_,
        );
        cleanup.push(async () => pb.child.kill('SIGTERM'));
        bouncerConn = { ...directConn, port: pb.port, ssl: true };
      } catch (err) {
        bouncerWhy = (err as Error).message.split('\n')[0];
      }
    } else bouncerWhy = found.why;

    // The same relay (tracking, records computed and hashed) with an audit that writes nothing: the relay's own ceiling.
    const bare = createGateway({
      tls: tls_,
      sessions: accessSessionSource(access),
      audit: { append: async () => undefined, series: () => ({ append: async () => undefined }) },
      logger: pino({ level: 'silent' }),
    });
    cleanup.push(() => bare.close());
    const bareConn: Conn = { ...gatewayConn, port: (await bare.listen(0, '127.0.0.1')).port };

    // Warm-ups (not measured; the gateway's statements are still recorded and counted): V8 compiles the relay's hot path.
    const warmup = await pgbench('through the gateway (warm-up, not measured)', gatewayConn, CLIENTS, WARMUP_SECONDS);
    await pgbench('through the gateway WITHOUT audit writes (warm-up, not measured)', bareConn, CLIENTS, WARMUP_SECONDS);

    // Interleaved rounds: every line runs once per round, so a slow spell of the machine hits all of them,
    // and each ratio is taken within a round (the median of the rounds is reported).
    const rounds: Round[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const tag = ROUNDS > 1 ? ` [round ${i + 1}/${ROUNDS}]` : '';
      const direct = await pgbench(`directly${tag}`, directConn);
      const directTls = serverTls ? await pgbench(`directly over TLS${tag}`, directTlsConn) : undefined;
      const bouncer = bouncerConn ? await pgbench(`through PgBouncer (transaction mode, TLS to the client)${tag}`, bouncerConn) : undefined;
      const viaGateway = await profiled(i === 0, () => pgbench(`through the gateway${tag}`, gatewayConn));
      const relayOnly = await pgbench(`through the gateway WITHOUT audit writes (ceiling of the relay)${tag}`, bareConn);
      rounds.push({ direct, directTls, bouncer, viaGateway, relayOnly });
    }
    const direct = medianRound(rounds, (r) => r.direct);
    const directTls = serverTls ? medianRound(rounds, (r) => r.directTls!) : undefined;
    const bouncer = bouncerConn ? medianRound(rounds, (r) => r.bouncer!) : undefined;
    const viaGateway = medianRound(rounds, (r) => r.viaGateway);
    const relayOnly = medianRound(rounds, (r) => r.relayOnly);
    const counted = await countRecords(operator.pools.region('eu'), ws.id, req.session.id);
    const ran = warmup.transactions + rounds.reduce((n, r) => n + r.viaGateway.transactions, 0);

    // One client, in interleaved rounds as well: what the gateway adds over direct TLS (its record's durable
    // commit is on every statement's path), and in the same round what bounds it — what the relay without
    // audit adds, one durable commit on the server (a one-row INSERT with synchronous_commit on, straight to
    // the server as the audit writer connects: the least any reply waiting for its record waits) — and what
    // PgBouncer adds.
    const adminConn: Conn = {
      host: pgHost,
      port: pgPort,
      user: decodeURIComponent(eu.username),
      password: decodeURIComponent(eu.password),
      db: names.eu,
      ssl: false,
    };
    await admin.query('CREATE TABLE bench_commit_floor (at timestamptz NOT NULL DEFAULT now())');
    const floorScript = path.join(work, 'commit-floor.sql');
    fs.writeFileSync(floorScript, 'SET synchronous_commit = on;\nINSERT INTO bench_commit_floor DEFAULT VALUES;\n');
    // A statement that runs ≈ 2 ms, longer than a commit: its start record's commit overlaps it (issue 17).
    const slowScript = path.join(work, 'slow-statement.sql');
    fs.writeFileSync(slowScript, 'SELECT pg_sleep(0.002);\n');
    const latency: LatencyRound[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const tag = ROUNDS > 1 ? ` [round ${i + 1}/${ROUNDS}]` : '';
      latency.push({
        direct: serverTls ? await p50OneClient(`directly over TLS${tag}`, directTlsConn, work) : undefined,
        bouncer: bouncerConn ? await p50OneClient(`through PgBouncer${tag}`, bouncerConn, work) : undefined,
        gateway: await p50OneClient(`through the gateway${tag}`, gatewayConn, work),
        relay: await p50OneClient(`through the gateway WITHOUT audit writes${tag}`, bareConn, work),
        commit: await p50OneClient(`one durable commit, directly${tag}`, adminConn, work, ['-f', floorScript]),
        slowDirect: serverTls
          ? await p50OneClient(`a 2 ms statement directly over TLS${tag}`, directTlsConn, work, ['-f', slowScript])
          : undefined,
        slowGateway: await p50OneClient(`a 2 ms statement through the gateway${tag}`, gatewayConn, work, ['-f', slowScript]),
        unflushed:
          process.env.BENCH_DIAGNOSE === '1'
            ? await withUnflushedRecords(admin, () =>
                p50OneClient(`through the gateway, its records committed WITHOUT a WAL flush (diagnosis)${tag}`, gatewayConn, work),
              )
            : undefined,
      });
    }
    const overDirect = (pick: (l: LatencyRound) => number | undefined) =>
      roundMedian(latency, (l) => (l.direct !== undefined && pick(l) !== undefined ? pick(l)! - l.direct : undefined));

    // A large result, streamed behind its provisional record: interleaved rounds as well (a single pair of
    // COPYs after the pgbench load varied more between runs than changes to the relay moved it).
    const copies: CopyRound[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const tag = ROUNDS > 1 ? ` [round ${i + 1}/${ROUNDS}]` : '';
      copies.push({
        direct: serverTls ? await copyThroughput(`directly over TLS${tag}`, directTlsConn) : undefined,
        gateway: await profiled(i === 0, () => copyThroughput(`through the gateway${tag}`, gatewayConn)),
      });
    }
    const copyGateway = medianBy(copies, (c) => c.gateway.mbps).gateway;
    const copyDirect = serverTls ? medianBy(copies, (c) => c.direct!.mbps).direct : undefined;
    const copyRatios = copies.filter((c) => c.direct).map((c) => c.gateway.mbps / c.direct!.mbps);

    // Diagnosis only (BENCH_DIAGNOSE=1): a bare Node.js TLS pipe.
    let barePipe: BenchResult | undefined;
    if (process.env.BENCH_DIAGNOSE === '1') {
      const pipe = net.createServer((sock) => {
        sock.once('data', () => {
          sock.write('S'); // answer SSLRequest, then terminate TLS and pipe bytes upstream
          const secure = new tls.TLSSocket(sock, { isServer: true, key: tls_.key, cert: tls_.cert });
          const up = net.connect(pgPort, pgHost);
          up.setNoDelay(true);
          secure.pipe(up).pipe(secure);
          secure.on('error', () => up.destroy());
          up.on('error', () => secure.destroy());
        });
      });
      await new Promise<void>((r) => pipe.listen(0, '127.0.0.1', r));
      barePipe = await pgbench('through a bare Node.js TLS pipe (diagnosis)', {
        ...directConn,
        port: (pipe.address() as net.AddressInfo).port,
        ssl: true,
      });
      pipe.close();
    }

    const cores = os.cpus().length;
    const load = os.loadavg()[0].toFixed(2);
    const line = (label: string, r: BenchResult, extra = '') =>
      `  ${label.padEnd(22)} ${r.tps.toFixed(0).padStart(8)} tps  ${r.latencyMs.toFixed(3)} ms avg  CPU µs/stmt: postgres ${us(r.cpu.postgres, r.transactions)}${extra}; steal ${(r.cpu.steal * 100).toFixed(0)} %`;
    const ofRounds = ROUNDS > 1 ? ` (median of ${ROUNDS} rounds)` : '';
    const gwBouncer = roundRatio(rounds, 'viaGateway', 'bouncer');
    const gwTls = roundRatio(rounds, 'viaGateway', 'directTls');
    const bouncerTls = roundRatio(rounds, 'bouncer', 'directTls');
    const relayBouncer = roundRatio(rounds, 'relayOnly', 'bouncer');
    const gwRelay = roundRatio(rounds, 'viaGateway', 'relayOnly');
    const p50Direct = roundMedian(latency, (l) => l.direct)?.text ?? 'n/a';
    const p50Gateway = roundMedian(latency, (l) => l.gateway)?.text;
    const added = overDirect((l) => l.gateway)?.text ?? 'n/a';
    const bouncerAdds = overDirect((l) => l.bouncer)?.text ?? 'n/a';
    const relayAdds = overDirect((l) => l.relay)?.text ?? 'n/a';
    const commitFloor = roundMedian(latency, (l) => l.commit)?.text;
    const slowAdded = roundMedian(latency, (l) => (l.slowDirect !== undefined ? l.slowGateway - l.slowDirect : undefined))?.text ?? 'n/a';
    const out = [
      '',
      `pgbench -S, ${CLIENTS} clients (one access session), ${JOBS} threads, ${SECONDS} s each, ${ROUNDS} interleaved round${ROUNDS > 1 ? 's (each line: its median round)' : ''} (scale 1, ${cores} cores, load ${load})`,
      line('direct', direct),
      directTls
        ? line('direct over TLS', directTls)
        : '  direct over TLS: n/a (the server has no TLS; set up by this script on its own embedded server only)',
      bouncer
        ? line('PgBouncer (TLS, txn)', bouncer, `, pgbouncer ${us(bouncer.cpu.pgbouncer, bouncer.transactions)}`)
        : `  PgBouncer: skipped — ${bouncerWhy}`,
      line('gateway (TLS, audited)', viaGateway, `, gateway ${us(viaGateway.cpu.gateway, viaGateway.transactions)}`),
      line('relay without audit', relayOnly, `, gateway ${us(relayOnly.cpu.gateway, relayOnly.transactions)}`),
      `  ratios${ofRounds}: gateway/PgBouncer ${gwBouncer} (target ≥ 0.35); gateway/direct-TLS ${gwTls}; PgBouncer/direct-TLS ${bouncerTls}`,
      `  one client, p50${ofRounds}: direct over TLS ${p50Direct}, gateway ${p50Gateway}, added ${added} (target ≤ 0.5 ms); PgBouncer adds ${bouncerAdds}`,
      `  bounds here: relay without audit/PgBouncer ${relayBouncer}, gateway/relay without audit ${gwRelay}; one durable commit on this server, p50 ${commitFloor} (each reply waits for its record's); one client, p50 added by the relay without audit ${relayAdds}`,
      `  one client, a 2 ms statement (pg_sleep), p50${ofRounds}: direct over TLS ${roundMedian(latency, (l) => l.slowDirect)?.text ?? 'n/a'}, gateway ${roundMedian(latency, (l) => l.slowGateway)?.text}, added ${slowAdded} (its record's commit overlaps its execution)`,
      `  COPY … TO STDOUT ${(copyGateway.bytes / 1e6).toFixed(0)} MB${ofRounds}: direct over TLS ${copyDirect?.mbps.toFixed(0) ?? 'n/a'} MB/s, gateway ${copyGateway.mbps.toFixed(0)} MB/s, ratio ${copyRatios.length ? median(copyRatios).toFixed(2) : 'n/a'}${copyRatios.length > 1 ? ` (rounds ${copyRatios.map((r) => r.toFixed(2)).join(', ')})` : ''} (target ≥ 0.7); CPU ms per 100 MB: gateway ${((copyGateway.cpu.gateway / copyGateway.bytes) * 1e11).toFixed(0)}, postgres ${((copyGateway.cpu.postgres / copyGateway.bytes) * 1e11).toFixed(0)} (direct over TLS: postgres ${copyDirect ? ((copyDirect.cpu.postgres / copyDirect.bytes) * 1e11).toFixed(0) : 'n/a'})`,
      ...(recordMs.length
        ? [
            `  diagnosis: record durable after p50 ${[...recordMs].sort((a, b) => a - b)[Math.floor(recordMs.length / 2)].toFixed(3)} ms over ${recordMs.length} records`,
          ]
        : []),
      ...(latency.some((l) => l.unflushed !== undefined)
        ? [
            `  diagnosis: one client, p50 added by the gateway with its records' commits NOT flushed ${overDirect((l) => l.unflushed)?.text ?? 'n/a'} (with durable records: ${added}): the rest is the WAL flush on a reply's path`,
          ]
        : []),
      ...(barePipe ? [line('diagnosis: bare pipe', barePipe, `, node ${us(barePipe.cpu.gateway, barePipe.transactions)}`)] : []),
      `  statements run through the gateway: ${ran} (${warmup.transactions} of them in the warm-up); records of them: ${counted.bench} (${counted.all} statement records in all, incl. pgbench's own setup queries; started statements without their outcome part: ${counted.startsWithoutOutcome})`,
      '',
    ];
    process.stdout.write(out.join('\n'));
    if (counted.bench !== ran || counted.startsWithoutOutcome !== 0) {
      process.stdout.write('FAIL: statements run and records differ\n');
      process.exitCode = 1;
    }
  } finally {
    for (const f of cleanup.reverse()) await f().catch(() => undefined);
    await db.drop();
  }
}

await main();
