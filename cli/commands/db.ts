import type { Command } from 'commander';
import path from 'node:path';
import { printResult } from '../output.ts';
import { exportLines, launchPsql, persistentCaFile } from './db-connect.ts';
import { brokerRequest, cliTokenPath } from './identity.ts';
import type { AccessSessionView, ConnectionInfo } from '../../shared/access/access-types.ts';

/**
 * User commands for database sessions. They act through the broker API with
 * the CLI session of `wact login` (SSO + TOTP), never with database
 * credentials: the gateway token is the only secret, it expires with the
 * session, and it never appears in a URL or on a command line (db-connect.ts).
 */

export type BrokerCall = <T>(method: string, apiPath: string, body?: unknown) => Promise<T>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Requests a session; for full scope waits for security's decision, then fetches the token. */
export async function connect(
  call: BrokerCall,
  input: {
    workspaceId?: string;
    reason?: string;
    ttl?: string;
    scope?: string;
    sessionId?: string;
    wait: boolean;
    pollMs?: number;
    timeoutMs?: number;
  },
  log: (line: string) => void,
): Promise<{ session: AccessSessionView; connection?: ConnectionInfo }> {
  let session: AccessSessionView;
  if (input.sessionId) {
    session = await call<AccessSessionView>('GET', `/api/db/sessions/${encodeURIComponent(input.sessionId)}`);
  } else {
    if (!input.workspaceId || !input.reason)
      throw new Error('--workspace and --reason are required (or --session for an approved request)');
    const created = await call<{ session: AccessSessionView; connection?: ConnectionInfo }>('POST', '/api/db/requests', {
      workspaceId: input.workspaceId,
      reason: input.reason,
      ttl: input.ttl,
      scope: input.scope,
    });
    if (created.connection) return created;
    session = created.session;
  }
  if (session.status === 'pending') {
    if (!input.wait) return { session };
    log(
      `request ${session.id} waits for approval by a security employee (four eyes); waiting… (Ctrl-C to stop; later: wact db connect --session ${session.id})`,
    );
    const deadline = Date.now() + (input.timeoutMs ?? 15 * 60_000);
    while (session.status === 'pending') {
      if (Date.now() > deadline) throw new Error(`still pending: run wact db connect --session ${session.id} once it is approved`);
      await sleep(input.pollMs ?? 2000);
      session = await call<AccessSessionView>('GET', `/api/db/sessions/${session.id}`);
    }
  }
  if (session.status === 'denied')
    throw new Error(`request denied by ${session.decidedByName ?? 'security'}${session.decisionNote ? `: ${session.decisionNote}` : ''}`);
  if (session.status !== 'active') throw new Error(`the session is ${session.status}`);
  return call<{ session: AccessSessionView; connection: ConnectionInfo }>('POST', `/api/db/sessions/${session.id}/token`);
}

function describeSession(s: AccessSessionView): string {
  const until = s.expiresAt ? ` until ${s.expiresAt}` : '';
  return `${s.id}  ${s.status.padEnd(8)} ${s.scope.padEnd(8)} ws ${s.workspaceId}  ${s.requesterName}${until}  ${s.statements} stmts  "${s.reason}"`;
}

/** What the db commands need from the machine (tests pass their own). */
export interface DbCommandDeps {
  env?: NodeJS.ProcessEnv;
  /** Where the gateway CA is kept for --print and `db env` (default: next to the CLI session). */
  stateDir?: string;
  out?: (text: string) => void;
  err?: (line: string) => void;
}

interface SessionOptions {
  workspace?: string;
  reason?: string;
  ttl?: string;
  scope?: string;
  session?: string;
  wait: boolean;
}

function sessionOptions(cmd: Command): Command {
  return cmd
    .option('--workspace <id>', 'workspace id')
    .option('--reason <text>', 'why you need access (at least 10 characters; a ticket reference is picked up)')
    .option('--ttl <duration>', 'lifetime, e.g. 5m (default 5m, at most 15m)')
    .option('--scope <scope>', 'redacted (masked views, granted at once) or full (needs approval by security)', 'redacted')
    .option('--session <id>', 'a new token for an already approved (or active) session of yours')
    .option('--no-wait', 'do not wait for approval of a full-scope request');
}

function headline(s: AccessSessionView): string {
  return `session ${s.id} (${s.scope}, workspace ${s.workspaceId}) active until ${s.expiresAt}; every statement is audited with your reason`;
}

function notYet(s: AccessSessionView): string {
  return `request ${s.id} is ${s.status}: run wact db connect --session ${s.id} once security approved it`;
}

/** The details --print shows: everything but the token, which never appears in a URL or a command. */
function describeConnection(c: ConnectionInfo, sslrootcert: string, sessionId: string): string {
  const rows: [string, string][] = [
    ['host', c.host],
    ['port', String(c.port)],
    ['database', c.database],
    ['user', c.user],
    ['sslmode', 'verify-full'],
    ['sslrootcert', sslrootcert + (c.caFingerprint ? `  (CA SHA-256 ${c.caFingerprint})` : '  (system CA store)')],
    [
      'password',
      `the session token, not shown here: eval "$(wact db env --session ${sessionId})" or wact db connect --session ${sessionId}`,
    ],
  ];
  return rows.map(([k, v]) => `${k.padEnd(12)}${v}`).join('\n');
}

export function registerDbCommands(
  program: Command,
  call: BrokerCall = (m, p, b) => brokerRequest(m, p, b),
  deps: DbCommandDeps = {},
): void {
  const out = deps.out ?? ((text: string) => process.stdout.write(text + '\n'));
  const err = deps.err ?? ((line: string) => process.stderr.write(line + '\n'));
  const stateDir = () => deps.stateDir ?? path.dirname(cliTokenPath(deps.env ?? process.env));
  const db = program.command('db').description('time-boxed, audited database sessions through the gateway (needs wact login)');

  const obtain = (opts: SessionOptions) =>
    connect(
      call,
      { workspaceId: opts.workspace, reason: opts.reason, ttl: opts.ttl, scope: opts.scope, sessionId: opts.session, wait: opts.wait },
      err,
    );

  sessionOptions(db.command('connect'))
    .description('request a session and open psql on the gateway (token via a 0600 passfile, certificate verified)')
    .option('--print', 'print the connection details instead of starting psql (without the token)')
    .option('--json', 'print the connection details as JSON instead of starting psql (with the token, labelled)')
    .action(async (opts: SessionOptions & { print?: boolean; json?: boolean }) => {
      const result = await obtain(opts);
      const c = result.connection;
      if (!c) {
        if (opts.json) out(JSON.stringify({ session: result.session }, null, 2));
        else out(notYet(result.session));
        return;
      }
      if (opts.json) {
        const sslrootcert = persistentCaFile(c, stateDir());
        out(
          JSON.stringify(
            {
              session: result.session,
              connection: {
                host: c.host,
                port: c.port,
                database: c.database,
                user: c.user,
                sslmode: 'verify-full',
                sslrootcert,
                caFingerprint: c.caFingerprint,
                caCertificate: c.sslrootcert,
              },
              // Kept apart from the connection fields on purpose: a secret, the libpq password.
              sessionToken: c.password,
              sessionTokenUse: 'password of this session user (PGPASSWORD or a 0600 passfile); secret; expires with the session',
            },
            null,
            2,
          ),
        );
        return;
      }
      if (opts.print) {
        const sslrootcert = persistentCaFile(c, stateDir());
        out([headline(result.session), describeConnection(c, sslrootcert, result.session.id)].join('\n'));
        return;
      }
      err(headline(result.session));
      process.exitCode = await launchPsql(c, { env: deps.env });
    });

  sessionOptions(db.command('env'))
    .description('request a session and print export PG…= lines for eval "$(wact db env …)" (they hold the token)')
    .action(async (opts: SessionOptions) => {
      const result = await obtain(opts);
      if (!result.connection) throw new Error(notYet(result.session));
      err(`# ${headline(result.session)}`);
      out(exportLines(result.connection, persistentCaFile(result.connection, stateDir())));
    });

  db.command('sessions')
    .description('active and recent sessions (yours; security sees everyone’s)')
    .option('--status <status>', 'pending, active, denied, expired, revoked or ended')
    .option('--mine', 'only your own (security)')
    .option('--limit <n>', 'how many', '50')
    .option('--json', 'print JSON')
    .action(async (opts: { status?: string; mine?: boolean; limit: string; json?: boolean }) => {
      const filter: Record<string, unknown> = {};
      if (opts.status) filter.status = opts.status;
      if (opts.mine) filter.mine = true;
      const n = Math.max(1, Math.min(200, Number(opts.limit) || 50));
      const qs = `?range=${encodeURIComponent(JSON.stringify([0, n - 1]))}&filter=${encodeURIComponent(JSON.stringify(filter))}`;
      const rows = await call<AccessSessionView[]>('GET', `/api/db/sessions${qs}`);
      printResult(!!opts.json, rows, () => rows.map(describeSession).join('\n') || '(no sessions)');
    });

  for (const [name, description] of [
    ['approve', 'approve a full-scope request (security; not your own)'],
    ['deny', 'deny a full-scope request (security)'],
    ['revoke', 'end a session now; its live connections close within seconds (security)'],
    ['end', 'end your own session early'],
  ] as const) {
    db.command(`${name} <sessionId>`)
      .description(description)
      .option('--note <text>', 'a note for the requester (approve/deny)')
      .option('--json', 'print JSON')
      .action(async (sessionId: string, opts: { note?: string; json?: boolean }) => {
        const s = await call<AccessSessionView>(
          'POST',
          `/api/db/sessions/${encodeURIComponent(sessionId)}/${name}`,
          opts.note ? { note: opts.note } : {},
        );
        printResult(!!opts.json, s, () => describeSession(s));
      });
  }

  db.command('notifications')
    .description('decisions on your requests')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const list = await call<{ id: number; kind: string; message: string; createdAt: string; read: boolean }[]>(
        'GET',
        '/api/db/notifications',
      );
      printResult(
        !!opts.json,
        list,
        () => list.map((n) => `${n.createdAt}  ${n.read ? ' ' : '*'} ${n.kind.padEnd(9)} ${n.message}`).join('\n') || '(none)',
      );
    });
}
