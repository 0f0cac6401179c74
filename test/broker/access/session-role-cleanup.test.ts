import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectAs } from '../../support/db.ts';
import { fullSession, redactedSession, startHarness, type Harness } from '../gateway/harness.ts';

/**
 * Issue 12, point 4: no session can block its own revocation. What a session
 * role may create is enumerated the way an attacker would try it; revocation
 * and expiry commit "no grant, no login" first and clean up after, and a
 * failed cleanup is visible and retried instead of a 500.
 */

const roleOf = (id: string) => `wact_sess_${id.replace(/-/g, '')}`;

/** Every way we know for a role to leave something behind in the database it can reach. */
function attacks(schemas: string[]): [string, string][] {
  const list: [string, string][] = [
    ['lo_from_bytea', "SELECT lo_from_bytea(0, 'x')"],
    ['lo_create', 'SELECT lo_create(0)'],
    ['lo_creat', 'SELECT lo_creat(-1)'],
    ['lo_import (server file)', "SELECT lo_import('/etc/hosts')"],
    ['lo_import (server file, oid)', "SELECT lo_import('/etc/hosts', 0)"],
    ['schema', 'CREATE SCHEMA attack_schema'],
    ['temporary table', 'CREATE TEMP TABLE attack_temp (a int)'],
    ['temporary function', 'CREATE FUNCTION pg_temp.attack_fn() RETURNS int LANGUAGE sql AS $$SELECT 1$$'],
    ['extension', 'CREATE EXTENSION IF NOT EXISTS pgcrypto'],
    ['publication', 'CREATE PUBLICATION attack_pub'],
    ['subscription', "CREATE SUBSCRIPTION attack_sub CONNECTION 'dbname=x' PUBLICATION p WITH (connect = false)"],
    ['foreign data wrapper', 'CREATE FOREIGN DATA WRAPPER attack_fdw'],
    ['event trigger', 'CREATE EVENT TRIGGER attack_evt ON ddl_command_start EXECUTE FUNCTION pg_catalog.now()'],
    ['database', 'CREATE DATABASE attack_db'],
    ['role', 'CREATE ROLE attack_role'],
    ['tablespace', "CREATE TABLESPACE attack_ts LOCATION '/tmp'"],
    ['physical replication slot', "SELECT pg_create_physical_replication_slot('attack_slot_p')"],
    ['logical replication slot', "SELECT pg_create_logical_replication_slot('attack_slot_l', 'pgoutput')"],
    ['prepared transaction', "BEGIN; SELECT 1; PREPARE TRANSACTION 'attack_xact'"],
    ['default privileges (own)', 'ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC'],
    ['default privileges (in schema)', 'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO PUBLIC'],
    ['role setting', "ALTER ROLE CURRENT_USER SET work_mem = '8MB'"],
    ['comment on role', "COMMENT ON ROLE CURRENT_USER IS 'attack'"],
  ];
  for (const s of schemas) {
    const q = `"${s.replace(/"/g, '""')}"`;
    list.push(
      [`${s}: table`, `CREATE TABLE ${q}.attack_t (a int)`],
      [`${s}: view`, `CREATE VIEW ${q}.attack_v AS SELECT 1 AS a`],
      [`${s}: sequence`, `CREATE SEQUENCE ${q}.attack_s`],
      [`${s}: function`, `CREATE FUNCTION ${q}.attack_f() RETURNS int LANGUAGE sql AS $$SELECT 1$$`],
      [`${s}: type`, `CREATE TYPE ${q}.attack_ty AS (a int)`],
      [`${s}: domain`, `CREATE DOMAIN ${q}.attack_d AS int`],
      [`${s}: text search config`, `CREATE TEXT SEARCH CONFIGURATION ${q}.attack_ts (COPY = pg_catalog.simple)`],
      [`${s}: collation`, `CREATE COLLATION ${q}.attack_c FROM "C"`],
    );
  }
  return list;
}

/** What a session role can still do, all removed with the role (DROP OWNED BY, DROP ROLE). */
const REMOVED_WITH_THE_ROLE = ['default privileges (own)', 'default privileges (in schema)', 'role setting'];

/** Runs each attack on its own (autocommit); returns the ones that succeeded. */
async function attempt(c: pg.Client, list: [string, string][]): Promise<string[]> {
  const created: string[] = [];
  for (const [label, sql] of list) {
    try {
      await c.query(sql);
      created.push(label);
    } catch {
      await c.query('ROLLBACK').catch(() => undefined);
    }
  }
  return created;
}

describe('session roles: nothing a session creates outlives it or blocks its end', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h?.close());

  async function sessionClient(id: string): Promise<pg.Client> {
    const row = (await h.ops.control.query('SELECT * FROM wact.access_sessions WHERE id = $1', [id])).rows[0];
    const password = await h.access.upstreamLogin(row).login.password();
    const c = await connectAs('eu', row.role_name, password);
    c.on('error', () => undefined);
    return c;
  }

  /** Every shared dependency on the given roles (owner, ACL, policy, default privileges) in every database. */
  async function dependents(roles: string[]): Promise<string[]> {
    const { rows } = await h.ops.region('eu').query<{ d: string }>(
      `SELECT format('%s %s %s.%s %s', r.rolname, d.deptype, d.dbid, d.classid::regclass, d.objid) AS d
         FROM pg_shdepend d JOIN pg_roles r ON r.oid = d.refobjid
        WHERE d.refclassid = 'pg_authid'::regclass AND r.rolname = ANY($1) ORDER BY 1`,
      [roles],
    );
    return rows.map((r) => r.d);
  }

  it('enumerates every CREATE kind and lo_* function, directly and as its group: nothing survives the end', async () => {
    const groups = ['wact_support', 'wact_engineer'];
    const version = Number((await h.ops.region('eu').query('SHOW server_version_num')).rows[0].server_version_num);
    const groupsBefore = await dependents(groups);
    const sessions = [await fullSession(h, 'Attacker enumeration ATK-1'), await redactedSession(h)];
    for (const s of sessions) {
      const role = roleOf(s.session.id);
      const c = await sessionClient(s.session.id);
      const schemas = (await c.query<{ n: string }>('SELECT nspname AS n FROM pg_namespace ORDER BY 1')).rows.map((r) => r.n);
      expect(schemas.length).toBeGreaterThan(5);
      // Large objects: refused outright (EXECUTE revoked from PUBLIC by database-grants.sql).
      await expect(c.query("SELECT lo_from_bytea(0, 'x')")).rejects.toMatchObject({ code: '42501' });
      // What succeeds may only be what the end removes with the role (DROP OWNED, DROP ROLE).
      const created = await attempt(c, attacks(schemas));
      expect(created.filter((x) => !REMOVED_WITH_THE_ROLE.includes(x))).toEqual([]);
      expect(created.length).toBeGreaterThan(0); // the attempts really ran as a role that can do something
      // Its group's identity: refused from PostgreSQL 16 on (SET FALSE); on 15 the group creates nothing that lasts either.
      for (const g of groups) {
        const asGroup = await c.query(`SET ROLE ${g}`).then(
          () => true,
          () => false,
        );
        if (version >= 160000) expect(asGroup).toBe(false);
        if (!asGroup) continue;
        const asGroupCreated = await attempt(c, attacks(schemas));
        expect(asGroupCreated.filter((x) => !REMOVED_WITH_THE_ROLE.includes(x))).toEqual([]);
        await c.query('RESET ROLE');
      }
      const oid = (await h.ops.region('eu').query('SELECT oid FROM pg_roles WHERE rolname = $1', [role])).rows[0].oid;
      expect((await dependents([role])).length).toBeGreaterThan(0); // the default-privilege entries: would block a bare DROP ROLE

      await h.access.revoke(h.security, s.session.id);
      await c.end().catch(() => undefined);
      expect((await h.access.get(h.security, s.session.id)).role).toBe('dropped');
      const left = await h.ops.region('eu').query(
        `SELECT (SELECT count(*)::int FROM pg_roles WHERE rolname = $1) AS roles,
                (SELECT count(*)::int FROM pg_shdepend WHERE refclassid = 'pg_authid'::regclass AND refobjid = $2) AS deps,
                (SELECT count(*)::int FROM pg_largeobject_metadata WHERE lomowner = $2) AS los,
                (SELECT count(*)::int FROM pg_prepared_xacts WHERE owner = $1) AS xacts,
                (SELECT count(*)::int FROM pg_replication_slots WHERE slot_name LIKE 'attack%') AS slots`,
        [role, oid],
      );
      expect(left.rows[0]).toEqual({ roles: 0, deps: 0, los: 0, xacts: 0, slots: 0 });
    }
    // Nothing recorded under the groups either; on 15 (no SET FALSE) only default-privilege entries for
    // objects the groups can never create (every CREATE above failed for them).
    const groupsAfter = (await dependents(groups)).filter((d) => version >= 160000 || !/ o \d+\.pg_default_acl /.test(d));
    expect(groupsAfter).toEqual(groupsBefore);
  });
});
