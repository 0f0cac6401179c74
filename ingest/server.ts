import type { AddressInfo } from 'node:net';
import type { Region } from '../shared/config/config.ts';
import { REGIONS } from '../shared/config/config.ts';
import { createFieldCrypto } from '../shared/crypto/field-cipher.ts';
import { clientConfigFor } from '../shared/db/database-urls.ts';
import { createHttpsServer } from '../shared/http/tls.ts';
import { createJobQueue, type JobQueue } from '../shared/jobs/job-queue.ts';
import { serializeError } from '../shared/logging/logger.ts';
import { rootFor, type ServiceRoot } from '../shared/runtime/service-root.ts';
import type { RunningService, ServiceContext } from '../shared/runtime/service-types.ts';
import { createApiKeyService } from '../shared/workspaces/api-keys/api-keys-service.ts';
import { createBspCredentialService } from '../shared/workspaces/bsp-credentials/bsp-credentials-service.ts';
import { createClickService } from './clicks/click-service.ts';
import { createConversionService } from './conversions/conversion-service.ts';
import { createPlatformCredentialService } from '../shared/workspaces/platform-credentials/platform-credentials-service.ts';
import { createIngestHandler } from './ingest-app.ts';
import { ingestSettings } from './ingest-settings.ts';
import { createLinkService } from '../shared/workspaces/links/links-service.ts';
import { createProviderRegistry } from './providers/registry.ts';
import { createInboundWriter, type InboundWriter } from './webhooks/inbound-writer.ts';
import { createWebhookService } from './webhooks/webhook-service.ts';
import { createWorkspaceDirectory } from '../shared/workspaces/workspace-directory.ts';

export interface IngestService extends RunningService {
  /** The port actually bound (tests listen on 0). */
  port: number;
}

/**
 * Starts ingest: HTTPS on config.ports.ingest, one group-commit writer and one
 * pg-boss producer per region (conversions queue their exports; the worker
 * sends them). No timer and no job runs here: any number of ingests can run
 * behind a load balancer. Connects to the databases as wact_ingest only.
 */
export async function startIngest(ctx: ServiceContext | ServiceRoot): Promise<IngestService> {
  const { root, owned } = rootFor(ctx, 'ingest');
  const { config, databases, tls } = root;
  const settings = ingestSettings(config);
  const platform = root.platform('ingest');
  const { pools, keyring, logger } = platform;
  const poolFor = (r: Region) => pools.region(r);
  const crypto = createFieldCrypto(keyring);
  const directory = createWorkspaceDirectory({ workspaces: platform.workspaces, ttlMs: settings.cacheTtlMs });
  const providers = createProviderRegistry({ birdToleranceMs: settings.birdToleranceMs });
  const credentials = createBspCredentialService({ crypto, poolFor, ttlMs: settings.cacheTtlMs });
  const platformCredentials = createPlatformCredentialService({ crypto, poolFor });

  // Once at start, so a fresh database takes webhooks at once; keeping them ahead is the worker's hourly job.
  for (const r of REGIONS) {
    await pools
      .region(r)
      .query('SELECT wact_private.ensure_ingest_partitions(current_date - 1, 15)')
      .catch((err: unknown) => logger.error({ err: serializeError(err), region: r }, 'partition upkeep failed'));
  }

  const writers = Object.fromEntries(
    REGIONS.map((r) => [
      r,
      createInboundWriter({
        pool: pools.region(r),
        maxBatch: settings.writerMaxBatch,
        conversationWindowMs: settings.conversationWindowMs,
        attributionWindowMs: settings.attributionWindowMs,
        logger,
      }),
    ]),
  ) as Record<Region, InboundWriter>;

  const jobs = {} as Record<Region, JobQueue>;
  for (const r of REGIONS) {
    const q = createJobQueue({
      connection: clientConfigFor(databases.urls[r], 'wact_ingest', databases.credential('ingest', r)),
      pool: pools.region(r),
      applicationName: 'wact-ingest-jobs',
      onError: (err) => logger.warn({ err: serializeError(err), region: r }, 'job queue error'),
      producer: true,
    });
    await q.start();
    await q.ensureQueue({
      name: settings.export.queue,
      retryLimit: settings.export.retryLimit,
      retryDelaySeconds: settings.export.retryDelaySeconds,
      retryBackoff: true,
    });
    jobs[r] = q;
  }

  const apiKeys = createApiKeyService({ poolFor, directory, ttlMs: settings.cacheTtlMs });
  const { listener } = createIngestHandler({
    settings,
    providers,
    webhooks: createWebhookService({ providers, directory, credentials, keyring, writerFor: (r) => writers[r] }),
    directory,
    links: createLinkService({ poolFor }),
    clicks: createClickService({ poolFor, keyring }),
    apiKeys,
    conversions: createConversionService({
      poolFor,
      keyring,
      platforms: platformCredentials,
      jobsFor: (r) => jobs[r],
      queue: settings.export.queue,
    }),
    logger,
  });

  const server = createHttpsServer(listener, tls);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.ports.ingest, config.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ port }, 'ingest listening');

  return {
    name: 'ingest',
    port,
    urls: { ingest: `https://${config.publicHost}:${port}` },
    notes: [`webhooks: POST /v1/webhooks/{meta|twilio|360dialog|bird|gupshup}/{workspaceId}`],
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await Promise.all(REGIONS.map((r) => writers[r].close()));
      await Promise.all(REGIONS.map((r) => jobs[r].stop().catch(() => undefined)));
      if (owned) await root.close();
    },
  };
}
