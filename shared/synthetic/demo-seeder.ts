import { createPlatform } from '../runtime/platform.ts';
import type { ServiceContext } from '../runtime/service-types.ts';
import { findDemoWorkspace } from './demo-workspace.ts';
import { seedSynthetic } from './synthetic-seeder.ts';

export const DEMO_CONVERSATIONS = 2_000;

/**
 * First `npm start`: fills the demo workspace ("Demo Shop", created by the
 * identity seeder) with synthetic conversations, clicks and conversions so
 * the console has something to show. Only once (a workspace that already has
 * conversations is left alone) and never in production.
 */
export async function seedDemoConversations(ctx: ServiceContext): Promise<string[]> {
  if (ctx.config.env === 'production') return [];
  const platform = createPlatform(ctx.config, ctx.databases, 'operator', { name: 'seed', poolMax: 2 });
  try {
    const demo = await findDemoWorkspace(platform);
    if (!demo) return [];
    const pool = platform.pools.region(demo.region);
    const { rows } = await pool.query('SELECT 1 FROM wact.conversations WHERE workspace_id = $1 LIMIT 1', [demo.id]);
    if (rows.length) return [];
    const counts = await seedSynthetic(
      { pool, keyring: platform.keyring },
      { workspaceId: demo.id, region: demo.region, conversations: DEMO_CONVERSATIONS, days: 60, seed: 2026 },
    );
    return [
      `demo data: ${counts.conversations} synthetic conversations, ${counts.clicks} clicks, ${counts.conversions} conversions in "${demo.name}" (fictional numbers only)`,
    ];
  } finally {
    await platform.close();
  }
}
