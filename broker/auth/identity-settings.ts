import path from 'node:path';
import type { Config } from '../../shared/config/config.ts';
import type { EmployeeRole } from '../../shared/permissions/permissions.ts';
import { readOrCreateSecret } from '../../shared/db/state-files.ts';
import { ConfigError } from '../../shared/errors/errors.ts';

/** The identity feature's settings, derived once from the validated configuration. */
export interface IdentitySettings {
  issuerUrl: string;
  clientId: string;
  clientSecret: string;
  /** Set after the broker listens (port 0 in tests) unless BROKER_PUBLIC_URL fixes it. */
  publicUrl: string;
  staffEmailDomain: string;
  staffGroupClaim: string;
  staffGroupRoles: { group: string; role: EmployeeRole }[];
  sessionIdleMs: number;
  sessionMaxMs: number;
  pendingSessionMs: number;
  totpMaxFailures: number;
  totpLockMs: number;
  ratePerIp: number;
  ratePerAccount: number;
  rateWindowMs: number;
  keyRegion: 'eu' | 'us';
}

export function devClientSecretPath(home: string): string {
  return path.join(home, 'oidc-client-secret');
}

/** The development client secret shared by the dev provider and the broker (state folder, mode 0600). */
export function devClientSecret(config: Config): string {
  return readOrCreateSecret(devClientSecretPath(config.home));
}

export function parseGroupRoles(spec: string): { group: string; role: EmployeeRole }[] {
  const out: { group: string; role: EmployeeRole }[] = [];
  for (const part of spec
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [group, role] = part.split('=').map((s) => s?.trim());
    if (!group || !['engineer', 'support', 'security'].includes(role ?? '')) {
      throw new ConfigError(`STAFF_GROUP_ROLES: "${part}" is not group=engineer|support|security`);
    }
    out.push({ group, role: role as EmployeeRole });
  }
  return out;
}

export function identitySettings(config: Config, overrides: { publicUrl?: string } = {}): IdentitySettings {
  const v = config.raw;
  const production = ['staging', 'production'].includes(config.env);
  if (production && !v.OIDC_CLIENT_SECRET)
    throw new ConfigError('refusing to start: set OIDC_CLIENT_SECRET (and OIDC_ISSUER_URL) outside development');
  if (production && !v.OIDC_ISSUER_URL) throw new ConfigError('refusing to start: set OIDC_ISSUER_URL outside development');
  return {
    issuerUrl: v.OIDC_ISSUER_URL ?? `https://${config.publicHost}:${config.ports.oidc}`,
    clientId: v.OIDC_CLIENT_ID,
    clientSecret: v.OIDC_CLIENT_SECRET ?? devClientSecret(config),
    publicUrl: (overrides.publicUrl ?? v.BROKER_PUBLIC_URL ?? `https://${config.publicHost}:${config.ports.broker}`).replace(/\/+$/, ''),
    staffEmailDomain: v.STAFF_EMAIL_DOMAIN.toLowerCase(),
    staffGroupClaim: v.STAFF_GROUP_CLAIM,
    staffGroupRoles: parseGroupRoles(v.STAFF_GROUP_ROLES),
    sessionIdleMs: v.SESSION_IDLE_MINUTES * 60_000,
    sessionMaxMs: v.SESSION_MAX_HOURS * 3_600_000,
    pendingSessionMs: 10 * 60_000,
    totpMaxFailures: v.TOTP_MAX_FAILURES,
    totpLockMs: v.TOTP_LOCK_MINUTES * 60_000,
    ratePerIp: v.LOGIN_RATE_PER_IP,
    ratePerAccount: v.LOGIN_RATE_PER_ACCOUNT,
    rateWindowMs: 15 * 60_000,
    keyRegion: v.IDENTITY_KEY_REGION,
  };
}
