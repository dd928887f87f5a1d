/** User-created and system-managed policies (seed S1 Policy actions). */
import type { AdminRouteSpec } from '../../http/admin-route.js';

export const policyRoutes: AdminRouteSpec[] = [];
