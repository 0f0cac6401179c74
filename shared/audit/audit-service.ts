import type { Pools } from '../db/pools.ts';
import type { AuditEventInput, AuditLog } from './audit-types.ts';
import { toAppendRow } from './audit-validation.ts';
import { createBatcher, type Batcher, type BatcherOptions } from './audit-batcher.ts';

/**
 * The single entry point every service uses to write audit events.
 * Workspace events go to the workspace's stream in its regional database,
 * platform events to the control database. Validation happens before
 * queueing (a refused event rejects at once); concurrent appends to the same
 * database are group-committed (see audit-batcher.ts). `append` resolves
 * only when the event is durable.
 */
export function createAuditLog(deps: { pools: Pick<Pools, 'control' | 'region'>; batching?: BatcherOptions }): AuditLog {
  const batchers = new Map<string, Batcher>();
  const batcherFor = (database: string): Batcher => {
    let b = batchers.get(database);
    if (!b) {
      const pool = database === 'control' ? deps.pools.control : deps.pools.region(database as 'eu' | 'us');
      b = createBatcher(pool, deps.batching);
      batchers.set(database, b);
    }
    return b;
  };
  return {
    async append(event: AuditEventInput) {
      const { database, row } = toAppendRow(event);
      await batcherFor(database).push(row);
    },
  };
}
