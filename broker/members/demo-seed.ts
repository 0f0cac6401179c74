import crypto from 'node:crypto';
import type { Config } from '../../shared/config/config.ts';
import { createPlatform, type Platform } from '../../shared/runtime/platform.ts';
import type { ServiceContext } from '../../shared/runtime/service-types.ts';
import type { Workspace } from '../../shared/workspaces/workspace-service.ts';
import { identitySettings } from '../auth/identity-settings.ts';
import { DEMO_WORKSPACE_NAME, loadDevIdentities, type DevIdentity } from '../dev-oidc/dev-identities.ts';
import type { EmployeeRole } from '../policy/permissions.ts';

const SEED_ACTOR = { id: 'system:seed', kind: 'operator' as const, role: 'operator', displayName: 'demo seeder' };

/** The demo workspace ("Demo Shop", eu), if it exists: the lifecycle seeder fills it with synthetic data. */
export async function findDemoWorkspace(platform: Pick<Platform, 'workspaces'>): Promise<Workspace | undefined> {
  return (await platform.workspaces.list()).find((w) => w.name === DEMO_WORKSPACE_NAME);
}

/** Creates (or reuses) the user mapped to one dev identity at `issuer`. */
export async function ensureIdentityUser(platform: Platform, issuer: string, identity: DevIdentity, employeeRole?: EmployeeRole): Promise<string> {
  const pool = platform.pools.control;
  const found = await pool.query<{ user_id: string }>('SELECT user_id FROM wact.user_identities WHERE issuer = $1 AND subject = $2', [issuer, identity.subject]);
  if (found.rows[0]) return found.rows[0].user_id;
  const id = crypto.randomUUID();
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('INSERT INTO wact.users (id, kind, display_name, email, employee_role) VALUES ($1, $2, $3, $4, $5)', [
      id,
      employeeRole ? 'employee' : 'customer',
      identity.name,
      identity.email.toLowerCase(),
      employeeRole ?? null,
    ]);
    await client.query('INSERT INTO wact.user_identities (issuer, subject, user_id) VALUES ($1, $2, $3)', [issuer, identity.subject, id]);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
  return id;
}

/**
 * First start: the "Demo Shop" workspace (eu) and its four members (owner,
 * admin, analyst, read-only) mapped to the dev provider's identities.
 * Idempotent. Employees are provisioned at their first sign-in from their
 * staff group claim, like in production.
 */
export async function seedDemoIdentities(ctx: ServiceContext): Promise<string[]> {
  const config: Config = ctx.config;
  if (!config.devOidc) return [];
  const platform = createPlatform(config, ctx.databases, 'operator', { name: 'seed' });
  try {
    const issuer = identitySettings(config).issuerUrl;
    let workspace = await findDemoWorkspace(platform);
    const created = !workspace;
    workspace ??= await platform.workspaces.create({ name: DEMO_WORKSPACE_NAME, region: 'eu' }, SEED_ACTOR);
    for (const identity of loadDevIdentities(config.home)) {
      if (!identity.demoRole) continue;
      const userId = await ensureIdentityUser(platform, issuer, identity);
      const { rowCount } = await platform.pools.control.query(
        'INSERT INTO wact.memberships (workspace_id, user_id, role) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
        [workspace.id, userId, identity.demoRole],
      );
      if (rowCount) {
        await platform.audit.append({
          action: 'member.add',
          actor: SEED_ACTOR,
          workspaceId: workspace.id,
          region: workspace.region,
          target: { type: 'user', id: userId },
          outcome: 'success',
          metadata: { role: identity.demoRole, via: 'seed' },
        });
      }
    }
    return created ? [`demo workspace "${DEMO_WORKSPACE_NAME}" (${workspace.region}) created: ${workspace.id}`] : [];
  } finally {
    await platform.close();
  }
}
