import path from 'node:path';
import { parse as parseConnectionString } from 'pg-connection-string';
import { ConfigError } from '../errors/errors.ts';
import { configSchema, REGIONS, REPO_ROOT, type Region, type WactEnv } from './config-schema.ts';

export type DatabaseTarget = 'control' | Region;

export interface Config {
  env: WactEnv;
  home: string;
  host: string;
  publicHost: string;
  logLevel: string;
  database: { kind: 'embedded'; port: number } | { kind: 'external'; urls: Record<DatabaseTarget, string> };
  serviceDbPasswords: { ingest?: string; broker?: string; signer?: string };
  keys: { provider: 'local' } | { provider: 'aws-kms'; keyIds: Record<Region, string>; awsRegions: Record<Region, string> };
  keyCacheTtlMs: number;
  tls: { certFile?: string; keyFile?: string; caFile?: string };
  ports: { ingest: number; broker: number; gateway: number; oidc: number };
  devOidc: boolean;
  /** The validated variables, for feature modules that own their own settings. */
  raw: ReturnType<typeof configSchema.parse>;
}

/**
 * A URL is acceptable in production only if the client verifies the server certificate. Read
 * with pg-connection-string, as pg will read it: of a parameter given twice the last counts, so
 * `sslmode=verify-full&sslmode=disable` is refused here instead of connecting without TLS.
 */
export function verifiesTls(url: string): boolean {
  return parseConnectionString(url).sslmode === 'verify-full';
}

/**
 * Reads and validates configuration once. Throws ConfigError with a single
 * line naming the first problem, so a refusing process says why.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`invalid configuration: ${issue.path.join('.')}: ${issue.message}`);
  }
  const v = parsed.data;
  const urls = { control: v.DATABASE_URL_CONTROL, eu: v.DATABASE_URL_EU, us: v.DATABASE_URL_US };
  const given = Object.values(urls).filter(Boolean).length;
  if (given !== 0 && given !== 3) {
    throw new ConfigError('set all of DATABASE_URL_CONTROL, DATABASE_URL_EU and DATABASE_URL_US, or none (embedded)');
  }

  const production = v.WACT_ENV === 'production';
  if (production && v.WACT_KEY_PROVIDER === 'local') {
    throw new ConfigError('refusing to start: production must not use the local key provider (set WACT_KEY_PROVIDER=aws-kms)');
  }
  if (production && given === 0) {
    throw new ConfigError('refusing to start: production must not use the embedded database (set DATABASE_URL_CONTROL, _EU and _US)');
  }
  if (production) {
    for (const [name, url] of Object.entries(urls)) {
      if (!verifiesTls(url!)) {
        throw new ConfigError(`refusing to start: database URL for ${name} does not verify TLS (add sslmode=verify-full)`);
      }
    }
    // The certificate is required where a process listens (loadTlsMaterial): a worker listens on nothing.
    if ((v.WACT_OUTBOUND_DEV_ALLOW ?? '').trim() !== '') {
      // Customer destinations (SIEM push) must never reach internal addresses in production.
      throw new ConfigError('refusing to start: WACT_OUTBOUND_DEV_ALLOW is for development and tests only');
    }
  }
  if (v.WACT_KEY_PROVIDER === 'aws-kms' && (!v.WACT_KMS_KEY_EU || !v.WACT_KMS_KEY_US)) {
    throw new ConfigError('the aws-kms key provider needs WACT_KMS_KEY_EU and WACT_KMS_KEY_US');
  }

  return {
    env: v.WACT_ENV,
    home: path.resolve(v.WACT_HOME ?? path.join(REPO_ROOT, '.wact')),
    host: v.WACT_HOST,
    publicHost: v.WACT_PUBLIC_HOST,
    logLevel: v.LOG_LEVEL,
    database: given === 0 ? { kind: 'embedded', port: v.WACT_PG_PORT } : { kind: 'external', urls: urls as Record<DatabaseTarget, string> },
    serviceDbPasswords: { ingest: v.WACT_DB_PASSWORD_INGEST, broker: v.WACT_DB_PASSWORD_BROKER, signer: v.WACT_DB_PASSWORD_SIGNER },
    keys:
      v.WACT_KEY_PROVIDER === 'local'
        ? { provider: 'local' }
        : {
            provider: 'aws-kms',
            keyIds: { eu: v.WACT_KMS_KEY_EU!, us: v.WACT_KMS_KEY_US! },
            awsRegions: { eu: v.WACT_KMS_AWS_REGION_EU, us: v.WACT_KMS_AWS_REGION_US },
          },
    keyCacheTtlMs: v.WACT_KEY_CACHE_TTL_SECONDS * 1000,
    tls: { certFile: v.TLS_CERT_FILE, keyFile: v.TLS_KEY_FILE, caFile: v.TLS_CA_FILE },
    ports: { ingest: v.INGEST_PORT, broker: v.BROKER_PORT, gateway: v.GATEWAY_PORT, oidc: v.OIDC_PORT },
    devOidc: v.WACT_DEV_OIDC ?? !['staging', 'production'].includes(v.WACT_ENV),
    raw: v,
  };
}

export { REGIONS };
export type { Region, WactEnv };
