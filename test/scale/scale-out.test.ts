import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessServiceFor } from '../../shared/access/access-wiring.ts';
import type { AccessActor } from '../../shared/access/access-types.ts';
import { digest, randomToken } from '../../broker/auth/tokens.ts';
import { createAuditSigner } from '../../shared/audit/audit-signing.ts';
import { localSigningKey } from '../../shared/audit/audit-signing-keys.ts';
import { loadConfig } from '../../shared/config/config.ts';
import { createPools, type Pools } from '../../shared/db/pools.ts';
import { ensureDevCertificates, loadTlsMaterial } from '../../shared/http/tls.ts';
import { createPlatform, type Platform } from '../../shared/runtime/platform.ts';
import { createBspCredentialService } from '../../shared/workspaces/bsp-credentials/bsp-credentials-service.ts';
import { createFieldCrypto } from '../../shared/crypto/field-cipher.ts';
import { signedHeaders } from '../ingest/support/harness.ts';
import { createScratchDatabases, databaseEnv, databasesOf, type ScratchDatabases } from '../support/scratch-databases.ts';
import { urlsWithoutLogin } from '../support/db.ts';

/**
 * Issue 16.3: two ingests, two brokers, two gateways and two workers — eight
 * real `wact serve …` child processes — on one set of databases (a server of
 * this file's own, so no other test file's worker takes these jobs), as a
 * production deployment runs them behind load balancers:
 * - the same webhook delivered to both ingests is stored once;
 * - a revocation made through broker A closes a live connection on gateway B
 *   within 2 s (B hears it from the database: LISTEN/NOTIFY);
 * - each scheduled audit signing runs once: one job per tick, and what the
 *   signings wrote shows no two of them overlapped (each head signed once,
 *   digests end to end). Not pg-boss's started_on/completed_on: both are the
 *   start times of their transactions, and pg-boss sends the next fetch
 *   without awaiting the previous job's completion, so the fetch's transaction
 *   may start first (its update then waits for the completion to commit): a
 *   job taken after the previous handler returned can show a started_on a few
 *   ms before that job's completed_on. That two signings of a stream never
 *   interleave is the signer's own lock (test/audit/signing-lock.test.ts).
 */
const SERVICES = ['ingest', 'ingest', 'broker', 'broker', 'gateway', 'gateway', 'worker', 'worker'] as const;
const SIGN_INTERVAL = 10;
const ROOT = path.resolve(import.meta.dirname, '../..');

interface Child {
  name: string;
  proc: ChildProcess;
  urls: Record<string, string>;
  stderr: string[];
}

let scratch: ScratchDatabases;
let home: string;
let env: Record<string, string>;
let children: Child[] = [];
let operator: Platform;
let signerPools: Pools;
let agent: Agent;
let ca: string;

/**
 * Ingest, broker and gateway get the database URLs without their login, as production gives them,
 * and a libpq default user that cannot log in: they run (start-up checks included) on their own
 * roles' logins only. The workers run `lifecycle`, the one group that needs the owner's login.
 */
function serve(name: string): Promise<Child> {
  const urls = name === 'worker' ? scratch.urls : urlsWithoutLogin(scratch.urls);
  const proc = spawn(process.execPath, [path.join(ROOT, 'bin/wact.mjs'), 'serve', name, '--json'], {
    cwd: ROOT,
    env: {
      ...process.env,
      ...env,
      DATABASE_URL_CONTROL: urls.control,
      DATABASE_URL_EU: urls.eu,
      DATABASE_URL_US: urls.us,
      ...(name === 'worker' ? {} : { PGUSER: 'wact_no_such_login', PGPASSWORD: '' }),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const child: Child = { name, proc, urls: {}, stderr: [] };
  proc.stderr!.on('data', (d: Buffer) => child.stderr.push(d.toString()));
  return new Promise((resolve, reject) => {
    let out = '';
    let ready = false;
    const timer = setTimeout(() => reject(new Error(`${name} did not start: ${child.stderr.join('').slice(-2000)}`)), 100_000);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      // The ready line is the one JSON line naming the service (pino's log lines are JSON too).
      for (const line of out.split('\n')) {
        if (!line.startsWith('{"service"') || ready) continue;
        ready = true;
        clearTimeout(timer);
        child.urls = (JSON.parse(line) as { urls: Record<string, string> }).urls;
        resolve(child);
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code}: ${child.stderr.join('').slice(-2000)}`));
    });
  });
}

const of = (name: string) => children.filter((c) => c.name === name);
const portOf = (url: string) => Number(/:(\d+)(\/|$)/.exec(url)![1]);

beforeAll(async () => {
  scratch = await createScratchDatabases({ prefix: 'wact_scale' });
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'wact-scale-'));
  env = {
    ...databaseEnv(scratch),
    WACT_HOME: home,
    INGEST_PORT: '0',
    BROKER_PORT: '0',
    GATEWAY_PORT: '0',
    GATEWAY_PUBLIC_HOST: '127.0.0.1',
    WACT_AUDIT_SIGN_INTERVAL_SECONDS: String(SIGN_INTERVAL),
    LOG_LEVEL: 'warn',
  };
  const config = loadConfig(env);
  await ensureDevCertificates(home, ['localhost', '127.0.0.1']);
  ca = loadTlsMaterial(config).ca!;
  agent = new Agent({ connect: { ca } });
  // Files every process shares, made once before they start: the regions' KEKs (by creating a
  // workspace) and the local audit signing key (registered in every database).
  operator = createPlatform(config, databasesOf(scratch), 'operator', { poolMax: 4 });
  signerPools = createPools(scratch.urls, { user: 'wact_signer', password: scratch.servicePasswords.signer, max: 2 });
  const signer = createAuditSigner({
    poolFor: (db) => (db === 'control' ? signerPools.control : signerPools.region(db)),
    key: () => localSigningKey(home),
  });
  for (const db of ['control', 'eu', 'us'] as const) await signer.activeKey(db);
  const t0 = Date.now();
  children = await Promise.all(SERVICES.map(serve));
  process.stdout.write(`8 processes up in ${Date.now() - t0} ms\n`);
}, 180_000);

afterAll(async () => {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.proc.exitCode !== null) return resolve();
          c.proc.once('exit', () => resolve());
          c.proc.kill('SIGTERM');
          setTimeout(() => c.proc.kill('SIGKILL'), 10_000).unref();
        }),
    ),
  );
  await agent?.close();
  await signerPools?.end();
  await operator?.close();
  await scratch?.drop();
  fs.rmSync(home, { recursive: true, force: true });
}, 60_000);

describe('scale-out: 2 ingest, 2 broker, 2 gateway, 2 worker processes on one database', () => {
  it('the same webhook delivered to both ingests is stored exactly once', async () => {
    const ws = await operator.workspaces.create({ name: 'Scale', region: 'eu' }, { id: 'operator:test', kind: 'operator' });
    const secret = 'scale-meta-secret';
    const bsp = createBspCredentialService({
      crypto: createFieldCrypto(operator.keyring),
      poolFor: (r) => operator.pools.region(r),
      ttlMs: 0,
    });
    await bsp.set(ws, { provider: 'meta', secret });
    const fixture = fs.readFileSync(path.join(ROOT, 'test/ingest/fixtures/meta-text-referral.json'), 'utf8');
    const [a, b] = of('ingest').map((c) => c.urls.ingest);
    for (let i = 0; i < 5; i++) {
      const body = Buffer.from(
        fixture.replace('wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=', `wamid.${crypto.randomUUID()}`),
      );
      const send = (base: string) =>
        request(`${base}/v1/webhooks/meta/${ws.id}`, {
          method: 'POST',
          body,
          headers: signedHeaders('meta', secret, body, ''),
          dispatcher: agent,
        }).then(async (r) => ({ status: r.statusCode, body: (await r.body.json()) as { stored: number } }));
      // A BSP retrying through the load balancer: the same delivery reaches both ingests at once.
      const results = await Promise.all([send(a), send(b), send(a), send(b)]);
      expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200]);
      expect(results.reduce((s, r) => s + r.body.stored, 0)).toBe(1);
    }
    const { rows } = await operator.pools.region('eu').query(
      `SELECT (SELECT count(*) FROM wact.webhook_receipts WHERE workspace_id = $1)::int AS receipts,
              (SELECT count(*) FROM wact.raw_webhook_payloads WHERE workspace_id = $1)::int AS payloads,
              (SELECT count(*) FROM wact.conversations WHERE workspace_id = $1)::int AS conversations`,
      [ws.id],
    );
    expect(rows[0]).toEqual({ receipts: 5, payloads: 5, conversations: 1 });
  });

  it('a revocation made through broker A closes a live connection on gateway B within 2 s', async () => {
    const control = operator.pools.control;
    const person = async (role: AccessActor['employeeRole'], name: string): Promise<AccessActor> => {
      const id = crypto.randomUUID();
      await control.query(`INSERT INTO wact.users (id, kind, display_name, employee_role) VALUES ($1, 'employee', $2, $3)`, [
        id,
        name,
        role,
      ]);
      return { userId: id, displayName: name, employeeRole: role };
    };
    const engineer = await person('engineer', 'Erin Engineer');
    const security = await person('security', 'Sam Security');
    const ws = await operator.workspaces.create({ name: 'Scale gateway', region: 'eu' }, { id: 'operator:test', kind: 'operator' });
    // The engineer's session, requested and granted in this process (any broker would do: all state is in the database).
    const broker = createPlatform(loadConfig(env), databasesOf(scratch), 'broker', { poolMax: 2 });
    try {
      const access = accessServiceFor(broker);
      const { session, connection } = await access.request(engineer, {
        workspaceId: ws.id,
        reason: 'Scale-out test SCALE-1 revocation',
        scope: 'redacted',
      });
      // Gateway B.
      const gw = of('gateway')[1];
      const c = new pg.Client({
        host: '127.0.0.1',
        port: portOf(gw.urls.gateway),
        user: connection!.user,
        password: connection!.password,
        database: 'wact',
        ssl: { ca, servername: '127.0.0.1' },
      });
      c.on('error', () => undefined);
      await c.connect();
      expect((await c.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      const closed = new Promise<{ at: number; message: string }>((resolve) => {
        c.once('error', (e: Error) => resolve({ at: Date.now(), message: e.message }));
        c.once('end', () => resolve({ at: Date.now(), message: 'ended' }));
      });
      // The security officer, signed in with the CLI (an active, TOTP-verified session), revokes through broker A.
      const token = randomToken();
      await control.query(
        `INSERT INTO wact.sessions (id, token_hash, user_id, via, stage, mfa, expires_at) VALUES ($1, $2, $3, 'cli', 'active', true, now() + interval '1 hour')`,
        [crypto.randomUUID(), digest(token), security.userId],
      );
      const brokerA = of('broker')[0].urls.broker;
      const t0 = Date.now();
      const res = await request(`${brokerA}/api/db/sessions/${session.id}/revoke`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-wact-reason': 'Scale-out test revocation' },
        body: '{}',
        dispatcher: agent,
      });
      const text = await res.body.text();
      expect(res.statusCode, text).toBe(200);
      const end = await closed;
      expect(end.at - t0).toBeLessThan(2000);
      expect(end.message).toContain('session revoked by Sam Security');
      process.stdout.write(`revocation through broker A → connection closed on gateway B in ${end.at - t0} ms\n`);
    } finally {
      await broker.close();
    }
  });

  it('with no gateway involved, an expired session ends once: the workers sweep it (expiry audited once, role dropped)', async () => {
    const id = crypto.randomUUID();
    await operator.pools.control.query(
      `INSERT INTO wact.users (id, kind, display_name, employee_role) VALUES ($1, 'employee', 'Sue Support', 'support')`,
      [id],
    );
    const ws = await operator.workspaces.create({ name: 'Scale expiry', region: 'eu' }, { id: 'operator:test', kind: 'operator' });
    const broker = createPlatform(loadConfig(env), databasesOf(scratch), 'broker', { poolMax: 2 });
    try {
      const { session } = await accessServiceFor(broker).request(
        { userId: id, displayName: 'Sue Support', employeeRole: 'support' },
        { workspaceId: ws.id, reason: 'Scale-out test SCALE-2 expiry', scope: 'redacted' },
      );
      await operator.pools.control.query(`UPDATE wact.access_sessions SET expires_at = now() - interval '1 second' WHERE id = $1`, [
        session.id,
      ]);
      const state = async () => {
        const s = await operator.pools.control.query<{ status: string; dropped: boolean }>(
          'SELECT status, role_dropped_at IS NOT NULL AS dropped FROM wact.access_sessions WHERE id = $1',
          [session.id],
        );
        const e = await operator.pools
          .region('eu')
          .query<{ n: number }>(`SELECT count(*)::int AS n FROM audit.events WHERE session_id = $1 AND action = 'db.session.expired'`, [
            session.id,
          ]);
        return { ...s.rows[0], expiredEvents: e.rows[0].n };
      };
      await expect.poll(state, { timeout: 25_000, interval: 500 }).toEqual({ status: 'expired', dropped: true, expiredEvents: 1 });
      const role = `wact_sess_${session.id.replace(/-/g, '')}`;
      expect((await operator.pools.region('eu').query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role])).rows).toEqual([]);
    } finally {
      await broker.close();
    }
  }, 40_000);

  it('a scheduled signing runs once: one worker per tick, never two at a time, one signed head per moved chain', async () => {
    const ws = await operator.workspaces.create({ name: 'Scale audit', region: 'eu' }, { id: 'operator:test', kind: 'operator' });
    const head = async () =>
      (await operator.pools.region('eu').query<{ seq: string }>('SELECT seq FROM audit.chain_heads WHERE stream_id = $1', [ws.id])).rows[0]
        ?.seq;
    const seq = await head();
    expect(seq).toBeDefined();
    const periodic = async () =>
      (
        await operator.pools
          .region('eu')
          .query<{ seq: string }>(`SELECT seq FROM audit.signed_heads WHERE stream_id = $1 AND purpose = 'periodic' ORDER BY seq`, [ws.id])
      ).rows.map((r) => r.seq);
    // The next tick signs the workspace's new chain head; two ticks later it is still signed once.
    await expect.poll(periodic, { timeout: (SIGN_INTERVAL + 5) * 1000, interval: 500 }).toEqual([seq]);
    await new Promise((r) => setTimeout(r, SIGN_INTERVAL * 1000 + 2000));
    expect(await periodic()).toEqual([seq]);
    // pg-boss's record of the ticks: several ran, none failed.
    const { rows: jobs } = await operator.pools
      .region('eu')
      .query<{ state: string }>(`SELECT state FROM pgboss.job WHERE name = 'audit.sign_heads' AND started_on IS NOT NULL`);
    expect(jobs.length).toBeGreaterThanOrEqual(2);
    expect(jobs.filter((j) => j.state === 'failed')).toEqual([]);
    // What the signings wrote, in every database: no head signed twice, digests end to end (each event in one).
    for (const db of ['control', 'eu', 'us'] as const) {
      const pool = db === 'control' ? operator.pools.control : operator.pools.region(db);
      const twice = await pool.query(
        `SELECT stream_id, seq, count(*)::int AS n FROM audit.signed_heads GROUP BY stream_id, seq HAVING count(*) > 1`,
      );
      expect(twice.rows, db).toEqual([]);
      const gaps = await pool.query(
        `SELECT stream_id, first_seq, last_seq, prev_last FROM (
           SELECT stream_id, first_seq, last_seq, lag(last_seq) OVER (PARTITION BY stream_id ORDER BY first_seq, last_seq) AS prev_last
             FROM audit.digests) d
          WHERE first_seq <> coalesce(prev_last, 0) + 1`,
      );
      expect(gaps.rows, db).toEqual([]);
    }
    const digests = await operator.pools
      .region('eu')
      .query<{ range: string }>(`SELECT first_seq || '-' || last_seq AS range FROM audit.digests WHERE stream_id = $1`, [ws.id]);
    expect(digests.rows.map((r) => r.range)).toEqual([`1-${seq}`]);
    // One waiting tick at most, whatever the number of workers.
    const waiting = await operator.pools
      .region('eu')
      .query<{ n: number }>(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'audit.sign_heads' AND state = 'created'`);
    expect(waiting.rows[0].n).toBeLessThanOrEqual(1);
    for (const w of of('worker')) expect(w.proc.exitCode).toBeNull();
  }, 45_000);
});
