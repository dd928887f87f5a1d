/** The tenant, login settings, organization integration and attribute mapper (seed S4). */
import type { AdminRouteSpec } from '../../http/admin-route.js';

export const tenantRoutes: AdminRouteSpec[] = [];
