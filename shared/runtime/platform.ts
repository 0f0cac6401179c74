import { KMSClient } from '@aws-sdk/client-kms';
import type { Config, Region } from '../config/config.ts';
import { createPools, type Pools } from '../db/pools.ts';
import { createLocalKeyProvider } from '../crypto/local-key-provider.ts';
import { createAwsKmsKeyProvider } from '../crypto/aws-kms-key-provider.ts';
import type { KeyProvider } from '../crypto/key-provider-types.ts';
import { createKeyring } from '../crypto/keyring-service.ts';
import { createKeyStore } from '../crypto/keyring-dal.ts';
import type { Keyring } from '../crypto/keyring-types.ts';
import { createAuditLog } from '../audit/audit-service.ts';
import type { AuditLog } from '../audit/audit-types.ts';
import { createLogger } from '../logging/logger.ts';
import { createWorkspaceService, type WorkspaceService } from '../workspaces/workspace-service.ts';
import type { Databases } from './databases.ts';

export type DbRole = 'operator' | 'ingest' | 'broker';

/** What every service and operator command is built from. */
export interface Platform {
  config: Config;
  databases: Databases;
  pools: Pools;
  keyring: Keyring;
  audit: AuditLog;
  workspaces: WorkspaceService;
  logger: ReturnType<typeof createLogger>;
  close(): Promise<void>;
}

export function keyProviders(config: Config): (region: Region) => KeyProvider {
  const cache = new Map<Region, KeyProvider>();
  return (region) => {
    let provider = cache.get(region);
    if (!provider) {
      provider =
        config.keys.provider === 'local'
          ? createLocalKeyProvider({ home: config.home, region })
          : createAwsKmsKeyProvider({
              keyId: config.keys.keyIds[region],
              client: new KMSClient({ region: config.keys.awsRegions[region] }),
            });
      cache.set(region, provider);
    }
    return provider;
  };
}

/** Builds the shared parts for one database role on already-open databases. */
export function createPlatform(
  config: Config,
  databases: Databases,
  role: DbRole,
  opts: { poolMax?: number; name?: string } = {},
): Platform {
  const pools =
    role === 'operator'
      ? createPools(databases.urls, { max: opts.poolMax ?? 4, applicationName: 'wact-operator' })
      : createPools(databases.urls, {
          user: `wact_${role}`,
          password: databases.servicePasswords[role],
          max: opts.poolMax ?? 20,
          applicationName: `wact-${role}`,
        });
  const keyring = createKeyring({
    providerFor: keyProviders(config),
    store: createKeyStore({ poolFor: (r) => pools.region(r) }),
    ttlMs: config.keyCacheTtlMs,
  });
  const audit = createAuditLog({ pools });
  const logger = createLogger({ level: config.logLevel, name: opts.name ?? role });
  const workspaces = createWorkspaceService({ pools, keyring, audit });
  return {
    config,
    databases,
    pools,
    keyring,
    audit,
    workspaces,
    logger,
    close: () => pools.end(),
  };
}
