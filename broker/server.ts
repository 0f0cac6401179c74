import fs from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { REPO_ROOT } from '../shared/config/config-schema.ts';
import { ConfigError } from '../shared/errors/errors.ts';
import { createFieldCrypto } from '../shared/crypto/field-cipher.ts';
import { createHttpsServer } from '../shared/http/tls.ts';
import { rootFor, type ServiceRoot } from '../shared/runtime/service-root.ts';
import type { RunningService, ServiceContext } from '../shared/runtime/service-types.ts';
import { accessOf } from '../shared/access/access-wiring.ts';
import { createIdentityRuntime } from './auth/identity-runtime.ts';
import { identitySettings } from './auth/identity-settings.ts';
import { createBrokerApp } from './http/app.ts';
import { allRoutes, conditionChecks } from './http/route-registry.ts';
import type { BrokerServices } from './http/route-types.ts';

/**
 * Development's first-start seeding of the broker's own tables (the dev provider's identities as users
 * and members of the demo workspace): `wact start` reaches it here, through the broker's entry module.
 */
export { seedDemoIdentities } from './members/demo-seed.ts';

export interface StartBrokerOptions {
  /** Overrides config.ports.broker (tests: 0). */
  port?: number;
  /** Extra per-feature helpers for handlers (req.services.features). */
  features?: Record<string, unknown>;
}

/**
 * The broker: HTTPS on BROKER_PORT (TLS ≥ 1.2, helmet), /auth sign-in, the
 * /api routes of every feature, and the built console at /. Stateless: no
 * timer, no schedule (those are the worker's), so any number can run behind a
 * load balancer.
 */
export async function startBroker(ctx: ServiceContext | ServiceRoot, opts: StartBrokerOptions = {}): Promise<RunningService> {
  const { root, owned } = rootFor(ctx, 'broker');
  const { config, tls } = root;
  if (config.env === 'production' && config.raw.WACT_AUDIT_SIGNING_KMS_KEY)
    throw new ConfigError(
      'refusing to start the broker with WACT_AUDIT_SIGNING_KMS_KEY set: in production only the signing worker (`wact serve worker --queues audit-sign`) holds the signing key',
    );
  const platform = root.platform('broker');
  const server = createHttpsServer(undefined as never, tls);
  server.requestTimeout = 30_000;
  server.headersTimeout = 15_000;
  // Oversized headers are refused by node (431) before any of our code runs.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? config.ports.broker, config.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const settings = identitySettings(config, { publicUrl: config.raw.BROKER_PUBLIC_URL ?? `https://${config.publicHost}:${port}` });
  const issuerCa = config.raw.OIDC_CA_FILE
    ? fs.readFileSync(config.raw.OIDC_CA_FILE, 'utf8')
    : config.env !== 'production'
      ? tls.ca
      : undefined;
  const identity = createIdentityRuntime(platform, settings, { issuerCa });
  const services: BrokerServices = {
    config,
    platform,
    fieldCrypto: createFieldCrypto(platform.keyring),
    features: { identity, access: accessOf(root), ...(opts.features ?? {}) },
  };
  const consoleDir = path.join(REPO_ROOT, 'console', 'dist');
  const app = createBrokerApp({ services, identity, routes: allRoutes(), conditions: conditionChecks, consoleDir });
  server.on('request', app);

  return {
    name: 'broker',
    urls: { broker: settings.publicUrl, console: `${settings.publicUrl}/`, api: `${settings.publicUrl}/api` },
    notes: fs.existsSync(path.join(consoleDir, 'index.html'))
      ? []
      : ['console not built (npm run build): the broker serves /api and /auth only'],
    async close() {
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await identity.oidc.close().catch(() => undefined);
      if (owned) await root.close();
    },
  };
}
