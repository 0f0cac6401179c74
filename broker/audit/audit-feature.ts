import { brokerAuditParts, type AuditParts } from '../../shared/audit/audit-platform.ts';
import { createSiemService, type SiemService } from '../../shared/audit/audit-siem.ts';
import { createOutboundClient } from '../../shared/http/outbound-client.ts';
import { outboundCaList, outboundExtraCa } from '../../shared/http/tls.ts';
import type { BrokerServices } from '../http/route-types.ts';

export interface AuditFeature {
  parts: AuditParts;
  siem: SiemService;
}

/**
 * The audit feature's long-lived helpers for one broker process, created on
 * first use and kept in services.features.audit. The broker holds no audit
 * signing key: it asks the audit signer process (brokerAuditParts).
 */
export function auditFeature(services: BrokerServices): AuditFeature {
  let f = services.features.audit as AuditFeature | undefined;
  if (!f) {
    const parts = brokerAuditParts(services.platform);
    // Customer destinations go through the guarded client: system roots plus the extra CA,
    // address checked at connect time (shared/http/outbound-client.ts).
    const outbound = createOutboundClient({
      env: services.config.env,
      devAllow: (services.config.raw.WACT_OUTBOUND_DEV_ALLOW ?? '').split(','),
      ca: outboundCaList(outboundExtraCa(services.config)),
    });
    f = {
      parts,
      siem: createSiemService({
        parts,
        fieldCrypto: services.fieldCrypto,
        outbound,
        log: (msg, extra) => services.platform.logger.warn(extra ?? {}, msg),
      }),
    };
    services.features.audit = f;
  }
  return f;
}
