import type { Region } from '../../shared/config/config.ts';
import type { UpstreamLogin, UpstreamTarget } from './upstream-client.ts';

/** What the gateway knows about an authenticated access session. */
export interface GatewaySession {
  id: string;
  workspaceId: string;
  region: Region;
  scope: 'redacted' | 'full';
  reason: string;
  ticketRef: string | null;
  expiresAt: Date;
  roleName: string;
  actor: { id: string; displayName: string; role: string };
}

export interface SessionStatus {
  status: 'pending' | 'active' | 'denied' | 'expired' | 'revoked' | 'ended';
  expiresAt: Date | null;
  revokedByName: string | null;
}

/** Refusal at login, with the SQLSTATE and the message the client sees. */
export class GatewayAuthError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'GatewayAuthError';
    this.code = code;
  }
}

/** The access feature, as the gateway needs it (the access service, through access-session-source.ts). */
export interface GatewaySessionSource {
  /** Checks the session id and token; throws GatewayAuthError. */
  authenticate(sessionId: string, token: string): Promise<GatewaySession>;
  /** Where and how to log in upstream as the session role (the credential never leaves the broker). */
  upstream(session: GatewaySession): Promise<{ target: UpstreamTarget; login: UpstreamLogin }>;
  statuses(ids: string[]): Promise<Map<string, SessionStatus>>;
  addStatements(counts: Map<string, number>): Promise<void>;
}

/** The FATAL text a client sees when its session ends. */
export function endMessage(status: SessionStatus | undefined): string {
  if (!status) return 'session ended';
  if (status.status === 'revoked') return `session revoked by ${status.revokedByName ?? 'security'}`;
  if (status.status === 'expired') return 'session expired';
  if (status.status === 'active' && status.expiresAt && status.expiresAt.getTime() <= Date.now()) return 'session expired';
  return `session ${status.status}`;
}
