import type { Command } from 'commander';
import { printResult } from '../output.ts';
import { brokerRequest } from './identity.ts';
import type { AccessSessionView, ConnectionInfo } from '../../broker/access/access-types.ts';

/**
 * User commands for database sessions. They act through the broker API with
 * the CLI session of `wact login` (SSO + TOTP), never with database
 * credentials: the gateway token printed here is the only secret, and it
 * expires with the session.
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

export function registerDbCommands(program: Command, call: BrokerCall = (m, p, b) => brokerRequest(m, p, b)): void {
  const db = program.command('db').description('time-boxed, audited database sessions through the gateway (needs wact login)');

  db.command('connect')
    .description('request a session and print a psql connection string for the gateway')
    .option('--workspace <id>', 'workspace id')
    .option('--reason <text>', 'why you need access (at least 10 characters; a ticket reference is picked up)')
    .option('--ttl <duration>', 'lifetime, e.g. 5m (default 5m, at most 15m)')
    .option('--scope <scope>', 'redacted (masked views, granted at once) or full (needs approval by security)', 'redacted')
    .option('--session <id>', 'fetch the connection for an already approved request')
    .option('--no-wait', 'do not wait for approval of a full-scope request')
    .option('--json', 'print JSON')
    .action(
      async (opts: {
        workspace?: string;
        reason?: string;
        ttl?: string;
        scope?: string;
        session?: string;
        wait: boolean;
        json?: boolean;
      }) => {
        const result = await connect(
          call,
          { workspaceId: opts.workspace, reason: opts.reason, ttl: opts.ttl, scope: opts.scope, sessionId: opts.session, wait: opts.wait },
          (line) => process.stderr.write(line + '\n'),
        );
        printResult(!!opts.json, result, () =>
          result.connection
            ? [
                `session ${result.session.id} (${result.session.scope}, workspace ${result.session.workspaceId}) active until ${result.session.expiresAt}`,
                'every statement is audited with your reason; the password below is a session token that expires with the session',
                result.connection.psql,
              ].join('\n')
            : `request ${result.session.id} is ${result.session.status}: run wact db connect --session ${result.session.id} once security approved it`,
        );
      },
    );

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
