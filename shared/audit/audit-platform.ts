import type { Platform } from '../runtime/platform.ts';
import { keyProviders } from '../runtime/platform.ts';
import { createAuditSigner } from './audit-signing.ts';
import type { AuditDatabase } from './audit-types.ts';

export const AUDIT_DATABASES: AuditDatabase[] = ['control', 'eu', 'us'];

/** The audit feature's parts wired on a Platform (operator commands and the broker). */
export function auditParts(platform: Pick<Platform, 'config' | 'pools' | 'audit'>) {
  const poolFor = (db: AuditDatabase) => (db === 'control' ? platform.pools.control : platform.pools.region(db));
  const signer = createAuditSigner({
    poolFor,
    providerFor: keyProviders(platform.config),
    controlKekRegion: platform.config.raw.WACT_AUDIT_CONTROL_KEK_REGION,
  });
  return { poolFor, signer, audit: platform.audit };
}

export type AuditParts = ReturnType<typeof auditParts>;
