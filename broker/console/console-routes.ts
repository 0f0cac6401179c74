import { z } from 'zod';
import { BadRequestError } from '../../shared/errors/errors.ts';
import type { ApiRoute } from '../http/route-types.ts';
import { dashboardFigures } from './dashboard-dal.ts';

export const dashboardQuery = z.object({ days: z.coerce.number().int().min(1).max(366).default(30) });

/**
 * What the console needs beyond the features' own resources: where ingest is reachable
 * (the exact webhook URL the setup wizard shows) and the dashboard's aggregates.
 */
export const consoleRoutes: ApiRoute[] = [
  {
    method: 'get',
    path: '/console/config',
    permission: 'account.self',
    async handler(req) {
      const { config } = req.services;
      const ingestUrl = (config.raw.INGEST_PUBLIC_URL ?? `https://${config.publicHost}:${config.ports.ingest}`).replace(/\/+$/, '');
      return { ingestUrl, auditKeysPath: '/.well-known/wact-audit-keys' };
    },
  },
  {
    method: 'get',
    path: '/workspaces/:workspaceId/dashboard',
    permission: 'dashboard.read',
    request: { query: dashboardQuery },
    audit: { action: 'data.read', target: 'dashboard' },
    async handler(req) {
      const parsed = dashboardQuery.safeParse(req.query);
      if (!parsed.success) throw new BadRequestError('days must be a whole number from 1 to 366', 'invalid_query');
      const ws = req.workspace!;
      return dashboardFigures(req.services.platform.pools.region(ws.region), ws.id, parsed.data.days);
    },
  },
];
