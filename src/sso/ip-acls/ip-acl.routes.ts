/** IP ACLs (seed S4). */
import type { AdminRouteSpec } from '../../http/admin-route.js';

export const ipAclRoutes: AdminRouteSpec[] = [];
