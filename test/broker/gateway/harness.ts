import crypto from 'node:crypto';
import { execFile } from 'node:child_process';
import pg from 'pg';
import pino from 'pino';
import { accessServiceFor } from '../../../shared/access/access-wiring.ts';
import type { AccessActor } from '../../../shared/access/access-types.ts';
import type { AccessService } from '../../../shared/access/access-service.ts';
import { accessSessionSource } from '../../../broker/gateway/access-session-source.ts';
import { createGateway, type Gateway } from '../../../broker/gateway/gateway-server.ts';
import { followEndedSessions } from '../../../broker/gateway/gateway-start.ts';
import { auditStatementFields } from '../../../broker/gateway/statement-masking.ts';
import { joinStatementFields } from '../../../shared/audit/audit-validation.ts';
import type { AuditLog } from '../../../shared/audit/audit-types.ts';
import { statementsOf } from '../../../shared/audit/transcript-statements.ts';
import { ensureDevCertificates, loadTlsMaterial } from '../../../shared/http/tls.ts';
import { createPlatform, type Platform } from '../../../shared/runtime/platform.ts';
import type { Databases } from '../../../shared/runtime/databases.ts';
import type { DatabaseUrls } from '../../../shared/db/database-urls.ts';
import { loadConfig } from '../../../shared/config/config.ts';
import { createPools } from '../../../shared/db/pools.ts';
import { operatorPools, testConfig, testDb } from '../../support/db.ts';
import { databaseEnv } from '../../support/scratch-databases.ts';
import { databasesOf } from '../../support/scratch-databases.ts';
import type { ServicePasswords } from '../../../shared/runtime/databases.ts';

/**
 * A gateway on port 0 over the run's databases, a broker-role access service,
 * three employees (engineer, support, security) and two workspaces in eu with
 * a few conversations each.
 */
export interface Harness {
  platform: Platform;
  access: AccessService;
  gateway: Gateway;
  port: number;
  ca: string;
  ops: ReturnType<typeof operatorPools>;
  engineer: AccessActor;
  engineer2: AccessActor;
  support: AccessActor;
  security: AccessActor;
  security2: AccessActor;
  wsA: string;
  wsB: string;
  client(user: string, password: string, opts?: { ssl?: boolean }): Promise<pg.Client>;
  psql(
    user: string,
    password: string,
    args: string[],
    input?: string,
    onSpawn?: (pid: number) => void,
  ): Promise<{ code: number; stdout: string; stderr: string }>;
  auditRows(
    sessionId: string,
    action?: string,
  ): Promise<{ action: string; outcome: string; reason: string; metadata: Record<string, unknown>; event: Record<string, unknown> }[]>;
  close(): Promise<void>;
}

export async function startHarness(
  opts: {
    audit?: (base: AuditLog) => AuditLog;
    watchIntervalMs?: number;
    /** Run the worker's session sweep every second (default); off to watch the gateway alone. */
    sweep?: boolean;
    holdLimitBytes?: number;
    loginTimeoutMs?: number;
    /** Other databases than the run's (a test with a server of its own); `home` holds keys and certificates. */
    db?: { urls: DatabaseUrls; servicePasswords: ServicePasswords; home: string };
  } = {},
): Promise<Harness> {
  const config = opts.db
    ? loadConfig({ ...databaseEnv(opts.db), WACT_HOME: opts.db.home, GATEWAY_PUBLIC_HOST: '127.0.0.1' })
    : testConfig({ GATEWAY_PUBLIC_HOST: '127.0.0.1' });
  const { urls, servicePasswords } = opts.db ?? testDb();
  const databases: Databases = databasesOf({ urls: urls as DatabaseUrls, servicePasswords });
  const platform = createPlatform(config, databases, 'broker', { poolMax: 6 });
  const operator = createPlatform(config, databases, 'operator', { poolMax: 2 });
  await ensureDevCertificates(config.home, []);
  const tls = loadTlsMaterial(config);
  const invariant = relayInvariantWatch();
  const audit = invariant.watch(opts.audit ? opts.audit(platform.audit) : platform.audit);
  const access = accessServiceFor({ ...platform, audit });
  const gateway = createGateway({
    tls,
    sessions: accessSessionSource(access),
    audit,
    logger: pino({ level: 'silent' }),
    watchIntervalMs: opts.watchIntervalMs ?? 300,
    holdLimitBytes: opts.holdLimitBytes,
    loginTimeoutMs: opts.loginTimeoutMs,
  });
  // As `wact serve gateway` wires it: sessions the control database announces as ended (LISTEN).
  const ended = followEndedSessions(gateway, { databases, logger: pino({ level: 'silent' }) });
  await ended.ready;
  // Stands in for the worker's session sweep job (worker/jobs/session-jobs.ts): no gateway sweeps any more.
  const sweeper = opts.sweep === false ? undefined : setInterval(() => void access.sweep().catch(() => undefined), 1000);
  const unsubscribe = () => {
    clearInterval(sweeper);
    void ended.close();
  };
  const { port } = await gateway.listen(0, '127.0.0.1');
  const ops = opts.db ? createPools(opts.db.urls, { max: 4 }) : operatorPools();

  const person = async (role: AccessActor['employeeRole'], name: string): Promise<AccessActor> => {
    const id = crypto.randomUUID();
    await ops.control.query(`INSERT INTO wact.users (id, kind, display_name, employee_role) VALUES ($1, 'employee', $2, $3)`, [
      id,
      name,
      role,
    ]);
    return { userId: id, displayName: name, employeeRole: role };
  };
  const actor = { id: 'operator:test', kind: 'operator' as const };
  const wsA = (await operator.workspaces.create({ name: 'Gateway A', region: 'eu' }, actor)).id;
  const wsB = (await operator.workspaces.create({ name: 'Gateway B', region: 'eu' }, actor)).id;
  for (const [ws, n] of [
    [wsA, 3],
    [wsB, 2],
  ] as const) {
    for (let i = 0; i < n; i++) {
      await ops.region('eu').query(
        `INSERT INTO wact.conversations (id, workspace_id, provider, sender_hash, sender_kind, started_at, ctwa_clid_prefix)
         VALUES ($1, $2, 'meta', $3, 'phone', now(), 'AbCd')`,
        [crypto.randomUUID(), ws, crypto.randomBytes(32).toString('hex')],
      );
    }
  }

  const h: Harness = {
    platform,
    access,
    gateway,
    port,
    ca: tls.ca!,
    ops,
    engineer: await person('engineer', 'Erin Engineer'),
    engineer2: await person('engineer', 'Eli Engineer'),
    support: await person('support', 'Sue Support'),
    security: await person('security', 'Sam Security'),
    security2: await person('security', 'Sid Security'),
    wsA,
    wsB,
    async client(user, password, o = {}) {
      const c = new pg.Client({
        host: '127.0.0.1',
        port,
        user,
        password,
        database: 'wact',
        ssl: o.ssl === false ? false : { ca: tls.ca, servername: 'localhost' },
        connectionTimeoutMillis: 5000,
      });
      c.on('error', () => undefined);
      invariant.observe(c);
      await c.connect();
      return c;
    },
    psql(user, password, args, input, onSpawn?: (pid: number) => void) {
      return new Promise((resolve) => {
        const child = execFile(
          'psql',
          ['-X', '-v', 'ON_ERROR_STOP=0', '-h', '127.0.0.1', '-p', String(port), '-U', user, '-d', 'wact', ...args],
          { env: { ...process.env, PGPASSWORD: password, PGSSLMODE: 'require', PGCONNECT_TIMEOUT: '5' }, timeout: 20_000 },
          (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        );
        if (input !== undefined) child.stdin!.end(input);
        if (onSpawn && child.pid) onSpawn(child.pid);
      });
    },
    async auditRows(sessionId, action) {
      // Statement records live in the connections' transcripts (migration 0700); shown here as the events they were,
      // a started statement's start and outcome parts as one (transcript-statements.ts).
      const read = async () => {
        const { rows } = await ops.region('eu').query(
          `SELECT * FROM (
             SELECT action, outcome, reason, metadata, occurred_at, seq, actor_id, session_id, NULL::uuid AS transcript_id
               FROM audit.events WHERE session_id = $1
             UNION ALL
             SELECT 'db.statement', r.outcome, t.reason, r.metadata, r.occurred_at, r.seq, t.actor_id, t.session_id, r.transcript_id
               FROM audit.transcript_records r JOIN audit.transcripts t USING (transcript_id) WHERE t.session_id = $1
           ) x ${action ? 'WHERE action = $2' : ''} ORDER BY occurred_at, seq`,
          action ? [sessionId, action] : [sessionId],
        );

        return statementsOf(
          rows.map(
            (r: { action: string; outcome: string; reason: string; metadata: string; seq: string; transcript_id: string | null }) => ({
              action: r.action,
              outcome: r.outcome,
              reason: r.reason,
              metadata: JSON.parse(r.metadata) as Record<string, unknown>,
              transcriptId: r.transcript_id,
              seq: Number(r.seq),
              event: r as unknown as Record<string, unknown>,
            }),
          ),
        );
      };
      // An outcome part follows its start part within a few ms (it rides with the next commit).
      let rows = await read();
      for (let i = 0; i < 60 && rows.some((r) => r.outcome === 'pending'); i++) {
        await new Promise((r) => setTimeout(r, 50));
        rows = await read();
      }
      return rows.map(({ action, outcome, reason, metadata, event }) => ({ action, outcome, reason, metadata, event }));
    },
    async close() {
      // Roles are cluster-wide and outlive the test databases: drop this harness's ones.
      await endSessionRolesOf(
        ops,
        [h.engineer, h.engineer2, h.support, h.security, h.security2].map((a) => a.userId),
      );
      unsubscribe();
      await gateway.close();
      invariant.assertHeld();
      await platform.close();
      await operator.close();
      await ops.end();
    },
  };
  return h;
}

/**
 * The relay's invariant, watched in every test that talks through
 * `h.client()`: each message a statement's execution produced (rows, notices,
 * notifications, parameter changes, errors, completions, COPY data) must
 * arrive only after that statement's record (or provisional record) is
 * durable. Records are noted when the audit resolves them; messages as the
 * client parses them. `close()` fails the test file on any violation.
 */
function relayInvariantWatch() {
  const PRODUCED = new Set([
    'dataRow',
    'commandComplete',
    'notice',
    'notification',
    'error',
    'parameterStatus',
    'copyData',
    'copyOutResponse',
    'copyInResponse',
    'emptyQuery',
    'portalSuspended',
  ]);
  const durable = new Map<string, number>(); // statement key → records made durable
  const started = new Map<string, number>(); // statement key → executions the client began
  const violations: string[] = [];
  const keyOf = (sql: string) => joinStatementFields(auditStatementFields(sql));
  const mark = (metadata: Record<string, unknown> | undefined) => {
    const key = joinStatementFields(metadata ?? {});
    durable.set(key, (durable.get(key) ?? 0) + 1);
  };
  return {
    // A start part replaced by its whole record is marked when the promise its append got resolves.
    watch: (base: AuditLog): AuditLog => aroundStatementRecords(base, { after: mark }),
    observe(c: pg.Client) {
      // pg sends one query at a time and the next after ReadyForQuery: a FIFO of texts follows it.
      const texts: string[] = [];
      const query = c.query.bind(c) as (...args: unknown[]) => unknown;
      (c as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
        const first = args[0] as string | { text?: string };
        texts.push(typeof first === 'string' ? first : (first?.text ?? ''));
        return query(...args);
      };
      let begun = false;
      const conn = (c as unknown as { connection: import('node:events').EventEmitter }).connection;
      conn.on('message', (msg: { name: string; severity?: string }) => {
        if (msg.name === 'readyForQuery') {
          if (begun) texts.shift();
          begun = false;
          return;
        }
        if (!texts.length || !PRODUCED.has(msg.name) || msg.severity === 'FATAL') return;
        const key = keyOf(texts[0]);
        if (!begun) {
          begun = true;
          started.set(key, (started.get(key) ?? 0) + 1);
        }
        if ((durable.get(key) ?? 0) < started.get(key)!) violations.push(`'${msg.name}' of ${key.slice(0, 80)} arrived before its record`);
      });
    },
    assertHeld() {
      if (violations.length) throw new Error(`relay invariant violated:\n${violations.slice(0, 10).join('\n')}`);
    },
  };
}

/**
 * Statement records that reach the database `delayMs` late (series appends and `db.statement*` events), so a
 * reply released before its record would arrive well before the record's durable time; `durable` maps a
 * statement's text to when its first record (start part, whole or provisional record) became durable.
 */
export function delayedStatementRecords(delayMs: number): { audit: (base: AuditLog) => AuditLog; durable: Map<string, number> } {
  const durable = new Map<string, number>();
  const note = (metadata: Record<string, unknown> | undefined) => {
    const text = joinStatementFields(metadata ?? {});
    if (text && !durable.has(text)) durable.set(text, performance.now()); // an outcome part has no text
  };
  const later = () => new Promise<void>((r) => setTimeout(r, delayMs));
  return { audit: (base) => aroundStatementRecords(base, { before: later, after: note }), durable };
}

/**
 * `base` with hooks around every statement record (`db.statement*` events and
 * statement series appends): `before` runs before it is written, `after` once
 * it is durable. Replacement and its `waiting` hint pass through unchanged (a
 * record still waiting for its delay is not in the writer's queue, so it is
 * neither waiting nor replaced).
 */
function aroundStatementRecords(
  base: AuditLog,
  hooks: { before?: () => Promise<void>; after: (metadata: Record<string, unknown> | undefined) => void },
): AuditLog {
  return {
    append: async (e) => {
      const statement = e.action.startsWith('db.statement');
      if (statement) await hooks.before?.();
      await base.append(e);
      if (statement) hooks.after(e.metadata);
    },
    series: (template) => {
      const series = base.series(template);
      const statement = template.action.startsWith('db.statement');
      return {
        append: async (e) => {
          if (statement) await hooks.before?.();
          await series.append(e);
          if (statement) hooks.after(e.metadata);
        },
        replace: series.replace && ((previous, e) => series.replace!(previous, e)),
        waiting: series.waiting && ((link) => series.waiting!(link)),
      };
    },
  };
}

/** An approved full-scope session with its connection info. */
export async function fullSession(h: Harness, reason = 'Investigating TICKET-123 attribution gap') {
  const req = await h.access.request(h.engineer, { workspaceId: h.wsA, reason, scope: 'full' });
  await h.access.approve(h.security, req.session.id);
  return h.access.issueToken(h.engineer, req.session.id);
}

export function redactedSession(h: Harness, actor = h.support, workspaceId = h.wsA) {
  return h.access
    .request(actor, { workspaceId, reason: 'Customer asks about ZD-4711 missing conversions', scope: 'redacted' })
    .then((r) => ({ session: r.session, connection: r.connection! }));
}

/** Resolves with the error the client sees when the server ends the connection. */
export function nextError(c: pg.Client): Promise<Error> {
  return new Promise((resolve) => {
    c.once('error', resolve);
    c.once('end', () => resolve(new Error('connection ended without an error')));
  });
}

/** Ends (terminates and drops) the session roles of the given requesters or workspaces. */
export async function endSessionRolesOf(
  ops: ReturnType<typeof operatorPools>,
  userIds: string[],
  workspaceIds: string[] = [],
): Promise<void> {
  const { rows } = await ops.control.query<{ region: 'eu' | 'us'; role_name: string }>(
    `SELECT region, role_name FROM wact.access_sessions WHERE role_name IS NOT NULL AND role_dropped_at IS NULL
        AND (requester_id = ANY($1::uuid[]) OR workspace_id = ANY($2::uuid[]))`,
    [userIds, workspaceIds],
  );
  for (const r of rows)
    await ops
      .region(r.region)
      .query('SELECT wact_private.end_session_role($1)', [r.role_name])
      .catch(() => undefined);
}
