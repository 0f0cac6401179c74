import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import type { Command } from 'commander';
import { Agent, fetch } from 'undici';
import { devCertificatePaths } from '../../shared/http/tls.ts';
import { createSignupService } from '../../shared/signup/signup-service.ts';
import { signupInviteInput, type SignupInvitation } from '../../shared/signup/signup-types.ts';
import { operatorActor, withOperator } from '../operator.ts';
import { cliMode, cliSettings, type CliSettings } from '../mode.ts';
import { printResult } from '../output.ts';

/**
 * User commands act through the broker with the user's own SSO session:
 * `wact login` runs the device-code flow (approve in the browser where you
 * signed in with SSO + TOTP) and keeps the bearer token with mode 0600.
 */
export interface CliToken {
  broker: string;
  token: string;
  sessionId: string;
  expiresAt: string;
  user: { id: string; displayName: string; kind: string; employeeRole?: string };
}

export function cliTokenPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.WACT_HOME) return path.join(path.resolve(env.WACT_HOME), 'cli-token.json');
  const base = env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return path.join(base, 'wact', 'token.json');
}

export function saveCliToken(token: CliToken, file = cliTokenPath()): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(token, null, 2) + '\n', { mode: 0o600 });
  fs.chmodSync(tmp, 0o600);
  fs.renameSync(tmp, file);
}

export function readCliToken(file = cliTokenPath()): CliToken | undefined {
  try {
    const st = fs.statSync(file);
    if ((st.mode & 0o077) !== 0) throw new Error(`${file} is readable by others: run wact login again`);
    const token = JSON.parse(fs.readFileSync(file, 'utf8')) as CliToken;
    return Date.parse(token.expiresAt) > Date.now() ? token : undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export function brokerUrl(config: Pick<CliSettings, 'brokerUrl'>): string {
  return config.brokerUrl;
}

/** HTTPS to the broker, trusting TLS_CA_FILE or (outside production) the development CA in addition to the system store. */
export function brokerAgent(config: Pick<CliSettings, 'env' | 'home' | 'caFile'>): Agent {
  const caFile = config.caFile ?? (config.env !== 'production' ? devCertificatePaths(config.home).caFile : undefined);
  const ca = caFile && fs.existsSync(caFile) ? fs.readFileSync(caFile, 'utf8') : undefined;
  return new Agent({ connect: ca ? { ca: [...tls.rootCertificates, ca] } : {} });
}

/** One line from a broker error reply: its message and code (e.g. "your role does not allow this (forbidden)"). */
async function brokerError(res: { status: number; json(): Promise<unknown> }): Promise<Error> {
  const json = (await res.json().catch(() => ({}))) as { error?: { code: string; message: string } };
  return new Error(`${json.error?.message ?? `broker answered ${res.status}`}${json.error?.code ? ` (${json.error.code})` : ''}`);
}

/**
 * A request to the broker with the stored CLI session (bearer token; the
 * broker runs its policy, reasons, step-ups and audit as for the console).
 * Reads no database setting: a production terminal has none.
 */
export async function brokerFetch(
  method: string,
  apiPath: string,
  body?: unknown,
  opts: { reason?: string; accept?: string } = {},
): Promise<{ response: Response; close(): Promise<void> }> {
  const settings = cliSettings();
  // The reason travels in the X-Wact-Reason header, which HTTP limits to plain text.
  if (opts.reason !== undefined && !/^[\x20-\x7e]{1,500}$/.test(opts.reason))
    throw new Error('--reason must be 1–500 printable ASCII characters (it is sent as the X-Wact-Reason header)');
  const token = readCliToken();
  if (!token) throw new Error('not signed in: run wact login');
  const agent = brokerAgent(settings);
  try {
    const response = await fetch(`${token.broker}${apiPath}`, {
      method,
      dispatcher: agent,
      headers: {
        authorization: `Bearer ${token.token}`,
        accept: opts.accept ?? 'application/json',
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(opts.reason ? { 'x-wact-reason': opts.reason } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) {
      const err = await brokerError(response);
      await agent.close();
      throw err;
    }
    return { response: response as unknown as Response, close: () => agent.close() };
  } catch (err) {
    await agent.close().catch(() => undefined);
    throw err;
  }
}

/** A JSON request to the broker with the stored CLI session (for `db connect`, `db sessions`, every production command). */
export async function brokerRequest<T = unknown>(
  method: string,
  apiPath: string,
  body?: unknown,
  opts: { reason?: string } = {},
): Promise<T> {
  const { response, close } = await brokerFetch(method, apiPath, body, opts);
  try {
    if (response.status === 204) return undefined as T;
    return (await response.json().catch(() => ({}))) as T;
  } finally {
    await close();
  }
}

/** The broker's device-flow replies (fields present depend on the step). */
interface DeviceReply {
  error?: { code?: string; message?: string };
  verificationUriComplete?: string;
  userCode?: string;
  deviceCode?: string;
  expiresIn: number;
  interval?: number;
  token: string;
  sessionId: string;
  expiresInSeconds: number;
  user: CliToken['user'];
}

async function deviceLogin(config: CliSettings, broker: string, log: (line: string) => void, timeoutMs = 10 * 60_000): Promise<CliToken> {
  const agent = brokerAgent(config);
  try {
    const post = async (p: string, body: unknown) => {
      const res = await fetch(`${broker}${p}`, {
        method: 'POST',
        dispatcher: agent,
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: res.status, json: (await res.json().catch(() => ({}))) as DeviceReply };
    };
    const start = await post('/auth/cli/device', {});
    if (start.status !== 200) throw new Error(start.json.error?.message ?? `broker answered ${start.status}`);
    log(`Open ${start.json.verificationUriComplete}`);
    log(`and confirm the code ${start.json.userCode} (sign in with SSO and TOTP if asked).`);
    const deadline = Date.now() + Math.min(timeoutMs, start.json.expiresIn * 1000);
    const interval = Math.max(1, Number(start.json.interval) || 2) * 1000;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, interval));
      const res = await post('/auth/cli/token', { deviceCode: start.json.deviceCode });
      if (res.status === 200) {
        return {
          broker,
          token: res.json.token,
          sessionId: res.json.sessionId,
          expiresAt: new Date(Date.now() + res.json.expiresInSeconds * 1000).toISOString(),
          user: res.json.user,
        };
      }
      if (res.json.error?.code !== 'authorization_pending') throw new Error(res.json.error?.message ?? `broker answered ${res.status}`);
    }
    throw new Error('timed out waiting for approval: run wact login again');
  } finally {
    await agent.close();
  }
}

export function registerIdentityCommands(program: Command): void {
  program
    .command('login')
    .description('sign the CLI in through the broker (SSO + TOTP in your browser, device code)')
    .option('--broker <url>', 'broker URL (default BROKER_PUBLIC_URL or https://<WACT_PUBLIC_HOST>:<BROKER_PORT>)')
    .option('--json', 'print JSON')
    .action(async (opts: { broker?: string; json?: boolean }) => {
      const config = cliSettings();
      const broker = (opts.broker ?? brokerUrl(config)).replace(/\/+$/, '');
      const token = await deviceLogin(config, broker, (line) => process.stderr.write(line + '\n'));
      saveCliToken(token);
      printResult(
        !!opts.json,
        { broker, user: token.user, expiresAt: token.expiresAt, tokenFile: cliTokenPath() },
        () => `signed in as ${token.user.displayName} until ${token.expiresAt} (token in ${cliTokenPath()}, mode 0600)`,
      );
    });

  program
    .command('logout')
    .description('end the CLI session at the broker and forget its token')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const token = readCliToken();
      if (token) await brokerRequest('POST', '/auth/logout').catch(() => undefined);
      fs.rmSync(cliTokenPath(), { force: true });
      printResult(!!opts.json, { signedOut: true }, () => 'signed out');
    });

  program
    .command('whoami')
    .description('show the signed-in CLI user')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const me = await brokerRequest<{ displayName: string; kind: string; employeeRole?: string }>('GET', '/api/me');
      printResult(!!opts.json, me, () => `${me.displayName} (${me.employeeRole ?? me.kind})`);
    });

  registerSignupCommands(program);
}

const describeInvitation = (i: SignupInvitation) => `${i.id}  ${i.status.padEnd(8)}  expires ${i.expiresAt}  ${i.email}`;

/**
 * Operator: who may sign up as a new owner. An invited address signs in through
 * SSO (verified email), gets an account without a workspace, and the console's
 * setup wizard creates its first workspace.
 */
function registerSignupCommands(program: Command): void {
  const signup = program.command('signup').description('owner sign-up invitations (operator)');

  signup
    .command('invite')
    .description('let an email address sign up as a new owner (accepted once, at its first sign-in with that verified email)')
    .requiredOption('--email <email>', 'the new owner’s email address (as their identity provider verifies it)')
    .option('--days <n>', 'days until the invitation expires (1–90)', '14')
    .option('--reason <text>', 'why (production: recorded in the audit log)')
    .option('--json', 'print JSON')
    .action(async (opts: { email: string; days: string; reason?: string; json?: boolean }) => {
      const input = signupInviteInput.parse({ email: opts.email, days: opts.days }); // before touching a database
      const created =
        cliMode() === 'broker'
          ? await brokerRequest<SignupInvitation>(
              'POST',
              '/api/signup-invitations',
              { ...input, reason: opts.reason },
              { reason: opts.reason },
            )
          : await withOperator((p) => createSignupService({ pool: p.pools.control, audit: p.audit }).invite(input, operatorActor()));
      const config = cliSettings();
      printResult(
        !!opts.json,
        created,
        () =>
          `invited ${created.email} to sign up (invitation ${created.id}, expires ${created.expiresAt}); they sign in at ${brokerUrl(config)} and the setup wizard creates their workspace`,
      );
    });

  signup
    .command('list')
    .description('list open sign-up invitations (--all: also accepted, revoked and expired ones)')
    .option('--all', 'include accepted, revoked and expired invitations')
    .option('--reason <text>', 'why (production: recorded in the audit log)')
    .option('--json', 'print JSON')
    .action(async (opts: { all?: boolean; reason?: string; json?: boolean }) => {
      const list =
        cliMode() === 'broker'
          ? await brokerRequest<SignupInvitation[]>('GET', `/api/signup-invitations?all=${opts.all ? 'true' : 'false'}`, undefined, {
              reason: opts.reason,
            })
          : await withOperator((p) => createSignupService({ pool: p.pools.control, audit: p.audit }).list({ all: !!opts.all }));
      printResult(!!opts.json, list, () => list.map(describeInvitation).join('\n') || '(no sign-up invitations)');
    });

  signup
    .command('revoke')
    .description('revoke an open sign-up invitation')
    .requiredOption('--id <id>', 'invitation id (from wact signup list)')
    .option('--reason <text>', 'why (production: recorded in the audit log)')
    .option('--json', 'print JSON')
    .action(async (opts: { id: string; reason?: string; json?: boolean }) => {
      const revoked =
        cliMode() === 'broker'
          ? await brokerRequest<SignupInvitation>('DELETE', `/api/signup-invitations/${encodeURIComponent(opts.id)}`, undefined, {
              reason: opts.reason,
            })
          : await withOperator((p) => createSignupService({ pool: p.pools.control, audit: p.audit }).revoke(opts.id, operatorActor()));
      printResult(!!opts.json, revoked, () => `revoked sign-up invitation ${revoked.id}`);
    });
}
