import crypto from 'node:crypto';
import type { Config } from '../../shared/config/config.ts';
import { createPlatform, type Platform } from '../../shared/runtime/platform.ts';
import type { ServiceContext } from '../../shared/runtime/service-types.ts';
import { identitySettings } from '../auth/identity-settings.ts';
import { createSignupDal } from '../../shared/signup/signup-dal.ts';
import { createSignupService } from '../../shared/signup/signup-service.ts';
import { ConflictError } from '../../shared/errors/errors.ts';
import { DEMO_WORKSPACE_NAME, findDemoWorkspace } from '../../shared/synthetic/demo-workspace.ts';
import { loadDevIdentities, type DevIdentity } from '../dev-oidc/dev-identities.ts';
import type { EmployeeRole } from '../../shared/permissions/permissions.ts';

const SEED_ACTOR = { id: 'system:seed', kind: 'operator' as const, role: 'operator', displayName: 'demo seeder' };

/** Creates (or reuses) the user mapped to one dev identity at `issuer`. */
export async function ensureIdentityUser(
  platform: Platform,
  issuer: string,
  identity: DevIdentity,
  employeeRole?: EmployeeRole,
): Promise<string> {
  const pool = platform.pools.control;
  const found = await pool.query<{ user_id: string }>('SELECT user_id FROM wact.user_identities WHERE issuer = $1 AND subject = $2', [
    issuer,
    identity.subject,
  ]);
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
 * The new-owner demo login: an open sign-up invitation until that identity has
 * signed up (then it is an ordinary customer without, or with its own, workspace).
 * True when one was written now.
 */
async function ensureSignupInvitation(platform: Platform, issuer: string, identity: DevIdentity): Promise<boolean> {
  const pool = platform.pools.control;
  const user = await pool.query('SELECT 1 FROM wact.user_identities WHERE issuer = $1 AND subject = $2', [issuer, identity.subject]);
  if (user.rows.length || (await createSignupDal(pool).openFor(identity.email))) return false;
  try {
    await createSignupService({ pool, audit: platform.audit }).invite({ email: identity.email }, SEED_ACTOR);
    return true;
  } catch (err) {
    if (err instanceof ConflictError) return false; // another start wrote it meanwhile
    throw err;
  }
}

/**
 * First start: the "Demo Shop" workspace (eu) and its four members (owner,
 * admin, analyst, read-only) mapped to the dev provider's identities, and an
 * open sign-up invitation for the new-owner login. Idempotent. Employees are
 * provisioned at their first sign-in from their staff group claim, like in
 * production.
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
    const notes = created ? [`demo workspace "${DEMO_WORKSPACE_NAME}" (${workspace.region}) created: ${workspace.id}`] : [];
    for (const identity of loadDevIdentities(config.home)) {
      if (identity.demoSignup && (await ensureSignupInvitation(platform, issuer, identity)))
        notes.push(`sign-up invitation for ${identity.email} (no workspace yet: the setup wizard)`);
    }
    return notes;
  } finally {
    await platform.close();
  }
}
