import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** The checkout's root: `.wact/` lives here unless WACT_HOME moves it. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const REGIONS = ['eu', 'us'] as const;
export type Region = (typeof REGIONS)[number];
export const ENVIRONMENTS = ['development', 'test', 'staging', 'production'] as const;
export type WactEnv = (typeof ENVIRONMENTS)[number];

const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);
const optionalUrl = z.string().url().optional();
const boolish = z
  .enum(['true', 'false', '1', '0'])
  .transform((v) => v === 'true' || v === '1');

/**
 * Every environment variable the product reads, with its default and meaning.
 * `loadConfig` is the only place that reads `process.env` for configuration.
 */
export const configSchema = z.object({
  WACT_ENV: z.enum(ENVIRONMENTS).default('development').describe('Which environment this process belongs to; production enables every refusal below.'),
  WACT_HOME: z.string().optional().describe('State folder (keys, certificates, embedded database). Default: .wact/ in the checkout.'),
  WACT_HOST: z.string().default('127.0.0.1').describe('Address every listener binds to.'),
  WACT_PUBLIC_HOST: z.string().default('localhost').describe('Host name printed in URLs and put in the development certificate.'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('pino log level.'),

  WACT_PG_PORT: port(5439).describe('Port of the embedded PostgreSQL server.'),
  DATABASE_URL_CONTROL: optionalUrl.describe('Operator URL of the control database. Unset: use the embedded server.'),
  DATABASE_URL_EU: optionalUrl.describe('Operator URL of the eu regional database. Unset: use the embedded server.'),
  DATABASE_URL_US: optionalUrl.describe('Operator URL of the us regional database. Unset: use the embedded server.'),
  WACT_DB_PASSWORD_INGEST: z.string().min(16).optional().describe('Password of the wact_ingest role. Development: generated into the state folder.'),
  WACT_DB_PASSWORD_BROKER: z.string().min(16).optional().describe('Password of the wact_broker role. Development: generated into the state folder.'),

  WACT_KEY_PROVIDER: z.enum(['local', 'aws-kms']).default('local').describe('Where the key-encryption keys live: a local key file per region, or AWS KMS.'),
  WACT_KMS_KEY_EU: z.string().optional().describe('KMS key id or ARN for the eu KEK (aws-kms provider).'),
  WACT_KMS_KEY_US: z.string().optional().describe('KMS key id or ARN for the us KEK (aws-kms provider).'),
  WACT_KMS_AWS_REGION_EU: z.string().default('eu-central-1').describe('AWS region of the eu KMS key.'),
  WACT_KMS_AWS_REGION_US: z.string().default('us-east-1').describe('AWS region of the us KMS key.'),
  WACT_KEY_CACHE_TTL_SECONDS: z.coerce.number().int().min(1).max(3600).default(300).describe('How long unwrapped workspace keys stay in memory (one KMS call per workspace per period).'),

  TLS_CERT_FILE: z.string().optional().describe('PEM certificate for every HTTPS listener and the gateway. Development: self-signed, generated into the state folder.'),
  TLS_KEY_FILE: z.string().optional().describe('PEM private key matching TLS_CERT_FILE.'),
  TLS_CA_FILE: z.string().optional().describe('Extra CA the services trust for each other (the development CA by default).'),

  INGEST_PORT: port(8443).describe('HTTPS port of the ingest service.'),
  BROKER_PORT: port(9443).describe('HTTPS port of the broker and console.'),
  GATEWAY_PORT: port(6432).describe('TLS port of the PostgreSQL gateway.'),
  OIDC_PORT: port(9400).describe('HTTPS port of the development OpenID provider.'),
  WACT_DEV_OIDC: boolish.optional().describe('Run the development OpenID provider (default: on outside staging and production).'),
});

export type RawConfig = z.infer<typeof configSchema>;
