import type { Pools } from '../db/pools.ts';
import type { AuditEventInput, AuditLog } from './audit-types.ts';

/**
 * The single entry point every service uses to write audit events.
 * Workspace events go to the workspace's regional stream, platform events to
 * the control database. (Minimal first version: the audit feature replaces the
 * storage behind this interface.)
 */
export function createAuditLog(deps: { pools: Pick<Pools, 'control' | 'region'> }): AuditLog {
  return {
    async append(event: AuditEventInput) {
      if (event.workspaceId && !event.region) throw new Error('audit event for a workspace needs its region');
      const pool = event.workspaceId ? deps.pools.region(event.region!) : deps.pools.control;
      await pool.query('SELECT audit.append($1::jsonb)', [JSON.stringify(event)]);
    },
  };
}
