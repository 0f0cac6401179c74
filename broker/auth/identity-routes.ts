import type { ApiRoute } from '../http/route-types.ts';

/** /api routes of the identity feature (profile, own sessions, employees, workspace security settings). */
export const identityRoutes: ApiRoute[] = [];
