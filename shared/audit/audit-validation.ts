import { isIP } from 'node:net';
import { z } from 'zod';
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

/** Reads of customer data that employees and services must justify (twin of audit.is_read_action). */
export function isReadAction(action: string): boolean {
  return /^data\./.test(action) || action === 'db.query' || /\.(read|list|show|search|export|download|unmask|browse)$/.test(action);
}

// Raw identifiers the log must never hold. Deliberately conservative: false
// positives make the caller rephrase; a false negative leaks a phone number.
const EMAIL = /[^\s@]+@[^\s@]+\.[^\s@.]{2,}/;
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

const noIdentifier = (what: string) => (v: string) => !looksLikeIdentifier(v) || `${what} looks like it holds a raw identifier (phone number or e-mail)`;

/** Optional text: '' and whitespace-only count as absent. */
const optText = (max: number, what: string, checkIdentifiers = false) =>
  z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : typeof v === 'string' ? v.trim() : v),
    z
      .string()
      .max(max, `${what} is longer than ${max} characters`)
      .refine((v) => !checkIdentifiers || !looksLikeIdentifier(v), `${what} looks like it holds a raw identifier (phone number or e-mail)`)
      .optional(),
  );

const metadataValue = z.union([
  z.string().max(MAX_METADATA_STRING, `metadata strings are at most ${MAX_METADATA_STRING} characters`).refine((v) => !looksLikeIdentifier(v), 'metadata looks like it holds a raw identifier (phone number or e-mail)'),
  z
    .number()
    .finite()
    // A 10–15 digit integer is more likely a phone number than a count.
    .refine((n) => !Number.isInteger(n) || Math.abs(n) < 1e9 || Math.abs(n) >= 1e15, 'metadata number looks like a phone number'),
  z.boolean(),
  z.null(),
]);

export const auditEventSchema = z
  .object({
    action: z.string().regex(ACTION_PATTERN, 'action must be a dotted lower-case verb such as data.read'),
    actor: z.object({
      id: z.string().trim().min(1, 'actor id is required').max(200),
      kind: z.enum(ACTOR_KINDS as [string, ...string[]]),
      role: optText(64, 'actor role'),
      displayName: optText(200, 'actor display name'),
    }),
    workspaceId: z.string().uuid('workspaceId must be a uuid').nullish(),
    region: z.enum(['eu', 'us']).optional(),
    target: z
      .object({
        type: z.string().regex(TARGET_TYPE_PATTERN, 'target type must be lower-case, e.g. conversation'),
        id: optText(200, 'target id', true),
      })
      .optional(),
    reason: optText(1000, 'reason', true),
    sessionId: optText(200, 'session id'),
    clientIp: z.preprocess((v) => (typeof v === 'string' && isIP(v) ? v : undefined), z.string().optional()),
    // Truncated, not refused: it is the client's to choose. Control characters go.
    userAgent: z.preprocess((v) => (typeof v === 'string' ? v.replace(/[\u0000-\u001f\u007f]/g, ' ').trim().slice(0, 512) || undefined : undefined), z.string().optional()),
    outcome: z.enum(['success', 'failure', 'denied']),
    metadata: z
      .record(z.string().regex(METADATA_KEY_PATTERN, 'metadata keys are identifiers such as rowCount').refine((k) => !IDENTIFIER_KEY.test(k), 'metadata must not carry phone numbers or e-mail addresses'), metadataValue)
      .refine((m) => Object.keys(m).length <= MAX_METADATA_KEYS, `metadata has at most ${MAX_METADATA_KEYS} keys`)
      .optional(),
  })
  .superRefine((e, ctx) => {
    if (e.workspaceId && !e.region) ctx.addIssue({ code: 'custom', message: 'audit event for a workspace needs its region' });
    if ((e.actor.kind === 'employee' || e.actor.kind === 'service') && isReadAction(e.action) && !e.reason) {
      ctx.addIssue({ code: 'custom', message: `a read by an ${e.actor.kind} needs a reason` });
    }
    if (e.workspaceId === PLATFORM_STREAM) ctx.addIssue({ code: 'custom', message: 'the nil uuid is the platform stream, not a workspace' });
  });

/**
 * NUL is not storable in PostgreSQL text and lone surrogates are not UTF-8:
 * both would fail the whole batch in the database, so they go here.
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
function sanitise(v: unknown, depth = 0): unknown {
  if (typeof v === 'string') return v.replace(LONE_SURROGATE, '\ufffd').replaceAll('\u0000', '');
  if (depth > 3 || v === null || typeof v !== 'object' || Array.isArray(v)) return v;
  return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, sanitise(x, depth + 1)]));
}

/** Canonical JSON of a flat metadata object: sorted keys, no whitespace. */
export function canonicalMetadata(m: Record<string, MetadataValue> | undefined): string {
  if (!m) return '{}';
  const out: Record<string, MetadataValue> = {};
  for (const k of Object.keys(m).sort()) out[k] = m[k];
  return JSON.stringify(out);
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
  const parsed = auditEventSchema.safeParse(sanitise(event));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.length ? `${issue.path.join('.')}: ` : '';
    throw new AuditValidationError(`invalid audit event: ${where}${issue.message}`);
  }
  const e = parsed.data;
  const metadata = canonicalMetadata(e.metadata as Record<string, MetadataValue> | undefined);
  if (metadata.length > MAX_METADATA_JSON) throw new AuditValidationError(`invalid audit event: metadata is larger than ${MAX_METADATA_JSON} bytes`);
  return {
    database: e.workspaceId ? (e.region as Region) : 'control',
    row: {
      streamId: e.workspaceId ?? PLATFORM_STREAM,
      action: e.action,
      actorKind: e.actor.kind,
      actorId: e.actor.id,
      actorRole: e.actor.role,
      actorName: e.actor.displayName,
      targetType: e.target?.type,
      targetId: e.target?.id,
      reason: e.reason,
      sessionId: e.sessionId,
      clientIp: e.clientIp,
      userAgent: e.userAgent,
      outcome: e.outcome,
      metadata,
    },
  };
}
