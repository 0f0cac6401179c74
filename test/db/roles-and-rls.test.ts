import crypto from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectAs, operatorPools, testDb } from '../support/db.ts';
import type { Pools } from '../../shared/db/pools.ts';

/** Runs a query as `client` and returns the SQLSTATE it failed with (or 'ok'). */
async function sqlstate(client: pg.Client, sql: string, params: unknown[] = []): Promise<string> {
  try {
    await client.query(sql, params);
    return 'ok';
  } catch (err) {
    return (err as { code: string }).code;
  }
}

describe('database roles and row-level security', () => {
  let ops: Pools;
  const wsA = crypto.randomUUID();
  const wsB = crypto.randomUUID();
  const sessionRole = `wact_s_t${crypto.randomBytes(6).toString('hex')}`;
  const expiredRole = `wact_s_t${crypto.randomBytes(6).toString('hex')}`;
  const supportRole = `wact_s_t${crypto.randomBytes(6).toString('hex')}`;
  const password = crypto.randomBytes(18).toString('base64url');

  beforeAll(async () => {
    ops = operatorPools();
    const eu = ops.region('eu');
    await eu.query(`INSERT INTO wact.workspaces (id, name, region) VALUES ($1, 'A', 'eu'), ($2, 'B', 'eu')`, [wsA, wsB]);
    await eu.query(
      `INSERT INTO wact_private.workspace_keys (workspace_id, purpose, version, wrapped, kek_id, provider)
                    VALUES ($1, 'dek', 1, '\\x00', 'k', 'local'), ($2, 'dek', 1, '\\x00', 'k', 'local')`,
      [wsA, wsB],
    );
    for (const [role, group] of [
      [sessionRole, 'wact_engineer'],
      [expiredRole, 'wact_engineer'],
      [supportRole, 'wact_support'],
    ]) {
      await eu.query(
        `CREATE ROLE ${role} LOGIN PASSWORD '${password}' VALID UNTIL '${new Date(Date.now() + 600_000).toISOString()}' IN ROLE ${group}`,
      );
    }
    await eu.query(
      `INSERT INTO wact_private.session_grants (role_name, workspace_id, scope, expires_at) VALUES
      ($1, $3, 'full', now() + interval '10 minutes'),
      ($2, $3, 'full', now() - interval '1 second'),
      ($4, $3, 'redacted', now() + interval '10 minutes')`,
      [sessionRole, expiredRole, wsA, supportRole],
    );
  });

  afterAll(async () => {
    const eu = ops.region('eu');
    for (const role of [sessionRole, expiredRole, supportRole]) {
      await eu.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1`, [role]);
      await eu.query(`DROP ROLE IF EXISTS ${role}`);
    }
    // The workspaces stay: only the wipe flow may erase a workspace (with its audit stream); the run's databases are dropped at its end.
    await ops.end();
  });

  it('a session role granted workspace A sees A and no row of B', async () => {
    const c = await connectAs('eu', sessionRole, password);
    const { rows } = await c.query('SELECT id FROM wact.workspaces WHERE id = ANY($1)', [[wsA, wsB]]);
    await c.end();
    expect(rows.map((r) => r.id)).toEqual([wsA]);
  });

  it('an expired grant sees nothing, even while the role still exists', async () => {
    const c = await connectAs('eu', expiredRole, password);
    const { rows } = await c.query('SELECT id FROM wact.workspaces WHERE id = ANY($1)', [[wsA, wsB]]);
    await c.end();
    expect(rows).toEqual([]);
  });

  it('session roles never see wrapped keys, session grants, or the control database', async () => {
    const c = await connectAs('eu', sessionRole, password);
    expect(await sqlstate(c, 'SELECT * FROM wact_private.workspace_keys')).toBe('42501');
    expect(await sqlstate(c, 'SELECT * FROM wact_private.session_grants')).toBe('42501');
    expect(await sqlstate(c, `INSERT INTO wact.workspaces (id, name, region) VALUES (gen_random_uuid(), 'x', 'eu')`)).toBe('42501');
    expect(await sqlstate(c, 'CREATE TABLE wact.mine (id int)')).toBe('42501');
    await c.end();
    await expect(connectAs('control', sessionRole, password)).rejects.toMatchObject({ code: '42501' });
  });

  it('the visibility check answers only for the caller, not for other roles', async () => {
    const c = await connectAs('eu', sessionRole, password);
    const ask = async (who: string) =>
      (await c.query('SELECT wact_private.workspace_visible($1, $2) AS v', [wsA, who])).rows[0].v as boolean;
    expect(await ask(sessionRole)).toBe(true);
    expect(await ask('wact_broker')).toBe(false);
    expect(await ask(supportRole)).toBe(false);
    await c.end();
  });

  it('support sessions cannot read application tables directly', async () => {
    const c = await connectAs('eu', supportRole, password);
    expect(await sqlstate(c, 'SELECT * FROM wact.workspaces')).toBe('42501');
    await c.end();
  });

  it('the ingest role reads keys but cannot change them, nor create objects', async () => {
    const c = await connectAs('eu', 'wact_ingest', testDb().servicePasswords.ingest);
    const { rows } = await c.query('SELECT workspace_id FROM wact_private.workspace_keys WHERE workspace_id = ANY($1)', [[wsA, wsB]]);
    expect(rows).toHaveLength(2);
    expect(await sqlstate(c, `UPDATE wact_private.workspace_keys SET kek_id = 'x' WHERE workspace_id = $1`, [wsA])).toBe('42501');
    expect(await sqlstate(c, `DELETE FROM wact_private.workspace_keys WHERE workspace_id = $1`, [wsA])).toBe('42501');
    expect(
      await sqlstate(
        c,
        `INSERT INTO wact_private.workspace_keys (workspace_id, purpose, version, wrapped, kek_id, provider) VALUES ($1, 'dek', 9, '\\x00', 'k', 'l')`,
        [wsA],
      ),
    ).toBe('42501');
    expect(await sqlstate(c, 'CREATE TABLE wact.mine (id int)')).toBe('42501');
    expect(await sqlstate(c, 'CREATE TABLE public.mine (id int)')).toBe('42501');
    expect(await sqlstate(c, 'SELECT * FROM wact_private.session_grants')).toBe('42501');
    expect(await sqlstate(c, 'CREATE ROLE sneaky')).toBe('42501');
    await c.end();
  });

  it('the broker role cannot create roles directly or rewrite keys', async () => {
    const c = await connectAs('eu', 'wact_broker', testDb().servicePasswords.broker);
    expect(await sqlstate(c, 'CREATE ROLE sneaky LOGIN')).toBe('42501');
    // It may re-wrap a key (wrapped, kek_id, provider: issue 14.4), never change which key a row is.
    for (const col of ['workspace_id = workspace_id', 'purpose = purpose', 'version = version + 1'])
      expect(await sqlstate(c, `UPDATE wact_private.workspace_keys SET ${col} WHERE workspace_id = $1`, [wsA]), col).toBe('42501');
    expect(
      await sqlstate(
        c,
        `INSERT INTO wact_private.session_grants (role_name, workspace_id, scope, expires_at) VALUES ('x', $1, 'full', now())`,
        [wsA],
      ),
    ).toBe('42501');
    await c.end();
  });

  it('every workspace-owned regional table has forced RLS and the isolation policy', async () => {
    const { rows } = await ops.region('eu').query(`
      SELECT c.oid::regclass::text AS tbl, c.relrowsecurity AS rls, c.relforcerowsecurity AS forced,
             EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid) AS policy
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname IN ('wact', 'wact_private') AND c.relkind IN ('r', 'p') AND NOT c.relispartition
         AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'workspace_id' AND NOT a.attisdropped)
         AND c.relname <> 'session_grants'`);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.filter((r) => !r.rls || !r.forced || !r.policy)).toEqual([]);
  });
});
