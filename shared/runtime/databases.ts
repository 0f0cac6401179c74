import path from 'node:path';
import pg from 'pg';
import { parse as parseConnectionString } from 'pg-connection-string';
import type { Config, DatabaseTarget } from '../config/config.ts';
import { startEmbeddedServer, type EmbeddedServer } from '../db/embedded-server.ts';
import {
  carriesLogin,
  clientConfigFor,
  databaseNames,
  DATABASE_TARGETS,
  type DatabaseUrls,
  type DbCredential,
} from '../db/database-urls.ts';
import { ensureHome, readOrCreateSecret } from '../db/state-files.ts';
import { assertIdentity } from '../db/database-identity.ts';
import { ConfigError } from '../errors/errors.ts';
import type { WactEnv } from '../config/config.ts';

/**
 * The services' own database roles. wact_signer is the audit signing worker's: the only role
 * that may publish signing keys and write signed heads and digests (issue 13.2).
 */
export const SERVICE_ROLES = ['ingest', 'broker', 'signer'] as const;
export type ServiceRole = (typeof SERVICE_ROLES)[number];
export type ServicePasswords = Record<ServiceRole, string>;

export interface Databases {
  urls: DatabaseUrls; // operator URLs
  server?: EmbeddedServer; // set when the embedded server is in use
  /**
   * Each role's password, resolved on first read of that role (resolveServicePassword): a
   * process reads only its own, and production never generates one.
   */
  readonly servicePasswords: ServicePasswords;
  /** How `role` logs in to `target`: its password, or an RDS IAM token signer (WACT_SERVICE_DB_AUTH). */
  credential(role: ServiceRole, target: DatabaseTarget): DbCredential;
  close(): Promise<void>;
}

/** Creates a database if it does not exist (concurrent callers tolerated). */
export async function ensureDatabase(serverUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) {
      await client
        .query(`CREATE DATABASE ${client.escapeIdentifier(name)} ENCODING 'UTF8' TEMPLATE template0`)
        .catch((err: { code?: string }) => {
          if (err.code !== '42P04' && err.code !== '23505') throw err; // already exists
        });
    }
  } finally {
    await client.end();
  }
}

/**
 * Sets the service roles' passwords (ALTER ROLE). Only two callers: the
 * explicit `wact db rotate-service-passwords`, and development's `wact start`
 * / `wact migrate` for its own state folder. Operator commands never do: a
 * state folder in some shell would lock the running services out.
 */
export async function setServicePasswords(operatorUrl: string, passwords: ServicePasswords): Promise<void> {
  const client = new pg.Client({ connectionString: operatorUrl });
  await client.connect();
  try {
    for (const role of SERVICE_ROLES) {
      await client.query(`ALTER ROLE wact_${role} WITH LOGIN PASSWORD ${client.escapeLiteral(passwords[role])}`);
    }
  } finally {
    await client.end();
  }
}

/**
 * One service role's database password. Production: only from the environment
 * (WACT_DB_PASSWORD_<ROLE>, put there by the deployment's secret store), never
 * generated: a generated password exists nowhere the services could read it.
 * Elsewhere: the environment, else generated into the state folder (0600).
 */
export function resolveServicePassword(config: Config, role: ServiceRole): string {
  const given = config.serviceDbPasswords[role];
  if (config.env === 'production') {
    if (config.raw.WACT_SERVICE_DB_AUTH === 'rds-iam')
      throw new ConfigError('the services authenticate with RDS IAM tokens (WACT_SERVICE_DB_AUTH=rds-iam): there are no service passwords');
    if (!given)
      throw new ConfigError(
        `refusing: production takes wact_${role}'s database password from WACT_DB_PASSWORD_${role.toUpperCase()} (or WACT_SERVICE_DB_AUTH=rds-iam), never a generated one`,
      );
    return given;
  }
  return given ?? readOrCreateSecret(path.join(config.home, `db-password-${role}`));
}

/** Every service role's password (development start, tests, rotation). */
export function resolveServicePasswords(config: Config): ServicePasswords {
  return Object.fromEntries(SERVICE_ROLES.map((r) => [r, resolveServicePassword(config, r)])) as ServicePasswords;
}

export type RdsTokenSigner = (opts: { hostname: string; port: number; username: string; region: string }) => Promise<string>;

const defaultRdsSigner: RdsTokenSigner = async (opts) => {
  const { Signer } = await import('@aws-sdk/rds-signer');
  return new Signer(opts).getAuthToken();
};

/**
 * How a service role logs in to one database: its password, or (RDS IAM) a
 * function that signs a fresh 15-minute token for each new connection (pg
 * accepts a password function). Nothing is generated in production.
 */
export function serviceCredential(
  config: Config,
  target: DatabaseTarget,
  url: string,
  role: ServiceRole,
  opts: { signer?: RdsTokenSigner } = {},
): DbCredential {
  if (config.raw.WACT_SERVICE_DB_AUTH === 'rds-iam') {
    // The token is signed for the host and port pg will connect to, read from the URL as pg reads it.
    const { host, port } = parseConnectionString(url);
    const region = target === 'us' ? config.raw.WACT_RDS_AWS_REGION_US : config.raw.WACT_RDS_AWS_REGION_EU;
    const sign = opts.signer ?? defaultRdsSigner;
    return () => sign({ hostname: host ?? '', port: Number(port || 5432), username: `wact_${role}`, region });
  }
  return resolveServicePassword(config, role);
}

/**
 * The migrator, handed in by the process that migrates or checks
 * (db/migrator.ts's databaseMigrator, passed by `wact migrate`, development
 * start and operator commands): shared/ never imports db/.
 */
export interface DatabaseMigrator {
  migrate(url: string, target: DatabaseTarget, opts: { env: WactEnv; log?: (line: string) => void }): Promise<unknown>;
  /** Names of this checkout's migrations the database has not applied (read with `connection`'s login). */
  pending(connection: StartupConnection, target: DatabaseTarget): Promise<string[]>;
}

/** How a start-up check logs in: the operator URL as given, or a client configuration (a service role's login). */
export type StartupConnection = string | pg.ClientConfig;

/**
 * Resolves the databases this process uses: the configured URLs, or the
 * embedded server (started for the caller's lifetime if it is not running).
 *
 * - `migrate`: bring every database up to date first with this migrator (only
 *   `wact migrate` and development's `wact start` ask; operator commands never do).
 * - `setServicePasswords`: also ALTER the service roles' passwords to this
 *   process's values. Never in production (WACT_DB_PASSWORD_* are set by the
 *   secret store and rotated with `wact db rotate-service-passwords`); outside
 *   production it defaults to `migrate` for development's single state folder.
 * - `requireCurrent`: refuse, in one line, databases with migrations this
 *   migrator has pending, instead of migrating them.
 * - `checkAs`: run the start-up checks (identity, pending migrations) logged in
 *   as this service role, not with the URLs' login: a service never needs the
 *   operator's credential (production gives it URLs without one, see
 *   refuseOwnerLogin).
 *
 * The service passwords are resolved when first read, so a process that does
 * not log in as a service (migrate, operator commands) needs none and
 * generates none.
 */
export async function openDatabases(
  config: Config,
  opts: {
    migrate?: DatabaseMigrator | false;
    setServicePasswords?: boolean;
    requireCurrent?: DatabaseMigrator | false;
    checkAs?: ServiceRole;
    log?: (l: string) => void;
  } = {},
): Promise<Databases> {
  let urls: DatabaseUrls;
  let server: EmbeddedServer | undefined;
  if (config.database.kind === 'embedded') {
    ensureHome(config.home);
    server = await startEmbeddedServer({ home: config.home, port: config.database.port });
    const names = databaseNames();
    for (const target of DATABASE_TARGETS) await ensureDatabase(server.urlFor('postgres'), names[target]);
    urls = { control: server.urlFor(names.control), eu: server.urlFor(names.eu), us: server.urlFor(names.us) };
  } else {
    urls = config.database.urls;
  }
  if (opts.migrate) {
    for (const target of DATABASE_TARGETS) await opts.migrate.migrate(urls[target], target, { env: config.env, log: opts.log });
  }
  const setPasswords = opts.setServicePasswords ?? (!!opts.migrate && config.env !== 'production');
  if (setPasswords && config.env === 'production')
    throw new ConfigError('refusing: production never resets the services’ passwords implicitly (wact db rotate-service-passwords --yes)');
  if (setPasswords) await setServicePasswords(urls.control, resolveServicePasswords(config));
  // Every process checks, not only the migrator: a staging service pointed at a
  // production URL (or the reverse) must refuse before it reads or writes a row.
  const checkAs = opts.checkAs;
  const login = checkAs
    ? (target: DatabaseTarget) => clientConfigFor(urls[target], `wact_${checkAs}`, serviceCredential(config, target, urls[target], checkAs))
    : undefined;
  await verifyDatabaseIdentities(urls, config.env, login);
  if (opts.requireCurrent) await assertMigrationsApplied(urls, opts.requireCurrent, login);
  return {
    urls,
    server,
    servicePasswords: lazyServicePasswords(config),
    credential: (role, target) => serviceCredential(config, target, urls[target], role),
    close: async () => {
      if (server?.owned) await server.stop();
    },
  };
}

/** Each role's password resolved on its first read, so a process never needs (or generates) another's. */
function lazyServicePasswords(config: Config): ServicePasswords {
  const cache = new Map<ServiceRole, string>();
  const get = (r: ServiceRole) => cache.get(r) ?? cache.set(r, resolveServicePassword(config, r)).get(r)!;
  return Object.defineProperties(
    {} as ServicePasswords,
    Object.fromEntries(SERVICE_ROLES.map((r) => [r, { get: () => get(r), enumerable: true }])),
  );
}

/**
 * Refuses, in production, a service given a database login it must not hold: any of
 * DATABASE_URL_* carrying a user or password (the operator's), or PGUSER / PGPASSWORD in its
 * environment. Services log in as their own roles (WACT_DB_PASSWORD_* or RDS IAM); only the worker
 * that erases wiped workspaces' audit history (`lifecycle`) is given the owner's login. The message
 * names the variable, never its value.
 */
export function refuseOwnerLogin(config: Pick<Config, 'env' | 'database'>, who: string, env: NodeJS.ProcessEnv = process.env): void {
  if (config.env !== 'production') return;
  const urls = config.database.kind === 'external' ? config.database.urls : undefined;
  for (const target of DATABASE_TARGETS) {
    if (urls && carriesLogin(urls[target]))
      throw new ConfigError(
        `refusing to start ${who}: DATABASE_URL_${target.toUpperCase()} carries a database login; ${who} logs in as its own role, so give it the URL without user and password (only the lifecycle worker holds the owner's login)`,
      );
  }
  for (const name of ['PGUSER', 'PGPASSWORD'] as const) {
    if (env[name]) throw new ConfigError(`refusing to start ${who}: ${name} is set; services log in as their own roles only`);
  }
}

/** Refuses databases that lack a migration this checkout has: run `wact migrate` first (never done implicitly). */
export async function assertMigrationsApplied(
  urls: DatabaseUrls,
  migrator: Pick<DatabaseMigrator, 'pending'>,
  login?: (target: DatabaseTarget) => pg.ClientConfig,
): Promise<void> {
  for (const target of DATABASE_TARGETS) {
    const as = login?.(target);
    const pending = await migrator.pending(as ?? urls[target], target).catch((err: unknown) => {
      throw unreadableBookkeeping(err, target, as?.user);
    });
    if (pending.length)
      throw new ConfigError(
        `${pending.length} migration(s) pending on ${target}: run wact migrate first (commands never migrate implicitly)`,
      );
  }
}

/**
 * Refuses databases that belong to another environment (production vs not) or
 * play another part (a regional URL given for control…). Reads the identity the
 * migrator wrote into wact_meta.database_identity; a database without one is
 * refused too (fail closed: it was never migrated for this environment).
 */
export async function verifyDatabaseIdentities(
  urls: DatabaseUrls,
  env: WactEnv,
  login?: (target: DatabaseTarget) => pg.ClientConfig,
): Promise<void> {
  for (const target of DATABASE_TARGETS) {
    const as = login?.(target);
    const client = new pg.Client({ ...(as ?? { connectionString: urls[target] }), application_name: 'wact-identity-check' });
    await client.connect();
    try {
      const identity = await client
        .query<{ kind: string; environment: string }>('SELECT kind, environment FROM wact_meta.database_identity')
        .then((r) => r.rows[0])
        .catch((err: { code?: string }) => {
          if (err.code === '42P01' || err.code === '3F000') return undefined; // no wact_meta yet
          throw unreadableBookkeeping(err, target, as?.user);
        });
      assertIdentity(identity, target, env);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

/**
 * A service role that may not read wact_meta: the database was migrated before the services ran their
 * start-up checks as themselves (`wact migrate` grants it). Anything else passes through unchanged.
 */
function unreadableBookkeeping(err: unknown, target: DatabaseTarget, role: string | undefined): unknown {
  if ((err as { code?: string }).code !== '42501' || !role) return err;
  return new ConfigError(
    `refusing to start: ${role} may not read wact_meta on ${target} (run wact migrate: it grants the services' start-up checks)`,
  );
}
