/** SSO users: profile, status, sessions, MFA devices, allowed sources, tags, bulk operations (seed S4). */
import type { AdminRouteSpec } from '../../http/admin-route.js';

export const userRoutes: AdminRouteSpec[] = [];
