/** Permission sets (seed S4). */
import type { AdminRouteSpec } from '../../http/admin-route.js';

export const permissionSetRoutes: AdminRouteSpec[] = [];
