import { loadConfig, type Config } from '../../shared/config/config.ts';
import { openDatabases, refuseOwnerLogin, type Databases, type ServiceRole } from '../../shared/runtime/databases.ts';
import { databaseMigrator } from '../../db/migrator.ts';
import { ensureDevCertificates, loadTlsMaterial, outboundOnlyTls } from '../../shared/http/tls.ts';
import { createServiceRoot, type ServiceRoot } from '../../shared/runtime/service-root.ts';
import type { RunningService, ServiceContext } from '../../shared/runtime/service-types.ts';
import { SERVICE_NAMES, startService, type ServeOptions, type ServiceName } from './services.ts';

/** Demo data for a first start: each feature seeds its own part, idempotently. */
type Seeder = (ctx: ServiceContext) => Promise<string[]>;
const seeders: { name: string; load: () => Promise<Seeder> }[] = [
  { name: 'identity', load: async () => (await import('../../broker/server.ts')).seedDemoIdentities },
  { name: 'lifecycle', load: async () => (await import('../../shared/synthetic/demo-seeder.ts')).seedDemoConversations },
];

export interface Product {
  services: RunningService[];
  seedNotes: string[];
  databases: Databases;
  stop(): Promise<void>;
}

/** TLS material for the services; development makes its own CA and certificates on first use. */
async function tlsFor(config: Config) {
  // The gateway's public host too: clients connect with sslmode=verify-full, which checks it.
  if (config.env !== 'production' && !config.tls.certFile)
    await ensureDevCertificates(config.home, [config.publicHost, String(config.raw.GATEWAY_PUBLIC_HOST ?? '')]);
  return loadTlsMaterial(config);
}

/**
 * `wact start`: development's whole product in one process — the development
 * OpenID provider, then broker, worker, ingest and gateway in one composition
 * root (one pool per database role, one access service, …). Production runs
 * each with `wact serve` (serveOne) instead.
 */
export async function startProduct(config: Config = loadConfig(), log: (line: string) => void = () => undefined): Promise<Product> {
  // Development: one command brings everything up, including its own state folder's service passwords.
  // Production: the pipeline migrates (wact migrate) and the secret store holds the passwords: start
  // does neither.
  const production = config.env === 'production';
  const databases = await openDatabases(config, production ? {} : { migrate: databaseMigrator, setServicePasswords: true, log });
  const services: RunningService[] = [];
  let root: ServiceRoot | undefined;
  const stop = async () => {
    for (const s of services.reverse()) await s.close().catch(() => undefined);
    await root?.close().catch(() => undefined);
    await databases.close();
  };
  try {
    const tls = await tlsFor(config);
    const ctx: ServiceContext = { config, databases, tls };
    const seedNotes: string[] = [];
    for (const s of seeders) seedNotes.push(...(await (await s.load())(ctx)));
    // The broker serves console/dist: build it first when missing or older than its sources
    // (production deploys ship a prebuilt console: `npm run build`; vite is a dev dependency).
    if (!production) await (await import('../../scripts/build-console.ts')).ensureConsoleBuilt(log);
    if (config.devOidc) services.push(await (await import('../../broker/dev-oidc/dev-oidc-service.ts')).startDevOidcService(ctx));
    root = createServiceRoot(ctx, { name: 'wact' });
    for (const name of SERVICE_NAMES) services.push(await startService(name, root));
    return { services, seedNotes, databases, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The database role a served process logs in as (and runs its start-up checks as). */
const SERVICE_ROLE: Record<ServiceName, ServiceRole> = { ingest: 'ingest', broker: 'broker', gateway: 'broker', worker: 'broker' };

/**
 * `wact serve <service>`: one service in its own process, on databases already
 * migrated (`wact migrate`; pending migrations are refused, never applied).
 * The start-up checks log in as the service's own role; in production a
 * service given the operator's login refuses to start, except the worker that
 * runs `lifecycle` (it erases wiped workspaces' audit history as the owner).
 */
export async function serveOne(
  config: Config,
  name: ServiceName,
  opts: ServeOptions = {},
): Promise<{ service: RunningService; stop(): Promise<void> }> {
  // The worker decides by its queue groups, before it runs a job (worker-server.ts).
  if (name !== 'worker') refuseOwnerLogin(config, name);
  // Before any connection, so a missing certificate is refused first. The worker listens on nothing: in
  // production it needs no certificate, only the CA of its outbound calls.
  const tls = name === 'worker' && config.env === 'production' ? outboundOnlyTls(config) : await tlsFor(config);
  const databases = await openDatabases(config, { requireCurrent: databaseMigrator, checkAs: SERVICE_ROLE[name] });
  let root: ServiceRoot | undefined;
  try {
    root = createServiceRoot({ config, databases, tls }, { name });
    const service = await startService(name, root, opts);
    const r = root;
    return {
      service,
      async stop() {
        await service.close().catch(() => undefined);
        await r.close();
        await databases.close();
      },
    };
  } catch (err) {
    await root?.close().catch(() => undefined);
    await databases.close();
    throw err;
  }
}
