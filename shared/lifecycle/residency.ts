import type pg from 'pg';
import type { Region } from '../config/config.ts';
import type { Pools } from '../db/pools.ts';
import { WactError } from '../errors/errors.ts';
import type { Workspace, WorkspaceService } from '../workspaces/workspace-service.ts';

/** A request reached a region that does not hold the workspace: refused, never served from elsewhere. */
export class ResidencyError extends WactError {
  constructor() {
    super(409, 'wrong_region', 'this workspace’s data does not live in that region');
  }
}

export interface RegionalWorkspace {
  workspace: Workspace;
  pool: pg.Pool;
}

/**
 * The one way lifecycle code reaches a workspace's data: the region comes from
 * the control directory, the pool is that region's, and the regional anchor
 * must agree (same id, same region). Anything else fails closed.
 */
export async function openRegionalWorkspace(
  deps: { pools: Pick<Pools, 'region'>; workspaces: Pick<WorkspaceService, 'get'> },
  workspaceId: string,
  expectRegion?: Region,
): Promise<RegionalWorkspace> {
  const workspace = await deps.workspaces.get(workspaceId);
  if (expectRegion && expectRegion !== workspace.region) throw new ResidencyError();
  const pool = deps.pools.region(workspace.region);
  await assertAnchoredIn(pool, workspace.id, workspace.region);
  return { workspace, pool };
}

/** The regional database must hold the workspace's anchor row for exactly this region. */
export async function assertAnchoredIn(pool: Pick<pg.Pool, 'query'>, workspaceId: string, region: Region): Promise<void> {
  // The database itself must be that region's (a swapped URL is caught here), and hold the anchor.
  const { rows } = await pool.query<{ kind: string; region: string | null }>(
    `SELECT (SELECT kind FROM wact_meta.database_identity) AS kind,
            (SELECT region FROM wact.workspaces WHERE id = $1) AS region`,
    [workspaceId],
  );
  if (rows[0]?.kind !== region || rows[0]?.region !== region) throw new ResidencyError();
}
