import { AUDIT_DATABASES } from '../../shared/audit/audit-platform.ts';
import { runAuditRetention } from '../../shared/audit/audit-retention.ts';
import type { BrokerServices } from '../http/route-types.ts';
import { auditFeature } from './audit-feature.ts';

/**
 * Background work of the audit feature inside the broker: the audit signer
 * (its own key, see audit-signing-keys.ts) signs moved chain heads and writes
 * digest files every WACT_AUDIT_SIGN_INTERVAL_SECONDS and push due SIEM deliveries
 * every 30 s, and drop expired audit months daily. Failures are logged (a broken chain loudly) and retried next tick.
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
  const sign = guard(async () => {
    for (const db of AUDIT_DATABASES) {
      const r = await feature.parts.signer.signHeads(db, 'periodic');
      // Digest files: what the customer downloads and keeps as a witness (docs/audit-export.md).
      const d = await feature.parts.signer.makeDigests(db);
      for (const b of [...r.broken, ...d.broken]) logger.error({ streamId: b.streamId, seq: b.seq }, `AUDIT CHAIN BROKEN: ${b.message}`);
    }
  });
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
  const signTimer = setInterval(sign, services.config.raw.WACT_AUDIT_SIGN_INTERVAL_SECONDS * 1000);
  const pushTimer = setInterval(push, 30_000);
  signTimer.unref();
  pushTimer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(signTimer);
      clearInterval(pushTimer);
      clearInterval(retentionTimer);
      await running;
    },
  };
}
