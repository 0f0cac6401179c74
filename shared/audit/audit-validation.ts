import { isIP } from 'node:net';
import { BadRequestError } from '../errors/errors.ts';
import { ACTOR_KINDS, PLATFORM_STREAM, type AuditEventInput, type MetadataValue } from './audit-types.ts';
import type { Region } from '../config/config.ts';

/** An audit event that must not be written; the message never echoes the offending value. */
export class AuditValidationError extends BadRequestError {
  constructor(message: string) {
    super(message, 'invalid_audit_event');
  }
}

// The same rules as the CHECK constraints of audit.events.
export const ACTION_PATTERN = /^[a-z][a-z0-9_]{0,39}(\.[a-z][a-z0-9_]{0,39}){1,4}$/;
const TARGET_TYPE_PATTERN = /^[a-z][a-z0-9_.]{0,63}$/;
const METADATA_KEY_PATTERN = /^[A-Za-z][A-Za-z0-9_.]{0,63}$/;
const MAX_METADATA_KEYS = 24;
const MAX_METADATA_STRING = 200;
const MAX_METADATA_JSON = 2048;

/**
 * Gateway statement records (`db.statement`, `db.statement.*`) carry the whole
 * masked statement in one `statement` metadata string, inside the event so the
 * hash chain covers it. Their metadata may be this long (JSON text, UTF-16
 * units; PostgreSQL's length() counts code points, never more). The gateway
 * refuses statements whose record could exceed it before they run (see
 * broker/gateway/statement-masking.ts); the same number is in the CHECK
 * constraint of audit.events (migration 0310).
 */
export const MAX_STATEMENT_METADATA_JSON = 2_400_000;
/** Twin of the SQL in migration 0310: action = 'db.statement' OR action LIKE 'db.statement.%'. */
export function isStatementAction(action: string | null | undefined): boolean {
  return action === 'db.statement' || (typeof action === 'string' && action.startsWith('db.statement.'));
}

/** A statement record's stored text (for displays, exports and tests): one field now, 200-character parts in older events. */
export function joinStatementFields(metadata: Record<string, unknown>): string {
  let text = String(metadata.statement ?? '');
  for (let i = 2; i <= 6 && metadata[`statement.${i}`] !== undefined; i++) text += String(metadata[`statement.${i}`]);
  return text;
}

/** Reads of customer data that employees and services must justify (twin of audit.is_read_action). */
export function isReadAction(action: string): boolean {
  return /^data\./.test(action) || action === 'db.query' || /\.(read|list|show|search|export|download|unmask|browse)$/.test(action);
}

// Raw identifiers the log must never hold. Deliberately conservative: false
// positives make the caller rephrase; a false negative leaks a phone number.
// The lookbehind starts a match only where a run of non-space starts: same
// matches as without it, but linear (without it a long run with no '@' is
// rescanned from every position: quadratic on a 256 KiB statement).
const EMAIL = /(?<![^\s@])[^\s@]+@[^\s@]+\.[^\s@.]{2,}/;
const PHONE_ONLY = /^[\s+()./-]*(?:\d[\s()./-]*){7,}$/; // a value that is just a (formatted) number
const PLUS_PHONE = /\+\s?\d(?:[\s().-]{0,2}\d){6,}/; // +44 7700 900123 inside text
const LONG_DIGITS = /(?:^|[^0-9A-Za-z])\d{9,15}(?:[^0-9A-Za-z]|$)/; // 447700900123, wa_id
const IDENTIFIER_KEY = /phone|e-?mail|msisdn|wa_?id/i;

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

export function looksLikeIdentifier(raw: string): boolean {
  // Fast path (this runs for every audited statement): without an '@' and
  // with fewer than 7 digits, none of the patterns below can match.
  let digits = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 64) {
      digits = 7;
      break;
    }
    if (c >= 48 && c <= 57 && ++digits >= 7) break;
  }
  if (digits < 7) return false;
  // Our own ids (uuids) are not personal identifiers, whatever digits they hold.
  const value = raw.replace(UUID, ' ');
  return EMAIL.test(value) || PHONE_ONLY.test(value) || PLUS_PHONE.test(value) || LONG_DIGITS.test(value);
}

const IDENTIFIER_MESSAGE = 'looks like it holds a raw identifier (phone number or e-mail)';
const UUID_EXACT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const OUTCOMES = new Set(['success', 'failure', 'denied']);
const KINDS = new Set<string>(ACTOR_KINDS);

/*
 * Hand-written rather than a zod schema: this runs for every audited SQL
 * statement, and the schema cost several times more per event. Each failure
 * names the field and the rule, never the value.
 */
function fail(path: string, message: string): never {
  throw new AuditValidationError(`invalid audit event: ${path}: ${message}`);
}

/**
 * NUL is not storable in PostgreSQL text and lone surrogates are not UTF-8:
 * both would fail the whole batch in the database, so they go here.
 */
export function storableText(v: string): string {
  return clean(v);
}
function clean(v: string): string {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 0 || (c >= 0xd800 && c <= 0xdfff)) return v.replace(LONE_SURROGATE, '\ufffd').replaceAll('\u0000', '');
  }
  return v;
}

/** Optional text: absent, '' and whitespace-only are all "absent". */
function optText(v: unknown, path: string, max: number, checkIdentifiers = false): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') fail(path, 'must be a string');
  const t = clean(v).trim();
  if (t === '') return undefined;
  if (t.length > max) fail(path, `is longer than ${max} characters`);
  if (checkIdentifiers && looksLikeIdentifier(t)) fail(path, IDENTIFIER_MESSAGE);
  return t;
}

/**
 * Canonical JSON of the flat metadata object (sorted keys, no whitespace),
 * validated. `action` lifts the string and size limits for the `statement`
 * field of gateway statement records only (isStatementAction).
 */
export function canonicalMetadata(m: unknown, action?: string | null): string {
  const statementRecord = isStatementAction(action);
  if (m === undefined || m === null) return '{}';
  if (typeof m !== 'object' || Array.isArray(m)) fail('metadata', 'must be a flat object');
  const keys = Object.keys(m as object);
  if (keys.length > MAX_METADATA_KEYS) fail('metadata', `has at most ${MAX_METADATA_KEYS} keys`);
  keys.sort();
  const out: Record<string, MetadataValue> = {};
  for (const k of keys) {
    if (!METADATA_KEY_PATTERN.test(k)) fail('metadata', 'keys are identifiers such as rowCount');
    if (IDENTIFIER_KEY.test(k)) fail('metadata', 'must not carry phone numbers or e-mail addresses');
    const v = (m as Record<string, unknown>)[k];
    if (v === undefined) continue;
    if (v === null || typeof v === 'boolean') out[k] = v;
    else if (typeof v === 'string') {
      const t = clean(v);
      if (t.length > MAX_METADATA_STRING && !(statementRecord && k === 'statement'))
        fail(`metadata.${k}`, `metadata strings are at most ${MAX_METADATA_STRING} characters`);
      if (looksLikeIdentifier(t)) fail(`metadata.${k}`, `metadata ${IDENTIFIER_MESSAGE}`);
      out[k] = t;
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) fail(`metadata.${k}`, 'numbers must be finite');
      // A 10–15 digit integer is more likely a phone number than a count.
      if (Number.isInteger(v) && Math.abs(v) >= 1e9 && Math.abs(v) < 1e15)
        fail(`metadata.${k}`, 'metadata number looks like a phone number');
      out[k] = v;
    } else fail(`metadata.${k}`, 'values are strings, numbers, booleans or null');
  }
  const json = JSON.stringify(out);
  const max = statementRecord ? MAX_STATEMENT_METADATA_JSON : MAX_METADATA_JSON;
  if (json.length > max) fail('metadata', `is larger than ${max} bytes`);
  return json;
}

/** The row audit.append expects (camelCase JSON), and where it goes. */
export interface AppendRow {
  database: 'control' | Region;
  row: {
    streamId: string;
    action: string;
    actorKind: string;
    actorId: string;
    actorRole?: string;
    actorName?: string;
    targetType?: string;
    targetId?: string;
    reason?: string;
    sessionId?: string;
    clientIp?: string;
    userAgent?: string;
    outcome: string;
    metadata: string;
  };
}

/** Validates and flattens one event; throws AuditValidationError naming the first problem. */
export function toAppendRow(event: AuditEventInput): AppendRow {
  if (!event || typeof event !== 'object') fail('event', 'must be an object');
  const e = event as unknown as Record<string, unknown>;
  const action = e.action;
  if (typeof action !== 'string' || !ACTION_PATTERN.test(action))
    fail('action', 'action must be a dotted lower-case verb such as data.read');
  const actor = e.actor as Record<string, unknown> | undefined;
  if (!actor || typeof actor !== 'object') fail('actor', 'is required');
  const actorId = optText(actor.id, 'actor.id', 200);
  if (!actorId) fail('actor.id', 'actor id is required');
  if (typeof actor.kind !== 'string' || !KINDS.has(actor.kind)) fail('actor.kind', `must be one of ${ACTOR_KINDS.join(', ')}`);
  const kind = actor.kind as string;
  const workspaceId = e.workspaceId;
  if (workspaceId !== undefined && workspaceId !== null && (typeof workspaceId !== 'string' || !UUID_EXACT.test(workspaceId)))
    fail('workspaceId', 'workspaceId must be a uuid');
  if (workspaceId === PLATFORM_STREAM) fail('workspaceId', 'the nil uuid is the platform stream, not a workspace');
  const region = e.region;
  if (region !== undefined && region !== 'eu' && region !== 'us') fail('region', 'must be eu or us');
  if (workspaceId && !region) fail('region', 'audit event for a workspace needs its region');
  let targetType: string | undefined;
  let targetId: string | undefined;
  if (e.target !== undefined && e.target !== null) {
    const target = e.target as Record<string, unknown>;
    if (typeof target !== 'object' || typeof target.type !== 'string' || !TARGET_TYPE_PATTERN.test(target.type))
      fail('target.type', 'target type must be lower-case, e.g. conversation');
    targetType = target.type as string;
    targetId = optText(target.id, 'target.id', 200, true);
  }
  const reason = optText(e.reason, 'reason', 1000, true);
  if ((kind === 'employee' || kind === 'service') && !reason && isReadAction(action)) fail('reason', `a read by an ${kind} needs a reason`);
  if (typeof e.outcome !== 'string' || !OUTCOMES.has(e.outcome)) fail('outcome', 'must be success, failure or denied');
  const clientIp = typeof e.clientIp === 'string' && isIP(e.clientIp) ? e.clientIp : undefined;
  // Truncated, not refused: it is the client's to choose. Control characters go.
  const userAgent =
    typeof e.userAgent === 'string'
      ? clean(e.userAgent)
          .replace(/\p{Cc}/gu, ' ')
          .trim()
          .slice(0, 512) || undefined
      : undefined;
  return {
    database: workspaceId ? (region as Region) : 'control',
    row: {
      streamId: (workspaceId as string | null | undefined) || PLATFORM_STREAM,
      action,
      actorKind: kind,
      actorId,
      actorRole: optText(actor.role, 'actor.role', 64),
      actorName: optText(actor.displayName, 'actor.displayName', 200),
      targetType,
      targetId,
      reason,
      sessionId: optText(e.sessionId, 'sessionId', 200),
      clientIp,
      userAgent,
      outcome: e.outcome as string,
      metadata: canonicalMetadata(e.metadata, action),
    },
  };
}
