import type { ApiRoute } from './route-types.ts';
import { identityRoutes } from '../auth/identity-routes.ts';
import { memberRoutes } from '../members/members-routes.ts';

/**
 * Every /api route array the broker mounts. ONE line per feature: import your
 * `broker/<feature>/<feature>-routes.ts` array above and add it here.
 */
export const routeGroups: { feature: string; routes: readonly ApiRoute[] }[] = [
  { feature: 'identity', routes: identityRoutes },
  { feature: 'members', routes: memberRoutes },
];

export function allRoutes(): ApiRoute[] {
  return routeGroups.flatMap((g) => g.routes);
}
