import crypto from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scramVerifier } from '../../shared/crypto/scram.ts';
import { createAuditLog } from '../../shared/audit/audit-service.ts';
import type { ServiceRole } from '../../shared/runtime/databases.ts';
import { createWipeService } from '../../shared/lifecycle/wipe-service.ts';
import { connectAs, operatorPools, servicePools, testDb, urlsWithoutLogin, withProcessEnv } from '../support/db.ts';
import { lifecyclePlatforms, newWorkspace, PLATFORM_STREAM_ID, testActor } from '../lifecycle/lifecycle-support.ts';

/**
 * Issue 13, point 4: no application role can erase a workspace's audit
 * history. Each role connects and tries every path that would remove the
 * stream or its signed heads — DELETE / TRUNCATE / UPDATE on the audit tables
 * and a partition, DELETE / TRUNCATE of the regional anchor row, the eraser
 * function (old and new), ALTER / DROP / DETACH, retention's drop_partition on
 * a month inside the retention period, SET ROLE wact_owner, the eraser's own
 * policy variable — and must be refused; the stream is then checked intact.
 * The wipe flow still erases, under the owner credential, and leaves a
 * tombstone with the final seq and hash in the platform log.
 */
type Conn = { role: string; c: pg.Client; cleanup(): Promise<void> };

const op = operatorPools();
const brokerPools = servicePools('broker');
const audit = createAuditLog({ pools: brokerPools });
afterAll(async () => {
  // The operator is a superuser: the audit triggers let it through (see regional 0330).
  await op.region('eu').query('DELETE FROM audit.signed_heads WHERE key_id = $1', [DUMMY_KEY]);
  await op.region('eu').query('DELETE FROM audit.signing_keys WHERE key_id = $1', [DUMMY_KEY]);
  await op.end();
  await brokerPools.end();
});

/**
 * A signed head on the stream, written as the operator with a retired dummy
 * key: what is tested is that the row cannot be erased, not the signature
 * (signing has its own tests and is being reworked for point 2).
 */
const DUMMY_KEY = `erasure-test-${crypto.randomBytes(4).toString('hex')}`;
async function signedHead(ws: string) {
  const eu = op.region('eu');
  await eu.query(
    `INSERT INTO audit.signing_keys (key_id, public_key, wrapped_private, kek_id, provider, retired_at)
     VALUES ($1, $2, '\\x00', 'test', 'test', now()) ON CONFLICT DO NOTHING`,
    [DUMMY_KEY, crypto.randomBytes(32)],
  );
  await eu.query(
    `INSERT INTO audit.signed_heads (stream_id, seq, hash, signed_at, key_id, purpose, signature)
     SELECT stream_id, seq, hash, now(), $2, 'periodic', $3 FROM audit.chain_heads WHERE stream_id = $1`,
    [ws, DUMMY_KEY, crypto.randomBytes(64)],
  );
}

async function headOf(pool: pg.Pool | pg.Client, stream: string) {
  const { rows } = await pool.query<{ seq: string; hash: string; events: number; signed: number }>(
    `SELECT h.seq, encode(h.hash, 'hex') AS hash,
            (SELECT count(*)::int FROM audit.events e WHERE e.stream_id = $1) AS events,
            (SELECT count(*)::int FROM audit.signed_heads s WHERE s.stream_id = $1) AS signed
       FROM audit.chain_heads h WHERE h.stream_id = $1`,
    [stream],
  );
  return rows[0];
}

/** Every erasure path one role might try on `ws` (and on `partition`) in one database. */
function attempts(ws: string, partition: string, head: { seq: string; hash: string }): [string, string, unknown[]][] {
  return [
    ['delete events', 'DELETE FROM audit.events WHERE stream_id = $1', [ws]],
    ['delete partition rows', `DELETE FROM ${partition} WHERE stream_id = $1`, [ws]],
    ['update events', `UPDATE audit.events SET metadata = '{}' WHERE stream_id = $1`, [ws]],
    ['truncate events', 'TRUNCATE audit.events', []],
    ['truncate partition', `TRUNCATE ${partition}`, []],
    ['delete chain head', 'DELETE FROM audit.chain_heads WHERE stream_id = $1', [ws]],
    ['rewind chain head', 'UPDATE audit.chain_heads SET seq = 0 WHERE stream_id = $1', [ws]],
    ['truncate chain heads', 'TRUNCATE audit.chain_heads', []],
    ['delete signed heads', 'DELETE FROM audit.signed_heads WHERE stream_id = $1', [ws]],
    ['truncate signed heads', 'TRUNCATE audit.signed_heads', []],
    ['delete signing keys', 'DELETE FROM audit.signing_keys', []],
    ['delete anchor', 'DELETE FROM wact.workspaces WHERE id = $1', [ws]],
    ['truncate anchor', 'TRUNCATE wact.workspaces CASCADE', []],
    ['new eraser', 'SELECT * FROM wact_private.erase_workspace_history($1, $2, $3)', [ws, head.seq, head.hash]],
    ['old eraser', 'SELECT * FROM wact_private.erase_wiped_audit_stream($1)', [ws]],
    ['retention drop of a live month', 'SELECT audit.drop_partition($1, 12)', [partition.replace('audit.', '')]],
    ['drop partition', `DROP TABLE ${partition}`, []],
    ['detach partition', `ALTER TABLE audit.events DETACH PARTITION ${partition}`, []],
    ['alter events', 'ALTER TABLE audit.events DISABLE ROW LEVEL SECURITY', []],
    ['drop signed heads', 'DROP TABLE audit.signed_heads', []],
    ['drop eraser', 'DROP FUNCTION wact_private.erase_workspace_history(uuid, bigint, text)', []],
    ['become the owner', 'SET ROLE wact_owner', []],
    // ws is a uuid we generated: safe to inline (a simple query may carry two statements, no parameters).
    ['borrow the eraser policy', `SET LOCAL wact.erasing_workspace = '${ws}'; DELETE FROM wact.workspaces WHERE id = '${ws}'`, []],
  ];
}

async function refused(c: pg.Client, sql: string, params: unknown[]): Promise<string> {
  // Each attempt alone in a transaction that is rolled back whatever happens:
  // an attempt that wrongly succeeded must not hide the next one's answer.
  await c.query('BEGIN');
  try {
    const res = await c.query(sql, params);
    // A DELETE that silently matched nothing (RLS) is also no erasure, but say so.
    return `ALLOWED (${res.rowCount ?? 0} rows)`;
  } catch (err) {
    return (err as { code?: string }).code ?? 'error';
  } finally {
    await c.query('ROLLBACK').catch(() => undefined);
  }
}

describe('no application role can erase audit history', () => {
  let ws: string;
  let partition: string;
  const conns: Conn[] = [];

  beforeAll(async () => {
    ws = crypto.randomUUID();
    await op.region('eu').query(`INSERT INTO wact.workspaces (id, name, region) VALUES ($1, 'erasure roles', 'eu')`, [ws]);
    for (let i = 0; i < 3; i++)
      await audit.append({
        action: 'test.erasure',
        actor: { id: 'seed', kind: 'operator' },
        workspaceId: ws,
        region: 'eu',
        outcome: 'success',
      });
    await signedHead(ws);
    const { rows } = await op
      .region('eu')
      .query<{ p: string }>(`SELECT tableoid::regclass::text AS p FROM audit.events WHERE stream_id = $1 LIMIT 1`, [ws]);
    partition = rows[0].p;

    const { servicePasswords } = testDb();
    for (const role of ['wact_ingest', 'wact_broker', 'wact_signer'] as const) {
      const c = await connectAs('eu', role, servicePasswords[role.slice('wact_'.length) as ServiceRole]);
      conns.push({ role, c, cleanup: async () => void (await c.end()) });
    }
    // Real session roles, minted the way the access broker mints them (full → wact_engineer, redacted → wact_support).
    for (const scope of ['full', 'redacted'] as const) {
      const name = `wact_sess_${crypto.randomBytes(16).toString('hex')}`;
      const password = crypto.randomBytes(12).toString('hex');
      await brokerPools
        .region('eu')
        .query(`SELECT wact_private.mint_session_role($1, $2, $3, now() + interval '10 minutes', 'password', $4)`, [
          name,
          ws,
          scope,
          scramVerifier(password),
        ]);
      const c = await connectAs('eu', name, password);
      conns.push({
        role: `session role (${scope})`,
        c,
        cleanup: async () => {
          await c.end();
          await brokerPools.region('eu').query('SELECT wact_private.end_session_role($1)', [name]);
        },
      });
    }
  }, 60_000);

  afterAll(async () => {
    for (const x of conns) await x.cleanup().catch(() => undefined);
    await op.region('eu').query('DELETE FROM wact_private.session_grants WHERE workspace_id = $1', [ws]);
  });

  it('every role × every erasure path is refused, and the stream, its signed head and its anchor are intact', async () => {
    const before = await headOf(op.region('eu'), ws);
    expect(before.events).toBe(3);
    expect(before.signed).toBeGreaterThan(0);
    const outcomes: string[] = [];
    for (const { role, c } of conns) {
      for (const [what, sql, params] of attempts(ws, partition, before)) {
        const code = await refused(c, sql, params);
        if (code.startsWith('ALLOWED')) outcomes.push(`${role}: ${what}: ${code}`);
        else if (!['42501', '42P01', '42883', '42704', '22023', '55000'].includes(code))
          outcomes.push(`${role}: ${what}: unexpected ${code}`);
      }
      // Outside a transaction too (TRUNCATE and the function calls autocommit).
      for (const [what, sql, params] of attempts(ws, partition, before).filter(([w]) => /truncate|eraser|drop/.test(w))) {
        const code = await c.query(sql, params).then(
          () => 'ALLOWED',
          (err: { code?: string }) => err.code ?? 'error',
        );
        if (code === 'ALLOWED') outcomes.push(`${role}: ${what} (autocommit): ALLOWED`);
      }
    }
    expect(outcomes).toEqual([]);
    expect(await headOf(op.region('eu'), ws)).toEqual(before);
    expect((await op.region('eu').query('SELECT 1 FROM wact.workspaces WHERE id = $1', [ws])).rowCount).toBe(1);
  }, 120_000);

  it('the eraser is refused with a permission error, never a head mismatch (the check is the grant, not the arguments)', async () => {
    const broker = conns.find((x) => x.role === 'wact_broker')!.c;
    await expect(broker.query('SELECT * FROM wact_private.erase_workspace_history($1, NULL, NULL)', [ws])).rejects.toMatchObject({
      code: '42501',
    });
  });

  it('the platform stream in the control database: ingest and broker cannot erase it either', async () => {
    const { servicePasswords } = testDb();
    await audit.append({ action: 'test.erasure', actor: { id: 'seed', kind: 'operator' }, outcome: 'success' });
    const before = await headOf(op.control, PLATFORM_STREAM_ID);
    const { rows } = await op.control.query<{ p: string }>(
      `SELECT tableoid::regclass::text AS p FROM audit.events WHERE stream_id = $1 ORDER BY seq DESC LIMIT 1`,
      [PLATFORM_STREAM_ID],
    );
    const allowed: string[] = [];
    for (const role of ['wact_ingest', 'wact_broker', 'wact_signer'] as const) {
      const c = await connectAs('control', role, servicePasswords[role.slice('wact_'.length) as ServiceRole]);
      try {
        for (const [what, sql, params] of attempts(PLATFORM_STREAM_ID, rows[0].p, before)) {
          const code = await refused(c, sql, params);
          if (code.startsWith('ALLOWED')) allowed.push(`${role}: ${what}: ${code}`);
        }
      } finally {
        await c.end();
      }
    }
    expect(allowed).toEqual([]);
    expect((await headOf(op.control, PLATFORM_STREAM_ID)).seq).toBe(before.seq);
  }, 60_000);
});

describe('the wipe flow still erases, under the owner credential, and leaves a tombstone', () => {
  let ctx: Awaited<ReturnType<typeof lifecyclePlatforms>>;
  beforeAll(async () => {
    ctx = await lifecyclePlatforms();
  });
  afterAll(async () => ctx.close());

  it('erases the stream with its signed heads; the platform log holds the final seq and hash', async () => {
    const ws = await newWorkspace(ctx.operator, 'eu');
    for (let i = 0; i < 4; i++)
      await ctx.broker.audit.append({ action: 'test.erasure', actor: testActor, workspaceId: ws.id, region: 'eu', outcome: 'success' });
    await signedHead(ws.id);
    const eu = ctx.operator.pools.region('eu');
    const before = await headOf(eu, ws.id);
    expect(before.events).toBeGreaterThanOrEqual(5); // workspace.create + 4

    const report = await createWipeService(ctx.broker).wipe(ws.id, testActor, { reason: 'erasure roles test' });
    expect(report.auditStream).toEqual({ events: before.events, lastSeq: Number(before.seq), lastHash: before.hash });
    expect(await headOf(eu, ws.id)).toBeUndefined();
    expect((await eu.query('SELECT count(*)::int AS n FROM audit.signed_heads WHERE stream_id = $1', [ws.id])).rows[0].n).toBe(0);
    expect((await eu.query('SELECT count(*)::int AS n FROM wact.workspaces WHERE id = $1', [ws.id])).rows[0].n).toBe(0);

    const { rows } = await ctx.operator.pools.control.query<{ metadata: string; seq: string; actor_id: string }>(
      `SELECT metadata, seq, actor_id FROM audit.events WHERE stream_id = $1 AND action = 'audit.stream.tombstone' AND target_id = $2`,
      [PLATFORM_STREAM_ID, ws.id],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0].actor_id).toBe(testActor.id);
    expect(JSON.parse(rows[0].metadata)).toEqual({
      region: 'eu',
      finalSeq: Number(before.seq),
      finalHash: before.hash,
      events: before.events,
      signedHeads: before.signed,
    });
    // The tombstone precedes the wipe's own event in the platform chain.
    const wipe = await ctx.operator.pools.control.query<{ seq: string }>(
      `SELECT seq FROM audit.events WHERE stream_id = $1 AND action = 'workspace.wipe' AND target_id = $2`,
      [PLATFORM_STREAM_ID, ws.id],
    );
    expect(Number(wipe.rows[0].seq)).toBeGreaterThan(Number(rows[0].seq));
  }, 120_000);

  /** The stream's head is as it was, and the platform log holds no tombstone for it. */
  async function expectHistoryUntouched(workspaceId: string, before: Awaited<ReturnType<typeof headOf>>) {
    expect(await headOf(ctx.operator.pools.region('eu'), workspaceId)).toEqual(before);
    const tomb = await ctx.operator.pools.control.query(
      `SELECT 1 FROM audit.events WHERE stream_id = $1 AND action = 'audit.stream.tombstone' AND target_id = $2`,
      [PLATFORM_STREAM_ID, workspaceId],
    );
    expect(tomb.rowCount).toBe(0);
  }

  it('without the owner credential the wipe fails closed before the history is touched, and writes no tombstone', async () => {
    const ws = await newWorkspace(ctx.operator, 'eu');
    const before = await headOf(ctx.operator.pools.region('eu'), ws.id);
    // The broker's own pools only, no operator URLs: what a stolen broker credential has.
    const { pools, keyring, audit: brokerAudit } = ctx.broker;
    await expect(createWipeService({ pools, keyring, audit: brokerAudit }).wipe(ws.id, testActor)).rejects.toMatchObject({
      code: '42501',
    });
    await expectHistoryUntouched(ws.id, before);
  }, 60_000);

  it('given URLs without a login (every production service but the lifecycle worker), the wipe refuses in one line and never falls back to PGUSER', async () => {
    const ws = await newWorkspace(ctx.operator, 'eu');
    const before = await headOf(ctx.operator.pools.region('eu'), ws.id);
    const { pools, keyring, audit: brokerAudit } = ctx.broker;
    const wipes = createWipeService({ pools, keyring, audit: brokerAudit, databases: { urls: urlsWithoutLogin() } });
    // The server's superuser as the libpq default: a connection that fell back to it would erase.
    await withProcessEnv({ PGUSER: 'postgres' }, async () => {
      await expect(wipes.wipe(ws.id, testActor)).rejects.toThrow(
        /needs the owner's login in DATABASE_URL_EU, which only the lifecycle worker/,
      );
    });
    await expectHistoryUntouched(ws.id, before);
  }, 60_000);
});
