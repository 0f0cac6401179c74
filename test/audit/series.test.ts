import crypto from 'node:crypto';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { createAuditLog } from '../../shared/audit/audit-service.ts';
import type { AuditEventInput } from '../../shared/audit/audit-types.ts';
import { AuditValidationError } from '../../shared/audit/audit-validation.ts';
import { operatorPools, servicePools } from '../support/db.ts';
import { expectValidChain } from './audit-test-kit.ts';

const op = operatorPools();
const broker = servicePools('broker');
afterAll(async () => Promise.all([op.end(), broker.end()]));

const template = (workspaceId: string, extra: Partial<AuditEventInput> = {}): Omit<AuditEventInput, 'outcome' | 'metadata'> => ({
  action: 'db.statement',
  actor: { id: crypto.randomUUID(), kind: 'employee', role: 'engineer', displayName: 'Zoë "Z" Ödegaard' },
  workspaceId,
  region: 'eu',
  target: { type: 'db_session', id: crypto.randomUUID() },
  reason: 'ticket SUP-12: résumé ✓ \\ back|slash ~',
  sessionId: crypto.randomUUID(),
  clientIp: '::ffff:127.0.0.1',
  ...extra,
});

describe('audit series (the gateway’s per-statement path)', () => {
  it('writes the same rows and chain as append, interleaved with ordinary appends on one stream', async () => {
    const ws = crypto.randomUUID();
    const audit = createAuditLog({ pools: broker });
    const a = audit.series(template(ws));
    const b = audit.series(template(ws, { clientIp: '10.0.0.7' }));
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 40; i++) {
      writes.push(a.append({ outcome: i % 5 ? 'success' : 'failure', metadata: { rows: i, statement: `SELECT ${i}`, sqlstate: null } }));
      if (i % 4 === 0) writes.push(b.append({ outcome: 'success', metadata: { rows: 1 } }));
      if (i % 10 === 0)
        writes.push(audit.append({ ...template(ws), action: 'db.session.connect', outcome: 'success', metadata: { scope: 'full' } }));
    }
    await Promise.all(writes);
    const events = await expectValidChain(op.region('eu'), ws, 40 + 10 + 4);
    const statements = events.filter((e) => e.action === 'db.statement');
    expect(statements).toHaveLength(50);
    expect(statements.filter((e) => e.clientIp === '10.0.0.7')).toHaveLength(10);
    expect(statements[0]).toMatchObject({
      actorKind: 'employee',
      actorRole: 'engineer',
      actorName: 'Zoë "Z" Ödegaard',
      targetType: 'db_session',
      reason: 'ticket SUP-12: résumé ✓ \\ back|slash ~',
      userAgent: null,
    });
    expect(statements.find((e) => e.metadata.includes('"rows":5,'))?.outcome).toBe('failure');
    // Time order is chain order (times are taken under the head lock).
    const times = events.map((e) => e.occurredAt);
    expect([...times].sort()).toEqual(times);
  });

  it('resolves only after a synchronous commit, whatever the session asked for', async () => {
    const ws = crypto.randomUUID();
    const client = await broker.region('eu').connect();
    try {
      await client.query(`BEGIN; SET LOCAL synchronous_commit = off`);
      await client.query(`SELECT audit.append_series($1, $2, $3, $4, $5)`, [
        ws,
        ['db.statement', 'employee', 'e-1', null, null, 'db_session', 's-1', 'a reason for this', 's-1', null],
        [null],
        ['success'],
        ['{"rows":1}'],
      ]);
      expect((await client.query(`SHOW synchronous_commit`)).rows[0].synchronous_commit).toBe('on');
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    await expectValidChain(op.region('eu'), ws, 1);
  });

  it('refuses a bad template at once and a bad event alone (the others are written)', async () => {
    const ws = crypto.randomUUID();
    const audit = createAuditLog({ pools: broker });
    expect(() => audit.series(template(ws, { action: 'Not An Action' }))).toThrow(AuditValidationError);
    expect(() => audit.series(template(ws, { reason: undefined, action: 'data.read' }))).toThrow(/needs a reason/);
    const s = audit.series(template(ws));
    const results = await Promise.allSettled([
      s.append({ outcome: 'success', metadata: { rows: 1 } }),
      s.append({ outcome: 'success', metadata: { note: '+44 7700 900123' } }),
      s.append({ outcome: 'success', metadata: { rows: 2 } }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((results[1] as PromiseRejectedResult).reason)).not.toContain('7700');
    await expectValidChain(op.region('eu'), ws, 2);
  });

  it('is enforced by the database too: a read without a reason and malformed calls are refused', async () => {
    const ws = crypto.randomUUID();
    const call = (common: (string | null)[], n = 1) =>
      broker
        .region('eu')
        .query(`SELECT audit.append_series($1, $2, $3, $4, $5)`, [
          ws,
          common,
          Array(n).fill(null),
          Array(n).fill('success'),
          Array(n).fill('{}'),
        ]);
    await expect(call(['data.read', 'employee', 'e-1', null, null, null, null, null, null, null])).rejects.toMatchObject({
      code: '23514',
    });
    await expect(call(['db.statement', 'employee'])).rejects.toMatchObject({ code: '22023' });
    await expect(call(['Bad Action', 'employee', 'e-1', null, null, null, null, 'r', null, null])).rejects.toMatchObject({
      code: '23514',
    });
    expect((await op.region('eu').query(`SELECT count(*)::int AS n FROM audit.events WHERE stream_id = $1`, [ws])).rows[0].n).toBe(0);
  });

  it('is not callable by session roles or PUBLIC', async () => {
    const { rows } = await op.region('eu').query<{ role: string; ok: boolean }>(
      `SELECT r AS role, has_function_privilege(r, 'audit.append_series(uuid, text[], text[], text[], text[])', 'EXECUTE') AS ok
         FROM unnest(ARRAY['wact_broker', 'wact_ingest', 'wact_support', 'wact_engineer', 'public']) r`,
    );
    expect(Object.fromEntries(rows.map((r) => [r.role, r.ok]))).toEqual({
      wact_broker: true,
      wact_ingest: true,
      wact_support: false,
      wact_engineer: false,
      public: false,
    });
  });
});

describe('audit.events pattern checks (rewritten for speed in 0301)', () => {
  // The old patterns, evaluated by the same regex engine: the new checks must accept exactly the same values.
  const OLD_ACTION = '^[a-z][a-z0-9_]{0,39}(\\.[a-z][a-z0-9_]{0,39}){1,4}$';
  const OLD_TARGET = '^[a-z][a-z0-9_.]{0,63}$';
  const segment = fc.stringMatching(/^[a-z0-9_A.-]{0,44}$/);
  const value = fc.oneof(
    fc.array(segment, { minLength: 1, maxLength: 6 }).map((parts) => parts.join('.')),
    fc.stringMatching(/^[a-z0-9_.]{0,70}$/),
    fc.string({ maxLength: 8 }),
  );

  it('accept exactly what the old patterns accepted', async () => {
    const samples = fc
      .sample(value, 3000)
      .concat(['db.statement', `a${'b'.repeat(39)}.c`, `a${'b'.repeat(40)}.c`, 'a.b.c.d.e', 'a.b.c.d.e.f']);
    const { rows } = await op.region('eu').query<{ v: string; old_a: boolean; new_a: boolean; old_t: boolean; new_t: boolean }>(
      `WITH c AS (
         SELECT pg_get_constraintdef(oid) AS def, conname FROM pg_constraint
          WHERE conrelid = 'audit.events'::regclass AND conname IN ('events_action_check', 'events_target_type_check'))
       SELECT v, v ~ $2 AS old_a, (v ~ '^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*){1,4}$' AND v !~ '[a-z0-9_]{41}') AS new_a,
              v ~ $3 AS old_t, (v ~ '^[a-z][a-z0-9_.]*$' AND length(v) <= 64) AS new_t,
              (SELECT string_agg(def, ' | ' ORDER BY conname) FROM c) AS defs
         FROM unnest($1::text[]) v`,
      [samples, OLD_ACTION, OLD_TARGET],
    );
    // The expressions tested here are the ones installed on the table.
    const defs = (rows[0] as unknown as { defs: string }).defs;
    expect(defs).toContain("'[a-z0-9_]{41}'");
    expect(defs).toContain('length(target_type) <= 64');
    const mismatches = rows.filter((r) => r.old_a !== r.new_a || r.old_t !== r.new_t);
    expect(mismatches).toEqual([]);
    expect(rows.some((r) => r.old_a) && rows.some((r) => !r.old_a)).toBe(true);
    expect(rows.some((r) => r.old_t) && rows.some((r) => !r.old_t)).toBe(true);
  });
});
