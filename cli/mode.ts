import path from 'node:path';
import type { Command } from 'commander';
import { configSchema, REPO_ROOT, type WactEnv } from '../shared/config/config-schema.ts';
import { ConfigError } from '../shared/errors/errors.ts';

/**
 * How a `wact` command reaches data.
 *
 * - `broker`: through the broker API as the person signed in with `wact login`
 *   (SSO + TOTP): the broker's permission checks, reasons, step-ups and audit
 *   events apply and the audit actor is that person. The only mode for
 *   workspace data in production.
 * - `direct`: the operator's database credentials (DATABASE_URL_*, the embedded
 *   superuser). Development and tests only: a long-lived database credential
 *   in a person's shell is exactly what production must not have.
 */
export type CliMode = 'broker' | 'direct';

/**
 * What each command is allowed to be in production. A command missing from
 * this table is refused in production (fail closed: a new command must say
 * how it reaches data before it can run there).
 */
type ProductionRule =
  | { kind: 'broker' } // goes through the broker API with the CLI session
  | { kind: 'offline' } // touches no database and no broker session (e.g. verify a file)
  | { kind: 'pipeline' } // the deploy pipeline's own role (migrations, service credentials)
  | { kind: 'service' } // runs the services with their own credentials
  | { kind: 'refused'; reason: string };

const broker = { kind: 'broker' } as const;
const refused = (reason: string) => ({ kind: 'refused', reason }) as const;

export const PRODUCTION_RULES: Record<string, ProductionRule> = {
  start: { kind: 'service' },
  serve: { kind: 'service' },
  migrate: { kind: 'pipeline' },
  'db rotate-service-passwords': { kind: 'pipeline' },
  login: broker,
  logout: broker,
  whoami: broker,
  'db connect': broker,
  'db env': broker,
  'db sessions': broker,
  'db approve': broker,
  'db deny': broker,
  'db revoke': broker,
  'db end': broker,
  'db notifications': broker,
  'workspace create': broker,
  'workspace list': broker,
  'workspace wipe': broker,
  'workspace rotate-keys': broker,
  'workspace protect-keys': broker, // per workspace, as its owner (--all: refused in the command, no permission covers it)
  'workspace set-customer-key': broker,
  'workspace move': broker, // a job of the worker, followed through the broker
  'retention set': broker,
  'retention show': broker,
  'retention run': refused('the retention job runs in the worker (LIFECYCLE_RETENTION_CRON)'),
  'deletion request': broker,
  'deletion list': broker,
  seed: refused('synthetic seeding never runs in production'),
  'bsp set': broker,
  'link create': broker,
  'apikey create': broker,
  'platform set': broker,
  'audit export': broker,
  'audit digests': broker,
  'audit keys': broker,
  'audit verify': { kind: 'offline' },
  'audit signer': { kind: 'service' },
  'audit sign-heads': refused('the signing worker signs the audit heads (WACT_AUDIT_SIGN_INTERVAL_SECONDS)'),
  'audit retention': refused('audit retention runs in the worker'),
  'signup invite': broker,
  'signup list': broker,
  'signup revoke': broker,
};

/** The environment the CLI runs in, read without the service-start refusals of loadConfig (a terminal needs no database URL). */
export function cliEnvironment(env: NodeJS.ProcessEnv = process.env): WactEnv {
  const parsed = configSchema.shape.WACT_ENV.safeParse(env.WACT_ENV);
  if (!parsed.success) throw new ConfigError(`invalid configuration: WACT_ENV: ${parsed.error.issues[0].message}`);
  return parsed.data;
}

export function cliMode(env: NodeJS.ProcessEnv = process.env): CliMode {
  return cliEnvironment(env) === 'production' ? 'broker' : 'direct';
}

/** What the CLI needs to reach the broker: no database settings, so production terminals need none. */
export interface CliSettings {
  env: WactEnv;
  home: string;
  caFile?: string;
  brokerUrl: string;
  /** How often a followed job's status is asked for. */
  jobPollMs: number;
}

export function cliSettings(env: NodeJS.ProcessEnv = process.env): CliSettings {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`invalid configuration: ${issue.path.join('.')}: ${issue.message}`);
  }
  const v = parsed.data;
  return {
    env: v.WACT_ENV,
    home: path.resolve(v.WACT_HOME ?? path.join(REPO_ROOT, '.wact')),
    caFile: v.TLS_CA_FILE,
    brokerUrl: (v.BROKER_PUBLIC_URL ?? `https://${v.WACT_PUBLIC_HOST}:${v.BROKER_PORT}`).replace(/\/+$/, ''),
    jobPollMs: v.WACT_JOB_POLL_MS,
  };
}

/** `workspace wipe` for the wipe subcommand of `workspace`. */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

let current = '';
/** The command being run (set by the gate), for refusal messages. */
export function currentCommand(): string {
  return current;
}

/**
 * Runs before every command's action: in production, a command runs only as
 * its rule allows. Direct database mode is refused here and again in
 * withOperator (cli/operator.ts), so a command that forgets the broker path
 * still cannot reach a database.
 */
export function productionGate(cmd: Command, env: NodeJS.ProcessEnv = process.env): void {
  current = commandPath(cmd);
  if (cliEnvironment(env) !== 'production') return;
  const rule = PRODUCTION_RULES[current];
  if (!rule)
    throw new ConfigError(`refused in production: wact ${current} has no production mode (direct database access is development only)`);
  if (rule.kind === 'refused') throw new ConfigError(`refused in production: ${rule.reason}`);
}

/** The refusal of direct database mode, in one line. */
export function directModeRefusal(command = current): ConfigError {
  return new ConfigError(
    `refused in production: wact ${command || '<command>'} may not use database credentials; it acts through the broker as the person signed in with wact login (direct database mode is for development)`,
  );
}
