import crypto from 'node:crypto';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { int4Array } from '../../../shared/db/binary-arrays.ts';
import { callPrepared } from '../../../shared/db/prepared-call.ts';
import { testDb } from '../../support/db.ts';

/**
 * The lean prepared call (shared/db/prepared-call.ts) on the real server,
 * through a one-connection pg-pool as the transcript writer uses it. Invariants:
 *  - it resolves only once the statement ran (its rows are there), and runs
 *    exactly what node-postgres would run with the same parameters;
 *  - a server error rejects with the server's SQLSTATE, and the connection goes
 *    back to the pool usable (a one-connection pool would otherwise hang);
 *  - Parse goes once per connection; a second text under the same name is refused;
 *  - a connection lost mid-call, or never made, rejects the call instead of hanging.
 */

const table = `prepared_call_${crypto.randomBytes(4).toString('hex')}`;
const insert = { name: `wact.test.${table}`, text: `INSERT INTO ${table} (v) SELECT unnest($1::int4[])` };
let pool: pg.Pool;
let admin: pg.Client;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: testDb().urls.control });
  await admin.connect();
  await admin.query(`CREATE TABLE ${table} (n bigserial PRIMARY KEY, v int4 NOT NULL CHECK (v < 1000000))`);
  pool = new pg.Pool({ connectionString: testDb().urls.control, max: 1 });
});

afterAll(async () => {
  await pool?.end();
  await admin?.query(`DROP TABLE IF EXISTS ${table}`);
  await admin?.end();
});

const rows = async () => (await admin.query<{ v: number }>(`SELECT v FROM ${table} ORDER BY n`)).rows.map((r) => r.v);

describe('callPrepared', () => {
  it('runs what node-postgres runs for the same values, and resolves after it ran (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: -(2 ** 31), max: 999_999 }), { maxLength: 20 }), async (values) => {
        await admin.query(`TRUNCATE ${table}`);
        await callPrepared(pool, insert, [int4Array(values)]);
        const ours = await rows();
        await admin.query(`TRUNCATE ${table}`);
        await pool.query(insert.text, [values]);
        expect(ours).toEqual(await rows());
        expect(ours).toEqual(values);
      }),
      { numRuns: 40 },
    );
  });

  it('rejects with the server’s SQLSTATE and leaves the connection usable', async () => {
    await admin.query(`TRUNCATE ${table}`);
    await expect(callPrepared(pool, insert, [int4Array([1, 2_000_000])])).rejects.toMatchObject({ code: '23514' });
    expect(await rows()).toEqual([]); // nothing of the failed call stays
    await callPrepared(pool, insert, [int4Array([3])]);
    expect(await rows()).toEqual([3]);
    // A statement the server cannot prepare: its error, then the same name is free again for a valid text.
    const broken = { name: 'wact.test.broken', text: 'SELECT no_such_function($1::int4[])' };
    await expect(callPrepared(pool, broken, [int4Array([1])])).rejects.toMatchObject({ code: '42883' });
    await expect(
      callPrepared(pool, { name: broken.name, text: 'SELECT cardinality($1::int4[])' }, [int4Array([1])]),
    ).resolves.toBeUndefined();
  });

  it('prepares once per connection and refuses another text under the same name', async () => {
    await callPrepared(pool, insert, [int4Array([1])]);
    await callPrepared(pool, insert, [int4Array([2])]);
    const prepared = await pool.query<{ n: string }>('SELECT count(*) AS n FROM pg_prepared_statements WHERE name = $1', [insert.name]);
    expect(prepared.rows[0].n).toBe('1');
    await expect(callPrepared(pool, { name: insert.name, text: 'SELECT 1' }, [])).rejects.toThrow(/different statement/);
    await expect(callPrepared(pool, insert, [int4Array([4])])).resolves.toBeUndefined();
  });

  it('a pool that cannot connect rejects the call (it never reaches a connection)', async () => {
    const nowhere = new pg.Pool({ connectionString: 'postgres://nobody@127.0.0.1:1/none', connectionTimeoutMillis: 2000 });
    try {
      await expect(callPrepared(nowhere, insert, [int4Array([1])])).rejects.toThrow();
    } finally {
      await nowhere.end();
    }
  });

  it('a connection lost during the call rejects it, and the pool recovers', async () => {
    const slow = { name: 'wact.test.sleep', text: 'SELECT pg_sleep(5), cardinality($1::int4[])' };
    const pid = (await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    // Its rejection is awaited from the start: it may land before pg_terminate_backend itself answers.
    const rejected = expect(callPrepared(pool, slow, [int4Array([1])])).rejects.toMatchObject({ code: '57P01' });
    await new Promise((r) => setTimeout(r, 200));
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    await rejected;
    await expect(callPrepared(pool, insert, [int4Array([5])])).resolves.toBeUndefined();
  });
});
