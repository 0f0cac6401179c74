import type pg from 'pg';
import { parse as parseConnectionString, parseIntoClientConfig } from 'pg-connection-string';
import type { DatabaseTarget, Region } from '../config/config.ts';

/** Operator URL of each database: control and one per region. */
export type DatabaseUrls = Record<DatabaseTarget, string>;

export const DATABASE_TARGETS: DatabaseTarget[] = ['control', 'eu', 'us'];
export const REGION_TARGETS: Region[] = ['eu', 'us'];

/** Default database names on the embedded server (a prefix isolates test runs). */
export function databaseNames(prefix = 'wact'): Record<DatabaseTarget, string> {
  return { control: `${prefix}_control`, eu: `${prefix}_eu`, us: `${prefix}_us` };
}

/** The same server and database, logged in as another role. */
export function withCredentials(url: string, user: string, password?: string): string {
  const u = new URL(url);
  u.username = encodeURIComponent(user);
  u.password = password ? encodeURIComponent(password) : '';
  return u.toString();
}

/** A password, or (RDS IAM) a function pg calls for each new connection. */
export type DbCredential = string | (() => Promise<string>);

/**
 * A pg client/pool configuration for `url` logging in as `user` with `credential`. Parsed
 * with pg-connection-string rather than passed as a connectionString: pg lets a URL's
 * (empty) password override a password function, which RDS IAM tokens need.
 */
export function clientConfigFor(url: string, user: string, credential?: DbCredential): pg.ClientConfig {
  return { ...parseIntoClientConfig(url), user, password: credential };
}

/**
 * Whether a URL carries a database login (a user or a password, in its userinfo or as `?user=` /
 * `?password=`), read as pg reads it. Production services take URLs without one: they log in as
 * their own role, and only the erasing worker holds the owner's login.
 */
export function carriesLogin(url: string): boolean {
  const { user, password } = parseConnectionString(url);
  return !!user || !!password;
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** For messages and logs: the URL without its password. */
export function redactUrl(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}
