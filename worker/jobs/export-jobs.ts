import { createExportSender } from '../../shared/export/export-sender.ts';
import { exportSettings } from '../../shared/export/export-settings.ts';
import { createExportWorker } from '../../shared/export/export-worker.ts';
import { createFieldCrypto } from '../../shared/crypto/field-cipher.ts';
import { createPlatformCredentialService } from '../../shared/workspaces/platform-credentials/platform-credentials-service.ts';
import { createWorkspaceDirectory } from '../../shared/workspaces/workspace-directory.ts';
import type { JobFactory } from '../worker-types.ts';

/**
 * Conversions to the ad platforms: ingest queues one job per export in the
 * conversion's transaction (transactional outbox); the worker sends it, as
 * wact_ingest (the role that owns the attribution tables' grants), with
 * pg-boss retrying retryable failures with backoff (EXPORT_RETRY_*).
 */
export const exportJobs: JobFactory = (root) => {
  const settings = exportSettings(root.config);
  if (!settings.enabled) return { jobs: [] };
  const platform = root.platform('ingest');
  const crypto = createFieldCrypto(platform.keyring);
  const poolFor = platform.pools.region;
  const sender = createExportSender({ timeoutMs: settings.timeoutMs, ca: root.tls.ca, allowHttp: root.config.env !== 'production' });
  const worker = createExportWorker({
    poolFor: (r) => poolFor(r),
    directory: createWorkspaceDirectory({ workspaces: platform.workspaces, ttlMs: root.config.raw.INGEST_WORKSPACE_CACHE_SECONDS * 1000 }),
    audit: platform.audit,
    crypto,
    platforms: createPlatformCredentialService({ crypto, poolFor: (r) => poolFor(r) }),
    sender,
    urls: settings.urls,
    logger: platform.logger,
  });
  return {
    jobs: [
      {
        group: 'export',
        scope: 'region',
        queue: {
          name: settings.queue,
          retryLimit: settings.retryLimit,
          retryDelaySeconds: settings.retryDelaySeconds,
          retryBackoff: true,
        },
        pollSeconds: root.config.env === 'test' ? 0.5 : 2,
        async run(job) {
          await worker.run(job.data);
        },
      },
    ],
    close: () => sender.close(),
  };
};
