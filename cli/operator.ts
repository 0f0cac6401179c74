import os from 'node:os';
import { loadConfig } from '../shared/config/config.ts';
import { openDatabases } from '../shared/runtime/databases.ts';
import { createPlatform, type Platform } from '../shared/runtime/platform.ts';
import type { AuditEventInput } from '../shared/audit/audit-types.ts';

/** Operator commands are audited as `operator:<os user>`. */
export function operatorActor(): AuditEventInput['actor'] {
  const user = os.userInfo().username;
  return { id: `operator:${user}`, kind: 'operator', role: 'operator', displayName: user };
}

/**
 * Runs an operator command against the configured databases with the
 * operator's credentials (in development the embedded superuser; the embedded
 * server is started for the command's duration if it is not running).
 */
export async function withOperator<T>(fn: (platform: Platform) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const databases = await openDatabases(config, { migrate: true });
  const platform = createPlatform(config, databases, 'operator');
  try {
    return await fn(platform);
  } finally {
    await platform.close();
    await databases.close();
  }
}
