import type { Region } from '../config/config.ts';
import type { TranscriptLink } from './transcript-chain.ts';

export type ActorKind = 'employee' | 'customer' | 'service' | 'operator' | 'anonymous';
export const ACTOR_KINDS: readonly ActorKind[] = ['employee', 'customer', 'service', 'operator', 'anonymous'];
export type AuditOutcome = 'success' | 'failure' | 'denied';
export type MetadataValue = string | number | boolean | null;

/**
 * One access or security event, as callers hand it to `AuditLog.append`.
 * Validated by audit-validation.ts before it is queued: metadata must never
 * hold raw identifiers (phone numbers, e-mail addresses are refused), and an
 * employee's or service's read of customer data must carry a reason.
 */
export interface AuditEventInput {
  action: string; // dotted verb: auth.login, db.query, data.read, workspace.wipe …
  actor: { id: string; kind: ActorKind; role?: string; displayName?: string };
  workspaceId?: string | null; // null: platform event (control database)
  region?: Region; // required when workspaceId is set
  target?: { type: string; id?: string };
  reason?: string;
  sessionId?: string;
  clientIp?: string;
  userAgent?: string;
  outcome: AuditOutcome;
  metadata?: Record<string, MetadataValue>;
}

export interface AuditLog {
  /** Resolves once the event is durable; rejects if it could not be written (callers fail closed). */
  append(event: AuditEventInput): Promise<void>;
  /**
   * Opens a series: many events sharing the template's fields, each with its
   * own outcome and metadata (the gateway's statements). The template is
   * validated here (throws AuditValidationError); each append resolves once
   * that event is durable. Without `transcript`, the same rows and chain as
   * `append`, cheaper per event; with it, the record of a gateway transcript
   * (transcript-chain.ts): its own chain, group-committed with every other
   * connection's records, anchored into the stream when the connection ends.
   */
  series(template: Omit<AuditEventInput, 'outcome' | 'metadata'>): AuditSeries;
}

/** One event of a series: what differs from the template. */
export interface SeriesEvent {
  outcome: 'success' | 'failure' | 'denied';
  metadata?: Record<string, MetadataValue>;
  /** The record as linked into its transcript (outcome and metadata hashed there); see transcript-chain.ts. */
  transcript?: TranscriptLink;
  /** A transcript record nothing waits for (a statement's outcome part): written with the next commit, not one of its own. */
  lazy?: boolean;
}

export interface AuditSeries {
  append(event: SeriesEvent): Promise<void>;
  /**
   * Puts a transcript record in the place of `previous` (same transcript and
   * seq) if that one is still waiting to be written; false if it is not
   * (already written, or a series that cannot): then nothing changed.
   */
  replace?(previous: TranscriptLink, event: SeriesEvent & { transcript: TranscriptLink }): boolean;
  /**
   * Whether `link` is still waiting to be written, so that `replace` could
   * take its place — asked first, so a replacement that cannot happen is not
   * computed (its canonical form and hash). A hint only: `replace` decides.
   */
  waiting?(link: TranscriptLink): boolean;
}

/** The stream of platform events (no workspace) in the control database. */
export const PLATFORM_STREAM = '00000000-0000-0000-0000-000000000000';

/**
 * An event as stored and exported: every field is the exact string that the
 * canonical form hashes (null when absent).
 */
export interface StoredEvent {
  streamId: string;
  seq: string; // decimal; bigint in the database
  id: string;
  occurredAt: string; // YYYY-MM-DDTHH:MM:SS.ffffffZ (UTC, microseconds)
  action: string;
  actorKind: string;
  actorId: string;
  actorRole: string | null;
  actorName: string | null;
  targetType: string | null;
  targetId: string | null;
  reason: string | null;
  sessionId: string | null;
  clientIp: string | null;
  userAgent: string | null;
  outcome: string;
  metadata: string; // canonical JSON object text
  prevHash: string; // hex
  hash: string; // hex
}

/** A signed statement "event `seq` of stream `streamId` has hash `hash`". */
export interface SignedHead {
  streamId: string;
  seq: string;
  hash: string; // hex
  signedAt: string; // ISO, microseconds
  keyId: string;
  purpose: 'periodic' | 'export' | 'retention' | 'checkpoint';
  signature: string; // base64
}

/** Where an audit stream lives: a regional database, or control for the platform stream. */
export type AuditDatabase = 'control' | Region;
