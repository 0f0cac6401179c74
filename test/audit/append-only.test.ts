import crypto from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditLog } from '../../shared/audit/audit-service.ts';
import { connectAs, operatorPools, servicePools, testDb } from '../support/db.ts';

/**
 * No role a service or a person uses may change the audit log: each one
 * connects and tries UPDATE, DELETE and TRUNCATE (and a direct INSERT) on every
 * audit table and on a partition; all are refused with insufficient_privilege.
 */
const TABLES = ['audit.events', 'audit.chain_heads', 'audit.signed_heads', 'audit.signing_keys'];

describe('audit log is append-only for every application role', () => {
  const op = operatorPools();
  let partition: string;
  beforeAll(async () => {
    const pools = servicePools('broker');
    await createAuditLog({ pools }).append({
      action: 'test.seed',
      actor: { id: 'seed', kind: 'operator' },
      workspaceId: crypto.randomUUID(),
      region: 'eu',
      outcome: 'success',
    });
    await createAuditLog({ pools }).append({ action: 'test.seed', actor: { id: 'seed', kind: 'operator' }, outcome: 'success' });
    await pools.end();
    const { rows } = await op
      .region('eu')
      .query(
        `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'audit.events'::regclass ORDER BY 1 LIMIT 1`,
      );
    partition = `audit.${rows[0].relname}`;
  });
  afterAll(() => op.end());

  // wact_support / wact_engineer are NOLOGIN groups: a login role that is a member stands in for a session role.
  async function clientFor(role: string, target: 'eu' | 'control'): Promise<{ c: pg.Client; cleanup(): Promise<void> }> {
    if (role === 'wact_ingest' || role === 'wact_broker') {
      const c = await connectAs(target, role, testDb().servicePasswords[role === 'wact_ingest' ? 'ingest' : 'broker']);
      return { c, cleanup: async () => void (await c.end()) };
    }
    const name = `audit_t_${role}_${crypto.randomBytes(3).toString('hex')}`;
    const admin = target === 'eu' ? op.region('eu') : op.control;
    const db = (await admin.query('SELECT current_database() AS d')).rows[0].d as string;
    const password = crypto.randomBytes(12).toString('hex'); // the embedded server checks passwords (SCRAM)
    await admin.query(`CREATE ROLE ${name} LOGIN PASSWORD '${password}' IN ROLE ${role}`);
    await admin.query(`GRANT CONNECT ON DATABASE "${db}" TO ${name}`);
    const c = await connectAs(target, name, password);
    return {
      c,
      cleanup: async () => {
        await c.end();
        await admin.query(`REVOKE CONNECT ON DATABASE "${db}" FROM ${name}`);
        await admin.query(`DROP ROLE ${name}`);
      },
    };
  }

  for (const role of ['wact_ingest', 'wact_broker', 'wact_support', 'wact_engineer']) {
    for (const target of ['eu', 'control'] as const) {
      it(`${role} on ${target}: UPDATE, DELETE, TRUNCATE and direct INSERT are all refused`, async () => {
        const { c, cleanup } = await clientFor(role, target);
        try {
          const tables = [...TABLES, partition];
          const attempts = tables.flatMap((t) => [
            `UPDATE ${t} SET seq = seq`.replace('audit.signing_keys SET seq = seq', 'audit.signing_keys SET provider = provider'),
            `DELETE FROM ${t}`,
            `TRUNCATE ${t}`,
          ]);
          attempts.push(`INSERT INTO audit.events (stream_id, seq, id, occurred_at, action, actor_kind, actor_id, outcome, metadata, prev_hash, hash)
                         VALUES (gen_random_uuid(), 1, gen_random_uuid(), now(), 'x.y', 'service', 'x', 'success', '{}', '\\x00', '\\x00')`);
          attempts.push(`SELECT audit.append_at('{}'::jsonb, now() - interval '2 years')`);
          for (const sql of attempts) {
            const err = await c.query(sql).then(
              () => undefined,
              (e: { code?: string }) => e,
            );
            expect(err, `${role}: ${sql}`).toBeDefined();
            expect(err!.code, `${role}: ${sql}`).toBe('42501');
          }
        } finally {
          await cleanup();
        }
      });
    }
  }

  it('the broker cannot drop a month inside the retention period, nor ask for less than 12 months', async () => {
    const c = await connectAs('eu', 'wact_broker', testDb().servicePasswords.broker);
    try {
      const name = partition.slice('audit.'.length);
      await expect(c.query('SELECT audit.drop_partition($1, 12)', [name])).rejects.toThrow(/within the retention period/);
      await expect(c.query('SELECT audit.drop_partition($1, 1)', [name])).rejects.toThrow(/at least 12 months/);
      await expect(c.query(`SELECT audit.drop_partition('chain_heads', 12)`)).rejects.toThrow(/not an audit partition/);
    } finally {
      await c.end();
    }
  });
});
