/**
 * npm run bench:audit — the audit log against its physical limits, in one run:
 *  (a) append with the hash chain: 8 writers (each its own AuditLog and pool, as
 *      separate broker/gateway processes would be), each with many appends in
 *      flight, beside the same batching into a plain table without chain;
 *  (b) export of 1,000,000 events to CSV (and JSON Lines) beside
 *      COPY (same rows, same formatting) TO STDOUT; peak RSS of the exporting
 *      process (a child process, so nothing else counts);
 *  (c) first page of filtered searches over the same 1,000,000 events, p50/p95.
 * Targets: append ≥ 10,000 events/s; export ≥ 0.5 × COPY with peak RSS ≤ 200 MB;
 * first filtered page < 50 ms at p95.
 *
 * Env: BENCH_EVENTS (1000000), BENCH_APPEND_SECONDS (8), BENCH_INFLIGHT (32 per writer),
 * WACT_BENCH_DATABASE_URL (a superuser URL; default: a throw-away embedded server).
 */
import crypto from 'node:crypto';
import { execFile } from 'node:child_process';
import os from 'node:os';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createAuditLog } from '../../shared/audit/audit-service.ts';
import { createAuditSigner } from '../../shared/audit/audit-signing.ts';
import { localSigningKey } from '../../shared/audit/audit-signing-keys.ts';
import { exportAuditStream } from '../../shared/audit/audit-export.ts';
import { EVENT_SELECT } from '../../shared/audit/audit-dal.ts';
import { countAuditLog, searchAuditLog, type SearchFilter } from '../../shared/audit/audit-search.ts';
import type { AuditDatabase, AuditEventInput } from '../../shared/audit/audit-types.ts';
import { createPools, type Pools } from '../../shared/db/pools.ts';
import { withCredentials, type DatabaseUrls } from '../../shared/db/database-urls.ts';
import { createScratchDatabases } from '../support/scratch-databases.ts';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const APPEND_SECONDS = Number(process.env.BENCH_APPEND_SECONDS ?? 8);
const INFLIGHT = Number(process.env.BENCH_INFLIGHT ?? 32);
const WRITERS = 8;

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

// ---------- (a) append ----------

function benchEvent(ws: string, i: number): AuditEventInput {
  return {
    action: i % 3 ? 'db.query' : 'data.read',
    actor: { id: `emp-${i % 40}`, kind: 'employee', role: 'engineer', displayName: `Engineer ${i % 40}` },
    workspaceId: ws,
    region: 'eu',
    target: { type: 'table', id: `wact.conversations` },
    reason: `incident INC-${i % 1000}: checking attribution`,
    sessionId: `sess-${i % 64}`,
    clientIp: '10.1.2.3',
    outcome: 'success',
    metadata: { rows: i % 500, statement: 'select' },
  };
}

/** W writers × INFLIGHT concurrent append loops for `seconds`; events/s and latency. */
async function appendRun(
  makeAppend: (w: number) => (e: AuditEventInput) => Promise<void>,
  seconds: number,
  inflight: number,
  workspaceOf: (w: number, i: number) => string,
) {
  const appenders = Array.from({ length: WRITERS }, (_, w) => makeAppend(w));
  const stopAt = Date.now() + seconds * 1000;
  let done = 0;
  const latencies: number[] = [];
  const start = process.hrtime.bigint();
  await Promise.all(
    appenders.flatMap((append, w) =>
      Array.from({ length: inflight }, async (_, k) => {
        let i = w * 100_000 + k * 1000;
        while (Date.now() < stopAt) {
          const t0 = process.hrtime.bigint();
          await append(benchEvent(workspaceOf(w, i), i++));
          if (latencies.length < 200_000) latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
          done++;
        }
      }),
    ),
  );
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  return { events: done, perSecond: done / secs, p50: pct(latencies, 50), p99: pct(latencies, 99) };
}

/** The same group commit into a plain table (no chain, no function): the physical baseline. */
function plainAppender(pool: pg.Pool) {
  const queue: { row: string; resolve: () => void; reject: (e: unknown) => void }[] = [];
  let inFlight = 0;
  let scheduled = false;
  const run = async (batch: typeof queue) => {
    const c = await pool.connect();
    try {
      // Same single round trip as the audit batcher.
      const literal = c.escapeLiteral(`[${batch.map((b) => b.row).join(',')}]`);
      await c.query(`BEGIN; SET LOCAL synchronous_commit = on;
        INSERT INTO bench_plain.events (stream_id, action, actor_kind, actor_id, actor_role, actor_name, target_type, target_id, reason, session_id, client_ip, outcome, metadata)
        SELECT (x->>'streamId')::uuid, x->>'action', x->>'actorKind', x->>'actorId', x->>'actorRole', x->>'actorName', x->>'targetType', x->>'targetId', x->>'reason', x->>'sessionId', x->>'clientIp', x->>'outcome', x->>'metadata'
          FROM jsonb_array_elements(${literal}::jsonb) x; COMMIT`);
      batch.forEach((b) => b.resolve());
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      batch.forEach((b) => b.reject(e));
    } finally {
      c.release();
    }
  };
  const pump = () => {
    scheduled = false;
    while (inFlight < 2 && queue.length) {
      inFlight++;
      void run(queue.splice(0, 2000)).finally(() => {
        inFlight--;
        if (queue.length && !scheduled) pump();
      });
    }
  };
  return (e: AuditEventInput) =>
    new Promise<void>((resolve, reject) => {
      const row = JSON.stringify({
        streamId: e.workspaceId,
        action: e.action,
        actorKind: e.actor.kind,
        actorId: e.actor.id,
        actorRole: e.actor.role,
        actorName: e.actor.displayName,
        targetType: e.target?.type,
        targetId: e.target?.id,
        reason: e.reason,
        sessionId: e.sessionId,
        clientIp: e.clientIp,
        outcome: e.outcome,
        metadata: JSON.stringify(e.metadata),
      });
      queue.push({ row, resolve, reject });
      if (!scheduled && inFlight < 2) {
        scheduled = true;
        setImmediate(pump);
      }
    });
}

// ---------- (b) export ----------

/** COPY … TO STDOUT read off the wire and discarded (pg has no COPY OUT API: a minimal submittable). */
class CopyOut {
  bytes = 0;
  rows = 0;
  private resolveFn!: () => void;
  private rejectFn!: (e: unknown) => void;
  private failed: unknown;
  readonly done = new Promise<void>((res, rej) => {
    this.resolveFn = res;
    this.rejectFn = rej;
  });
  constructor(private readonly text: string) {}
  submit(connection: { query(text: string): void }) {
    connection.query(this.text);
  }
  handleCopyData(msg: { chunk: Buffer }) {
    this.bytes += msg.chunk.length;
  }
  handleCommandComplete(msg: { text: string }) {
    this.rows = Number(msg.text.split(' ')[1] ?? 0);
  }
  handleError(err: unknown) {
    this.failed = err;
  }
  handleReadyForQuery() {
    if (this.failed) this.rejectFn(this.failed);
    else this.resolveFn();
  }
  handleEmptyQuery() {}
  handleRowDescription() {}
  handleDataRow() {}
  handlePortalSuspended() {}
}

/** The export phase runs in a child process so its peak RSS is the exporter's alone. */
async function exportChild(args: {
  urls: DatabaseUrls;
  signerPassword: string;
  home: string;
  streamId: string;
  format: 'csv' | 'jsonl';
  engine: 'copy' | 'node';
}) {
  // The exporter signs here directly (no signer process in the child): it logs in as wact_signer.
  const pools = createPools(args.urls, { user: 'wact_signer', password: args.signerPassword, max: 4 });
  const poolFor = (db: AuditDatabase) => (db === 'control' ? pools.control : pools.region(db));
  const signer = createAuditSigner({ poolFor, key: () => localSigningKey(args.home) });
  let bytes = 0;
  const sink = new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      cb();
    },
  });
  const t0 = process.hrtime.bigint();
  const r = await exportAuditStream(
    { poolFor, signer },
    { database: 'eu', streamId: args.streamId, format: args.format, batchSize: 5000, engine: args.engine },
    sink,
  );
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  await pools.end();
  return { events: r.events, seconds: secs, bytes, peakRssMb: process.resourceUsage().maxRSS / 1024 };
}

async function main(): Promise<void> {
  const db = await createScratchDatabases({ prefix: 'wact_b', serverUrl: process.env.WACT_BENCH_DATABASE_URL });
  const { server, urls, servicePasswords, home } = db;
  const pools: Pools[] = [];
  const admin = new pg.Client({ connectionString: urls.eu });
  try {
    await admin.connect();
    console.log(`audit bench on ${server ? 'a throw-away embedded PostgreSQL' : 'WACT_BENCH_DATABASE_URL'}; ${os.cpus().length} CPUs`);

    // (a) append
    // 64 workspaces; like gateway sessions, each writer mostly serves its own 8 of them.
    // The worst case (every writer appending to the same 16 workspaces, so
    // every transaction waits for the same head locks) is measured too.
    const workspaces = Array.from({ length: 64 }, () => crypto.randomUUID());
    const own = (w: number, i: number) => workspaces[w * 8 + (i % 8)];
    const shared = (_w: number, i: number) => workspaces[i % 16];
    const writerPools = Array.from({ length: WRITERS }, () =>
      createPools(urls, { user: 'wact_broker', password: servicePasswords.broker, max: 3 }),
    );
    pools.push(...writerPools);
    await admin.query(`CREATE SCHEMA bench_plain; CREATE TABLE bench_plain.events (stream_id uuid, seq bigserial, occurred_at timestamptz DEFAULT clock_timestamp(), id uuid DEFAULT gen_random_uuid(),
      action text, actor_kind text, actor_id text, actor_role text, actor_name text, target_type text, target_id text, reason text, session_id text, client_ip text, outcome text, metadata text)`);
    const logs = writerPools.map((p) =>
      createAuditLog({
        pools: p,
        batching: process.env.BENCH_TX_INFLIGHT ? { maxInFlight: Number(process.env.BENCH_TX_INFLIGHT) } : undefined,
      }),
    );
    const chained = await appendRun((w) => (e) => logs[w].append(e), APPEND_SECONDS, INFLIGHT, own);
    const plainPools = Array.from({ length: WRITERS }, () => createPools(urls, { max: 3 }));
    pools.push(...plainPools);
    const plains = plainPools.map((p) => plainAppender(p.region('eu')));
    const plain = await appendRun((w) => plains[w], APPEND_SECONDS, INFLIGHT, own);
    const contended = await appendRun((w) => (e) => logs[w].append(e), Math.max(2, APPEND_SECONDS / 2), INFLIGHT, shared);
    const strict = await appendRun((w) => (e) => logs[w].append(e), Math.max(2, APPEND_SECONDS / 2), 1, own);
    // The chains stayed valid under all of that.
    const broken = await admin.query(
      `SELECT count(*)::int AS n FROM (SELECT seq, lag(seq) OVER w AS p, prev_hash, lag(hash) OVER w AS ph FROM audit.events WHERE stream_id = ANY($1) WINDOW w AS (PARTITION BY stream_id ORDER BY seq)) x
        WHERE (p IS NOT NULL AND (seq <> p + 1 OR prev_hash <> ph))`,
      [workspaces],
    );

    // (b) export: 1,000,000 chained events in one workspace stream, generated in SQL through the append function.
    const big = crypto.randomUUID();
    const t0 = Date.now();
    for (let done = 0; done < EVENTS; done += 10_000) {
      const n = Math.min(10_000, EVENTS - done);
      await admin.query(
        `SELECT audit.append_at((SELECT jsonb_agg(jsonb_build_object(
            'streamId', $1::text, 'action', CASE WHEN i % 3 = 0 THEN 'data.read' WHEN i % 3 = 1 THEN 'db.query' ELSE 'auth.login' END,
            'actorKind', 'employee', 'actorId', 'emp-' || (i % 200), 'actorRole', 'engineer', 'actorName', 'Engineer ' || (i % 200),
            'targetType', 'conversation', 'targetId', md5(i::text), 'reason', 'incident INC-' || i || ': checking attribution',
            'sessionId', 'sess-' || (i % 1000), 'clientIp', '10.0.' || (i % 200) || '.' || (i % 250), 'userAgent', 'psql/15 (wact gateway)',
            'outcome', CASE WHEN i % 50 = 0 THEN 'denied' ELSE 'success' END, 'metadata', '{"rows":' || (i % 1000) || ',"statement":"select"}'))
           FROM generate_series($2::int, $3::int) i), NULL)`,
        [big, done + 1, done + n],
      );
    }
    const genSeconds = (Date.now() - t0) / 1000;
    await admin.query('VACUUM ANALYZE audit.events');
    const signerPools = createPools(urls, { user: 'wact_signer', password: servicePasswords.signer, max: 4 });
    pools.push(signerPools);
    const poolFor = (db: AuditDatabase) => (db === 'control' ? signerPools.control : signerPools.region(db));
    const signer = createAuditSigner({ poolFor, key: () => localSigningKey(home) });
    const s0 = Date.now();
    await signer.signStreamHead('eu', big, 'periodic'); // the hourly job: verifies all 1M links first
    const signSeconds = (Date.now() - s0) / 1000;

    const copyClient = new pg.Client({ connectionString: withCredentials(urls.eu, 'wact_broker', servicePasswords.broker) });
    await copyClient.connect();
    // Best of two, so the baseline is not penalised by a cold cache (it runs first).
    let copySeconds = Infinity;
    let copy = new CopyOut('');
    for (let k = 0; k < 2; k++) {
      const c0 = process.hrtime.bigint();
      copy = new CopyOut(
        `COPY (SELECT ${EVENT_SELECT} FROM audit.events e WHERE e.stream_id = '${big}' ORDER BY e.seq) TO STDOUT WITH (FORMAT csv)`,
      );
      copyClient.query(copy as unknown as pg.QueryConfig);
      await copy.done;
      copySeconds = Math.min(copySeconds, Number(process.hrtime.bigint() - c0) / 1e9);
    }
    await copyClient.end();

    const child = (format: 'csv' | 'jsonl', engine: 'copy' | 'node' = 'copy') =>
      new Promise<{ events: number; seconds: number; bytes: number; peakRssMb: number }>((resolve, reject) => {
        execFile(
          process.execPath,
          [
            '--import',
            'tsx',
            fileURLToPath(import.meta.url),
            '--export-child',
            JSON.stringify({ urls, signerPassword: servicePasswords.signer, home, streamId: big, format, engine }),
          ],
          { maxBuffer: 1 << 20, timeout: 600_000 },
          (err, stdout, stderr) =>
            err ? reject(new Error(stderr || err.message)) : resolve(JSON.parse(stdout.trim().split('\n').at(-1)!)),
        );
      });
    const csv = await child('csv');
    const jsonl = await child('jsonl');
    const nodeCsv = await child('csv', 'node');

    // (c) search: first page (25) of filtered searches, newest first.
    const brokerPools = createPools(urls, { user: 'wact_broker', password: servicePasswords.broker, max: 4 });
    pools.push(brokerPools);
    const pool = brokerPools.region('eu');
    const lastHour = { from: new Date(Date.now() - 3600_000) };
    const filters: [string, SearchFilter][] = [
      ['action', { action: 'auth.login' }],
      ['actor', { actor: 'emp-17' }],
      ['target', { target: `conversation:${crypto.createHash('md5').update('123457').digest('hex')}` }],
      ['time range + action', { ...lastHour, action: 'data.read' }],
      ['action prefix + outcome', { action: 'db.', outcome: 'denied' }],
      ['reason text (common)', { reason: 'INC-99' }],
    ];
    const timings: Record<string, number[]> = {};
    const withCount: number[] = [];
    for (let round = 0; round < 40; round++) {
      for (const [name, f] of filters) {
        const q0 = process.hrtime.bigint();
        await searchAuditLog(pool, big, f, { limit: 25 });
        (timings[name] ??= []).push(Number(process.hrtime.bigint() - q0) / 1e6);
      }
      const q1 = process.hrtime.bigint();
      await Promise.all([
        searchAuditLog(pool, big, { action: 'data.read' }, { limit: 25 }),
        countAuditLog(pool, big, { action: 'data.read' }),
      ]);
      withCount.push(Number(process.hrtime.bigint() - q1) / 1e6);
    }
    const rare: number[] = [];
    for (let i = 0; i < 3; i++) {
      const q0 = process.hrtime.bigint();
      await searchAuditLog(pool, big, { reason: `INC-${987_600 + i}:` }, { limit: 25 });
      rare.push(Number(process.hrtime.bigint() - q0) / 1e6);
    }
    const allFirstPages = Object.values(timings).flat();

    const copyRate = EVENTS / copySeconds;
    const csvRate = csv.events / csv.seconds;
    const jsonlRate = jsonl.events / jsonl.seconds;
    console.log('');
    console.log('(a) append, 8 writers × %d in flight (group commit, durable, chained)', INFLIGHT);
    console.log(
      `    chained audit.append : ${fmt(chained.perSecond)} events/s  (p50 ${chained.p50.toFixed(1)} ms, p99 ${chained.p99.toFixed(1)} ms per append)`,
    );
    console.log(`    plain INSERT baseline: ${fmt(plain.perSecond)} events/s  (same batching, no chain, no checks)`);
    console.log(
      `    ratio chained/plain  : ${(chained.perSecond / plain.perSecond).toFixed(2)}   target ≥ 10,000 events/s: ${chained.perSecond >= 10_000 ? 'MET' : 'MISSED'}`,
    );
    console.log(
      `    all 8 writers on the same 16 workspaces (worst case): ${fmt(contended.perSecond)} events/s (p50 ${contended.p50.toFixed(1)} ms)`,
    );
    console.log(`    one append in flight per writer: ${fmt(strict.perSecond)} events/s (p50 ${strict.p50.toFixed(1)} ms) — latency-bound`);
    console.log(`    chain links checked after the runs: ${broken.rows[0].n === 0 ? 'all valid' : `${broken.rows[0].n} BROKEN`}`);
    console.log('');
    console.log(
      `(b) export of ${fmt(EVENTS)} events (generated through audit.append_at in ${genSeconds.toFixed(0)} s; head signing incl. full chain verification ${signSeconds.toFixed(1)} s = ${fmt(EVENTS / signSeconds)} events/s)`,
    );
    console.log(`    COPY … TO STDOUT (csv): ${fmt(copyRate)} rows/s (${(copy.bytes / 1e6).toFixed(0)} MB in ${copySeconds.toFixed(2)} s)`);
    console.log(
      `    export CSV            : ${fmt(csvRate)} rows/s (${(csv.bytes / 1e6).toFixed(0)} MB in ${csv.seconds.toFixed(2)} s), peak RSS ${csv.peakRssMb.toFixed(0)} MB`,
    );
    console.log(
      `    export JSON Lines     : ${fmt(jsonlRate)} rows/s (${(jsonl.bytes / 1e6).toFixed(0)} MB in ${jsonl.seconds.toFixed(2)} s), peak RSS ${jsonl.peakRssMb.toFixed(0)} MB`,
    );
    console.log(
      `    ratio CSV/COPY        : ${(csvRate / copyRate).toFixed(2)}   target ≥ 0.5: ${csvRate / copyRate >= 0.5 ? 'MET' : 'MISSED'};  peak RSS ≤ 200 MB: ${Math.max(csv.peakRssMb, jsonl.peakRssMb) <= 200 ? 'MET' : 'MISSED'}`,
    );
    console.log(`    ratio JSONL/COPY      : ${(jsonlRate / copyRate).toFixed(2)}`);
    console.log(
      `    reference engine (cursor + csv-stringify): ${fmt(nodeCsv.events / nodeCsv.seconds)} rows/s, ratio ${(nodeCsv.events / nodeCsv.seconds / copyRate).toFixed(2)}, peak RSS ${nodeCsv.peakRssMb.toFixed(0)} MB`,
    );
    console.log('');
    console.log(`(c) first page (25 rows) of filtered searches over ${fmt(EVENTS)} events, 40 rounds`);
    for (const [name, xs] of Object.entries(timings))
      console.log(`    ${name.padEnd(24)}: p50 ${pct(xs, 50).toFixed(2)} ms, p95 ${pct(xs, 95).toFixed(2)} ms`);
    console.log(
      `    all of the above      : p95 ${pct(allFirstPages, 95).toFixed(2)} ms   target < 50 ms: ${pct(allFirstPages, 95) < 50 ? 'MET' : 'MISSED'}`,
    );
    console.log(`    page + capped total (API list): p95 ${pct(withCount, 95).toFixed(2)} ms`);
    console.log(`    rare reason text (unindexed, scans the stream): ${rare.map((x) => x.toFixed(0)).join(', ')} ms`);
  } finally {
    await admin.end().catch(() => undefined);
    for (const p of pools) await p.end().catch(() => undefined);
    await db.drop();
  }
}

if (process.argv[2] === '--export-child') {
  exportChild(JSON.parse(process.argv[3])).then(
    (r) => console.log(JSON.stringify(r)),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
} else {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
