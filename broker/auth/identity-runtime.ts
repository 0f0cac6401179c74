import type { Platform } from '../../shared/runtime/platform.ts';
import { keyProviders } from '../../shared/runtime/platform.ts';
import { createMembersDal } from '../members/members-dal.ts';
import type { IdentitySettings } from './identity-settings.ts';
import { createOidcClient } from './oidc-client.ts';
import { createRateLimiter } from './rate-limit.ts';
import { createSessionService } from './session-service.ts';
import { createTotpSecretBox } from './totp-secret-box.ts';
import { createTotpService } from './totp-service.ts';
import { createUserService } from './user-service.ts';

export const OIDC_SCOPES = 'openid email profile groups';

/** Everything the identity feature needs at runtime, built once per broker process. */
export function createIdentityRuntime(platform: Platform, settings: IdentitySettings, opts: { issuerCa?: string } = {}) {
  const pool = platform.pools.control;
  const box = createTotpSecretBox({ provider: keyProviders(platform.config)(settings.keyRegion), region: settings.keyRegion });
  return {
    settings,
    platform,
    audit: platform.audit,
    logger: platform.logger,
    sessions: createSessionService({
      pool,
      idleMs: settings.sessionIdleMs,
      maxMs: settings.sessionMaxMs,
      pendingMs: settings.pendingSessionMs,
    }),
    users: createUserService({
      pool,
      audit: platform.audit,
      staffEmailDomain: settings.staffEmailDomain,
      staffGroupClaim: settings.staffGroupClaim,
      staffGroupRoles: settings.staffGroupRoles,
    }),
    totp: createTotpService({ pool, box, maxFailures: settings.totpMaxFailures, lockMs: settings.totpLockMs }),
    members: createMembersDal(pool),
    limiter: createRateLimiter({ pool, windowMs: settings.rateWindowMs, namespace: settings.clientId }),
    oidc: createOidcClient({
      issuerUrl: settings.issuerUrl,
      clientId: settings.clientId,
      clientSecret: settings.clientSecret,
      redirectUri: () => `${settings.publicUrl}/auth/callback`,
      scopes: OIDC_SCOPES,
      ca: opts.issuerCa,
    }),
  };
}

export type IdentityRuntime = ReturnType<typeof createIdentityRuntime>;
