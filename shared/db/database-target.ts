import net from 'node:net';
import tls from 'node:tls';
import { parse as parseConnectionString } from 'pg-connection-string';

/**
 * Where a PostgreSQL server is and how to reach it over TLS, from its URL: what
 * the gateway's upstream client and the broker's support pools (pg) both need
 * to log in as an access session's role.
 */
export interface DatabaseTarget {
  host: string;
  port: number;
  database: string;
  /** `false`: plain TCP (loopback in development); otherwise TLS options (SSLRequest first). */
  ssl: false | tls.ConnectionOptions;
}

/**
 * Host, port, database and TLS mode of a PostgreSQL URL (credentials are ignored), read by
 * pg-connection-string as pg reads it. The TLS options follow libpq's sslmode meanings.
 */
export function targetFromUrl(url: string, tlsOptions: { ca?: string } = {}): DatabaseTarget {
  const parsed = parseConnectionString(url);
  const mode = typeof parsed.sslmode === 'string' ? parsed.sslmode : 'disable';
  const host = parsed.host ?? '';
  const ssl: DatabaseTarget['ssl'] =
    mode === 'disable' || mode === 'allow' || mode === 'prefer'
      ? false
      : {
          servername: net.isIP(host) ? undefined : host,
          rejectUnauthorized: mode === 'verify-ca' || mode === 'verify-full',
          // verify-ca checks the chain only, like libpq; verify-full also the host name.
          ...(mode === 'verify-full' ? {} : { checkServerIdentity: () => undefined }),
          // An extra CA on top of the system store (not instead of it).
          ca: tlsOptions.ca ? [...tls.rootCertificates, tlsOptions.ca] : undefined,
          minVersion: 'TLSv1.2',
        };
  return { host, port: Number(parsed.port || 5432), database: parsed.database || 'postgres', ssl };
}
