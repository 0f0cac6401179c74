import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * The one way to get a logger. Redaction is a safety net, not a licence: log
 * ids and counts, never payloads. The net covers the keys below at the top
 * level and one and two levels down (pino wildcards match one level each),
 * plus request/response headers.
 */

/** Keys whose value may be a phone number, message content, a token or a secret. */
export const SENSITIVE_KEYS = [
  // people and what they wrote
  'phone',
  'phone_number',
  'phoneNumber',
  'from',
  'to',
  'wa_id',
  'waid',
  'body',
  'text',
  'caption',
  'profile',
  'email',
  // credentials
  'password',
  'passphrase',
  'secret',
  'client_secret',
  'clientSecret',
  'token',
  'access_token',
  'accessToken',
  'refresh_token',
  'refreshToken',
  'id_token',
  'app_secret',
  'verify_token',
  'totp',
  'otp',
  'key',
  'privateKey',
  'private_key',
  'authorization',
  'cookie',
  'set-cookie',
  'apiKey',
  'api_key',
  // ad click identifiers
  'fbclid',
  'gclid',
  'gbraid',
  'wbraid',
  'msclkid',
  'ttclid',
  'li_fat_id',
  'ctwa_clid',
  'click_id',
  'clickId',
  'referral',
] as const;

/**
 * 'code' is sensitive as an OAuth authorization code or a one-time code, but
 * `err.code` (SQLSTATE, our error codes) must survive, so it is redacted only
 * at the top level and under the containers where such codes arrive.
 */
const CODE_CONTAINERS = ['query', 'params', 'body', 'payload', 'data', 'input', 'form', 'mfa', 'oauth'];

/** 'name' is personal only as a contact's or profile's name (an error's name is not). */
const NAME_CONTAINERS = ['contact', 'contacts[*]', 'profile', 'customer', 'user'];

function key(k: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `["${k}"]`;
}

function redactPaths(): string[] {
  const paths = new Set<string>();
  for (const k of SENSITIVE_KEYS) {
    const tail = key(k);
    paths.add(tail.startsWith('.') ? tail.slice(1) : tail);
    paths.add(`*${tail}`);
    paths.add(`*.*${tail}`);
  }
  paths.add('code');
  for (const c of CODE_CONTAINERS) {
    paths.add(`${c}.code`);
    paths.add(`*.${c}.code`);
  }
  for (const c of NAME_CONTAINERS) {
    paths.add(`${c}.name`);
    paths.add(`*.${c}.name`);
    paths.add(`*.*.${c}.name`);
  }
  for (const r of ['req', 'res', 'request', 'response']) {
    for (const h of ['authorization', 'cookie', 'set-cookie', 'proxy-authorization', 'x-hub-signature-256', 'x-api-key']) {
      paths.add(`${r}.headers["${h}"]`);
    }
  }
  return [...paths];
}

export const REDACT_PATHS: readonly string[] = redactPaths();
export const REDACTED = '[redacted]';

export interface LoggerOptions {
  level: string;
  name: string;
  /** Where lines go (default stdout); tests pass a stream to inspect output. */
  destination?: DestinationStream;
}

export function createLogger(opts: LoggerOptions): Logger {
  return pino(
    {
      level: opts.level,
      name: opts.name,
      redact: { paths: [...REDACT_PATHS], censor: REDACTED },
      serializers: { err: serializeError, error: serializeError },
    },
    opts.destination ?? pino.destination(1),
  );
}

/** Fields of an error that carry no row values (pg puts values in `detail`, `where`, `hint`…). */
const KEPT_FIELDS = ['code', 'status', 'statusCode', 'severity', 'routine', 'schema', 'table', 'column', 'constraint', 'dataType'] as const;

export interface SerializedError {
  type: string;
  message: string;
  stack?: string;
  cause?: SerializedError;
  [field: string]: unknown;
}

/**
 * A loggable copy of an error, by allow-list: name, message, stack and the
 * fields above, never `detail`, `where`, query parameters or anything a caller
 * attached. For PostgreSQL data errors (SQLSTATE class 22, e.g. "invalid input
 * syntax for type uuid: \"…\"") quoted text in the message is replaced, since
 * there it is the offending value; in any message, runs of 8+ digits are.
 */
const LONG_DIGIT_RUN = /[+(]?\d(?:[\s().-]{0,2}\d){7,}/g;

// Outputs of serializeError, so serializing twice (by a caller, then by the
// logger's `err` serializer) returns the same object instead of "[non-error]".
const produced = new WeakSet<object>();

export function serializeError(err: unknown, depth = 0): SerializedError {
  if (typeof err === 'object' && err !== null && produced.has(err)) return err as SerializedError;
  if (!(err instanceof Error)) {
    return { type: typeof err, message: typeof err === 'string' ? '[non-error thrown]' : `[non-error ${typeof err} thrown]` };
  }
  const source = err as Error & Record<string, unknown>;
  const out: SerializedError = { type: err.name || err.constructor?.name || 'Error', message: String(err.message ?? '') };
  for (const f of KEPT_FIELDS) {
    const v = source[f];
    if (typeof v === 'string' || typeof v === 'number') out[f] = v;
  }
  const sqlState = typeof source.code === 'string' && /^[0-9A-Z]{5}$/.test(source.code) && 'severity' in source ? source.code : undefined;
  if (sqlState?.startsWith('22')) out.message = out.message.replace(/"[^"]*"/g, `"${REDACTED}"`);
  // Defence in depth: a message that quotes a phone number (ours never should)
  // loses every run of 8+ digits; ids and timestamps may go too, a fair price.
  out.message = out.message.replace(LONG_DIGIT_RUN, REDACTED);
  if (typeof err.stack === 'string') {
    // The stack's first line repeats the message: rebuild it from the cleaned one.
    const frames = err.stack.split('\n').filter((line) => /^\s+at /.test(line));
    out.stack = [`${out.type}: ${out.message}`, ...frames].join('\n');
  }
  if (err.cause !== undefined && depth < 3) out.cause = serializeError(err.cause, depth + 1);
  produced.add(out);
  return out;
}
