import { AUDIT_DATABASES } from '../../shared/audit/audit-platform.ts';
import { runAuditRetention } from '../../shared/audit/audit-retention.ts';
import type { BrokerServices } from '../http/route-types.ts';
import { auditFeature } from './audit-feature.ts';

/**
 * Background work of the audit feature inside the broker: push due SIEM
 * deliveries every 30 s and drop expired audit months daily. Head signing and
 * digest files are the audit signer's (its own process, the only one with the
 * key: shared/audit/audit-signer-service.ts); what the broker needs signed it
 * asks for. Failures are logged and retried next tick.
 */
export function startAuditJobs(services: BrokerServices): { stop(): Promise<void> } {
  const { logger } = services.platform;
  const feature = auditFeature(services);
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  const guard = (fn: () => Promise<void>) => () => {
    if (stopped) return;
    running = running.then(fn).catch((err: unknown) => logger.error({ err }, 'audit job failed'));
  };
  const push = guard(async () => {
    for (const region of ['eu', 'us'] as const) await feature.siem.pushDue(region);
  });
  const retention = guard(async () => {
    const keepMonths = services.config.raw.WACT_AUDIT_RETENTION_MONTHS;
    const actor = { id: 'service:broker-audit-retention', kind: 'service' as const, role: 'retention' };
    for (const db of AUDIT_DATABASES) {
      const r = await runAuditRetention(feature.parts, db, { keepMonths, actor });
      for (const d of r.dropped) logger.info({ database: db, partition: d.partition, events: d.events }, 'audit month dropped (retention)');
    }
  });
  const retentionTimer = setInterval(retention, 24 * 3600_000);
  retentionTimer.unref();
  const pushTimer = setInterval(push, 30_000);
  pushTimer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(pushTimer);
      clearInterval(retentionTimer);
      await running;
    },
  };
}
