import type { Platform } from '../runtime/platform.ts';
import { createAuditSigner } from './audit-signing.ts';
import { signingKeyFromConfig } from './audit-signing-keys.ts';
import type { AuditDatabase } from './audit-types.ts';

export const AUDIT_DATABASES: AuditDatabase[] = ['control', 'eu', 'us'];

/** The audit feature's parts wired on a Platform (operator commands and the broker). */
export function auditParts(platform: Pick<Platform, 'config' | 'pools' | 'audit'>) {
  const poolFor = (db: AuditDatabase) => (db === 'control' ? platform.pools.control : platform.pools.region(db));
  // The signer builds its key from its own settings; callers get the signer, never the key.
  const signer = createAuditSigner({ poolFor, key: signingKeyFromConfig(platform.config) });
  return { poolFor, signer, audit: platform.audit };
}

export type AuditParts = ReturnType<typeof auditParts>;
