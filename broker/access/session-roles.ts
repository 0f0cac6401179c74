import crypto from 'node:crypto';
import { Signer } from '@aws-sdk/rds-signer';
import type pg from 'pg';
import type { Region } from '../../shared/config/config.ts';
import { scramVerifier } from '../gateway/scram.ts';
import type { DbAuthMode, Scope } from './access-types.ts';

/**
 * Session roles in a regional database, through wact_owner's definer
 * functions (regional 0400): wact_broker holds EXECUTE on them, never
 * CREATEROLE. In password mode the broker draws a random password, sends the
 * server only its SCRAM verifier, and keeps the password (encrypted) for the
 * gateway; in rds-iam mode there is no password at all: the gateway signs a
 * 15-minute IAM token per connection.
 */

/** Deterministic from the session id, so either side can find the other. */
export function roleNameFor(sessionId: string): string {
  return `wact_sess_${sessionId.replace(/-/g, '').toLowerCase()}`;
}

export interface SessionRoles {
  mint(input: {
    sessionId: string;
    region: Region;
    workspaceId: string;
    scope: Scope;
    expiresAt: Date;
  }): Promise<{ roleName: string; password: string | null }>;
  /** Terminates the role's backends and drops it; returns how many backends were terminated. */
  end(region: Region, roleName: string): Promise<number>;
  stale(region: Region): Promise<string[]>;
}

export function createSessionRoles(deps: { regionPool: (r: Region) => pg.Pool; authMode: DbAuthMode }): SessionRoles {
  return {
    async mint({ sessionId, region, workspaceId, scope, expiresAt }) {
      const roleName = roleNameFor(sessionId);
      const password = deps.authMode === 'password' ? crypto.randomBytes(32).toString('base64url') : null;
      const verifier = password ? scramVerifier(password) : null;
      await deps
        .regionPool(region)
        .query('SELECT wact_private.mint_session_role($1, $2, $3, $4, $5, $6)', [
          roleName,
          workspaceId,
          scope,
          expiresAt,
          deps.authMode,
          verifier,
        ]);
      return { roleName, password };
    },
    async end(region, roleName) {
      const { rows } = await deps.regionPool(region).query<{ n: number }>('SELECT wact_private.end_session_role($1) AS n', [roleName]);
      return rows[0]?.n ?? 0;
    },
    async stale(region) {
      const { rows } = await deps.regionPool(region).query<{ r: string }>('SELECT r FROM wact_private.stale_session_roles() AS r');
      return rows.map((x) => x.r);
    },
  };
}

/** An RDS IAM authentication token for the session role (valid 15 minutes for new connections). */
export function rdsIamToken(opts: {
  hostname: string;
  port: number;
  username: string;
  region: string;
  credentials?: ConstructorParameters<typeof Signer>[0]['credentials'];
}): Promise<string> {
  return new Signer({
    hostname: opts.hostname,
    port: opts.port,
    username: opts.username,
    region: opts.region,
    credentials: opts.credentials,
  }).getAuthToken();
}
