import type { Platform } from '../runtime/platform.ts';
import { createSignerClient, type AuditSigningService } from './audit-sign-requests.ts';
import { createAuditSigner } from './audit-signing.ts';
import { signingKeyFromConfig } from './audit-signing-keys.ts';
import type { AuditDatabase } from './audit-types.ts';

export const AUDIT_DATABASES: AuditDatabase[] = ['control', 'eu', 'us'];

/**
 * The audit feature's parts wired on a Platform, holding the signing key: for
 * the signing worker (worker/jobs/audit-sign-jobs.ts) and development's direct
 * operator commands only. The broker uses brokerAuditParts.
 */
export function auditParts(platform: Pick<Platform, 'config' | 'pools' | 'audit'>) {
  const poolFor = (db: AuditDatabase) => (db === 'control' ? platform.pools.control : platform.pools.region(db));
  // The signer builds its key from its own settings; callers get the signer, never the key.
  const signer = createAuditSigner({ poolFor, key: signingKeyFromConfig(platform.config) });
  return { poolFor, signer, audit: platform.audit };
}

/**
 * The broker's audit parts: no signing key and no KMS client in the process;
 * signatures are asked of the audit signer through audit.sign_requests.
 */
export function brokerAuditParts(
  platform: Pick<Platform, 'config' | 'pools' | 'audit'>,
  opts: { signTimeoutMs?: number } = {},
): AuditParts {
  const poolFor = (db: AuditDatabase) => (db === 'control' ? platform.pools.control : platform.pools.region(db));
  return { poolFor, signer: createSignerClient({ poolFor, timeoutMs: opts.signTimeoutMs }), audit: platform.audit };
}

export interface AuditParts {
  poolFor: (db: AuditDatabase) => ReturnType<Platform['pools']['region']>;
  signer: AuditSigningService;
  audit: Platform['audit'];
}
