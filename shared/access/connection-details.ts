import { X509Certificate } from 'node:crypto';
import { loadTlsMaterial } from '../http/tls.ts';
import type { Config } from '../config/config.ts';
import type { ConnectionInfo, GatewayTrust } from './access-types.ts';

/**
 * How a client reaches the gateway with a session token, in a form that never puts the token
 * in a URL or on a command line (shell history, `ps`, terminal scrollback, screen shares) and
 * that makes the client check the gateway's certificate (`sslmode=verify-full` against the CA
 * below) — with `sslmode=require` anyone on the path could present their own certificate and
 * read the token from the password message.
 */

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function certificates(pem: string | undefined): X509Certificate[] {
  const out: X509Certificate[] = [];
  for (const block of pem?.match(PEM_BLOCK) ?? []) {
    try {
      out.push(new X509Certificate(block));
    } catch {
      // A malformed block in a bundle is skipped; it cannot be an anchor anyway.
    }
  }
  return out;
}

function issues(issuer: X509Certificate, cert: X509Certificate): boolean {
  return issuer.ca && cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
}

/**
 * The CA certificates a client must trust for the gateway's certificate: the certificates of
 * the trusted bundle (the development CA, or TLS_CA_FILE) that the served chain leads to, and
 * their issuers within the bundle. Only that path, not the whole bundle: TLS_CA_FILE may also
 * hold e.g. the database provider's CAs, which have no business vouching for the gateway.
 * Undefined when the bundle does not vouch for the served certificate (then the client relies
 * on the operating system's store, and a certificate nobody vouches for fails verification).
 */
export function gatewayTrustFrom(tls: { cert: string; ca?: string }): GatewayTrust | undefined {
  const served = certificates(tls.cert);
  const bundle = certificates(tls.ca);
  if (!served.length || !bundle.length) return undefined;
  let top = served[0];
  // Walk the chain the server sends (leaf first, then intermediates).
  for (const next of served.slice(1)) {
    if (!issues(next, top)) break;
    top = next;
  }
  const anchors: X509Certificate[] = [];
  let current = top;
  for (let depth = 0; depth < 8; depth++) {
    const issuer = bundle.find((c) => !anchors.includes(c) && issues(c, current));
    if (!issuer) break;
    anchors.push(issuer);
    if (issuer.checkIssued(issuer)) break; // self-signed root: the path is complete
    current = issuer;
  }
  if (!anchors.length) return undefined;
  return {
    pem: anchors.map((c) => c.toString().trim()).join('\n') + '\n',
    fingerprint256: anchors[0].fingerprint256,
  };
}

/**
 * Reads the gateway's TLS material once (the same files the gateway serves) and remembers the
 * answer. A failure is not cached as "no CA": it is retried on the next call.
 */
export function gatewayTrustLoader(config: Pick<Config, 'env' | 'home' | 'tls'>): () => GatewayTrust | undefined {
  let cached: GatewayTrust | undefined;
  return () => {
    if (cached) return cached;
    try {
      cached = gatewayTrustFrom(loadTlsMaterial(config));
    } catch {
      return undefined; // no certificate yet: the client falls back to the system store (and fails closed)
    }
    return cached;
  };
}

/** The PG* variables psql reads, without the password and without the CA path (the client's own file). */
export function pgEnvironment(info: Pick<ConnectionInfo, 'host' | 'port' | 'database' | 'user'>): Record<string, string> {
  return {
    PGHOST: info.host,
    PGPORT: String(info.port),
    PGDATABASE: info.database,
    PGUSER: info.user,
    PGSSLMODE: 'verify-full',
  };
}

/** Connection details for one session token. The token is only ever the `password` field. */
export function connectionDetails(
  target: { host: string; port: number; database?: string },
  user: string,
  token: string,
  trust: GatewayTrust | undefined,
): ConnectionInfo {
  const base = { host: target.host, port: target.port, database: target.database ?? 'wact', user };
  return {
    ...base,
    password: token,
    sslmode: 'verify-full',
    sslrootcert: trust?.pem ?? null,
    caFingerprint: trust?.fingerprint256 ?? null,
    env: pgEnvironment(base),
    // Reads everything from the environment; psql asks for the password (the token) itself.
    psql: 'psql',
  };
}
