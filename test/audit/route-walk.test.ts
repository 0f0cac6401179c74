import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBrokerApp } from '../../broker/http/app.ts';
import { allRoutes } from '../../broker/http/route-registry.ts';
import type { ApiRoute } from '../../broker/http/route-types.ts';
import { AUDIT_EXEMPT_READS } from '../../broker/policy/audit-exemptions.ts';
import { startTestBroker, type TestBroker } from '../support/broker.ts';

/**
 * Issue 13, point 5. Every read the broker registers — walked from the
 * express app itself (/auth, /.well-known, /api, the console), not from a
 * hand-kept list — either writes its audit event (`audit` on the ApiRoute,
 * written by the machinery before data leaves) or is listed, with its reason,
 * in THE exemption list (broker/policy/audit-exemptions.ts).
 */
type Layer = { route?: { path: string | RegExp; methods: Record<string, boolean> }; rawPath?: unknown; handle?: { stack?: Layer[] } };

function registeredRoutes(routes: readonly ApiRoute[] = allRoutes()): string[] {
  // Handlers are never called: the app is built only to read its routing table.
  const inert: unknown = new Proxy(() => undefined, { get: (_t, k) => (k === 'then' ? undefined : inert), apply: () => inert });
  const app = createBrokerApp({
    services: inert as never,
    identity: inert as never,
    routes,
    consoleDir: fileURLToPath(new URL('../../console/dist', import.meta.url)),
  }) as unknown as { router: { stack: Layer[] } };
  const out: string[] = [];
  const walk = (stack: Layer[], prefix: string) => {
    for (const l of stack) {
      if (l.route) {
        const p = l.route.path instanceof RegExp ? String(l.route.path) : prefix + l.route.path;
        for (const m of Object.keys(l.route.methods)) out.push(`${m.toUpperCase()} ${p}`);
      } else if (l.handle?.stack) walk(l.handle.stack, prefix + (typeof l.rawPath === 'string' && l.rawPath !== '/' ? l.rawPath : ''));
    }
  };
  walk(app.router.stack, '');
  return out;
}

const audited = (routes: readonly ApiRoute[]) =>
  new Set(routes.filter((r) => r.audit).map((r) => `${r.method.toUpperCase()} /api${r.path}`));
const unaccounted = (routes: readonly ApiRoute[]) =>
  registeredRoutes(routes).filter((r) => r.startsWith('GET ') && !audited(routes).has(r) && !(r in AUDIT_EXEMPT_READS));

describe('every read is audited or exempt with a reason', () => {
  it('walks the registered express routes: no GET is neither audited nor listed', () => {
    const gets = registeredRoutes().filter((r) => r.startsWith('GET '));
    // The walk sees the whole app, not only /api (a walk that found nothing would pass vacuously).
    expect(gets).toEqual(expect.arrayContaining(['GET /auth/login', 'GET /.well-known/wact-audit-keys', 'GET /api/me']));
    expect(gets.filter((r) => r.startsWith('GET /api/workspaces/:workspaceId/')).length).toBeGreaterThan(15);
    expect(unaccounted(allRoutes())).toEqual([]);
  });

  it('the list itself: no stale entry, no audited route also exempt, a reason for each', () => {
    const gets = registeredRoutes().filter((r) => r.startsWith('GET '));
    // The console fallback is registered only when console/dist is built.
    expect(Object.keys(AUDIT_EXEMPT_READS).filter((k) => !gets.includes(k) && !k.startsWith('GET /^'))).toEqual([]);
    expect(Object.keys(AUDIT_EXEMPT_READS).filter((k) => audited(allRoutes()).has(k))).toEqual([]);
    for (const [k, why] of Object.entries(AUDIT_EXEMPT_READS)) expect(why.length, k).toBeGreaterThan(15);
    // Nothing under a workspace is exempt: those routes return the workspace's data or settings.
    expect(Object.keys(AUDIT_EXEMPT_READS).filter((k) => k.includes(':workspaceId'))).toEqual([]);
  });

  it('fails on a new read route that is neither audited nor listed', () => {
    const sneaky: ApiRoute = {
      method: 'get',
      path: '/workspaces/:workspaceId/secrets',
      permission: 'settings.manage',
      handler: async () => ({}),
    };
    expect(unaccounted([...allRoutes(), sneaky])).toEqual(['GET /api/workspaces/:workspaceId/secrets']);
    expect(unaccounted([...allRoutes(), { ...sneaky, audit: { action: 'secrets.read', target: 'secret' } }])).toEqual([]);
  });
});

describe('reads that used to write nothing now write one event each', () => {
  let b: TestBroker;
  beforeAll(async () => {
    b = await startTestBroker({ env: { LOG_LEVEL: 'silent' } });
  }, 120_000);
  afterAll(async () => {
    await b?.close();
  });

  it('invitations, API keys, credential metadata, links, SIEM settings, security settings, retention, deletion alerts', async () => {
    const ws = await b.createWorkspace();
    const owner = await b.loginAs((await b.createCustomer(ws.id, 'owner')).identity);
    const count = async (action: string) =>
      (
        await b.platform.pools
          .region('eu')
          .query<{ n: number }>(`SELECT count(*)::int AS n FROM audit.events WHERE stream_id = $1 AND action = $2`, [ws.id, action])
      ).rows[0].n;
    const reads: [string, string][] = [
      [`/api/workspaces/${ws.id}/invitations`, 'invitations.list'],
      [`/api/workspaces/${ws.id}/api-keys`, 'apikeys.list'],
      [`/api/workspaces/${ws.id}/credentials`, 'credentials.list'],
      [`/api/workspaces/${ws.id}/links`, 'links.list'],
      [`/api/workspaces/${ws.id}/audit/siem`, 'audit.siem.read'],
      [`/api/workspaces/${ws.id}/settings/security`, 'settings.security.read'],
      [`/api/workspaces/${ws.id}/retention`, 'retention.read'],
      [`/api/workspaces/${ws.id}/deletion-alerts`, 'deletion.alerts.read'],
    ];
    for (const [path, action] of reads) {
      const before = await count(action);
      const res = await owner.get(path);
      expect(res.status, path).toBe(200);
      expect(await count(action), action).toBe(before + 1);
    }
  }, 120_000);
});
