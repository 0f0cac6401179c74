import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { joinStatementFields } from '../../../shared/audit/audit-validation.ts';
import { createScratchDatabases, type ScratchDatabases } from '../../support/scratch-databases.ts';
import { delayedStatementRecords, fullSession, startHarness, type Harness } from './harness.ts';
import { rawConnect, serialize } from './raw-client.ts';

/**
 * Differential test of the gateway's statement tracking against the server's
 * own record. Generated message sequences — valid and failing statements,
 * errors in the middle of pipelines, Syncs and Flushes in random places,
 * suspended portals, COPY in and out, multi-statement queries — are sent
 * through the gateway to a real PostgreSQL whose `log_statement = 'all'` is
 * the oracle: the statements recorded must be exactly the statements the
 * server logged as run, in order, with the right outcome (failure iff the
 * server logged an error for it) and row count; every error the server
 * logged outside a run statement must be a failure record of its phase; and
 * no row or notice may reach the client before its statement's record.
 *
 * The server is a throw-away embedded one of this file's own (whatever
 * WACT_TEST_DATABASE_URL says), because its log must be read.
 */

const PREFIX = '@@';
interface LogEntry {
  app: string;
  backend: string;
  sqlstate: string;
  level: string;
  message: string;
  statement?: string;
}

/** Parses the server's stderr lines `@@<app>|<backend>|<sqlstate>|LEVEL:  message`. */
function logParser() {
  const entries: LogEntry[] = [];
  let partial = '';
  return {
    entries,
    feed(chunk: string) {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        const i = line.indexOf(PREFIX);
        if (i < 0) continue;
        const m = /^([^|]*)\|([^|]*)\|([^|]*)\|([A-Z]+):\s\s(.*)$/.exec(line.slice(i + PREFIX.length));
        if (!m) continue;
        const [, app, backend, sqlstate, level, message] = m;
        if (level === 'STATEMENT') {
          const last = entries.findLast((e) => e.backend === backend);
          if (last) last.statement = message;
          continue;
        }
        if (level !== 'LOG' && level !== 'ERROR' && level !== 'FATAL') continue; // CONTEXT, DETAIL, HINT …
        entries.push({ app, backend, sqlstate, level, message });
      }
    },
  };
}

// ---- generated conversations ---------------------------------------------------

type Op =
  | { kind: 'query'; sql: string; rows?: number }
  | { kind: 'extended'; sql: string; rows?: number; maxRows: number; describe: boolean; sync: boolean; resume?: boolean; params?: string[] }
  | { kind: 'sync' }
  | { kind: 'flush' }
  | { kind: 'copyIn'; extended: boolean; data: 'good' | 'bad' | 'fail' };

const TABLE = 'public.diff_copy_target';

/** Statement shapes; `#` becomes a unique tag so every text (and error) maps to one op. */
const shapes = fc.oneof(
  fc.integer({ min: 0, max: 6 }).map((n) => ({ sql: `SELECT g, '#' AS tag FROM generate_series(1, ${n}) g`, rows: n })),
  fc.constant({ sql: `SELECT 1/0 AS "#"` }),
  fc.constant({ sql: `SELEC '#'` }), // syntax error
  fc.constant({ sql: `SELECT '#' AS a; SELECT 2 AS b` }),
  fc.constant({ sql: `SELECT '#' AS a; SELECT 1/0; SELECT 3` }),
  fc.constant({ sql: `DO $$ BEGIN RAISE NOTICE '#'; END $$` }),
  fc.constant({ sql: `COPY (SELECT g, '#' FROM generate_series(1, 3) g) TO STDOUT`, rows: 3 }),
  fc.constant({ sql: `SELECT '#' FROM no_such_table` }),
  fc.constant({ sql: `BEGIN; SELECT '#'` }),
  fc.constant({ sql: `COMMIT /* # */` }),
  fc.constant({ sql: `ROLLBACK /* # */` }),
  fc.constant({ sql: `/* # */` }), // empty after the comment
);

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: shapes.map((s) => ({ kind: 'query' as const, ...s })) },
  {
    weight: 4,
    arbitrary: fc
      .record({ s: shapes, maxRows: fc.constantFrom(0, 0, 1, 2), describe: fc.boolean(), sync: fc.boolean(), resume: fc.boolean() })
      .filter(({ s }) => !s.sql.includes(';')) // one statement per Parse
      // resume: a second Execute of the same portal (continues a suspended one; an exhausted one answers 0 rows)
      .map(({ s, maxRows, describe, sync, resume }) => ({
        kind: 'extended' as const,
        ...s,
        maxRows,
        describe,
        sync,
        resume: resume && maxRows > 0,
      })),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom('1', 'x').map((v) => ({
      kind: 'extended' as const,
      sql: `SELECT $1::int AS "#"`,
      rows: 1,
      maxRows: 0,
      describe: false,
      sync: true,
      params: [v],
    })),
  },
  { weight: 2, arbitrary: fc.constant({ kind: 'sync' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'flush' as const }) },
  {
    weight: 2,
    arbitrary: fc
      .record({ extended: fc.boolean(), data: fc.constantFrom('good' as const, 'bad' as const, 'fail' as const) })
      .map((r) => ({ kind: 'copyIn' as const, ...r })),
  },
);

function messagesOf(ops: Op[], tagBase: string): { messages: Buffer[]; tags: Map<string, Op> } {
  const messages: Buffer[] = [];
  const tags = new Map<string, Op>();
  ops.forEach((o, i) => {
    const tag = `${tagBase}o${i}`;
    const text = 'sql' in o ? o.sql.replace('#', tag) : '';
    if ('sql' in o) tags.set(text, o);
    switch (o.kind) {
      case 'query':
        messages.push(serialize.query(text));
        break;
      case 'extended':
        messages.push(serialize.parse({ text }), serialize.bind({ values: o.params ?? [] }));
        if (o.describe) messages.push(serialize.describe({ type: 'P' }));
        messages.push(serialize.execute({ rows: o.maxRows }));
        if (o.resume) messages.push(serialize.execute({ rows: o.maxRows }));
        if (o.sync) messages.push(serialize.sync());
        break;
      case 'sync':
        messages.push(serialize.sync());
        break;
      case 'flush':
        messages.push(serialize.flush());
        break;
      case 'copyIn': {
        const copy = `COPY ${TABLE} (n) FROM STDIN /* ${tag} */`;
        tags.set(copy, { kind: 'query', sql: copy });
        if (o.extended) messages.push(serialize.parse({ text: copy }), serialize.bind({}), serialize.execute({}), serialize.sync());
        else messages.push(serialize.query(copy));
        if (o.data === 'fail') messages.push(serialize.copyData(Buffer.from('1\n')), serialize.copyFail('client gave up'));
        else messages.push(serialize.copyData(Buffer.from(o.data === 'good' ? '1\n2\n' : 'x\n')), serialize.copyDone());
        if (o.extended) messages.push(serialize.sync());
        break;
      }
    }
  });
  return { messages, tags };
}

describe('gateway tracker vs the server (log_statement = all)', () => {
  const log = logParser();
  let db: ScratchDatabases;
  let h: Harness;
  const { audit: delayed, durable } = delayedStatementRecords(20);

  beforeAll(async () => {
    db = await createScratchDatabases({ prefix: 'wact_diff', onLog: (chunk) => log.feed(chunk) }); // raw stderr chunks: lines may span them
    const admin = new pg.Client({ connectionString: db.serverUrl });
    await admin.connect();
    await admin.query(`ALTER SYSTEM SET log_line_prefix = '${PREFIX}%a|%c|%e|'`);
    await admin.query(`ALTER SYSTEM SET log_statement = 'all'`);
    await admin.query(`ALTER SYSTEM SET log_min_messages = 'error'`); // no notices / warnings: only what we read
    await admin.query(`ALTER SYSTEM SET log_min_error_statement = 'error'`);
    await admin.query('SELECT pg_reload_conf()');
    await admin.end();
    h = await startHarness({ audit: delayed, db: { urls: db.urls, servicePasswords: db.servicePasswords, home: db.home } });
    await h.ops
      .region('eu')
      .query(`CREATE TABLE ${TABLE} (n int); GRANT USAGE ON SCHEMA public TO wact_engineer; GRANT INSERT ON ${TABLE} TO wact_engineer`);
  }, 180_000);
  afterAll(async () => {
    await h?.close();
    await db?.drop();
  });

  it('records exactly the statements the server ran, with outcome and rows, and releases nothing before its record', async () => {
    const { session, connection } = await fullSession(h, 'Differential tracker check DIFF-1');
    const app = `wact-gateway ${session.id} (raw-test)`;
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 10 }), fc.integer({ min: 1, max: 4 }), async (ops, pieces) => {
        run++;
        const tagBase = `r${run}x`;
        const { messages, tags } = messagesOf(ops, tagBase);
        const end = `SELECT 'end-${tagBase}' AS done`;
        // End: leave any transaction, then a marker query of its own (whatever state the ops left behind).
        const all = [...messages, serialize.sync(), serialize.query(`ROLLBACK /* ${tagBase} */`), serialize.query(end)];
        const c = await rawConnect(h.port, h.ca, connection.user, connection.password);
        const recordsBefore = (await h.auditRows(session.id, 'db.statement')).length;
        // Send in a few writes at random boundaries: the gateway must not depend on how messages arrive.
        const bytes = Buffer.concat(all);
        const step = Math.ceil(bytes.length / pieces);
        for (let at = 0; at < bytes.length; at += step) {
          c.send(bytes.subarray(at, at + step));
          await new Promise((r) => setImmediate(r));
        }
        await c.waitFor((m) => m.type === 'D' && m.body.toString().includes(`end-${tagBase}`), 20_000);
        await c.waitFor(
          (m) => m.type === 'Z',
          10_000,
          c.received.findIndex((m) => m.type === 'D' && m.body.toString().includes(`end-${tagBase}`)),
        );
        const received = [...c.received];
        c.destroy();
        await c.closed;
        await new Promise((r) => setTimeout(r, 150)); // let the server's log lines arrive

        // The server's account of this connection.
        const mine = log.entries.filter((e) => e.app === app && (e.message.includes(tagBase) || e.statement?.includes(tagBase)));
        const ran = mine
          .filter((e) => e.level === 'LOG' && /^(statement|execute [^:]*): /.test(e.message))
          .map((e) => ({
            text: e.message.replace(/^(statement|execute [^:]*): /, ''),
            kind: e.message.startsWith('statement') ? 'query' : 'execute',
          }));
        const errors = mine.filter((e) => e.level === 'ERROR').map((e) => ({ text: e.statement ?? '', code: e.sqlstate }));
        // The gateway's account.
        const records = (await h.auditRows(session.id, 'db.statement')).slice(recordsBefore).map((r) => ({
          text: joinStatementFields(r.metadata),
          phase: String(r.metadata.phase),
          failed: r.outcome === 'failure',
          sqlstate: (r.metadata.sqlstate as string | null) ?? null,
          rows: r.metadata.rows as number | null,
          command: r.metadata.command as string | null,
        }));
        // PostgreSQL quirk: after an extended Execute left without Sync and a simple Query, the next Query can fail
        // in start_xact_command ("unexpected state STARTED", XX000) before the server logs it: it ran nothing.
        const loggedTexts = new Set(ran.map((r) => r.text));
        for (const r of records) if (r.sqlstate === 'XX000' && r.phase === 'query' && !loggedTexts.has(r.text)) r.phase = 'start';
        const runRecords = records.filter(
          (r) => r.text.includes(tagBase) && (r.phase === 'query' || r.phase === 'execute') && r.sqlstate !== '34000',
        );
        // 1. Exactly the statements the server ran, in order.
        expect(runRecords.map((r) => [r.phase, r.text])).toEqual(ran.map((r) => [r.kind, r.text]));
        // 2. Failures: per statement text (unique per op; a resumed portal repeats it), the failed records'
        //    SQLSTATEs are exactly the errors the server logged for that text.
        for (const text of new Set(runRecords.map((r) => r.text))) {
          const failed = runRecords.filter((r) => r.text === text && r.failed).map((r) => r.sqlstate);
          const logged = errors.filter((e) => e.text === text).map((e) => e.code);
          expect([text, failed.sort()]).toEqual([text, logged.sort()]);
        }
        // 3. Every other error the server logged is a failure record (parse / bind / describe / commit …).
        const ranTexts = new Set(ran.map((r) => r.text));
        const otherErrors = errors.filter((e) => !ranTexts.has(e.text)).map((e) => [e.text, e.code]);
        // (An Execute of a portal the server no longer has is logged without its text: 34000 is compared by count.)
        const otherRecords = records
          .filter((r) => r.text.includes(tagBase) && !runRecords.includes(r) && r.sqlstate !== '34000')
          .map((r) => [r.text, r.sqlstate]);
        expect(otherRecords.sort()).toEqual(otherErrors.sort());
        // 4. Row counts of the statements whose size the generator knows.
        const seen = new Set<string>();
        for (const r of runRecords) {
          const o = tags.get(r.text);
          const again = seen.has(r.text); // a resumed portal: its own count
          seen.add(r.text);
          if (!o || r.failed || again || (o.kind !== 'query' && o.kind !== 'extended') || o.rows === undefined) continue;
          // A row limit applies to SELECT portals, not to COPY.
          const limited = o.kind === 'extended' && o.maxRows > 0 && !o.sql.startsWith('COPY');
          const expected = limited ? Math.min(o.maxRows, o.rows) : o.rows;
          expect([r.text, r.rows]).toEqual([r.text, expected]);
        }
        // 5. No row or notice of an op reached the client before that op's record was durable.
        const byTag = new Map([...tags.keys()].map((t) => [tagOf(t), t]));
        for (const m of received.filter((x) => x.type === 'D' || x.type === 'N' || x.type === 'd')) {
          const text = byTag.get(tagOf(m.body.toString()));
          if (!text) continue;
          expect(m.at, `'${m.type}' of ${text}`).toBeGreaterThanOrEqual(durable.get(text) ?? Infinity);
        }
      }),
      {
        numRuns: Number(process.env.WACT_DIFF_RUNS ?? 50),
        endOnFailure: true,
        ...(process.env.WACT_DIFF_SEED ? { seed: Number(process.env.WACT_DIFF_SEED), path: process.env.WACT_DIFF_PATH } : {}),
      },
    );
  }, 600_000);
});

/** The unique tag inside a statement text (`r3o2`). */
function tagOf(text: string): string {
  return /r\d+xo\d+/.exec(text)?.[0] ?? '\u0000';
}
