import crypto from 'node:crypto';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../../support/broker.ts';
import { connectAs, operatorPools } from '../../support/db.ts';
import { endSessionRolesOf, fullSession, nextError, redactedSession, startHarness, type Harness } from '../gateway/harness.ts';

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

  /**
   * Large objects for everyone again, as on a server where database-grants.sql
   * could not revoke them (e.g. RDS, where the operator is no superuser). To
   * PUBLIC, not to the role: a grant by the superuser to the role itself is a
   * privilege wact_owner cannot take back, which (rightly) blocks the drop.
   */
  async function allowLargeObjects() {
    await h.ops.region('eu').query('GRANT EXECUTE ON FUNCTION pg_catalog.lo_from_bytea(oid, bytea) TO PUBLIC');
  }
  afterEach(async () => {
    await h.ops.region('eu').query('REVOKE EXECUTE ON FUNCTION pg_catalog.lo_from_bytea(oid, bytea) FROM PUBLIC');
  });

  /**
   * Makes DROP ROLE fail until released: the role owns a table in the control
   * database, which DROP OWNED in the regional one cannot reach.
   */
  async function blockDrop(role: string): Promise<() => Promise<void>> {
    const table = `public.block_${crypto.randomBytes(6).toString('hex')}`;
    await h.ops.control.query(`CREATE TABLE ${table} (a int); ALTER TABLE ${table} OWNER TO ${role}`);
    return async () => void (await h.ops.control.query(`DROP TABLE ${table}`));
  }

  async function roleFacts(role: string) {
    const { rows } = await h.ops.region('eu').query(
      `SELECT r.rolcanlogin AS login,
              pg_has_role(r.oid, 'wact_engineer', 'USAGE') OR pg_has_role(r.oid, 'wact_support', 'USAGE') AS grp,
              EXISTS (SELECT 1 FROM wact_private.session_grants g WHERE g.role_name = r.rolname) AS grant_row,
              (SELECT count(*)::int FROM pg_stat_activity a WHERE a.usename = r.rolname) AS backends
         FROM pg_roles r WHERE r.rolname = $1`,
      [role],
    );
    return rows[0] as { login: boolean; grp: boolean; grant_row: boolean; backends: number } | undefined;
  }

  it('a session that made a large object is revoked: 200, event, no login, connection closed, role and object dropped', async () => {
    const { session, connection } = await fullSession(h, 'Large object revocation LO-1');
    const role = roleOf(session.id);
    await allowLargeObjects();
    const c = await h.client(connection.user, connection.password);
    const lo = (await c.query<{ oid: number }>("SELECT lo_from_bytea(0, 'x') AS oid")).rows[0].oid;
    const owner = await h.ops.region('eu').query('SELECT lomowner::regrole::text AS o FROM pg_largeobject_metadata WHERE oid = $1', [lo]);
    expect(owner.rows[0].o).toBe(role);
    const closed = nextError(c);

    const view = await h.access.revoke(h.security, session.id); // resolves: the HTTP layer answers 200
    expect(view).toMatchObject({ status: 'revoked', role: 'dropped', roleCleanupError: null });
    const events = await h.auditRows(session.id, 'db.session.revoked');
    expect(events).toHaveLength(1);
    expect(events[0].metadata).toMatchObject({ roleDisabled: true, revokedBy: 'Sam Security' });
    expect((await closed).message).toMatch(/revoked|terminat/);
    expect(await roleFacts(role)).toBeUndefined();
    const gone = await h.ops.region('eu').query('SELECT 1 FROM pg_largeobject_metadata WHERE oid = $1', [lo]);
    expect(gone.rows).toEqual([]);
    await expect(h.client(connection.user, connection.password)).rejects.toThrow(/session revoked/);
  });

  it('a failed cleanup does not fail the revocation: 200, event, no grant and no login at once; visible and retried until dropped', async () => {
    const { session, connection } = await fullSession(h, 'Cleanup failure injected CLN-1');
    const role = roleOf(session.id);
    await allowLargeObjects();
    const c = await h.client(connection.user, connection.password);
    await c.query("SELECT lo_from_bytea(0, 'x')");
    const closed = nextError(c);
    const release = await blockDrop(role);
    const password = await h.access
      .upstreamLogin((await h.ops.control.query('SELECT * FROM wact.access_sessions WHERE id = $1', [session.id])).rows[0])
      .login.password();

    const view = await h.access.revoke(h.security, session.id);
    expect(view).toMatchObject({ status: 'revoked', role: 'disabled' });
    expect(view.roleCleanupError).toMatch(/cannot be dropped|depend/);
    expect(view.roleCleanupAttempts).toBeGreaterThanOrEqual(1);
    expect(await h.auditRows(session.id, 'db.session.revoked')).toHaveLength(1);
    await closed;
    // "no grant, no login" is committed although the drop failed: no RLS grant, no group, NOLOGIN, no backend.
    expect(await roleFacts(role)).toEqual({ login: false, grp: false, grant_row: false, backends: 0 });
    await expect(connectAs('eu', role, password)).rejects.toThrow(/not permitted to log in|authentication failed/);

    // The sweep (the gateway's, every second here, and ours) retries and keeps failing visibly…
    await h.access.sweep();
    const still = await h.access.get(h.security, session.id);
    expect(still.role).toBe('disabled');
    expect(still.roleCleanupAttempts).toBeGreaterThan(view.roleCleanupAttempts);
    // …until the obstacle is gone.
    await release();
    await expect.poll(async () => (await h.access.get(h.security, session.id)).role, { timeout: 10_000 }).toBe('dropped');
    expect((await h.access.get(h.security, session.id)).roleCleanupError).toBeNull();
    expect(await roleFacts(role)).toBeUndefined();
    expect(await h.auditRows(session.id, 'db.session.revoked')).toHaveLength(1); // still exactly one
  });

  it('expiry takes the same path: event, no grant and no login, live connection closed, failed drop retried until done', async () => {
    const { session, connection } = await fullSession(h, 'Expiry with a blocked drop EXP-1');
    const role = roleOf(session.id);
    await allowLargeObjects();
    const c = await h.client(connection.user, connection.password);
    await c.query("SELECT lo_from_bytea(0, 'x')");
    const closed = nextError(c);
    const release = await blockDrop(role);
    await h.ops.control.query(`UPDATE wact.access_sessions SET expires_at = now() - interval '1 second' WHERE id = $1`, [session.id]);

    await h.access.sweep(); // or the gateway's own sweep, whichever claims it first
    await expect.poll(async () => (await h.auditRows(session.id, 'db.session.expired')).length, { timeout: 8000 }).toBe(1);
    await expect.poll(async () => (await h.access.get(h.security, session.id)).roleCleanupError, { timeout: 8000 }).toMatch(/depend/);
    expect(await roleFacts(role)).toEqual({ login: false, grp: false, grant_row: false, backends: 0 });
    expect((await closed).message).toMatch(/expired|terminat/);
    expect((await h.access.get(h.security, session.id)).role).toBe('disabled');

    await release();
    await h.access.sweep();
    await expect.poll(async () => (await h.access.get(h.security, session.id)).role, { timeout: 10_000 }).toBe('dropped');
    expect(await roleFacts(role)).toBeUndefined();
    expect(await h.auditRows(session.id, 'db.session.expired')).toHaveLength(1);
  });

  it('an end event whose append failed is written by the sweep later (at least once, never lost)', async () => {
    const { session } = await redactedSession(h);
    // As if the revoking process died right after the revocation committed: no event, no cleanup.
    await h.ops.control.query(
      `UPDATE wact.access_sessions SET status = 'revoked', revoked_by = $2, revoked_by_name = 'Sam Security', revoked_at = now(),
              ended_at = now() - interval '1 minute' WHERE id = $1`,
      [session.id, h.security.userId],
    );
    await h.access.sweep();
    await expect.poll(async () => (await h.auditRows(session.id, 'db.session.revoked')).length, { timeout: 8000 }).toBe(1);
    expect((await h.auditRows(session.id, 'db.session.revoked'))[0].metadata).toMatchObject({ recordedLate: true });
    await expect.poll(async () => (await h.access.get(h.security, session.id)).role, { timeout: 8000 }).toBe('dropped');
  });
});

describe('session roles: the revoke call over HTTP', () => {
  let broker: TestBroker;
  let wsId = '';
  beforeAll(async () => {
    broker = await startTestBroker();
  });
  afterAll(async () => {
    const ops = operatorPools();
    await endSessionRolesOf(ops, [], [wsId].filter(Boolean)).finally(() => ops.end());
    await broker?.close();
  });

  it('answers 200 with the cleanup failure visible (never a 500) when the role cannot be dropped', async () => {
    wsId = (await broker.createWorkspace('Revoke HTTP')).id;
    const engineer = await broker.loginAs('engineer');
    const security = await broker.loginAs('security');
    const created = await engineer.post('/api/db/requests', { workspaceId: wsId, reason: 'Revocation over HTTP REV-1', ttl: '5m' });
    expect(created.status).toBe(201);
    const id: string = created.body.session.id;
    const role = roleOf(id);
    const ops = operatorPools();
    const table = `public.block_${crypto.randomBytes(6).toString('hex')}`;
    try {
      await ops.control.query(`CREATE TABLE ${table} (a int); ALTER TABLE ${table} OWNER TO ${role}`);
      const res = await security.post(`/api/db/sessions/${id}/revoke`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status: 'revoked', role: 'disabled', roleCleanupAttempts: 1 });
      expect(res.body.roleCleanupError).toMatch(/depend/);
      const listed = await security.get(`/api/db/sessions/${id}`);
      expect(listed.body).toMatchObject({ role: 'disabled' });
      const events = await ops
        .region('eu')
        .query(`SELECT 1 FROM audit.events WHERE session_id = $1 AND action = 'db.session.revoked'`, [id]);
      expect(events.rows).toHaveLength(1);
    } finally {
      await ops.control.query(`DROP TABLE IF EXISTS ${table}`);
      await ops.end();
    }
  });
});
