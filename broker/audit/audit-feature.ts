import fs from 'node:fs';
import tls from 'node:tls';
import { Agent } from 'undici';
import { auditParts, type AuditParts } from '../../shared/audit/audit-platform.ts';
import { createSiemService, type SiemService } from '../../shared/audit/audit-siem.ts';
import type { BrokerServices } from '../http/route-types.ts';

export interface AuditFeature {
  parts: AuditParts;
  siem: SiemService;
}

/**
 * The audit feature's long-lived helpers for one broker process (the signer
 * caches the unwrapped signing key), created on first use and kept in
 * services.features.audit.
 */
export function auditFeature(services: BrokerServices): AuditFeature {
  let f = services.features.audit as AuditFeature | undefined;
  if (!f) {
    const parts = auditParts(services.platform);
    // Outside production a SIEM may sit behind the development CA (on top of the public roots).
    const caFile = services.config.env !== 'production' ? services.config.tls.caFile : undefined;
    const ca = caFile && fs.existsSync(caFile) ? [...tls.rootCertificates, fs.readFileSync(caFile, 'utf8')] : undefined;
    f = {
      parts,
      siem: createSiemService({
        parts,
        fieldCrypto: services.fieldCrypto,
        allowPrivate: services.config.raw.WACT_AUDIT_SIEM_ALLOW_PRIVATE,
        dispatcher: ca ? new Agent({ connect: { ca } }) : undefined,
        log: (msg, extra) => services.platform.logger.warn(extra ?? {}, msg),
      }),
    };
    services.features.audit = f;
  }
  return f;
}
