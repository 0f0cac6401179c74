import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { joinStatementFields } from '../../../shared/audit/audit-validation.ts';
import { delayedStatementRecords, fullSession, startHarness, type Harness } from './harness.ts';
import { fieldsOf, rawConnect, serialize, type RawClient, type Received } from './raw-client.ts';

const fatalCode = (m: Received | undefined) => (m ? fieldsOf(m).C : undefined);

/**
 * The relay's invariant, tested as one: no byte the server produces after a
 * statement starts executing reaches the client before that statement's
 * record (or a provisional record) is durable — for every backend message
 * type a statement can produce. Each record is delayed by AUDIT_DELAY_MS on
 * its way to the database, so a reply released early would arrive well
 * before its record's durable time.
 */

const AUDIT_DELAY_MS = 250;
/** Answers to prepare steps (no statement runs): they may go out before the record. */
const PREPARE_ANSWERS = new Set(['1', '2', '3', 't', 'n']);

describe('gateway relay: nothing leaves before its record', () => {
  let h: Harness;
  /** Statement text → time (performance.now) its first record (start part, whole or provisional) became durable. */
  const { audit: delayed, durable } = delayedStatementRecords(AUDIT_DELAY_MS);
  const table = `relay_copy_${Math.random()
    .toString(36)
    .replace(/[^a-z]/g, '')}`;
  let c: RawClient;
  let sessionId: string;

  beforeAll(async () => {
    h = await startHarness({ audit: delayed, holdLimitBytes: 64 * 1024 });
    await h.ops
      .region('eu')
      .query(
        `CREATE TABLE public.${table} (n int); GRANT USAGE ON SCHEMA public TO wact_engineer; GRANT INSERT ON public.${table} TO wact_engineer`,
      );
    const { session, connection } = await fullSession(h, 'Relay invariant check INV-1');
    sessionId = session.id;
    c = await rawConnect(h.port, h.ca, connection.user, connection.password);
  });
  afterAll(async () => {
    c?.destroy();
    await h?.ops.region('eu').query(`DROP TABLE IF EXISTS public.${table}; REVOKE USAGE ON SCHEMA public FROM wact_engineer`);
    await h?.close();
  });

  /** Sends, waits for the final ReadyForQuery, and checks every statement-produced message against its record's durable time. */
  async function run(text: string, messages: Buffer[], expectTypes: string): Promise<Received[]> {
    const from = c.received.length;
    c.send(...messages);
    await c.waitFor((m) => m.type === 'Z', 15_000, from);
    const got = c.received.slice(from);
    for (const t of expectTypes)
      expect(
        got.map((m) => m.type),
        `${text}: message '${t}' expected`,
      ).toContain(t);
    const recordAt = durable.get(text || '(empty)');
    expect(recordAt, `record of ${text}`).toBeDefined();
    for (const [i, m] of got.entries()) {
      // A Describe's RowDescription follows BindComplete; a result set's follows nothing of the kind.
      if (PREPARE_ANSWERS.has(m.type) || (m.type === 'T' && got[i - 1]?.type === '2')) continue;
      expect(m.at, `'${m.type}' of ${text} arrived before its record was durable`).toBeGreaterThanOrEqual(recordAt!);
    }
    return got;
  }

  const simple = (text: string) => [serialize.query(text)];
  const extended = (text: string, rows = 0) => [
    serialize.parse({ text }),
    serialize.bind({}),
    serialize.describe({ type: 'P' }),
    serialize.execute({ rows }),
    serialize.sync(),
  ];

  it('rows, row descriptions and completions (simple and extended, suspended portal)', async () => {
    await run('SELECT id, started_at FROM wact.conversations', simple('SELECT id, started_at FROM wact.conversations'), 'TDCZ');
    await run('SELECT id FROM wact.conversations ORDER BY id', extended('SELECT id FROM wact.conversations ORDER BY id', 1), 'TDsZ');
  });

  it('notices raised while the statement runs (simple and extended)', async () => {
    const doBlock = `DO $$ BEGIN RAISE NOTICE 'rows: %', (SELECT string_agg(ctwa_clid_prefix, ',') FROM wact.conversations); PERFORM pg_sleep(0.3); END $$`;
    const got = await run(doBlock, simple(doBlock), 'NCZ');
    expect(fieldsOf(got.find((m) => m.type === 'N')!).M).toContain('AbCd');
    const doBlock2 = doBlock.replace('rows:', 'rows again:');
    await run(doBlock2, extended(doBlock2), 'NCZ');
  });

  it('errors whose text carries a value (simple and extended)', async () => {
    const cast = `SELECT ('x' || ctwa_clid_prefix)::int FROM wact.conversations`;
    const got = await run(cast, simple(cast), 'EZ');
    expect(fieldsOf(got.find((m) => m.type === 'E')!).M).toContain('xAbCd');
    const cast2 = `SELECT ('y' || ctwa_clid_prefix)::int FROM wact.conversations`;
    await run(cast2, extended(cast2), 'EZ');
  });

  it('notifications and parameter changes carrying data', async () => {
    const notify = `LISTEN relay_inv; SELECT pg_notify('relay_inv', (SELECT string_agg(ctwa_clid_prefix, ',') FROM wact.conversations))`;
    const got = await run(notify, simple(notify), 'ADZ');
    expect(got.find((m) => m.type === 'A')!.body.toString()).toContain('AbCd');
    const param = `SELECT set_config('application_name', (SELECT min(ctwa_clid_prefix) FROM wact.conversations), false)`;
    const got2 = await run(param, simple(param), 'SDZ');
    expect(got2.find((m) => m.type === 'S')!.body.toString()).toContain('AbCd');
  });

  it('an empty query, COPY TO STDOUT', async () => {
    await run('', simple(''), 'IZ');
    const copy = 'COPY (SELECT id FROM wact.conversations) TO STDOUT';
    await run(copy, simple(copy), 'HdcCZ');
  });

  it('a large result streams only after a durable provisional record', async () => {
    const big = `SELECT g, repeat('x', 200) FROM generate_series(1, 3000) g`;
    await run(big, simple(big), 'TDCZ');
    const rows = await h.auditRows(sessionId, 'db.statement.started');
    expect(rows.map((r) => joinStatementFields(r.metadata))).toContain(big);
  });

  it('COPY FROM STDIN: the server waits for the client only after a durable provisional record', async () => {
    const copyIn = `COPY public.${table} FROM STDIN`;
    const from = c.received.length;
    c.send(serialize.query(copyIn));
    const g = await c.waitFor((m) => m.type === 'G', 10_000, from);
    expect(durable.get(copyIn), 'provisional record of the COPY').toBeDefined();
    expect(g.at).toBeGreaterThanOrEqual(durable.get(copyIn)!);
    c.send(serialize.copyData(Buffer.from('1\n2\n')), serialize.copyDone());
    await c.waitFor((m) => m.type === 'Z', 10_000, from);
    const rows = await h.auditRows(sessionId, 'db.statement');
    expect(rows.find((r) => joinStatementFields(r.metadata) === copyIn)?.metadata).toMatchObject({ rows: 2, command: 'COPY 2' });
  });
});

describe('gateway relay: every statement forwarded gets a record, and records follow the server', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h?.close());

  it('a client that disconnects mid-statement gets nothing, and the statement is still recorded', async () => {
    const { session, connection } = await fullSession(h, 'Disconnect check INV-2');
    const c = await rawConnect(h.port, h.ca, connection.user, connection.password);
    const leak = `DO $$ BEGIN RAISE NOTICE '%', (SELECT string_agg(ctwa_clid_prefix, ',') FROM wact.conversations); PERFORM pg_sleep(2); END $$`;
    c.send(serialize.query(leak));
    await new Promise((r) => setTimeout(r, 300));
    expect(c.received).toEqual([]); // the notice was produced, but its statement has no record yet
    c.destroy();
    await expect
      .poll(async () => (await h.auditRows(session.id, 'db.statement')).map((r) => joinStatementFields(r.metadata)), { timeout: 10_000 })
      .toContain(leak);
    const rec = (await h.auditRows(session.id, 'db.statement')).find((r) => joinStatementFields(r.metadata) === leak)!;
    // Cancelled when its client went away (57014), or recorded as unfinished: never silently lost.
    expect(rec.outcome).toBe('failure');
    // The disconnect event comes after the statement's record.
    await expect.poll(async () => (await h.auditRows(session.id, 'db.session.disconnect')).length, { timeout: 10_000 }).toBe(1);
    const all = await h.auditRows(session.id);
    expect(all.findIndex((r) => r.action === 'db.session.disconnect')).toBeGreaterThan(all.findIndex((r) => r.action === 'db.statement'));
  });

  it('after an extended-protocol error the server skips to Sync (a Query included): no record for what it skipped', async () => {
    const { session, connection } = await fullSession(h, 'Tracker step check INV-3');
    const c = await rawConnect(h.port, h.ca, connection.user, connection.password);
    c.send(
      serialize.parse({ text: 'SELECT 1/0 AS boom' }),
      serialize.bind({}),
      serialize.execute({}),
      serialize.query('SELECT id FROM wact.conversations'), // skipped by the server
      serialize.parse({ text: 'SELECT 2 AS skipped_too' }),
      serialize.bind({}),
      serialize.execute({}),
      serialize.sync(),
      serialize.query('SELECT 42 AS answer'),
    );
    await c.waitFor(() => c.received.filter((x) => x.type === 'Z').length === 2);
    // Exactly one row went out: 42, under its own record.
    expect(c.received.filter((m) => m.type === 'D')).toHaveLength(1);
    c.destroy();
    const rows = await h.auditRows(session.id, 'db.statement');
    expect(rows.map((r) => [joinStatementFields(r.metadata), r.outcome, r.metadata.sqlstate ?? null])).toEqual([
      ['SELECT 1/0 AS boom', 'failure', '22012'],
      ['SELECT 42 AS answer', 'success', null],
    ]);
  });

  it('a statement too large to record is refused before it runs (FATAL 54000), and the refusal is recorded', async () => {
    const { session, connection } = await fullSession(h, 'Oversized statement check INV-5');
    for (const [size, protocol] of [
      [300 * 1024, 'simple'],
      [300 * 1024, 'extended'],
      [4 * 1024 * 1024, 'simple'], // refused from the message header, before it is buffered
    ] as const) {
      const c = await rawConnect(h.port, h.ca, connection.user, connection.password);
      const sql = `SELECT count(*) FROM wact.conversations /* ${'x'.repeat(size)} */`;
      c.send(...(protocol === 'simple' ? [serialize.query(sql)] : [serialize.parse({ text: sql }), serialize.sync()]));
      await c.closed;
      const fatal = c.received.find((m) => m.type === 'E');
      expect(fatalCode(fatal)).toBe('54000');
      expect(fieldsOf(fatal!).M).toMatch(/statement not run: it is \d+ bytes|too large to record/);
      expect(c.received.some((m) => m.type === 'D' || m.type === 'C' || m.type === '1')).toBe(false);
    }
    const rows = await h.auditRows(session.id, 'db.statement');
    expect(rows.map((r) => [r.outcome, r.metadata.sqlstate, r.metadata.phase])).toEqual([
      ['failure', '54000', 'query'],
      ['failure', '54000', 'parse'],
    ]);
    expect(rows.every((r) => String(r.metadata.statement).includes('refused before it ran'))).toBe(true);
  });

  it('prepare steps that fail are recorded with their phase; names resolve as the server resolves them', async () => {
    const { session, connection } = await fullSession(h, 'Tracker phases INV-4');
    const c = await rawConnect(h.port, h.ca, connection.user, connection.password);
    c.send(
      serialize.parse({ name: 'a', text: 'SELECT count(*) FROM wact.conversations' }),
      serialize.parse({ name: 'a', text: 'SELECT 1 AS replaced' }), // fails: "a" exists; "a" keeps its text
      serialize.sync(),
      serialize.bind({ statement: 'a', portal: 'p' }),
      serialize.execute({ portal: 'p' }),
      serialize.sync(),
      serialize.parse({ text: 'SELEC nonsense' }),
      serialize.sync(),
      serialize.bind({ statement: 'nope' }),
      serialize.sync(),
    );
    await c.waitFor(() => c.received.filter((x) => x.type === 'Z').length === 4);
    c.destroy();
    const rows = await h.auditRows(session.id, 'db.statement');
    expect(rows.map((r) => [r.metadata.phase, joinStatementFields(r.metadata), r.outcome, r.metadata.sqlstate ?? null])).toEqual([
      ['parse', 'SELECT 1 AS replaced', 'failure', '42P05'],
      ['execute', 'SELECT count(*) FROM wact.conversations', 'success', null],
      ['parse', 'SELEC nonsense', 'failure', '42601'],
      ['bind', '(prepared statement "nope")', 'failure', '26000'],
    ]);
  });
});
