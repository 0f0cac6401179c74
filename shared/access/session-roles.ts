import crypto from 'node:crypto';
import { Signer } from '@aws-sdk/rds-signer';
import type pg from 'pg';
import type { Region } from '../config/config.ts';
import { scramVerifier } from '../crypto/scram.ts';
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

/**
 * Ending a role is three calls, each its own transaction (regional 0410), in
 * this order: disable (no grant, no group, NOLOGIN) must commit before the
 * backends are terminated, so a reconnect in between is refused; the drop
 * comes last and may fail without undoing either.
 */
export interface SessionRoles {
  mint(input: {
    sessionId: string;
    region: Region;
    workspaceId: string;
    scope: Scope;
    expiresAt: Date;
  }): Promise<{ roleName: string; password: string | null }>;
  /** No grant, no group membership, NOLOGIN; committed when it returns. False if the role does not exist. */
  disable(region: Region, roleName: string): Promise<boolean>;
  /** Terminates the role's backends (waiting up to 2 s each); returns how many there were. */
  terminate(region: Region, roleName: string): Promise<number>;
  /** DROP OWNED BY and DROP ROLE; throws if the role can still log in, has a backend, or cannot be dropped. */
  drop(region: Region, roleName: string): Promise<boolean>;
  /** All three in order; returns how many backends were terminated. */
  end(region: Region, roleName: string): Promise<number>;
  stale(region: Region): Promise<string[]>;
}

export function createSessionRoles(deps: { regionPool: (r: Region) => pg.Pool; authMode: DbAuthMode }): SessionRoles {
  const one = async <T>(region: Region, sql: string, roleName: string): Promise<T> => {
    const { rows } = await deps.regionPool(region).query<{ v: T }>(sql, [roleName]);
    return rows[0].v;
  };
  const roles: SessionRoles = {
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
    // Each a single statement on the pool: autocommit, so each is committed before the next starts.
    disable: (region, roleName) => one<boolean>(region, 'SELECT wact_private.disable_session_role($1) AS v', roleName),
    terminate: (region, roleName) => one<number>(region, 'SELECT wact_private.terminate_session_backends($1) AS v', roleName),
    drop: (region, roleName) => one<boolean>(region, 'SELECT wact_private.drop_session_role($1) AS v', roleName),
    async end(region, roleName) {
      await roles.disable(region, roleName);
      const n = await roles.terminate(region, roleName);
      await roles.drop(region, roleName);
      return n;
    },
    async stale(region) {
      const { rows } = await deps.regionPool(region).query<{ r: string }>('SELECT r FROM wact_private.stale_session_roles() AS r');
      return rows.map((x) => x.r);
    },
  };
  return roles;
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
