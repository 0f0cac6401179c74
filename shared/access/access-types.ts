import { z } from 'zod';
import type { Region } from '../config/config.ts';
import { BadRequestError } from '../errors/errors.ts';

export const SCOPES = ['redacted', 'full'] as const;
export type Scope = (typeof SCOPES)[number];
export type SessionStatusName = 'pending' | 'active' | 'denied' | 'expired' | 'revoked' | 'ended';
export type DbAuthMode = 'password' | 'rds-iam';

/** The employee acting (from the broker's AuthContext). */
export interface AccessActor {
  userId: string;
  displayName: string;
  employeeRole: 'engineer' | 'support' | 'security';
}

export const MAX_TTL_SECONDS = 15 * 60;
export const MIN_TTL_SECONDS = 60;

/** "5m", "90s", "15" (minutes) or a number of seconds → seconds. */
export function parseTtl(value: string | number | undefined, defaults: { defaultSeconds: number; maxSeconds: number }): number {
  if (value === undefined || value === '') return defaults.defaultSeconds;
  let seconds: number;
  if (typeof value === 'number') seconds = value;
  else {
    const m = /^\s*(\d{1,5})\s*(s|sec|m|min)?\s*$/i.exec(value);
    if (!m) throw new BadRequestError('ttl must look like 5m or 300s', 'invalid_ttl');
    seconds = Number(m[1]) * (m[2] && m[2].toLowerCase().startsWith('s') ? 1 : 60);
  }
  if (!Number.isInteger(seconds) || seconds < MIN_TTL_SECONDS) throw new BadRequestError('ttl must be at least 1 minute', 'invalid_ttl');
  if (seconds > defaults.maxSeconds) throw new BadRequestError(`ttl must be at most ${defaults.maxSeconds / 60} minutes`, 'ttl_too_long');
  return seconds;
}

const TICKET_PATTERNS = [
  /\b(?:INC|CHG|RITM|PRB|REQ)\d{5,10}\b/, // ServiceNow
  /\b[A-Z][A-Z0-9]{1,9}-\d{1,7}\b/, // Jira / Linear
  /\b(?:ZD|zd)[-#]?\d{3,10}\b/, // Zendesk
  /(?:^|\s)#\d{3,10}\b/, // "#12345"
  /https:\/\/[\w.-]+\/[\w./-]*(?:issues|tickets|browse)\/[\w-]+/, // a ticket URL
];

/** The first ticket reference in a reason, if any (stored separately for filtering and display). */
export function ticketFromReason(reason: string): string | null {
  for (const p of TICKET_PATTERNS) {
    const m = p.exec(reason);
    if (m) return m[0].trim().slice(0, 64);
  }
  return null;
}

export const requestInput = z.object({
  workspaceId: z.string().uuid(),
  reason: z.string().trim().min(10, 'reason must be at least 10 characters').max(1000),
  ttl: z.union([z.string().max(16), z.number().int()]).optional(),
  scope: z.enum(SCOPES).default('redacted'),
});
export type RequestInput = z.input<typeof requestInput>;

export const decisionInput = z.object({ note: z.string().trim().max(1000).optional() }).default({});

export const listQuery = z.object({
  status: z.enum(['pending', 'active', 'denied', 'expired', 'revoked', 'ended']).optional(),
  workspaceId: z.string().uuid().optional(),
  mine: z.boolean().optional(),
  sort: z.enum(['requestedAt', 'expiresAt', 'status', 'workspaceId', 'statements']).default('requestedAt'),
  order: z.enum(['ASC', 'DESC']).default('DESC'),
  offset: z.number().int().min(0).default(0),
  limit: z.number().int().min(1).max(200).default(25),
});
export type ListQuery = z.input<typeof listQuery>;

/** An access session as the API and the CLI show it (never the token or the credential). */
export interface AccessSessionView {
  id: string;
  requesterId: string;
  requesterName: string;
  requesterRole: string;
  workspaceId: string;
  region: Region;
  scope: Scope;
  purpose: 'db' | 'support';
  reason: string;
  ticketRef: string | null;
  ttlSeconds: number;
  status: SessionStatusName;
  requestedAt: string;
  decidedByName: string | null;
  decidedAt: string | null;
  decisionNote: string | null;
  grantedAt: string | null;
  expiresAt: string | null;
  revokedByName: string | null;
  revokedAt: string | null;
  endedAt: string | null;
  statements: number;
  lastStatementAt: string | null;
  /**
   * The session's database role: none (never minted), live, disabling (the
   * session ended but "no grant, no login" is not confirmed yet), disabled
   * (no grant, no login, backends terminated; the drop is outstanding),
   * dropped. Anything but live/dropped/none on an ended session is retried by
   * the sweeper; the error says why it has not finished.
   */
  role: 'none' | 'live' | 'disabling' | 'disabled' | 'dropped';
  roleCleanupError: string | null;
  roleCleanupAttempts: number;
  roleCleanupFailedAt: string | null;
}

/**
 * How to reach the gateway with a session: shown once, to the requester only. The token is only
 * ever the `password` field, never part of a URL or a command (see connection-details.ts).
 */
export interface ConnectionInfo {
  host: string;
  port: number;
  user: string;
  /** The session token: secret, expires with the session. Give it to psql as PGPASSWORD or a 0600 passfile. */
  password: string;
  database: string;
  /** The client must check the gateway's certificate and host name. */
  sslmode: 'verify-full';
  /** PEM of the CA(s) the gateway's certificate chains to (for PGSSLROOTCERT); null: the system store. */
  sslrootcert: string | null;
  /** SHA-256 fingerprint of that CA, to compare out of band. */
  caFingerprint: string | null;
  /** PGHOST, PGPORT, PGDATABASE, PGUSER, PGSSLMODE (no secret; PGSSLROOTCERT is the client's own file). */
  env: Record<string, string>;
  /** The psql command: it takes everything from the environment and asks for the password itself. */
  psql: string;
}

/** The CA a client trusts for the gateway. */
export interface GatewayTrust {
  pem: string;
  fingerprint256: string;
}

export interface AccessSettings {
  defaultTtlSeconds: number;
  maxTtlSeconds: number;
  authMode: DbAuthMode;
  gatewayHost: string;
  gatewayPort: number;
  /** The CA the gateway's certificate chains to, handed to clients for sslmode=verify-full. */
  gatewayTrust?: () => GatewayTrust | undefined;
  /** Pending requests nobody decided on expire after this long. */
  pendingTimeoutSeconds: number;
  rdsRegions: Record<Region, string>;
}

/** An active session whose id and token a client presented correctly (the gateway's login). */
export interface PresentedSession {
  id: string;
  workspaceId: string;
  region: Region;
  scope: Scope;
  reason: string;
  ticketRef: string | null;
  expiresAt: Date;
  roleName: string;
  actor: { id: string; displayName: string; role: string };
}

/**
 * A presented session id and token, checked: `invalid` says nothing more (unknown
 * session or wrong token); with the right token, `unusable` says why the session
 * cannot be used (revoked by whom, expired, …).
 */
export type TokenCheck =
  { ok: true; session: PresentedSession } | { ok: false; refusal: 'invalid' } | { ok: false; refusal: 'unusable'; message: string };

/** Where a session's status stands, for whoever holds its connections (the gateway). */
export interface SessionState {
  status: SessionStatusName;
  expiresAt: Date | null;
  revokedByName: string | null;
}

/** The session role's login to its regional database (the credential never leaves the process). */
export interface SessionLogin {
  user: string;
  /** A password, or a freshly signed RDS IAM token. */
  password: () => Promise<string>;
}
