import { KMSClient } from '@aws-sdk/client-kms';
import pg from 'pg';
import { clientConfigFor } from '../db/database-urls.ts';
import { startKeyEventListener } from '../crypto/key-events.ts';
import { createWorkspaceKeks, type WorkspaceKeks } from '../crypto/workspace-kek.ts';
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
import type { Databases, ServiceRole } from './databases.ts';

export type DbRole = 'operator' | ServiceRole;

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

/** Per-workspace key-encryption keys: files in development, a KMS key per workspace in production. */
export function workspaceKeks(config: Config): WorkspaceKeks {
  const awsRegions =
    config.keys.provider === 'aws-kms'
      ? config.keys.awsRegions
      : { eu: String(config.raw.WACT_KMS_AWS_REGION_EU ?? 'eu-central-1'), us: String(config.raw.WACT_KMS_AWS_REGION_US ?? 'us-east-1') };
  const clients = new Map<Region, KMSClient>();
  return createWorkspaceKeks({
    managed: config.keys.provider === 'aws-kms' ? 'kms' : 'local',
    home: config.home,
    awsRegions,
    // Created on first use: customer-managed keys need a client in development too.
    clientFor: (region) => {
      let c = clients.get(region);
      if (!c) clients.set(region, (c = new KMSClient({ region: awsRegions[region] })));
      return c;
    },
    deletionWindowDays: config.raw.WACT_KMS_DELETION_WINDOW_DAYS,
  });
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
          password: { for: (target) => databases.credential(role, target) },
          max: opts.poolMax ?? 20,
          applicationName: `wact-${role}`,
        });
  const keyring = createKeyring({
    providerFor: keyProviders(config),
    store: createKeyStore({ poolFor: (r) => pools.region(r) }),
    ttlMs: config.keyCacheTtlMs,
    workspaceKeks: workspaceKeks(config),
  });
  // Services live long and cache keys: they hear other processes' key changes (wipe, rotation) at once.
  const keyEvents =
    role === 'operator'
      ? undefined
      : startKeyEventListener({
          regions: ['eu', 'us'],
          connect: (r) =>
            new pg.Client({
              ...clientConfigFor(databases.urls[r], `wact_${role}`, databases.credential(role, r)),
              application_name: `wact-${role}-key-events`,
            }),
          keyring,
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
    close: async () => {
      await keyEvents?.close();
      await pools.end();
    },
  };
}
