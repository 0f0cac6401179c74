import type { DatabaseTarget, WactEnv } from '../config/config.ts';

/** A database used for the wrong environment or the wrong part (control vs region). */
export class DatabaseIdentityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatabaseIdentityError';
  }
}

/**
 * A database belongs to one environment; production and non-production never
 * mix. The identity is the row `wact migrate` writes into
 * wact_meta.database_identity; checked by the migrator and by every process.
 */
export function assertIdentity(identity: { kind: string; environment: string } | undefined, target: DatabaseTarget, env: WactEnv): void {
  if (!identity) throw new DatabaseIdentityError(`database for ${target} has no identity record: run wact migrate`);
  if (identity.kind !== target) {
    throw new DatabaseIdentityError(`database configured as ${target} is a ${identity.kind} database`);
  }
  const prod = (e: string) => e === 'production';
  if (prod(identity.environment) !== prod(env)) {
    throw new DatabaseIdentityError(`refusing: this ${env} process must not use a ${identity.environment} database (${target})`);
  }
}
