import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { contractFor } from '../platforms/platform-contracts.ts';

/** The checkout's root: `.wact/` lives here unless WACT_HOME moves it. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const REGIONS = ['eu', 'us'] as const;
export type Region = (typeof REGIONS)[number];
export const ENVIRONMENTS = ['development', 'test', 'staging', 'production'] as const;
export type WactEnv = (typeof ENVIRONMENTS)[number];

const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);
const optionalUrl = z.string().url().optional();
/** One database's URL: production services get it without a login (only the owner's few users get one). */
const databaseUrl = (database: string) =>
  optionalUrl.describe(
    `URL of ${database}. Unset: use the embedded server. Production services get it without a login (they log in as their own role); only \`wact migrate\`, operator commands and the lifecycle worker get the owner's login.`,
  );
const boolish = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/**
 * Every environment variable the product reads, with its default and meaning.
 * `loadConfig` is the only place that reads `process.env` for configuration.
 */
export const configSchema = z.object({
  WACT_ENV: z
    .enum(ENVIRONMENTS)
    .default('development')
    .describe('Which environment this process belongs to; production enables every refusal below.'),
  WACT_HOME: z.string().optional().describe('State folder (keys, certificates, embedded database). Default: .wact/ in the checkout.'),
  WACT_HOST: z.string().default('127.0.0.1').describe('Address every listener binds to.'),
  WACT_PUBLIC_HOST: z.string().default('localhost').describe('Host name printed in URLs and put in the development certificate.'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('pino log level.'),

  WACT_PG_PORT: port(5439).describe('Port of the embedded PostgreSQL server.'),
  DATABASE_URL_CONTROL: databaseUrl('the control database'),
  DATABASE_URL_EU: databaseUrl('the eu regional database'),
  DATABASE_URL_US: databaseUrl('the us regional database'),
  WACT_DB_PASSWORD_INGEST: z
    .string()
    .min(16)
    .optional()
    .describe(
      'Password of the wact_ingest role. Production: required (from the secret store), never generated. Development: generated into the state folder.',
    ),
  WACT_DB_PASSWORD_BROKER: z
    .string()
    .min(16)
    .optional()
    .describe(
      'Password of the wact_broker role. Production: required (from the secret store), never generated. Development: generated into the state folder.',
    ),
  WACT_DB_PASSWORD_SIGNER: z
    .string()
    .min(16)
    .optional()
    .describe(
      'Password of the wact_signer role (the audit signing worker only). Production: required there (from the secret store), never generated. Development: generated into the state folder.',
    ),
  WACT_SERVICE_DB_AUTH: z
    .enum(['password', 'rds-iam'])
    .default('password')
    .describe(
      'How the services (wact_ingest, wact_broker, wact_signer) log in to their databases: WACT_DB_PASSWORD_* or an RDS IAM token signed per connection.',
    ),

  WACT_KEY_PROVIDER: z
    .enum(['local', 'aws-kms'])
    .default('local')
    .describe('Where the key-encryption keys live: a local key file per region, or AWS KMS.'),
  WACT_KMS_KEY_EU: z.string().optional().describe('KMS key id or ARN for the eu KEK (aws-kms provider).'),
  WACT_KMS_KEY_US: z.string().optional().describe('KMS key id or ARN for the us KEK (aws-kms provider).'),
  WACT_KMS_AWS_REGION_EU: z.string().default('eu-central-1').describe('AWS region of the eu KMS key.'),
  WACT_KMS_AWS_REGION_US: z.string().default('us-east-1').describe('AWS region of the us KMS key.'),
  WACT_KEY_CACHE_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(3600)
    .default(300)
    .describe('How long unwrapped workspace keys stay in memory (one KMS call per workspace per period).'),
  WACT_KMS_DELETION_WINDOW_DAYS: z.coerce
    .number()
    .int()
    .min(7)
    .max(30)
    .default(7)
    .describe(
      "Days AWS KMS waits before deleting a wiped workspace's own key (7–30). The key is disabled at once; the window only allows undoing a wrong wipe.",
    ),

  TLS_CERT_FILE: z
    .string()
    .optional()
    .describe(
      'PEM certificate for every HTTPS listener and the gateway; production ingest, broker and gateway refuse to start without it (the worker listens on nothing and needs none). Development: self-signed, generated into the state folder.',
    ),
  TLS_KEY_FILE: z.string().optional().describe('PEM private key matching TLS_CERT_FILE.'),
  TLS_CA_FILE: z.string().optional().describe('Extra CA the services trust for each other (the development CA by default).'),

  INGEST_PORT: port(8443).describe('HTTPS port of the ingest service.'),
  BROKER_PORT: port(9443).describe('HTTPS port of the broker and console.'),
  GATEWAY_PORT: port(6432).describe('TLS port of the PostgreSQL gateway.'),
  OIDC_PORT: port(9400).describe('HTTPS port of the development OpenID provider.'),
  WACT_DEV_OIDC: boolish.optional().describe('Run the development OpenID provider (default: on outside staging and production).'),

  // ingest (ingest/ingest-settings.ts reads these)
  INGEST_PUBLIC_URL: optionalUrl.describe(
    'Public base URL of ingest as BSPs call it (Twilio and Bird sign the full URL). Unset: the request’s own scheme, host and path.',
  ),
  INGEST_BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(10 * 1024 * 1024)
    .default(256 * 1024)
    .describe('Largest webhook/click/conversion body accepted (bigger: 413).'),
  INGEST_CONVERSATION_WINDOW_HOURS: z.coerce
    .number()
    .positive()
    .max(24 * 90)
    .default(24)
    .describe('Messages from one sender within this many hours of a conversation’s start belong to it.'),
  INGEST_ATTRIBUTION_WINDOW_DAYS: z.coerce
    .number()
    .positive()
    .max(90)
    .default(7)
    .describe('A conversation is attributed only to a click at most this many days older.'),
  INGEST_BIRD_TOLERANCE_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(3600)
    .default(300)
    .describe('Accepted clock difference of Bird’s messagebird-request-timestamp.'),
  INGEST_WRITER_MAX_BATCH: z.coerce
    .number()
    .int()
    .min(1)
    .max(5000)
    .default(500)
    .describe('Most inbound messages written in one group-commit transaction.'),
  INGEST_WORKSPACE_CACHE_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(600)
    .default(30)
    .describe('How long ingest caches a workspace directory entry and its BSP secrets.'),
  EXPORT_QUEUE: z
    .string()
    .regex(/^[a-z][a-z0-9_.-]{1,60}$/)
    .default('ad-export')
    .describe('pg-boss queue of ad-platform exports (one per deployment; tests use their own).'),
  EXPORT_ENABLED: boolish
    .default(true)
    .describe(
      "Send conversions to the ad platforms: the worker's export queue group runs only when true (ingest queues the exports either way).",
    ),
  EXPORT_RETRY_LIMIT: z.coerce
    .number()
    .int()
    .min(0)
    .max(50)
    .default(8)
    .describe('Retries of a failed ad-platform export (pg-boss, exponential backoff).'),
  EXPORT_RETRY_DELAY_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(3600)
    .default(30)
    .describe('First retry delay of an export; doubles each time.'),
  EXPORT_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(15_000).describe('Timeout of one ad-platform request.'),
  EXPORT_URL_META: z
    .string()
    .default(contractFor('meta', 'Conversions API').endpoint)
    .describe('Meta Conversions API endpoint ({placeholders} from the workspace’s credentials). Defaults: docs/platforms.md.'),
  EXPORT_URL_GOOGLE: z
    .string()
    .default(contractFor('google', 'UploadClickConversions').endpoint)
    .describe('Google Ads UploadClickConversions endpoint.'),
  EXPORT_URL_MICROSOFT: z
    .string()
    .default(contractFor('microsoft', 'ApplyOfflineConversions (REST)').endpoint)
    .describe('Microsoft Advertising ApplyOfflineConversions endpoint.'),
  EXPORT_URL_TIKTOK: z.string().default(contractFor('tiktok', 'Events API').endpoint).describe('TikTok Events API 2.0 endpoint.'),
  EXPORT_URL_LINKEDIN: z
    .string()
    .default(contractFor('linkedin', 'Conversions API').endpoint)
    .describe('LinkedIn Conversions API endpoint (LinkedIn-Version header per workspace, default from docs/platforms.md).'),

  // Identity (broker/auth): single sign-on, sessions, TOTP.
  OIDC_ISSUER_URL: z
    .string()
    .url()
    .optional()
    .describe('OpenID issuer the broker signs people in with. Default: the development provider, https://<WACT_PUBLIC_HOST>:<OIDC_PORT>.'),
  OIDC_CLIENT_ID: z.string().min(1).default('wact-broker').describe("The broker's client id at the issuer."),
  OIDC_CLIENT_SECRET: z
    .string()
    .min(16)
    .optional()
    .describe("The broker's client secret at the issuer. Development: generated into the state folder (oidc-client-secret)."),
  OIDC_CA_FILE: z
    .string()
    .optional()
    .describe(
      "Extra CA to trust for the issuer's HTTPS (default: the development CA outside production; the system store always applies).",
    ),
  BROKER_PUBLIC_URL: z
    .string()
    .url()
    .optional()
    .describe('Public base URL of the broker (redirect URI = <this>/auth/callback). Default: https://<WACT_PUBLIC_HOST>:<BROKER_PORT>.'),
  WACT_JOB_POLL_MS: z.coerce
    .number()
    .int()
    .min(50)
    .max(60_000)
    .default(2000)
    .describe('How often `wact` asks the broker for a followed job’s status (each read is an audit event).'),
  STAFF_EMAIL_DOMAIN: z
    .string()
    .min(1)
    .default('wact.dev')
    .describe('Employees are provisioned only from verified emails of this domain …'),
  STAFF_GROUP_CLAIM: z.string().min(1).default('groups').describe('… carrying one of the staff groups in this ID-token claim.'),
  STAFF_GROUP_ROLES: z
    .string()
    .default('wact-engineers=engineer,wact-support=support,wact-security=security')
    .describe(
      'Staff group → employee role mapping, comma-separated group=role (engineer|support|security). First match in the order security, support, engineer wins.',
    ),
  SESSION_IDLE_MINUTES: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 60)
    .default(30)
    .describe('A session unused this long ends.'),
  SESSION_MAX_HOURS: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 30)
    .default(12)
    .describe('A session ends this long after sign-in, used or not.'),
  TOTP_MAX_FAILURES: z.coerce
    .number()
    .int()
    .min(1)
    .max(100)
    .default(5)
    .describe('Consecutive wrong TOTP / recovery codes before TOTP locks.'),
  TOTP_LOCK_MINUTES: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 60)
    .default(15)
    .describe('How long TOTP stays locked after too many failures.'),
  LOGIN_RATE_PER_IP: z.coerce
    .number()
    .int()
    .min(1)
    .default(60)
    .describe('Sign-in attempts (login starts, callbacks, TOTP codes) per client IP per 15 minutes.'),
  LOGIN_RATE_PER_ACCOUNT: z.coerce.number().int().min(1).default(20).describe('TOTP / recovery attempts per account per 15 minutes.'),
  IDENTITY_KEY_REGION: z
    .enum(['eu', 'us'])
    .default('eu')
    .describe('Whose KEK wraps the platform keys of the control database (TOTP secrets).'),

  // Access broker and gateway.
  GATEWAY_PUBLIC_HOST: z.string().optional().describe('Host name printed in gateway connection strings (default: WACT_PUBLIC_HOST).'),
  ACCESS_TTL_DEFAULT: z
    .string()
    .regex(/^\d{1,5}(s|m)?$/)
    .default('5m')
    .describe('Default lifetime of a database session (e.g. 5m, 300s).'),
  ACCESS_TTL_MAX: z
    .string()
    .regex(/^\d{1,5}(s|m)?$/)
    .default('15m')
    .describe('Longest database session anyone may request (at most 15m).'),
  ACCESS_PENDING_TIMEOUT: z
    .string()
    .regex(/^\d{1,5}(s|m)?$/)
    .default('60m')
    .describe('A full-scope request nobody decided on expires after this long.'),
  WACT_DB_AUTH: z
    .enum(['password', 'rds-iam'])
    .default('password')
    .describe('How session roles log in upstream: a random password (SCRAM) or an RDS IAM token (15 minutes, signed per connection).'),
  WACT_RDS_AWS_REGION_EU: z.string().default('eu-central-1').describe('AWS region of the eu RDS instance (rds-iam mode).'),
  WACT_RDS_AWS_REGION_US: z.string().default('us-east-1').describe('AWS region of the us RDS instance (rds-iam mode).'),
  GATEWAY_WATCH_INTERVAL_MS: z.coerce
    .number()
    .int()
    .min(100)
    .max(2000)
    .default(500)
    .describe('How often the gateway checks live sessions for revocation (revocation takes effect within about two intervals).'),

  // Data lifecycle (shared/lifecycle): retention, end-user deletion, wipe.
  WACT_DELETION_ENDPOINT_GOOGLE: z
    .string()
    .optional()
    .describe(
      'Google Ads conversion-adjustment endpoint end-user deletions are retracted at ({customerId} from the workspace’s credentials). Default: googleads.googleapis.com.',
    ),
  WACT_DELETION_ENDPOINT_MICROSOFT: z
    .string()
    .optional()
    .describe(
      'Microsoft Advertising ApplyOfflineConversionAdjustments endpoint for end-user deletions. Default: campaign.api.bingads.microsoft.com.',
    ),
  LIFECYCLE_WORKER: boolish
    .default(true)
    .describe(
      'Run the data-lifecycle jobs (retention, deletion requests and their propagation) in the worker (its lifecycle queue group).',
    ),
  LIFECYCLE_RETENTION_CRON: z.string().default('17 3 * * *').describe('When the retention job runs (cron, UTC).'),
  WACT_AUDIT_RETENTION_MONTHS: z.coerce
    .number()
    .int()
    .min(12)
    .max(120)
    .default(12)
    .describe('Months of audit log kept; whole months older than this are dropped (never less than 12).'),
  WACT_AUDIT_SIGN_INTERVAL_SECONDS: z.coerce
    .number()
    .int()
    .min(10)
    .max(86400)
    .default(3600)
    .describe(
      'How often the signing worker signs the audit chain heads that moved and writes digest files (once per interval whatever the number of workers; also signed at every export).',
    ),
  WACT_AUDIT_CONTROL_KEK_REGION: z
    .enum(['eu', 'us'])
    .default('eu')
    .describe("Which region's KEK wrapped the control database's audit signing key before issue 13 (old keys stay published)."),
  WACT_AUDIT_SIGNING_KMS_KEY: z
    .string()
    .optional()
    .describe(
      'KMS asymmetric key (ECC_NIST_P256, SIGN_VERIFY) that signs audit heads, export manifests and digests; given to the signing worker only (`wact serve worker --queues audit-sign`; brokers and other workers refuse to start with it). Required in production; unset elsewhere: a local Ed25519 key in <state folder>/keys/audit-signing-ed25519.pem.',
    ),
  WACT_AUDIT_SIGNING_KMS_REGION: z.string().default('eu-central-1').describe('AWS region of WACT_AUDIT_SIGNING_KMS_KEY.'),
  WACT_OUTBOUND_DEV_ALLOW: z
    .string()
    .optional()
    .describe(
      'Development and tests only (production refuses to start with it): comma-separated addresses or CIDRs that customer destinations such as a SIEM may use although not public, e.g. 127.0.0.1/32 for a local SIEM.',
    ),
});

export type RawConfig = z.infer<typeof configSchema>;
