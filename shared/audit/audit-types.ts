import type { Region } from '../config/config.ts';

export type ActorKind = 'employee' | 'customer' | 'service' | 'operator' | 'anonymous';

/** One access or security event. Metadata must never hold raw identifiers. */
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
  outcome: 'success' | 'failure' | 'denied';
  metadata?: Record<string, string | number | boolean | null>;
}

export interface AuditLog {
  /** Resolves once the event is durable; rejects if it could not be written (callers fail closed). */
  append(event: AuditEventInput): Promise<void>;
}
