import { loadConfig, type Config } from '../../shared/config/config.ts';
import { openDatabases, type Databases } from '../../shared/runtime/databases.ts';
import { databaseMigrator } from '../../db/migrator.ts';
import { ensureDevCertificates, loadTlsMaterial } from '../../shared/http/tls.ts';
import type { RunningService, ServiceContext } from '../../shared/runtime/service-types.ts';

/**
 * The services `wact start` runs, in start order. Each feature adds its own
 * line; each starter receives the context and returns a RunningService.
 */
type Starter = (ctx: ServiceContext) => Promise<RunningService>;
const starters: { name: string; enabled: (c: Config) => boolean; start: () => Promise<Starter> }[] = [
  {
    name: 'dev-oidc',
    enabled: (c) => c.devOidc,
    start: async () => (await import('../../broker/dev-oidc/dev-oidc-service.ts')).startDevOidcService,
  },
  { name: 'broker', enabled: () => true, start: async () => (await import('../../broker/server.ts')).startBroker },
  {
    name: 'lifecycle',
    enabled: (c) => c.raw.LIFECYCLE_WORKER,
    start: async () => (await import('../../shared/lifecycle/lifecycle-jobs.ts')).startLifecycleWorker,
  },
  {
    // Development: in-process, its own component with its own key file. Production: its own
    // deployable (`wact audit signer`), the only one given WACT_AUDIT_SIGNING_KMS_KEY.
    name: 'audit-signer',
    enabled: (c) => c.env !== 'production',
    start: async () => (await import('../../shared/audit/audit-signer-service.ts')).startAuditSigner,
  },
  { name: 'ingest', enabled: () => true, start: async () => (await import('../../ingest/server.ts')).startIngest },
  { name: 'gateway', enabled: () => true, start: async () => (await import('../../broker/gateway/gateway-start.ts')).startGateway },
];

/** Demo data for a first start: each feature seeds its own part, idempotently. */
type Seeder = (ctx: ServiceContext) => Promise<string[]>;
const seeders: { name: string; load: () => Promise<Seeder> }[] = [
  { name: 'identity', load: async () => (await import('../../broker/members/demo-seed.ts')).seedDemoIdentities },
  { name: 'lifecycle', load: async () => (await import('../../shared/synthetic/demo-seeder.ts')).seedDemoConversations },
];

/** The demo workspace the identity seeder creates ("Demo Shop", eu); other seeders fill it. */
export { findDemoWorkspace } from '../../broker/members/demo-seed.ts';

export interface Product {
  services: RunningService[];
  seedNotes: string[];
  databases: Databases;
  stop(): Promise<void>;
}

export async function startProduct(config: Config = loadConfig(), log: (line: string) => void = () => undefined): Promise<Product> {
  // Development: one command brings everything up, including its own state folder's service passwords.
  // Production: the pipeline migrates (wact migrate) and the secret store holds the passwords: start
  // does neither.
  const production = config.env === 'production';
  const databases = await openDatabases(config, production ? {} : { migrate: databaseMigrator, setServicePasswords: true, log });
  // The gateway's public host too: clients connect with sslmode=verify-full, which checks it.
  if (config.env !== 'production' && !config.tls.certFile)
    await ensureDevCertificates(config.home, [config.publicHost, String(config.raw.GATEWAY_PUBLIC_HOST ?? '')]);
  const tls = loadTlsMaterial(config);
  const ctx: ServiceContext = { config, databases, tls };
  const services: RunningService[] = [];
  const stop = async () => {
    for (const s of services.reverse()) await s.close().catch(() => undefined);
    await databases.close();
  };
  try {
    const seedNotes: string[] = [];
    for (const s of seeders) seedNotes.push(...(await (await s.load())(ctx)));
    // The broker serves console/dist: build it first when missing or older than its sources
    // (production deploys ship a prebuilt console: `npm run build`; vite is a dev dependency).
    if (config.env !== 'production' && starters.some((s) => s.name === 'broker' && s.enabled(config)))
      await (await import('../../scripts/build-console.ts')).ensureConsoleBuilt(log);
    for (const s of starters) {
      if (!s.enabled(config)) continue;
      const start = await s.start();
      services.push(await start(ctx));
    }
    return { services, seedNotes, databases, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
