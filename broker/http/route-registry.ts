import type { ApiRoute } from './route-types.ts';
import type { ConditionChecks } from './mount-routes.ts';
import { identityRoutes } from '../auth/identity-routes.ts';
import { memberRoutes } from '../members/members-routes.ts';
import { lifecycleRoutes } from '../lifecycle/lifecycle-routes.ts';
import { keyRoutes } from '../lifecycle/key-routes.ts';
import { moveRoutes } from '../lifecycle/move-routes.ts';
import { signupRoutes } from '../auth/signup-routes.ts';
import { accessRoutes } from '../access/access-routes.ts';
import { supportRoutes, supportSessionActive } from '../support/support-routes.ts';
import { consoleRoutes } from '../console/console-routes.ts';
import { attributionRoutes } from '../attribution/attribution-routes.ts';
import { auditRoutes } from '../audit/audit-routes.ts';
import { wactAccessRoutes } from '../audit/wact-access-routes.ts';

/**
 * Every /api route array the broker mounts. ONE line per feature: import your
 * `broker/<feature>/<feature>-routes.ts` array above and add it here.
 */
export const routeGroups: { feature: string; routes: readonly ApiRoute[] }[] = [
  { feature: 'identity', routes: identityRoutes },
  { feature: 'members', routes: memberRoutes },
  { feature: 'lifecycle', routes: lifecycleRoutes },
  { feature: 'keys', routes: keyRoutes },
  { feature: 'move', routes: moveRoutes },
  { feature: 'signup', routes: signupRoutes },
  { feature: 'access', routes: accessRoutes },
  { feature: 'support', routes: supportRoutes },
  { feature: 'console', routes: consoleRoutes },
  { feature: 'attribution', routes: attributionRoutes },
  { feature: 'audit', routes: auditRoutes },
  { feature: 'wact-access', routes: wactAccessRoutes },
];

export function allRoutes(): ApiRoute[] {
  return routeGroups.flatMap((g) => g.routes);
}

/**
 * Conditions the policy asks features about. The access feature sets
 * `supportSessionActive` here (one line) once support sessions exist; until
 * then `support.browse` is refused for everyone.
 */
export const conditionChecks: ConditionChecks = { supportSessionActive };
