/**
 * npm run bench:retention
 *
 * Removing 90 days of raw webhook payloads from a table of 10,000,000 rows
 * (181 days of traffic), then the steady state: the next day's run, which
 * removes one more day:
 *   product:  the retention job (shared/lifecycle/retention-service.ts) on
 *             wact.raw_webhook_payloads, daily partitions: whole partitions
 *             dropped (rows counted per workspace first, for the audit event),
 *             the straddling day trimmed by DELETE, audit events written;
 *   baseline: DELETE … WHERE received_at < now() - 90 days on an unpartitioned
 *             copy of the same rows with the same indexes (plus one on
 *             received_at, which such a DELETE needs).
 * Rows are generated with generate_series, in SQL. Uses a throw-away embedded
 * PostgreSQL (or BENCH_DATABASE_URL / WACT_TEST_DATABASE_URL: a superuser URL;
 * the bench creates and drops its own databases). BENCH_ROWS overrides the size.
 */
import crypto from 'node:crypto';
import { createAuditLog } from '../../shared/audit/audit-service.ts';
import { createPools } from '../../shared/db/pools.ts';
import { createRetentionService } from '../../shared/lifecycle/retention-service.ts';
import { createScratchDatabases } from '../support/scratch-databases.ts';

const ROWS = Number(process.env.BENCH_ROWS ?? 10_000_000);
const SPAN_DAYS = 181;
const WORKSPACES = 10;

const log = (line: string) => process.stdout.write(`${line}\n`);
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function timed<T>(label: string, fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = performance.now();
  const value = await fn();
  const ms = performance.now() - t;
  log(`  ${label}: ${secs(ms)}`);
  return { ms, value };
}

async function main() {
  const db = await createScratchDatabases({
    prefix: 'wact_bench',
    serverUrl: process.env.BENCH_DATABASE_URL ?? process.env.WACT_TEST_DATABASE_URL,
  });
  const { server, urls } = db;
  const pools = createPools(urls, { max: 2, applicationName: 'wact-bench' });
  try {
    const eu = pools.region('eu');
    const c = await eu.connect();
    try {
      log(
        `retention bench: ${ROWS.toLocaleString('en')} raw payload rows over ${SPAN_DAYS} days, ${WORKSPACES} workspaces; remove everything older than 90 days`,
      );
      const ws = Array.from({ length: WORKSPACES }, () => crypto.randomUUID());
      for (const id of ws) await c.query(`INSERT INTO wact.workspaces (id, name, region) VALUES ($1, 'bench', 'eu')`, [id]);
      await c.query('SELECT wact_private.ensure_ingest_partitions((current_date - $1::int), $1::int + 2)', [SPAN_DAYS + 1]);
      // Bulk load only: skip per-row foreign-key triggers (superuser, this session). The rows are valid anyway.
      await c.query(`SET session_replication_role = replica`);
      await timed('load partitioned table (generate_series)', () =>
        c.query(
          `INSERT INTO wact.raw_webhook_payloads (id, workspace_id, provider, message_hash, conversation_id, payload_enc, received_at)
           SELECT md5('m' || i)::uuid, ($1::uuid[])[1 + i % ${WORKSPACES}], 'meta', md5('h' || i) || md5('g' || i),
                  md5('c' || (i / 3))::uuid, decode(md5('p' || i) || md5('q' || i) || md5('r' || i), 'hex'),
                  now() - interval '1 second' - (i::double precision / $2) * interval '${SPAN_DAYS} days'
             FROM generate_series(0, $2 - 1) AS i`,
          [ws, ROWS],
        ),
      );
      await c.query('CREATE SCHEMA bench');
      await timed('copy the same rows to an unpartitioned table', async () => {
        await c.query('CREATE TABLE bench.raw_plain (LIKE wact.raw_webhook_payloads INCLUDING DEFAULTS)');
        await c.query('INSERT INTO bench.raw_plain SELECT * FROM wact.raw_webhook_payloads');
        await c.query('ALTER TABLE bench.raw_plain ADD PRIMARY KEY (id, received_at)');
        await c.query('CREATE INDEX ON bench.raw_plain (workspace_id, conversation_id)');
        await c.query('CREATE INDEX ON bench.raw_plain (received_at)');
      });
      await c.query(`RESET session_replication_role`);
      await timed('vacuum analyze both', async () => {
        await c.query('VACUUM ANALYZE wact.raw_webhook_payloads');
        await c.query('VACUUM ANALYZE bench.raw_plain');
        await c.query('CHECKPOINT');
      });
      // One clock for both methods: T is "tomorrow's run", T - 1 day is "today's run".
      const T = (await c.query<{ t: Date }>('SELECT now() AS t')).rows[0].t;
      const day = 86_400_000;
      const asOf1 = new Date(T.getTime() - day);
      const cut = (asOf: Date) => new Date(asOf.getTime() - 90 * day);
      const expired = Number((await c.query('SELECT count(*) AS n FROM bench.raw_plain WHERE received_at < $1', [cut(asOf1)])).rows[0].n);
      log(`  rows to remove: ${expired.toLocaleString('en')} of ${ROWS.toLocaleString('en')} (90 days)`);

      // The product runs as it does in production: as wact_broker (the lifecycle worker's role), row-level security
      // on. That needs the role's password, which is cluster-wide: only set it on the bench's own server.
      let productPools = pools;
      if (server) {
        productPools = createPools(urls, {
          user: 'wact_broker',
          password: db.servicePasswords.broker,
          max: 2,
          applicationName: 'wact-bench-lifecycle',
        });
      }
      log(
        `  product runs as ${server ? 'wact_broker (row-level security applies)' : 'the operator (superuser)'}; baseline as the superuser`,
      );
      const retention = createRetentionService({
        pools: productPools,
        workspaces: { get: async () => Promise.reject(new Error('unused')) },
        audit: createAuditLog({ pools: productPools }),
      });
      const removedBy = (r: Awaited<ReturnType<typeof retention.run>>) => {
        const t = r.tables.find((x) => x.table === 'wact.raw_webhook_payloads')!;
        return { rows: Object.values(t.removed).reduce((a, b) => a + b, 0), partitions: t.droppedPartitions.length };
      };
      const results: { phase: string; product: number; baseline: number; vacuum: number }[] = [];
      for (const [phase, asOf] of [
        ['90 days of backlog', asOf1],
        ['steady state: the next daily run (1 day)', T],
      ] as const) {
        log(`${phase}:`);
        const lsn = async () => (await c.query<{ l: string }>('SELECT pg_current_wal_lsn()::text AS l')).rows[0].l;
        const walSince = async (from: string) =>
          Number((await c.query<{ b: string }>('SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn) AS b', [from])).rows[0].b);
        await c.query('CHECKPOINT');
        let at = await lsn();
        const product = await timed('product: retention job (partition drops + boundary trim + audit)', () =>
          retention.run('eu', { asOf }),
        );
        const walP = await walSince(at);
        await c.query('CHECKPOINT');
        at = await lsn();
        const baseline = await timed('baseline: DELETE … WHERE received_at < cutoff', () =>
          c.query('DELETE FROM bench.raw_plain WHERE received_at < $1', [cut(asOf)]),
        );
        const walB = await walSince(at);
        // What the DELETE leaves behind: dead rows a VACUUM must still visit (not counted in the ratio).
        const vacuum = await timed('  (baseline, not in the ratio: VACUUM to reclaim the dead rows)', () =>
          c.query('VACUUM bench.raw_plain'),
        );
        log(`  WAL written: product ${(walP / 1e6).toFixed(1)} MB, baseline DELETE ${(walB / 1e6).toFixed(1)} MB`);
        const p = removedBy(product.value);
        const leftP = Number((await c.query('SELECT count(*) AS n FROM wact.raw_webhook_payloads')).rows[0].n);
        const leftB = Number((await c.query('SELECT count(*) AS n FROM bench.raw_plain')).rows[0].n);
        log(
          `  product removed ${p.rows.toLocaleString('en')} rows (${p.partitions} partitions dropped), baseline ${(baseline.value.rowCount ?? 0).toLocaleString('en')}; left ${leftP.toLocaleString('en')} / ${leftB.toLocaleString('en')}`,
        );
        if (leftP !== leftB || p.rows !== baseline.value.rowCount)
          throw new Error(`the two methods disagree: ${leftP} vs ${leftB} rows left`);
        results.push({ phase, product: product.ms, baseline: baseline.ms, vacuum: vacuum.ms });
      }
      log('result:');
      for (const r of results)
        log(
          `  ${r.phase}: product ${secs(r.product)}  baseline ${secs(r.baseline)}  ratio ${(r.baseline / r.product).toFixed(1)}x (baseline time / product time); with the VACUUM the DELETE needs: ${((r.baseline + r.vacuum) / r.product).toFixed(1)}x`,
        );
      if (productPools !== pools) await productPools.end();
    } finally {
      c.release();
    }
  } finally {
    await pools.end();
    await db.drop();
  }
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
  process.exitCode = 1;
});
