import { AUDIT_DATABASES, brokerAuditParts } from '../../shared/audit/audit-platform.ts';
import { runAuditRetention } from '../../shared/audit/audit-retention.ts';
import { createSiemService } from '../../shared/audit/audit-siem.ts';
import { createFieldCrypto } from '../../shared/crypto/field-cipher.ts';
import { createOutboundClient } from '../../shared/http/outbound-client.ts';
import { outboundCaList, outboundExtraCa } from '../../shared/http/tls.ts';
import type { JobFactory } from '../worker-types.ts';

/** Seconds between SIEM pushes of due deliveries. */
export const SIEM_PUSH_SECONDS = 30;
/** Daily, UTC: whole audit months past WACT_AUDIT_RETENTION_MONTHS are dropped. */
export const AUDIT_RETENTION_CRON = '41 2 * * *';

/**
 * The audit feature's background work without the signing key: pushing due
 * SIEM deliveries (each push carries a signed head, asked of the signing
 * worker through audit.sign_requests) and dropping expired audit months.
 */
export const auditJobs: JobFactory = (root, opts) => {
  const platform = root.platform('broker');
  const parts = brokerAuditParts(platform);
  // Customer destinations go through the guarded client: address checked at connect time.
  const outbound = createOutboundClient({
    env: root.config.env,
    devAllow: (root.config.raw.WACT_OUTBOUND_DEV_ALLOW ?? '').split(','),
    ca: outboundCaList(outboundExtraCa(root.config)),
  });
  const siem = createSiemService({
    parts,
    fieldCrypto: createFieldCrypto(platform.keyring),
    outbound,
    log: (msg, extra) => platform.logger.warn(extra ?? {}, msg),
  });
  const actor = { id: 'service:worker-audit-retention', kind: 'service' as const, role: 'retention' };
  return {
    jobs: [
      {
        group: 'audit',
        scope: 'region',
        queue: {
          name: 'audit.siem_push',
          policy: 'stately',
          retryLimit: 2,
          retryDelaySeconds: 30,
          retryBackoff: true,
          expireInSeconds: 600,
        },
        schedule: { everySeconds: opts.intervals?.siemPush ?? SIEM_PUSH_SECONDS },
        async run(job) {
          await siem.pushDue(job.region);
        },
      },
      {
        group: 'audit',
        scope: 'global',
        queue: {
          name: 'audit.retention',
          policy: 'stately',
          retryLimit: 3,
          retryDelaySeconds: 600,
          retryBackoff: true,
          expireInSeconds: 6 * 3600,
        },
        schedule: { cron: AUDIT_RETENTION_CRON },
        async run() {
          for (const db of AUDIT_DATABASES) {
            const r = await runAuditRetention(parts, db, { keepMonths: root.config.raw.WACT_AUDIT_RETENTION_MONTHS, actor });
            for (const d of r.dropped)
              platform.logger.info({ database: db, partition: d.partition, events: d.events }, 'audit month dropped (retention)');
            for (const t of r.transcripts)
              platform.logger.info(
                { database: db, workspaceId: t.streamId, transcripts: t.transcripts },
                'gateway transcripts dropped (retention)',
              );
          }
        },
      },
    ],
    close: () => outbound.close(),
  };
};
