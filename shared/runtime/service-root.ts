import { createPlatform, type DbRole, type Platform } from './platform.ts';
import type { ServiceContext } from './service-types.ts';

/**
 * A process's composition root: what its services are built from, each built
 * once per process however many services of the process use it. `wact serve
 * broker` builds the broker's; `wact start` (development: every service in one
 * process) builds one shared by all of them, so the broker, the gateway and
 * the worker use one access service and one pool per database role.
 *
 * Parts are built on first use: a process gets only the database roles and
 * services its own services ask for (a gateway never opens an ingest pool).
 */
export interface ServiceRoot extends ServiceContext {
  /** The process's platform for one database role (pools, keyring, audit log, workspaces). */
  platform(role: ServiceDbRole): Platform;
  /** A service of this process, built by `build` the first time `key` is asked for. */
  once<T>(key: string, build: () => T): T;
  close(): Promise<void>;
}

type ServiceDbRole = Exclude<DbRole, 'operator'>;
const POOL_MAX: Partial<Record<ServiceDbRole, number>> = { broker: 20, ingest: 24 };

export function createServiceRoot(ctx: ServiceContext, opts: { name?: string } = {}): ServiceRoot {
  const platforms = new Map<ServiceDbRole, Platform>();
  const built = new Map<string, unknown>();
  return {
    ...ctx,
    platform(role) {
      let p = platforms.get(role);
      if (!p)
        platforms.set(
          role,
          (p = createPlatform(ctx.config, ctx.databases, role, { name: opts.name ?? role, poolMax: POOL_MAX[role] ?? 4 })),
        );
      return p;
    },
    once<T>(key: string, build: () => T): T {
      if (!built.has(key)) built.set(key, build());
      return built.get(key) as T;
    },
    async close() {
      const all = [...platforms.values()];
      platforms.clear();
      built.clear();
      await Promise.all(all.map((p) => p.close()));
    },
  };
}

/**
 * The root a service starter works in: the caller's, or (a test or tool
 * starting one service alone) one of its own that the service closes with itself.
 */
export function rootFor(ctx: ServiceContext | ServiceRoot, name: string): { root: ServiceRoot; owned: boolean } {
  if ('once' in ctx && 'platform' in ctx) return { root: ctx, owned: false };
  return { root: createServiceRoot(ctx, { name }), owned: true };
}
