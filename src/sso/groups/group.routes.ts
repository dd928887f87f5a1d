/** SSO groups and their members (seed S4). */
import type { AdminRouteSpec } from '../../http/admin-route.js';

export const ssoGroupRoutes: AdminRouteSpec[] = [];
