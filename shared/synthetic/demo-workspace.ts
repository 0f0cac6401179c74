import type { Workspace, WorkspaceService } from '../workspaces/workspace-service.ts';

/**
 * The development demo workspace, by name: the broker's identity seeder
 * creates it (with members for the dev logins), the synthetic seeder fills it.
 */
export const DEMO_WORKSPACE_NAME = 'Demo Shop';

/** The demo workspace ("Demo Shop", eu), if it exists. */
export async function findDemoWorkspace(platform: { workspaces: Pick<WorkspaceService, 'list'> }): Promise<Workspace | undefined> {
  return (await platform.workspaces.list()).find((w) => w.name === DEMO_WORKSPACE_NAME);
}
