import os from 'node:os';
import { loadConfig } from '../shared/config/config.ts';
import { openDatabases } from '../shared/runtime/databases.ts';
import { databaseMigrator } from '../db/migrator.ts';
import { createPlatform, type Platform } from '../shared/runtime/platform.ts';
import type { AuditEventInput } from '../shared/audit/audit-types.ts';
import { cliEnvironment, directModeRefusal } from './mode.ts';

/** Direct-mode (development) commands are audited as `operator:<os user>`. */
export function operatorActor(): AuditEventInput['actor'] {
  const user = os.userInfo().username;
  return { id: `operator:${user}`, kind: 'operator', role: 'operator', displayName: user };
}

/**
 * Runs a command in direct mode against the configured databases with the
 * operator's credentials (in development the embedded superuser; the embedded
 * server is started for the command's duration if it is not running).
 *
 * Refused in production, whatever the shell holds: there every command acts
 * through the broker as the signed-in person (cli/mode.ts). It never migrates
 * and never touches the services' passwords: a state folder in some shell must
 * not lock the running services out (`wact migrate` and
 * `wact db rotate-service-passwords` do those, explicitly).
 */
export async function withOperator<T>(fn: (platform: Platform) => Promise<T>): Promise<T> {
  // Before loadConfig and before any connection: nothing is opened with a credential we refuse.
  if (cliEnvironment() === 'production') throw directModeRefusal();
  const config = loadConfig();
  const databases = await openDatabases(config, { requireCurrent: databaseMigrator });
  const platform = createPlatform(config, databases, 'operator');
  try {
    return await fn(platform);
  } finally {
    await platform.close();
    await databases.close();
  }
}
