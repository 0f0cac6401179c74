import type { ApiRoute } from '../http/route-types.ts';

/** Members, invitations and role changes of a workspace. */
export const memberRoutes: ApiRoute[] = [];
